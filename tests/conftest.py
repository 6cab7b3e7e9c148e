import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.roles import Role
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

SERVICES = os.environ.get("DATABASE_URL", "").startswith("postgres") and bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    if SERVICES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis: set DATABASE_URL=postgres://… and REDIS_URL")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


class Member:
    """A user with a role in a workspace, and an API client logged in as them."""

    def __init__(self, workspace, role: str):
        self.workspace = workspace
        self.membership = MembershipFactory(workspace=workspace, role=role)
        self.user = self.membership.user
        self.client = APIClient()
        self.client.force_authenticate(self.user)
        self.user.default_workspace = workspace
        self.user.save(update_fields=["default_workspace"])


@pytest.fixture
def make_member(db):
    def make(workspace=None, role: str = Role.OWNER) -> Member:
        return Member(workspace or WorkspaceFactory(), role)

    return make


@pytest.fixture
def owner(make_member) -> Member:
    return make_member(role=Role.OWNER)


@pytest.fixture
def user(db):
    return UserFactory()
