"""Who may do what in a workspace: the role matrix, as documented here, checked through the API.

accounts/roles.py PERMISSIONS is the single source of the rules; this file restates them as tables,
so a change to the rules shows up as a deliberate change here.
"""

import itertools
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import services
from accounts.models import ApiKey, AuditAction, AuditEvent, Invitation, Membership, Workspace
from accounts.roles import PERMISSIONS, Perm, Role, can
from tests.factories import ApiKeyFactory, InvitationFactory, MembershipFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "editor", "viewer"]

# --- The permission matrix of accounts.roles --------------------------------------------------------

#                          owner  admin  editor viewer
CAN = {
    Perm.READ: (True, True, True, True),
    Perm.WRITE_CONTENT: (True, True, True, False),
    Perm.MANAGE_MEMBERS: (True, True, False, False),
    Perm.MANAGE_API_KEYS: (True, True, False, False),
    Perm.MANAGE_DOMAINS: (True, True, False, False),
    Perm.MANAGE_SETTINGS: (True, True, False, False),
    Perm.READ_AUDIT_LOG: (True, True, False, False),
    Perm.DELETE_WORKSPACE: (True, False, False, False),
    Perm.TRANSFER_OWNERSHIP: (True, False, False, False),
}


def test_matrix_table_covers_every_permission_and_role():
    assert set(CAN) == set(Perm)
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize("perm", list(CAN), ids=str)
@pytest.mark.parametrize("role", ROLES)
def test_can_follows_the_matrix(role, perm):
    assert can(role, perm) is CAN[perm][ROLES.index(role)]


def test_can_refuses_an_unknown_role():
    with pytest.raises(ValueError):
        can("superuser", Perm.READ)


def test_each_role_includes_the_permissions_of_the_roles_below_it():
    for higher, lower in itertools.pairwise(ROLES):
        assert PERMISSIONS[Role(lower)] < PERMISSIONS[Role(higher)]


# --- The same rules through the API -----------------------------------------------------------------


@pytest.fixture
def team(make_member):
    """A workspace with an owner, one actor per role, a viewer to act on, a pending invitation and a key."""

    def build(role: str):
        owner = make_member(role=Role.OWNER)
        workspace = owner.workspace
        actor = owner if role == Role.OWNER else make_member(workspace, role)
        return SimpleNamespace(
            workspace=workspace,
            owner=owner,
            actor=actor,
            target=MembershipFactory(workspace=workspace, role=Role.VIEWER),
            invitation=InvitationFactory(workspace=workspace),
            api_key=ApiKeyFactory(workspace=workspace),
        )

    return build


def _base(t) -> str:
    return f"/api/v1/workspaces/{t.workspace.pk}"


def _target_role(t) -> str:
    return Membership.objects.get(pk=t.target.pk).role


# Each action: (request, whether its effect is visible in the database). Reads have no effect (None).
ACTIONS = {
    "retrieve workspace": (lambda t: t.actor.client.get(f"{_base(t)}/"), None),
    "update workspace": (
        lambda t: t.actor.client.patch(f"{_base(t)}/", {"name": "Renamed"}, format="json"),
        lambda t: Workspace.objects.get(pk=t.workspace.pk).name == "Renamed",
    ),
    "delete workspace": (
        lambda t: t.actor.client.delete(f"{_base(t)}/"),
        lambda t: not Workspace.objects.filter(pk=t.workspace.pk).exists(),
    ),
    "transfer ownership": (
        lambda t: t.actor.client.post(f"{_base(t)}/transfer-ownership/", {"user_id": t.target.user_id}, format="json"),
        lambda t: _target_role(t) == Role.OWNER,
    ),
    "list members": (lambda t: t.actor.client.get(f"{_base(t)}/members/"), None),
    "change a member's role": (
        lambda t: t.actor.client.patch(f"{_base(t)}/members/{t.target.pk}/", {"role": "editor"}, format="json"),
        lambda t: _target_role(t) == Role.EDITOR,
    ),
    "remove another member": (
        lambda t: t.actor.client.delete(f"{_base(t)}/members/{t.target.pk}/"),
        lambda t: not Membership.objects.filter(pk=t.target.pk).exists(),
    ),
    "leave the workspace": (
        lambda t: t.actor.client.delete(f"{_base(t)}/members/{t.actor.membership.pk}/"),
        lambda t: not Membership.objects.filter(pk=t.actor.membership.pk).exists(),
    ),
    "list invitations": (lambda t: t.actor.client.get(f"{_base(t)}/invitations/"), None),
    "create invitation": (
        lambda t: t.actor.client.post(
            f"{_base(t)}/invitations/", {"email": "new@example.com", "role": "viewer"}, format="json"
        ),
        lambda t: Invitation.objects.filter(workspace=t.workspace, email="new@example.com").exists(),
    ),
    "revoke invitation": (
        lambda t: t.actor.client.delete(f"{_base(t)}/invitations/{t.invitation.pk}/"),
        lambda t: Invitation.objects.get(pk=t.invitation.pk).revoked_at is not None,
    ),
    "list API keys": (lambda t: t.actor.client.get(f"{_base(t)}/api-keys/"), None),
    "create API key": (
        lambda t: t.actor.client.post(f"{_base(t)}/api-keys/", {"name": "CI", "role": "viewer"}, format="json"),
        lambda t: ApiKey.objects.filter(workspace=t.workspace, name="CI").exists(),
    ),
    "revoke API key": (
        lambda t: t.actor.client.delete(f"{_base(t)}/api-keys/{t.api_key.pk}/"),
        lambda t: ApiKey.objects.get(pk=t.api_key.pk).revoked_at is not None,
    ),
    "read audit log": (lambda t: t.actor.client.get(f"{_base(t)}/audit-log/"), None),
}

# The expected answer for each role; 403 is "your role does not allow this", 400 a rule of the
# workspace (the owner cannot leave: ownership must be transferred first).
#                                    owner admin editor viewer
EXPECTED = {
    "retrieve workspace": (200, 200, 200, 200),
    "update workspace": (200, 200, 403, 403),
    "delete workspace": (204, 403, 403, 403),
    "transfer ownership": (200, 403, 403, 403),
    "list members": (200, 200, 200, 200),
    "change a member's role": (200, 200, 403, 403),
    "remove another member": (204, 204, 403, 403),
    "leave the workspace": (400, 204, 204, 204),
    "list invitations": (200, 200, 403, 403),
    "create invitation": (201, 201, 403, 403),
    "revoke invitation": (204, 204, 403, 403),
    "list API keys": (200, 200, 403, 403),
    "create API key": (201, 201, 403, 403),
    "revoke API key": (204, 204, 403, 403),
    "read audit log": (200, 200, 403, 403),
}


def test_expected_table_covers_every_action():
    assert set(EXPECTED) == set(ACTIONS)


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_through_the_api(role, action, team, assert_error):
    t = team(role)
    request, effect = ACTIONS[action]
    expected = EXPECTED[action][ROLES.index(role)]

    response = request(t)

    if expected >= 400:
        error = assert_error(response, expected)
        if expected == 403:
            assert error["code"] == "permission_denied"
    else:
        assert response.status_code == expected, response.content
    if effect is not None:
        assert effect(t) is (expected < 400), f"{role} {action}: effect does not match {response.status_code}"


# --- API keys carry their role -------------------------------------------------------------------------

KEY_ACTIONS = {
    "list members": lambda c, base: c.get(f"{base}/members/"),
    "retrieve workspace": lambda c, base: c.get(f"{base}/"),
    "update workspace": lambda c, base: c.patch(f"{base}/", {"name": "By key"}, format="json"),
    "create invitation": lambda c, base: c.post(f"{base}/invitations/", {"email": "k@example.com"}, format="json"),
    "list API keys": lambda c, base: c.get(f"{base}/api-keys/"),
    "read audit log": lambda c, base: c.get(f"{base}/audit-log/"),
    "delete workspace": lambda c, base: c.delete(f"{base}/"),
}
#                              admin editor viewer
KEY_EXPECTED = {
    "list members": (200, 200, 200),
    "retrieve workspace": (200, 200, 200),
    "update workspace": (200, 403, 403),
    "create invitation": (201, 403, 403),
    "list API keys": (200, 403, 403),
    "read audit log": (200, 403, 403),
    "delete workspace": (403, 403, 403),
}
KEY_ROLES = ["admin", "editor", "viewer"]


@pytest.mark.parametrize("action", list(KEY_ACTIONS))
@pytest.mark.parametrize("role", KEY_ROLES)
def test_api_key_is_limited_by_its_role(role, action, make_api_key, assert_error):
    holder = make_api_key(role=role)
    MembershipFactory(workspace=holder.workspace, role=Role.OWNER)
    expected = KEY_EXPECTED[action][KEY_ROLES.index(role)]
    response = KEY_ACTIONS[action](holder.client, f"/api/v1/workspaces/{holder.workspace.pk}")
    if expected == 403:
        assert_error(response, 403, code="permission_denied")
    else:
        assert response.status_code == expected, response.content
    assert Workspace.objects.filter(pk=holder.workspace.pk).exists()


def test_viewer_key_reads_members_but_cannot_invite(make_api_key, make_member, assert_error):
    holder = make_api_key(role=Role.VIEWER)
    member = make_member(holder.workspace, Role.EDITOR)
    base = f"/api/v1/workspaces/{holder.workspace.pk}"

    response = holder.client.get(f"{base}/members/")
    assert response.status_code == 200
    assert [row["user"]["email"] for row in response.json()["results"]] == [member.user.email]

    assert_error(holder.client.post(f"{base}/invitations/", {"email": "x@example.com"}, format="json"), 403)
    assert not Invitation.objects.filter(workspace=holder.workspace).exists()


def test_api_key_cannot_transfer_ownership_or_create_workspaces(make_api_key, assert_error):
    holder = make_api_key(role=Role.ADMIN)
    owner = MembershipFactory(workspace=holder.workspace, role=Role.OWNER)
    response = holder.client.post(
        f"/api/v1/workspaces/{holder.workspace.pk}/transfer-ownership/", {"user_id": owner.user_id}, format="json"
    )
    assert_error(response, 403)
    assert_error(holder.client.post("/api/v1/workspaces/", {"name": "Key's own"}, format="json"), 403)
    assert Workspace.objects.count() == 1


# --- The owner ------------------------------------------------------------------------------------------


def test_owner_cannot_be_removed_by_an_admin(owner, make_member, assert_error):
    admin = make_member(owner.workspace, Role.ADMIN)
    response = admin.client.delete(f"/api/v1/workspaces/{owner.workspace.pk}/members/{owner.membership.pk}/")
    assert_error(response, 400, code="validation_error", field="member")
    assert Membership.objects.get(pk=owner.membership.pk).role == Role.OWNER


def test_owner_cannot_leave(owner, assert_error):
    response = owner.client.delete(f"/api/v1/workspaces/{owner.workspace.pk}/members/{owner.membership.pk}/")
    assert_error(response, 400, field="member")
    assert Membership.objects.filter(pk=owner.membership.pk, role=Role.OWNER).exists()


@pytest.mark.parametrize("new_role", ["admin", "viewer"])
@pytest.mark.parametrize("by", ["owner", "admin"])
def test_owner_cannot_be_demoted(owner, make_member, assert_error, by, new_role):
    actor = owner if by == "owner" else make_member(owner.workspace, Role.ADMIN)
    response = actor.client.patch(
        f"/api/v1/workspaces/{owner.workspace.pk}/members/{owner.membership.pk}/", {"role": new_role}, format="json"
    )
    assert_error(response, 400, field="role")
    assert Membership.objects.get(pk=owner.membership.pk).role == Role.OWNER


def test_transfer_moves_owner_to_admin_and_target_to_owner(owner, make_member):
    target = make_member(owner.workspace, Role.VIEWER)
    response = owner.client.post(
        f"/api/v1/workspaces/{owner.workspace.pk}/transfer-ownership/", {"user_id": target.user.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == target.user.pk
    assert response.json()["role"] == "owner"
    assert Membership.objects.get(pk=owner.membership.pk).role == Role.ADMIN
    assert Membership.objects.get(pk=target.membership.pk).role == Role.OWNER
    assert Membership.objects.for_workspace(owner.workspace).owners().count() == 1
    event = AuditEvent.objects.get(workspace=owner.workspace, action=AuditAction.OWNERSHIP_TRANSFERRED)
    assert event.changes["owner"] == [owner.user.email, target.user.email]
    assert event.changes["previous_role"] == "viewer"


def test_after_transfer_the_former_owner_has_admin_rights_only(owner, make_member, assert_error):
    target = make_member(owner.workspace, Role.ADMIN)
    base = f"/api/v1/workspaces/{owner.workspace.pk}"
    owner.client.post(f"{base}/transfer-ownership/", {"user_id": target.user.pk}, format="json")

    assert_error(owner.client.delete(f"{base}/"), 403)
    assert owner.client.patch(f"{base}/", {"name": "Still admin"}, format="json").status_code == 200
    assert target.client.delete(f"{base}/").status_code == 204
    assert not Workspace.objects.filter(pk=owner.workspace.pk).exists()


@pytest.mark.parametrize("who", ["self", "stranger", "nobody"])
def test_transfer_needs_another_member(owner, user, assert_error, who):
    user_id = {"self": owner.user.pk, "stranger": user.pk, "nobody": 10**9}[who]
    response = owner.client.post(
        f"/api/v1/workspaces/{owner.workspace.pk}/transfer-ownership/", {"user_id": user_id}, format="json"
    )
    assert_error(response, 400, field="user_id")
    assert list(Membership.objects.for_workspace(owner.workspace).values_list("user_id", "role")) == [
        (owner.user.pk, Role.OWNER)
    ]


def test_a_workspace_cannot_hold_two_owners(owner, user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(workspace=owner.workspace, user=user, role=Role.OWNER)
    assert Membership.objects.for_workspace(owner.workspace).owners().count() == 1


# --- Granting roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["owner", "admin"])
def test_nobody_grants_owner_by_role_change(owner, make_member, assert_error, by):
    actor = owner if by == "owner" else make_member(owner.workspace, Role.ADMIN)
    target = make_member(owner.workspace, Role.EDITOR)
    response = actor.client.patch(
        f"/api/v1/workspaces/{owner.workspace.pk}/members/{target.membership.pk}/", {"role": "owner"}, format="json"
    )
    assert_error(response, 400, field="role")
    assert Membership.objects.get(pk=target.membership.pk).role == Role.EDITOR


@pytest.mark.parametrize("by", ["owner", "admin"])
def test_nobody_grants_owner_by_invitation(owner, make_member, assert_error, by):
    actor = owner if by == "owner" else make_member(owner.workspace, Role.ADMIN)
    response = actor.client.post(
        f"/api/v1/workspaces/{owner.workspace.pk}/invitations/", {"email": "boss@example.com", "role": "owner"}
    )
    assert_error(response, 400, field="role")
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("by", ["owner", "admin"])
def test_nobody_grants_owner_by_api_key(owner, make_member, assert_error, by):
    actor = owner if by == "owner" else make_member(owner.workspace, Role.ADMIN)
    response = actor.client.post(
        f"/api/v1/workspaces/{owner.workspace.pk}/api-keys/", {"name": "Root", "role": "owner"}, format="json"
    )
    assert_error(response, 400, field="role")
    assert not ApiKey.objects.exists()


def test_admin_may_grant_admin(owner, make_member):
    admin = make_member(owner.workspace, Role.ADMIN)
    target = make_member(owner.workspace, Role.VIEWER)
    response = admin.client.patch(
        f"/api/v1/workspaces/{owner.workspace.pk}/members/{target.membership.pk}/", {"role": "admin"}, format="json"
    )
    assert response.status_code == 200
    assert Membership.objects.get(pk=target.membership.pk).role == Role.ADMIN
    event = AuditEvent.objects.get(workspace=owner.workspace, action=AuditAction.MEMBER_ROLE_CHANGED)
    assert event.changes == {"role": ["viewer", "admin"]}


@pytest.mark.parametrize(
    ("actor_role", "role"),
    [("editor", "admin"), ("viewer", "editor"), ("viewer", "admin"), ("admin", "owner")],
)
def test_services_refuse_a_role_above_the_granters_own(owner, make_member, actor_role, role):
    target = make_member(owner.workspace, Role.VIEWER)
    attempts = [
        lambda: services.member_role_change(
            membership=target.membership, role=role, actor=owner.user, actor_role=actor_role
        ),
        lambda: services.invitation_create(
            workspace=owner.workspace, email="up@example.com", role=role, actor=owner.user, actor_role=actor_role
        ),
        lambda: services.api_key_create(
            workspace=owner.workspace, name="Up", role=role, actor=owner.user, actor_role=actor_role
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as excinfo:
            attempt()
        assert "role" in excinfo.value.message_dict
    assert Membership.objects.get(pk=target.membership.pk).role == Role.VIEWER
    assert not Invitation.objects.exists()
    assert not ApiKey.objects.exists()


def test_services_refuse_an_unknown_role(owner, make_member):
    target = make_member(owner.workspace, Role.VIEWER)
    with pytest.raises(ValidationError) as excinfo:
        services.member_role_change(
            membership=target.membership, role="superuser", actor=owner.user, actor_role=Role.OWNER
        )
    assert "role" in excinfo.value.message_dict
