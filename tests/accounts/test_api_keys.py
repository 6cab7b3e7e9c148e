"""Workspace API keys: shown once, stored hashed, confined to their workspace, carrying their role."""

import hashlib

import pytest
from django.test import RequestFactory
from rest_framework import mixins
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditAction, AuditEvent, Invitation, Membership
from accounts.roles import Role
from accounts.serializers import MemberSerializer
from core.api.viewsets import WorkspaceScopedViewSet
from tests.factories import ApiKeyFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def keys_url(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/api-keys/"


@pytest.fixture
def admin(make_member, owner):
    return make_member(owner.workspace, Role.ADMIN)


def create_key(member, **body):
    return member.client.post(keys_url(member.workspace), {"name": "Zapier", "role": "editor", **body}, format="json")


def test_admin_creates_a_key_and_sees_it_once(admin):
    response = create_key(admin)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"].startswith(f"sf_{body['prefix']}_")
    assert len(body["key"]) > 40
    assert body["role"] == "editor"
    assert body["is_active"] is True
    assert body["created_by"]["id"] == admin.user.pk
    assert "key_hash" not in body

    listed = admin.client.get(keys_url(admin.workspace)).json()["results"]
    detail = admin.client.get(f"{keys_url(admin.workspace)}{body['id']}/").json()
    for shown in (listed[0], detail):
        assert shown["prefix"] == body["prefix"]
        assert "key" not in shown
        assert "key_hash" not in shown
        assert body["key"] not in str(shown)


def test_key_is_stored_only_as_a_hash(admin):
    key = create_key(admin).json()["key"]
    stored = ApiKey.objects.values().get()
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert all(key not in str(value) for value in stored.values())
    secret = key.split("_", 2)[2]  # sf_<prefix>_<secret>; the secret itself may contain "_"
    assert all(secret not in str(value) for value in stored.values())


def test_key_creation_is_audited_without_the_key(admin):
    key = create_key(admin).json()["key"]
    event = AuditEvent.objects.get(action=AuditAction.API_KEY_CREATED)
    assert event.actor_id == admin.user.pk
    assert event.changes == {"role": "editor", "prefix": ApiKey.objects.get().prefix}
    assert key not in str(AuditEvent.objects.values().get(pk=event.pk))


def test_new_key_authenticates_in_its_workspace(admin):
    key = create_key(admin, role="viewer").json()["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.get(f"/api/v1/workspaces/{admin.workspace.pk}/members/")
    assert response.status_code == 200
    assert ApiKey.objects.get().last_used_at is not None


def test_workspaces_list_with_a_key_shows_only_its_workspace(make_api_key):
    holder = make_api_key(role=Role.VIEWER)
    WorkspaceFactory()
    results = holder.client.get("/api/v1/workspaces/").json()["results"]
    assert [(row["id"], row["role"]) for row in results] == [(holder.workspace.pk, "viewer")]


@pytest.mark.parametrize("path", ["", "members/", "invitations/", "api-keys/", "audit-log/"])
def test_key_is_confined_to_its_workspace_by_url(make_api_key, assert_error, path):
    holder = make_api_key(role=Role.ADMIN)
    other = WorkspaceFactory()
    assert_error(holder.client.get(f"/api/v1/workspaces/{other.pk}/{path}"), 404, code="not_found")
    assert holder.client.get(f"/api/v1/workspaces/{holder.workspace.pk}/{path}").status_code == 200


def test_key_of_another_workspace_cannot_revoke_this_ones(make_api_key, assert_error):
    victim = make_api_key(role=Role.ADMIN)
    attacker = make_api_key(role=Role.ADMIN)
    response = attacker.client.delete(f"{keys_url(victim.workspace)}{victim.api_key.pk}/")
    assert_error(response, 404)
    response = attacker.client.delete(f"{keys_url(attacker.workspace)}{victim.api_key.pk}/")
    assert_error(response, 404)
    assert ApiKey.objects.get(pk=victim.api_key.pk).revoked_at is None


class _HeaderScopedViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """A route without the workspace in its URL, like the tenant lists to come (e.g. /api/v1/contacts/)."""

    queryset = Membership.objects.all()
    serializer_class = MemberSerializer


def _list_with_header(key: str, workspace_ref: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if workspace_ref is not None:
        headers["HTTP_X_WORKSPACE"] = workspace_ref
    request = RequestFactory().get("/api/v1/probe/", **headers)
    request.request_id = "probe-request-0001"
    response = _HeaderScopedViewSet.as_view({"get": "list"})(request)
    if hasattr(response, "render"):
        response.render()
    return response


def test_key_is_confined_to_its_workspace_by_x_workspace_header(make_api_key, make_member):
    holder = make_api_key(role=Role.VIEWER)
    mine = make_member(holder.workspace, Role.EDITOR)
    other = WorkspaceFactory()
    make_member(other, Role.OWNER)

    for ref in (None, str(holder.workspace.pk), holder.workspace.slug):
        response = _list_with_header(holder.key, ref)
        assert response.status_code == 200, (ref, response.content)
        assert [row["user"]["id"] for row in response.data["results"]] == [mine.user.pk]
    for ref in (str(other.pk), other.slug, "99999999999999999999999"):
        response = _list_with_header(holder.key, ref)
        assert response.status_code == 404, (ref, response.content)
        assert b'"not_found"' in response.content


def test_key_carries_its_role(make_api_key, owner, assert_error):
    viewer_key = make_api_key(owner.workspace, Role.VIEWER)
    base = f"/api/v1/workspaces/{owner.workspace.pk}"
    assert viewer_key.client.get(f"{base}/members/").status_code == 200
    assert_error(viewer_key.client.post(f"{base}/invitations/", {"email": "a@example.com"}, format="json"), 403)
    assert_error(viewer_key.client.post(f"{base}/api-keys/", {"name": "More"}, format="json"), 403)
    assert ApiKey.objects.count() == 1
    assert not Invitation.objects.exists()


def test_admin_key_actions_are_audited_as_the_key(make_api_key, owner):
    holder = make_api_key(owner.workspace, Role.ADMIN)
    response = holder.client.post(
        f"/api/v1/workspaces/{owner.workspace.pk}/invitations/", {"email": "via-key@example.com"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["invited_by"] is None
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_CREATED)
    assert event.api_key_id == holder.api_key.pk
    assert event.actor_id is None
    assert event.actor_email == f"api-key:{holder.api_key.prefix}"
    listed = owner.client.get(f"/api/v1/workspaces/{owner.workspace.pk}/audit-log/?action=invitation.created")
    assert listed.json()["results"][0]["api_key_prefix"] == holder.api_key.prefix


def test_key_cannot_create_a_key_above_its_role(make_api_key, assert_error):
    holder = make_api_key(role=Role.ADMIN)
    response = holder.client.post(keys_url(holder.workspace), {"name": "Root", "role": "owner"}, format="json")
    assert_error(response, 400, field="role")
    response = holder.client.post(keys_url(holder.workspace), {"name": "Peer", "role": "admin"}, format="json")
    assert response.status_code == 201
    assert ApiKey.objects.get(name="Peer").created_by is None


def test_revoked_key_is_refused(admin, assert_error):
    created = create_key(admin).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    members = f"/api/v1/workspaces/{admin.workspace.pk}/members/"
    assert client.get(members).status_code == 200

    assert admin.client.delete(f"{keys_url(admin.workspace)}{created['id']}/").status_code == 204

    assert_error(client.get(members), 401, code="invalid_api_key")
    shown = admin.client.get(f"{keys_url(admin.workspace)}{created['id']}/").json()
    assert shown["is_active"] is False and shown["revoked_at"]
    assert AuditEvent.objects.filter(action=AuditAction.API_KEY_REVOKED, target_id=str(created["id"])).count() == 1


def test_revoking_twice_is_harmless_and_audited_once(admin):
    key = ApiKeyFactory(workspace=admin.workspace)
    for _ in range(2):
        assert admin.client.delete(f"{keys_url(admin.workspace)}{key.pk}/").status_code == 204
    assert AuditEvent.objects.filter(action=AuditAction.API_KEY_REVOKED).count() == 1


@pytest.mark.parametrize(
    "header",
    ["Bearer sf_garbage", "Bearer sf_", "Bearer sf_deadbeef_", "Bearer sf_deadbeef_wrong-secret"],
)
def test_unknown_key_is_a_401_envelope(api_client, assert_error, header, db):
    ApiKeyFactory()
    response = api_client.get("/api/v1/workspaces/", HTTP_AUTHORIZATION=header)
    error = assert_error(response, 401, code="invalid_api_key")
    assert error["message"] == "Invalid or revoked API key."
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_key_with_a_valid_prefix_but_wrong_secret_is_refused(make_api_key, api_client, assert_error):
    holder = make_api_key(role=Role.ADMIN)
    forged = f"sf_{holder.api_key.prefix}_{'A' * 43}"
    response = api_client.get("/api/v1/workspaces/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert_error(response, 401, code="invalid_api_key")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "viewer"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "K", "role": "boss"}, "role"),
        ({"name": "K", "role": None}, "role"),
    ],
)
def test_key_creation_validates_input(admin, assert_error, body, field):
    response = admin.client.post(keys_url(admin.workspace), body, format="json")
    assert_error(response, 400, code="validation_error", field=field)
    assert not ApiKey.objects.exists()
