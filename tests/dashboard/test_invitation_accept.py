import pytest
from django.urls import reverse

from accounts import services
from accounts.middleware import SESSION_KEY
from accounts.models import Membership
from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(owner_web):
    def make(email: str, role: str = Role.EDITOR):
        invitation, token = services.invitation_create(
            workspace=owner_web.workspace, email=email, role=role, actor=owner_web.user, actor_role=Role.OWNER
        )
        return invitation, reverse("dashboard:invitation-accept", args=[token])

    return make


def test_anonymous_visitor_is_sent_to_login_and_back(client, invite):
    _, url = invite("guest@example.com")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=/invitations/")


def test_invitee_sees_the_summary_and_accepts(client, invite, owner_web):
    invitee = UserFactory(email="guest@example.com")
    _, url = invite(invitee.email)
    client.force_login(invitee)

    page = client.get(url)
    assert page.status_code == 200
    assert owner_web.workspace.name in page.content.decode()
    assert "Accept and join" in page.content.decode()

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")
    assert Membership.objects.get(workspace=owner_web.workspace, user=invitee).role == Role.EDITOR
    assert client.session[SESSION_KEY] == owner_web.workspace.pk


def test_someone_else_is_told_the_invitation_is_not_theirs(client, invite, owner_web):
    _, url = invite("guest@example.com")
    stranger = UserFactory()
    client.force_login(stranger)
    assert "Sign in with the invited address" in client.get(url).content.decode()

    response = client.post(url)
    assert response.status_code == 200
    assert "different email address" in response.content.decode()
    assert not Membership.objects.filter(workspace=owner_web.workspace, user=stranger).exists()


def test_revoked_invitation_cannot_be_accepted(client, invite, owner_web):
    invitation, url = invite("guest@example.com")
    services.invitation_revoke(invitation=invitation, actor=owner_web.user)
    client.force_login(UserFactory(email="guest@example.com"))
    assert "This invitation is revoked" in client.get(url).content.decode()
    assert client.post(url).status_code == 200
    assert Membership.objects.filter(workspace=owner_web.workspace).count() == 1


def test_unknown_token_is_404(client):
    client.force_login(UserFactory())
    response = client.get(reverse("dashboard:invitation-accept", args=["nope"]))
    assert response.status_code == 404
    assert "Invitation not found" in response.content.decode()
