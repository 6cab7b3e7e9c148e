import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:settings")


def test_admin_renames_the_workspace_and_it_is_audited(admin_web):
    response = admin_web.web.post(URL, {"name": "Renamed", "timezone": "America/New_York"})
    assert response.status_code == 302
    admin_web.workspace.refresh_from_db()
    assert (admin_web.workspace.name, admin_web.workspace.timezone) == ("Renamed", "America/New_York")
    assert AuditEvent.objects.filter(workspace=admin_web.workspace, action=AuditAction.WORKSPACE_UPDATED).exists()


def test_viewer_sees_settings_read_only_and_cannot_save(viewer_web):
    page = viewer_web.web.get(URL)
    assert page.status_code == 200
    assert page.context["form"].fields["name"].disabled
    response = viewer_web.web.post(URL, {"name": "Hijacked", "timezone": "UTC"})
    assert response.status_code == 403
    viewer_web.workspace.refresh_from_db()
    assert viewer_web.workspace.name != "Hijacked"


def test_blank_name_rerenders_with_the_error_and_changes_nothing(owner_web):
    before = owner_web.workspace.name
    response = owner_web.web.post(URL, {"name": "", "timezone": "UTC"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert "This field is required." in response.content.decode()
    owner_web.workspace.refresh_from_db()
    assert owner_web.workspace.name == before
