"""Creating workspaces and switching between them."""

import pytest
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from accounts.models import Membership, Workspace
from accounts.roles import Role
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_switcher_changes_the_current_workspace(login_as, owner_web):
    other = login_as(Role.VIEWER)  # a second workspace...
    Membership.objects.create(workspace=other.workspace, user=owner_web.user, role=Role.EDITOR)  # ...owner_web joins

    response = owner_web.web.post(reverse("dashboard:workspace-switch", args=[other.workspace.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")
    assert owner_web.web.session[SESSION_KEY] == other.workspace.pk
    owner_web.user.refresh_from_db()
    assert owner_web.user.default_workspace_id == other.workspace.pk
    home = owner_web.web.get(reverse("dashboard:home"))
    assert home.context["current_workspace"] == other.workspace


def test_switcher_refuses_a_workspace_you_are_not_a_member_of(owner_web):
    stranger = WorkspaceFactory()
    response = owner_web.web.post(reverse("dashboard:workspace-switch", args=[stranger.pk]))
    assert response.status_code == 404
    assert SESSION_KEY not in owner_web.web.session
    assert owner_web.web.get(reverse("dashboard:home")).context["current_workspace"] == owner_web.workspace


def test_switcher_lists_every_workspace_of_the_user(login_as, owner_web):
    other = WorkspaceFactory(name="Second Shop")
    Membership.objects.create(workspace=other, user=owner_web.user, role=Role.VIEWER)
    html = owner_web.web.get(reverse("dashboard:home")).content.decode()
    assert reverse("dashboard:workspace-switch", args=[other.pk]) in html
    assert "Second Shop" in html


def test_switch_needs_post(owner_web):
    response = owner_web.web.get(reverse("dashboard:workspace-switch", args=[owner_web.workspace.pk]))
    assert response.status_code == 405


def test_new_workspace_is_created_owned_and_switched_to(owner_web):
    response = owner_web.web.post(
        reverse("dashboard:workspace-new"), {"name": "Launch Team", "timezone": "Europe/Paris"}
    )
    workspace = Workspace.objects.get(name="Launch Team")
    assert response.status_code == 302
    assert workspace.timezone == "Europe/Paris"
    assert Membership.objects.get(workspace=workspace, user=owner_web.user).role == Role.OWNER
    assert owner_web.web.session[SESSION_KEY] == workspace.pk


def test_new_workspace_with_blank_name_rerenders_the_form(owner_web):
    count = Workspace.objects.count()
    response = owner_web.web.post(reverse("dashboard:workspace-new"), {"name": "  ", "timezone": "UTC"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert Workspace.objects.count() == count


def test_new_workspace_rejects_an_unknown_time_zone(owner_web):
    response = owner_web.web.post(reverse("dashboard:workspace-new"), {"name": "Nope", "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    assert "timezone" in response.context["form"].errors
    assert not Workspace.objects.filter(name="Nope").exists()
