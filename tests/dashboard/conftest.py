import pytest
from django.test import Client

from accounts.roles import Role


@pytest.fixture
def login_as(make_member):
    """A member with `role` (in a new workspace unless one is given), with `.web`, a Django test
    client signed in to the dashboard as them (the `.client` from make_member speaks to the API)."""

    def make(role: str = Role.OWNER, workspace=None):
        member = make_member(workspace=workspace, role=role)
        member.web = Client()
        member.web.force_login(member.user)
        return member

    return make


@pytest.fixture
def owner_web(login_as):
    return login_as(Role.OWNER)


@pytest.fixture
def admin_web(login_as, owner_web):
    return login_as(Role.ADMIN, workspace=owner_web.workspace)


@pytest.fixture
def viewer_web(login_as, owner_web):
    return login_as(Role.VIEWER, workspace=owner_web.workspace)
