"""Workspaces, their members, invitations and audit log, through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.authentication import hash_secret
from accounts.models import AuditAction, AuditEvent, Invitation, Membership, User, Workspace
from accounts.roles import Role
from core.models import Event
from tests.factories import AuditEventFactory, InvitationFactory, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


# --- Workspaces -----------------------------------------------------------------------------------------


def test_list_shows_only_my_workspaces_with_my_role(owner):
    second = MembershipFactory(user=owner.user, role=Role.VIEWER).workspace
    WorkspaceFactory()  # not mine
    MembershipFactory(role=Role.OWNER)  # someone else's

    response = owner.client.get("/api/v1/workspaces/")

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert {pk: row["role"] for pk, row in rows.items()} == {owner.workspace.pk: "owner", second.pk: "viewer"}
    assert set(rows[second.pk]) == {"id", "name", "slug", "timezone", "created_at", "role"}


def test_retrieve_shows_my_role(make_member):
    editor = make_member(role=Role.EDITOR)
    body = editor.client.get(f"/api/v1/workspaces/{editor.workspace.pk}/").json()
    assert (body["id"], body["role"]) == (editor.workspace.pk, "editor")


def test_create_makes_the_caller_owner(owner):
    response = owner.client.post("/api/v1/workspaces/", {"name": "  Second Shop  ", "timezone": "Europe/Paris"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["slug"], body["timezone"], body["role"]) == (
        "Second Shop",
        "second-shop",
        "Europe/Paris",
        "owner",
    )
    workspace = Workspace.objects.get(pk=body["id"])
    assert Membership.objects.get(workspace=workspace).user == owner.user
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER
    assert AuditEvent.objects.filter(workspace=workspace, action=AuditAction.WORKSPACE_CREATED).count() == 1
    # The caller's default workspace stays what it was.
    assert User.objects.get(pk=owner.user.pk).default_workspace_id == owner.workspace.pk


def test_created_workspace_slugs_are_unique(owner):
    slugs = [owner.client.post("/api/v1/workspaces/", {"name": "Acme"}).json()["slug"] for _ in range(3)]
    assert slugs[0] == "acme"
    assert len(set(slugs)) == 3
    assert all(slug.startswith("acme") for slug in slugs)


@pytest.mark.parametrize("name", ["123", "2024", "  42  ", "١٢٣", "!!!"])
def test_created_workspace_slug_is_never_numeric(owner, name):
    response = owner.client.post("/api/v1/workspaces/", {"name": name})
    assert response.status_code == 201, response.content
    slug = response.json()["slug"]
    assert slug and not slug.isdigit()
    # The slug names the workspace in X-Workspace or the URL without being mistaken for an id.
    assert owner.client.get(f"/api/v1/workspaces/{slug}/").json()["id"] == response.json()["id"]


def test_numeric_names_twice_get_distinct_non_numeric_slugs(owner):
    slugs = {owner.client.post("/api/v1/workspaces/", {"name": "123"}).json()["slug"] for _ in range(2)}
    assert len(slugs) == 2
    assert not any(slug.isdigit() for slug in slugs)


@pytest.mark.parametrize(
    ("body", "field"), [({}, "name"), ({"name": " "}, "name"), ({"name": "X", "timezone": "Nope"}, "timezone")]
)
def test_create_validates_input(owner, assert_error, body, field):
    before = Workspace.objects.count()
    assert_error(owner.client.post("/api/v1/workspaces/", body), 400, field=field)
    assert Workspace.objects.count() == before


def test_update_renames_and_audits(owner):
    url = f"/api/v1/workspaces/{owner.workspace.pk}/"
    old_name = owner.workspace.name
    response = owner.client.patch(url, {"name": "Renamed", "timezone": "America/New_York"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["timezone"], response.json()["role"]) == (
        "Renamed",
        "America/New_York",
        "owner",
    )
    event = AuditEvent.objects.get(action=AuditAction.WORKSPACE_UPDATED)
    assert event.changes == {"name": [old_name, "Renamed"], "timezone": ["UTC", "America/New_York"]}


def test_update_without_changes_writes_no_audit_event(owner):
    owner.client.patch(f"/api/v1/workspaces/{owner.workspace.pk}/", {"name": owner.workspace.name})
    assert not AuditEvent.objects.filter(action=AuditAction.WORKSPACE_UPDATED).exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_refuses_an_unknown_timezone(owner, assert_error, method):
    url = f"/api/v1/workspaces/{owner.workspace.pk}/"
    response = getattr(owner.client, method)(url, {"name": "Still", "timezone": "Mars/Base"})
    error = assert_error(response, 400, field="timezone")
    assert "Mars/Base" in error["details"]["timezone"][0]
    workspace = Workspace.objects.get(pk=owner.workspace.pk)
    assert (workspace.name, workspace.timezone) == (owner.workspace.name, "UTC")


def test_put_needs_the_name(owner, assert_error):
    response = owner.client.put(f"/api/v1/workspaces/{owner.workspace.pk}/", {"timezone": "Europe/Paris"})
    assert_error(response, 400, field="name")


def test_owner_deletes_the_workspace(owner, make_member):
    member = make_member(owner.workspace, Role.EDITOR)
    response = owner.client.delete(f"/api/v1/workspaces/{owner.workspace.pk}/")
    assert response.status_code == 204
    assert not Workspace.objects.filter(pk=owner.workspace.pk).exists()
    assert not Membership.objects.filter(workspace_id=owner.workspace.pk).exists()
    assert User.objects.get(pk=member.user.pk).default_workspace_id is None
    assert User.objects.filter(pk=owner.user.pk).exists()


# --- Members --------------------------------------------------------------------------------------------


def members_url(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/members/"


def test_members_list_shows_users_and_roles(owner, make_member):
    editor = make_member(owner.workspace, Role.EDITOR)
    make_member(role=Role.OWNER)  # another workspace's
    rows = owner.client.get(members_url(owner.workspace)).json()["results"]
    assert [(row["user"]["email"], row["role"]) for row in rows] == [
        (owner.user.email, "owner"),
        (editor.user.email, "editor"),
    ]
    assert set(rows[0]) == {"id", "user", "role", "created_at"}
    assert set(rows[0]["user"]) == {"id", "email", "name"}


def test_members_search_and_filter(owner):
    MembershipFactory(workspace=owner.workspace, user=UserFactory(email="zoe@acme.test", name="Zoe"))
    MembershipFactory(workspace=owner.workspace, user=UserFactory(email="max@other.test", name="Max Acme"))
    MembershipFactory(workspace=owner.workspace, role=Role.VIEWER)

    def emails(query):
        return sorted(
            row["user"]["email"] for row in owner.client.get(members_url(owner.workspace) + query).json()["results"]
        )

    assert emails("?search=acme") == ["max@other.test", "zoe@acme.test"]
    assert emails("?search=ZOE") == ["zoe@acme.test"]
    assert len(emails("?role=viewer")) == 1
    assert emails("?role=owner") == [owner.user.email]


def _add_members(workspace, count):
    users = User.objects.bulk_create(User(email=f"bulk{n}@example.com") for n in range(count))
    Membership.objects.bulk_create(Membership(workspace=workspace, user=u, role=Role.VIEWER) for u in users)


def test_members_pagination_and_page_size(owner):
    _add_members(owner.workspace, 4)
    body = owner.client.get(members_url(owner.workspace) + "?page_size=2").json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] and "page=2" in body["next"]
    last = owner.client.get(members_url(owner.workspace) + "?page_size=2&page=3").json()
    assert len(last["results"]) == 1 and last["next"] is None


def test_members_page_size_is_capped_at_100(owner):
    _add_members(owner.workspace, 110)
    body = owner.client.get(members_url(owner.workspace) + "?page_size=1000").json()
    assert body["count"] == 111
    assert len(body["results"]) == 100
    default = owner.client.get(members_url(owner.workspace)).json()
    assert len(default["results"]) == 25


def test_members_page_out_of_range_is_a_404_envelope(owner, assert_error):
    assert_error(owner.client.get(members_url(owner.workspace) + "?page=99"), 404, code="not_found")


def test_member_leaving_clears_their_default_workspace(owner, make_member):
    member = make_member(owner.workspace, Role.EDITOR)
    response = member.client.delete(f"{members_url(owner.workspace)}{member.membership.pk}/")
    assert response.status_code == 204
    assert User.objects.get(pk=member.user.pk).default_workspace_id is None
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_REMOVED)
    assert (event.actor_id, event.target_id) == (member.user.pk, str(member.user.pk))
    # Out of the workspace, out of its API.
    assert member.client.get(members_url(owner.workspace)).status_code == 404


# --- Invitations ----------------------------------------------------------------------------------------


def invitations_url(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/invitations/"


def invite(member, email="new.person@example.com", role="editor"):
    return member.client.post(invitations_url(member.workspace), {"email": email, "role": role}, format="json")


def test_invitation_email_is_sent_once_the_event_is_dispatched(
    owner, celery_eager, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = invite(owner, email="New.Person@Example.com")
        assert mailoutbox == []  # nothing is sent before the transaction commits
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1
    body = response.json()
    assert body["email"] == "new.person@example.com"
    assert body["status"] == "pending"

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["new.person@example.com"]
    assert owner.workspace.name in message.subject
    assert f"/invitations/{body['token']}/" in message.body
    event = Event.objects.get(type="invitation.created")
    assert event.dispatched_at is not None
    assert event.payload["token"] == "[sent]"  # the credential does not stay in the event log


def test_invitation_is_stored_hashed_and_listed_without_token(owner):
    body = invite(owner).json()
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_secret(body["token"])
    listed = owner.client.get(invitations_url(owner.workspace)).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert "token" not in listed[0]
    assert listed[0]["invited_by"]["id"] == owner.user.pk


def test_inviting_an_existing_member_is_refused(owner, make_member, assert_error):
    member = make_member(owner.workspace, Role.VIEWER)
    assert_error(invite(owner, email=member.user.email.upper()), 400, field="email")
    assert not Invitation.objects.exists()


def test_reinviting_replaces_the_open_invitation(owner, assert_error):
    first = invite(owner).json()
    second = invite(owner, role="viewer").json()
    assert Invitation.objects.get(pk=first["id"]).status == "revoked"
    assert Invitation.objects.get(pk=second["id"]).status == "pending"
    invitee = UserFactory(email="new.person@example.com")
    client = APIClient()
    client.force_authenticate(invitee)
    assert_error(client.post("/api/v1/invitations/accept/", {"token": first["token"]}), 400, field="token")
    assert client.post("/api/v1/invitations/accept/", {"token": second["token"]}).status_code == 200
    assert Membership.objects.get(user=invitee).role == Role.VIEWER


@pytest.fixture
def invitee_client():
    def make(email):
        user = UserFactory(email=email)
        client = APIClient()
        client.force_authenticate(user)
        return user, client

    return make


def test_accept_creates_the_membership_with_the_invited_role(owner, invitee_client):
    token = invite(owner, email="New.Person@example.com", role="admin").json()["token"]
    user, client = invitee_client("new.person@EXAMPLE.com")

    response = client.post("/api/v1/invitations/accept/", {"token": token})

    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"
    assert response.json()["user"]["id"] == user.pk
    membership = Membership.objects.get(workspace=owner.workspace, user=user)
    assert membership.role == Role.ADMIN
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.accepted_by_id) == ("accepted", user.pk)
    assert User.objects.get(pk=user.pk).default_workspace_id == owner.workspace.pk
    actions = set(AuditEvent.objects.filter(workspace=owner.workspace).values_list("action", flat=True))
    assert {AuditAction.MEMBER_ADDED, AuditAction.INVITATION_ACCEPTED} <= actions
    # The new member now reaches the workspace.
    assert client.get(members_url(owner.workspace)).status_code == 200


def test_accept_refuses_a_token_sent_to_another_email(owner, invitee_client, assert_error):
    token = invite(owner, email="right@example.com").json()["token"]
    _, client = invitee_client("wrong@example.com")
    assert_error(client.post("/api/v1/invitations/accept/", {"token": token}), 400, field="token")
    assert not Membership.objects.filter(user__email="wrong@example.com").exists()
    assert Invitation.objects.get().status == "pending"


def test_accept_refuses_an_expired_invitation(owner, invitee_client, assert_error):
    token = invite(owner, email="late@example.com").json()["token"]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _, client = invitee_client("late@example.com")
    error = assert_error(client.post("/api/v1/invitations/accept/", {"token": token}), 400, field="token")
    assert "expired" in error["details"]["token"][0]
    assert not Membership.objects.filter(user__email="late@example.com").exists()


def test_accept_refuses_a_revoked_invitation(owner, invitee_client, assert_error):
    body = invite(owner, email="gone@example.com").json()
    assert owner.client.delete(f"{invitations_url(owner.workspace)}{body['id']}/").status_code == 204
    _, client = invitee_client("gone@example.com")
    error = assert_error(client.post("/api/v1/invitations/accept/", {"token": body["token"]}), 400, field="token")
    assert "revoked" in error["details"]["token"][0]
    assert not Membership.objects.filter(user__email="gone@example.com").exists()


def test_accept_refuses_an_used_invitation(owner, invitee_client, assert_error):
    token = invite(owner, email="twice@example.com").json()["token"]
    _, client = invitee_client("twice@example.com")
    assert client.post("/api/v1/invitations/accept/", {"token": token}).status_code == 200
    assert_error(client.post("/api/v1/invitations/accept/", {"token": token}), 400, field="token")
    assert Membership.objects.filter(user__email="twice@example.com").count() == 1


@pytest.mark.parametrize("body", [{"token": "not-a-real-token"}, {"token": ""}, {}])
def test_accept_refuses_a_bad_token(user, assert_error, body):
    client = APIClient()
    client.force_authenticate(user)
    assert_error(client.post("/api/v1/invitations/accept/", body), 400, field="token")


def test_accept_needs_a_person(owner, make_api_key, api_client, assert_error):
    token = invite(owner).json()["token"]
    assert_error(api_client.post("/api/v1/invitations/accept/", {"token": token}), 401)
    holder = make_api_key(role=Role.ADMIN)
    assert_error(holder.client.post("/api/v1/invitations/accept/", {"token": token}), 403)
    assert Invitation.objects.get().status == "pending"


def test_revoke_marks_the_invitation_and_audits(owner, assert_error):
    body = invite(owner).json()
    url = f"{invitations_url(owner.workspace)}{body['id']}/"
    assert owner.client.delete(url).status_code == 204
    assert owner.client.get(url).json()["status"] == "revoked"
    assert AuditEvent.objects.filter(action=AuditAction.INVITATION_REVOKED, target_id=str(body["id"])).count() == 1
    # Revoking again is refused, naming what is wrong.
    assert_error(owner.client.delete(url), 400, field="invitation")


def test_revoking_an_expired_invitation_is_refused(owner, assert_error):
    invitation = InvitationFactory(workspace=owner.workspace, expires_at=timezone.now() - timedelta(days=1))
    response = owner.client.delete(f"{invitations_url(owner.workspace)}{invitation.pk}/")
    assert_error(response, 400, field="invitation")


# --- Audit log ------------------------------------------------------------------------------------------


def audit_url(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/audit-log/"


@pytest.fixture
def audit_trail(owner):
    now = timezone.now()
    events = {
        name: AuditEventFactory(workspace=owner.workspace, action=action, at=now - timedelta(hours=hours))
        for name, action, hours in [
            ("old_login", AuditAction.LOGIN, 48),
            ("invite", AuditAction.INVITATION_CREATED, 30),
            ("key", AuditAction.API_KEY_CREATED, 5),
            ("recent_login", AuditAction.LOGIN, 1),
        ]
    }
    AuditEventFactory(action=AuditAction.LOGIN, at=now)  # another workspace's
    return now, events


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_audit_log_is_newest_first(owner, audit_trail):
    _, events = audit_trail
    assert _ids(owner.client.get(audit_url(owner.workspace))) == [
        events[name].pk for name in ("recent_login", "key", "invite", "old_login")
    ]


def test_audit_log_filters_by_action(owner, audit_trail):
    _, events = audit_trail
    assert _ids(owner.client.get(audit_url(owner.workspace) + "?action=login")) == [
        events["recent_login"].pk,
        events["old_login"].pk,
    ]
    both = owner.client.get(audit_url(owner.workspace) + "?action=api_key.created&action=invitation.created")
    assert _ids(both) == [events["key"].pk, events["invite"].pk]


def test_audit_log_refuses_an_unknown_action(owner, audit_trail, assert_error):
    assert_error(owner.client.get(audit_url(owner.workspace) + "?action=nonsense"), 400, field="action")


def test_audit_log_filters_by_time(owner, audit_trail):
    now, events = audit_trail
    since = (now - timedelta(hours=31)).isoformat()
    until = (now - timedelta(hours=2)).isoformat()
    response = owner.client.get(audit_url(owner.workspace), {"since": since, "until": until})
    assert _ids(response) == [events["key"].pk, events["invite"].pk]
    response = owner.client.get(audit_url(owner.workspace), {"since": (now - timedelta(hours=6)).isoformat()})
    assert _ids(response) == [events["recent_login"].pk, events["key"].pk]


def test_audit_log_until_is_exclusive(owner, audit_trail):
    _, events = audit_trail
    response = owner.client.get(audit_url(owner.workspace), {"until": events["key"].at.isoformat()})
    assert _ids(response) == [events["invite"].pk, events["old_login"].pk]


def test_audit_log_refuses_a_malformed_time(owner, assert_error):
    assert_error(owner.client.get(audit_url(owner.workspace), {"since": "yesterday"}), 400, field="since")


def test_audit_log_entry_shape(owner, audit_trail):
    _, events = audit_trail
    body = owner.client.get(f"{audit_url(owner.workspace)}{events['key'].pk}/").json()
    assert set(body) == {
        "id",
        "at",
        "action",
        "actor_email",
        "api_key_prefix",
        "target_type",
        "target_id",
        "target_repr",
        "ip",
        "changes",
    }
    assert body["action"] == "api_key.created"


def test_a_workspace_reads_its_time_zone_and_falls_back_to_utc_for_a_name_no_longer_known():
    assert WorkspaceFactory(timezone="America/New_York").zone.key == "America/New_York"
    # Stored before the zone database dropped it: schedules and reports read it as UTC, not fail.
    assert WorkspaceFactory(timezone="Mars/Olympus_Mons").zone.key == "UTC"
