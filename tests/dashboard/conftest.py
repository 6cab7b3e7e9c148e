import pytest

from accounts.roles import Role


@pytest.fixture
def owner_web(login_as):
    return login_as(Role.OWNER)


@pytest.fixture
def admin_web(login_as, owner_web):
    return login_as(Role.ADMIN, workspace=owner_web.workspace)


@pytest.fixture
def viewer_web(login_as, owner_web):
    return login_as(Role.VIEWER, workspace=owner_web.workspace)
