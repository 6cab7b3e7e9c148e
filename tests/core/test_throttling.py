"""Per-principal and per-workspace API throttles (fixed windows on the shared cache)."""

import pytest

from accounts.roles import Role
from core.api.throttling import FixedWindowRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, set by hand (DRF binds time.time at import, out of freezegun's reach)."""
    now = {"t": 1_800_000_015.0}  # 15 s into a minute
    monkeypatch.setattr(FixedWindowRateThrottle, "timer", staticmethod(lambda: now["t"]))
    return now


def test_a_user_over_their_rate_gets_429_with_retry_after_until_the_window_ends(
    owner, throttle_rates, assert_error, clock
):
    throttle_rates(user="3/min")
    statuses = [owner.client.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = owner.client.get("/api/v1/me/")
    assert_error(refused, 429, code="throttled")
    assert refused["Retry-After"] == "45"
    clock["t"] += 45
    assert owner.client.get("/api/v1/me/").status_code == 200


def test_one_users_throttle_does_not_touch_another_user(owner, make_member, throttle_rates):
    throttle_rates(user="1/min")
    other = make_member()
    assert owner.client.get("/api/v1/me/").status_code == 200
    assert owner.client.get("/api/v1/me/").status_code == 429
    assert other.client.get("/api/v1/me/").status_code == 200


def test_a_workspace_over_its_rate_is_throttled_whoever_of_its_members_calls(
    owner, make_member, make_api_key, throttle_rates
):
    throttle_rates(workspace="3/min")
    colleague = make_member(owner.workspace, Role.VIEWER)
    key = make_api_key(owner.workspace, Role.VIEWER)
    members_url = f"/api/v1/workspaces/{owner.workspace.pk}/members/"
    statuses = [c.get(members_url).status_code for c in (owner.client, colleague.client, key.client, owner.client)]
    assert statuses == [200, 200, 200, 429]
    outsider = make_member()
    assert outsider.client.get(f"/api/v1/workspaces/{outsider.workspace.pk}/members/").status_code == 200
