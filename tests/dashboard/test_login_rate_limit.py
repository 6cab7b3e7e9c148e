"""Dashboard sign-in is rate-limited like the API's token endpoint: per account and per address."""

import pytest

from accounts.models import AuditAction, AuditEvent
from tests.factories import DEFAULT_PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def attempt(client, email: str, password: str = "wrong-password", ip: str = "198.51.100.7"):
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


def test_repeated_failed_logins_for_one_account_are_refused_with_429(client):
    member = MembershipFactory()
    statuses = [attempt(client, member.user.email, ip=f"198.51.100.{n}").status_code for n in range(6)]
    assert statuses[:5] == [200] * 5, "wrong passwords re-render the form"
    assert statuses[5] == 429, "the sixth try within five minutes is refused, whatever the address"
    refused = attempt(client, member.user.email, ip="203.0.113.9")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "300"
    assert b"Too many attempts" in refused.content
    assert attempt(client, member.user.email, DEFAULT_PASSWORD).status_code == 429, "even the right password waits"
    failed = AuditEvent.objects.filter(workspace=member.workspace, action=AuditAction.LOGIN_FAILED)
    assert failed.count() == 5, "refused attempts never reach the password check"


def test_failed_logins_from_one_address_are_refused_with_429_across_accounts(client):
    statuses = [attempt(client, f"nobody{n}@example.com").status_code for n in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
