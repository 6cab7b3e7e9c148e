import pytest
from django.urls import reverse

from accounts.authentication import hash_secret
from accounts.models import ApiKey
from accounts.roles import Role
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:settings-api-keys")


def test_viewer_gets_403_creating_an_api_key(viewer_web):
    response = viewer_web.web.post(URL, {"name": "Sneaky", "role": Role.VIEWER})
    assert response.status_code == 403
    assert not ApiKey.objects.exists()


def test_editor_cannot_open_the_api_keys_page(login_as, owner_web):
    editor = login_as(Role.EDITOR, workspace=owner_web.workspace)
    assert editor.web.get(URL).status_code == 403


def test_created_key_is_shown_once(admin_web):
    response = admin_web.web.post(URL, {"name": "CRM sync", "role": Role.EDITOR})
    assert response.status_code == 200
    key = response.context["new_key"]
    api_key = ApiKey.objects.get(workspace=admin_web.workspace, name="CRM sync")
    assert key.startswith(f"sf_{api_key.prefix}_")
    assert hash_secret(key) == api_key.key_hash
    assert key in response.content.decode()

    again = admin_web.web.get(URL)
    assert again.context["new_key"] is None
    assert key not in again.content.decode()
    assert f"sf_{api_key.prefix}_" in again.content.decode()


@pytest.mark.parametrize(
    ("data", "field"), [({"name": "", "role": Role.EDITOR}, "name"), ({"name": "X", "role": "root"}, "role")]
)
def test_bad_api_key_input_rerenders_the_form_and_creates_nothing(admin_web, data, field):
    response = admin_web.web.post(URL, data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert response.context["new_key"] is None
    assert not ApiKey.objects.exists()


def test_admin_revokes_a_key(admin_web):
    api_key = ApiKeyFactory(workspace=admin_web.workspace)
    response = admin_web.web.post(reverse("dashboard:api-key-revoke", args=[api_key.pk]), follow=True)
    assert response.status_code == 200
    api_key.refresh_from_db()
    assert not api_key.is_active
    assert "was revoked" in response.content.decode()


def test_revoking_another_workspaces_key_is_404(admin_web):
    api_key = ApiKeyFactory()
    assert admin_web.web.post(reverse("dashboard:api-key-revoke", args=[api_key.pk])).status_code == 404
    api_key.refresh_from_db()
    assert api_key.is_active


def test_empty_state_when_there_are_no_keys(admin_web):
    assert "No API keys yet" in admin_web.web.get(URL).content.decode()
