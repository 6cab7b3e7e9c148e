"""Settings → Members: roles, removal, invitations."""

import re

import pytest
from django.urls import reverse

from accounts.authentication import hash_secret
from accounts.models import AuditAction, AuditEvent, Invitation, Membership
from accounts.roles import Role
from tests.factories import InvitationFactory, MembershipFactory

pytestmark = pytest.mark.django_db

MEMBERS = reverse("dashboard:settings-members")
INVITE = reverse("dashboard:invitation-create")


def role_url(membership) -> str:
    return reverse("dashboard:member-role", args=[membership.pk])


def test_members_page_lists_members_and_pending_invitations(owner_web, viewer_web):
    InvitationFactory(workspace=owner_web.workspace, email="pending@example.com")
    html = owner_web.web.get(MEMBERS).content.decode()
    assert owner_web.user.email in html and viewer_web.user.email in html
    assert "pending@example.com" in html


def test_viewer_sees_members_without_controls(viewer_web):
    response = viewer_web.web.get(MEMBERS)
    assert response.status_code == 200
    assert response.context["invite_form"] is None
    assert 'name="role"' not in response.content.decode()


def test_viewer_gets_403_changing_a_role(viewer_web, admin_web):
    response = viewer_web.web.post(role_url(admin_web.membership), {"role": Role.VIEWER})
    assert response.status_code == 403
    admin_web.membership.refresh_from_db()
    assert admin_web.membership.role == Role.ADMIN


def test_admin_changes_a_role_with_htmx_and_gets_the_row_back(admin_web, viewer_web):
    response = admin_web.web.post(
        role_url(viewer_web.membership), {"role": Role.EDITOR}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="member-{viewer_web.membership.pk}"')
    assert "Saved" in html
    viewer_web.membership.refresh_from_db()
    assert viewer_web.membership.role == Role.EDITOR
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_ROLE_CHANGED, target_id=str(viewer_web.user.pk)).exists()


def test_role_change_without_htmx_redirects_with_a_message(admin_web, viewer_web):
    response = admin_web.web.post(role_url(viewer_web.membership), {"role": Role.EDITOR}, follow=True)
    assert response.redirect_chain[-1][0] == MEMBERS
    assert "is now editor" in response.content.decode()


def test_unknown_role_is_refused_inline_not_500(admin_web, viewer_web):
    response = admin_web.web.post(role_url(viewer_web.membership), {"role": "emperor"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Unknown role" in response.content.decode()
    viewer_web.membership.refresh_from_db()
    assert viewer_web.membership.role == Role.VIEWER


def test_owner_role_cannot_be_changed(admin_web, owner_web):
    response = admin_web.web.post(role_url(owner_web.membership), {"role": Role.VIEWER}, follow=True)
    assert response.status_code == 200
    assert "transferring ownership" in response.content.decode()
    owner_web.membership.refresh_from_db()
    assert owner_web.membership.role == Role.OWNER


def test_member_of_another_workspace_is_404(owner_web, login_as):
    outsider = login_as(Role.VIEWER)  # another workspace
    assert owner_web.web.post(role_url(outsider.membership), {"role": Role.EDITOR}).status_code == 404
    remove = reverse("dashboard:member-remove", args=[outsider.membership.pk])
    assert owner_web.web.post(remove).status_code == 404
    assert Membership.objects.filter(pk=outsider.membership.pk, role=Role.VIEWER).exists()


def test_admin_removes_a_member(admin_web, viewer_web):
    response = admin_web.web.post(reverse("dashboard:member-remove", args=[viewer_web.membership.pk]), follow=True)
    assert response.status_code == 200
    assert not Membership.objects.filter(pk=viewer_web.membership.pk).exists()
    assert "was removed" in response.content.decode()


def test_owner_cannot_be_removed(admin_web, owner_web):
    response = admin_web.web.post(reverse("dashboard:member-remove", args=[owner_web.membership.pk]), follow=True)
    assert "The owner cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=owner_web.membership.pk).exists()


def test_admin_invites_and_sees_the_accept_link_once(admin_web):
    response = admin_web.web.post(INVITE, {"email": "New.Person@Example.com", "role": Role.EDITOR}, follow=True)
    assert response.status_code == 200
    invitation = Invitation.objects.get(workspace=admin_web.workspace, email="new.person@example.com")
    assert invitation.role == Role.EDITOR and invitation.invited_by == admin_web.user

    html = response.content.decode()
    token = re.search(r"http://testserver/invitations/([\w-]+)/", html).group(1)
    assert hash_secret(token) == invitation.token_hash
    assert "Invitation sent to new.person@example.com" in html
    assert token not in admin_web.web.get(MEMBERS).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email", "role": Role.EDITOR}, "email"),
        ({"email": "ok@example.com", "role": "emperor"}, "role"),
        ({"email": "", "role": Role.EDITOR}, "email"),
    ],
)
def test_bad_invitation_rerenders_the_form_and_creates_nothing(admin_web, data, field):
    response = admin_web.web.post(INVITE, data)
    assert response.status_code == 200
    assert response.context["invite_form"].errors[field]
    assert not Invitation.objects.filter(workspace=admin_web.workspace).exists()


def test_inviting_an_existing_member_shows_the_services_reason(admin_web, viewer_web):
    response = admin_web.web.post(INVITE, {"email": viewer_web.user.email, "role": Role.EDITOR})
    assert response.status_code == 200
    assert "This person is already a member." in response.content.decode()
    assert not Invitation.objects.exists()


def test_admin_cannot_offer_a_role_above_their_own(admin_web):
    form = admin_web.web.get(MEMBERS).context["invite_form"]
    assert [value for value, _ in form.fields["role"].choices] == [Role.ADMIN, Role.EDITOR, Role.VIEWER]
    assert Role.OWNER not in [value for value, _ in form.fields["role"].choices]


def test_viewer_gets_403_inviting(viewer_web):
    response = viewer_web.web.post(INVITE, {"email": "x@example.com", "role": Role.VIEWER})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_admin_revokes_an_invitation(admin_web):
    invitation = InvitationFactory(workspace=admin_web.workspace)
    response = admin_web.web.post(reverse("dashboard:invitation-revoke", args=[invitation.pk]), follow=True)
    assert response.status_code == 200
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_revoking_another_workspaces_invitation_is_404(admin_web):
    invitation = InvitationFactory()
    assert admin_web.web.post(reverse("dashboard:invitation-revoke", args=[invitation.pk])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_members_list_is_paginated(owner_web):
    for _ in range(30):
        MembershipFactory(workspace=owner_web.workspace, role=Role.VIEWER)
    first = owner_web.web.get(MEMBERS)
    assert len(first.context["members"]) == 25
    assert first.context["members"].next_url == "?page=2"
    assert len(owner_web.web.get(MEMBERS + "?page=2").context["members"]) == 6
