from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from accounts.roles import Role
from tests.factories import AuditEventFactory

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:settings-audit-log")


@pytest.fixture
def events(admin_web):
    workspace = admin_web.workspace
    # Signing the fixtures' users in was audited too; start from a known log.
    AuditEvent.objects.filter(workspace=workspace).delete()
    return {
        "old_login": AuditEventFactory(
            workspace=workspace,
            action=AuditAction.LOGIN,
            actor_email="alice@example.com",
            at=datetime(2025, 1, 10, 12, tzinfo=UTC),
        ),
        "role_change": AuditEventFactory(
            workspace=workspace,
            action=AuditAction.MEMBER_ROLE_CHANGED,
            actor_email="bob@example.com",
            at=datetime(2025, 3, 5, 9, tzinfo=UTC),
            changes={"role": ["viewer", "editor"]},
        ),
        "new_login": AuditEventFactory(
            workspace=workspace,
            action=AuditAction.LOGIN,
            actor_email="bob@example.com",
            at=datetime(2025, 6, 1, 8, tzinfo=UTC),
        ),
        "elsewhere": AuditEventFactory(action=AuditAction.LOGIN, actor_email="bob@example.com"),
    }


def shown(response) -> set[int]:
    return {event.pk for event in response.context["events"]}


def test_lists_only_this_workspaces_events_newest_first(admin_web, events):
    response = admin_web.web.get(URL)
    assert response.status_code == 200
    assert [e.pk for e in response.context["events"]] == [
        events["new_login"].pk,
        events["role_change"].pk,
        events["old_login"].pk,
    ]
    assert "role: viewer → editor" in response.content.decode()


def test_filters_by_action(admin_web, events):
    response = admin_web.web.get(URL, {"action": AuditAction.LOGIN})
    assert shown(response) == {events["old_login"].pk, events["new_login"].pk}


def test_filters_by_actor_email(admin_web, events):
    response = admin_web.web.get(URL, {"actor": "BOB@"})
    assert shown(response) == {events["role_change"].pk, events["new_login"].pk}


def test_filters_by_date_range(admin_web, events):
    response = admin_web.web.get(URL, {"date_from": "2025-02-01", "date_to": "2025-05-31"})
    assert shown(response) == {events["role_change"].pk}


def test_combined_filters_and_empty_result(admin_web, events):
    response = admin_web.web.get(URL, {"action": AuditAction.LOGIN, "actor": "alice", "date_from": "2025-02-01"})
    assert shown(response) == set()
    assert "No matching events" in response.content.decode()


def test_date_filter_uses_the_workspace_time_zone(admin_web):
    admin_web.workspace.timezone = "Asia/Tokyo"
    admin_web.workspace.save()
    # 20:00 UTC on 1 March is already 2 March in Tokyo.
    late = AuditEventFactory(workspace=admin_web.workspace, at=datetime(2025, 3, 1, 20, tzinfo=UTC))
    assert shown(admin_web.web.get(URL, {"date_from": "2025-03-02", "date_to": "2025-03-02"})) == {late.pk}


def test_invalid_filter_is_shown_not_500(admin_web, events):
    response = admin_web.web.get(URL, {"date_from": "2025-06-01", "date_to": "2025-01-01"})
    assert response.status_code == 200
    assert response.context["form"].errors["date_to"]


def test_pagination_keeps_the_filters(admin_web):
    for _ in range(30):
        AuditEventFactory(workspace=admin_web.workspace, action=AuditAction.LOGIN)
    response = admin_web.web.get(URL, {"action": AuditAction.LOGIN})
    assert len(response.context["events"]) == 25
    assert response.context["events"].next_url == "?action=login&page=2"


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_roles_without_audit_access_get_403(login_as, owner_web, role):
    member = login_as(role, workspace=owner_web.workspace)
    assert member.web.get(URL).status_code == 403
