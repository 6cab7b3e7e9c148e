"""The hottest read endpoints cost a fixed number of queries, however many workspaces a user has."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def jwt_client_with_workspaces():
    def make(count: int) -> APIClient:
        user = UserFactory()
        for n in range(count):
            MembershipFactory(user=user, role=Role.VIEWER if n % 2 else Role.OWNER)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    return make


@pytest.mark.parametrize("workspaces", [1, 12])
def test_me_takes_two_queries(jwt_client_with_workspaces, django_assert_num_queries, workspaces):
    client = jwt_client_with_workspaces(workspaces)
    with django_assert_num_queries(2):  # the user (authentication), their memberships with workspaces
        response = client.get("/api/v1/me/")
    assert len(response.json()["workspaces"]) == workspaces


@pytest.mark.parametrize("workspaces", [1, 12])
def test_workspace_list_takes_three_queries(jwt_client_with_workspaces, django_assert_num_queries, workspaces):
    client = jwt_client_with_workspaces(workspaces)
    with django_assert_num_queries(3):  # the user, the page count, the page with each role
        response = client.get("/api/v1/workspaces/")
    body = response.json()
    assert body["count"] == workspaces
    assert {row["role"] for row in body["results"]} == ({"owner", "viewer"} if workspaces > 1 else {"owner"})
