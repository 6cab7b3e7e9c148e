"""A workflow's stats: executions in the window by outcome, success rate, average and p95 duration,
who is waiting where now, and a day-by-day series cut in the workspace's time zone; the endpoint's
`days` checked."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from tests.factories import ExecutionFactory, simple_definition
from workflows.selectors import workflow_stats
from workflows.services.workflows import workflow_activate, workflow_create

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def reader(member):
    reader = member(Role.VIEWER)
    reader.workspace.timezone = "Asia/Tokyo"  # UTC+9, no daylight saving
    reader.workspace.save()
    return reader


@pytest.fixture
def workflow(reader):
    workspace = reader.workspace
    workflow = workflow_create(workspace=workspace, name="W", definition=simple_definition())
    workflow_activate(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def run(workflow, *, status="succeeded", at=NOW, duration_ms=None, current_node=""):
    return ExecutionFactory(
        version=workflow.active_version,
        status=status,
        created_at=at,
        duration_ms=duration_ms,
        current_node=current_node,
        contact=None,
    )


def test_an_idle_workflow_has_zeros_and_no_rates(workflow):
    stats = workflow_stats(workflow=workflow, days=7, now=NOW)
    assert stats["executions"] == stats["succeeded"] == stats["failed"] == stats["running"] == 0
    assert stats["success_rate"] is None
    assert stats["avg_duration_ms"] is None and stats["p95_duration_ms"] is None
    assert stats["waiting_at"] == []
    assert len(stats["daily"]) == 7
    assert stats["daily"][-1] == {"date": datetime.date(2026, 6, 15), "succeeded": 0, "failed": 0}


def test_counts_rates_and_durations_over_the_window(workflow):
    for ms in range(10, 201, 10):  # 20 successes: 10 … 200 ms
        run(workflow, duration_ms=ms)
    for _ in range(5):
        run(workflow, status="failed", duration_ms=1000)
    run(workflow, status="cancelled")
    run(workflow, status="succeeded", duration_ms=5, at=NOW - datetime.timedelta(days=40))  # outside
    stats = workflow_stats(workflow=workflow, days=30, now=NOW)
    assert (stats["executions"], stats["succeeded"], stats["failed"], stats["cancelled"]) == (26, 20, 5, 1)
    assert stats["success_rate"] == 0.8
    assert stats["avg_duration_ms"] == round((sum(range(10, 201, 10)) + 5000) / 25)
    # Nearest rank: the 24th of 25 sorted durations (200 ms is 20th; 21st-25th are the 1000 ms failures).
    assert stats["p95_duration_ms"] == 1000


def test_p95_is_the_nearest_rank(workflow):
    for ms in range(1, 101):
        run(workflow, duration_ms=ms)
    assert workflow_stats(workflow=workflow, now=NOW)["p95_duration_ms"] == 95


def test_live_figures_and_who_waits_where_are_as_of_now(workflow):
    long_ago = NOW - datetime.timedelta(days=200)
    run(workflow, status="waiting", current_node="wait_2_days", at=long_ago)
    run(workflow, status="waiting", current_node="wait_2_days")
    run(workflow, status="waiting", current_node="wait_for_open")
    run(workflow, status="running", current_node="send")
    run(workflow, status="pending")
    stats = workflow_stats(workflow=workflow, days=7, now=NOW)
    assert stats["waiting"] == 3 and stats["running"] == 2
    assert stats["waiting_at"] == [{"node_id": "wait_2_days", "count": 2}, {"node_id": "wait_for_open", "count": 1}]


def test_days_are_cut_in_the_workspace_s_time_zone(workflow):
    # 20:00 UTC on 14 June is 05:00 on 15 June in Tokyo.
    run(workflow, at=datetime.datetime(2026, 6, 14, 20, 0, tzinfo=datetime.UTC))
    run(workflow, status="failed", at=datetime.datetime(2026, 6, 14, 14, 0, tzinfo=datetime.UTC))
    stats = workflow_stats(workflow=workflow, days=2, now=NOW)
    assert stats["daily"] == [
        {"date": datetime.date(2026, 6, 14), "succeeded": 0, "failed": 1},
        {"date": datetime.date(2026, 6, 15), "succeeded": 1, "failed": 0},
    ]
    # The window starts at midnight in Tokyo: 14:59 UTC on 13 June is the 13th there, outside 2 days.
    run(workflow, at=datetime.datetime(2026, 6, 13, 14, 59, tzinfo=datetime.UTC))
    assert workflow_stats(workflow=workflow, days=2, now=NOW)["executions"] == 2


def test_other_workflows_don_t_count(workflow):
    other = workflow_create(workspace=workflow.workspace, name="Other", definition=simple_definition())
    workflow_activate(workflow=other)
    other.refresh_from_db()
    run(other, status="waiting", current_node="tag")
    run(other)
    stats = workflow_stats(workflow=workflow, now=NOW)
    assert stats["executions"] == 0 and stats["waiting_at"] == []


def test_stats_cost_a_fixed_number_of_queries(workflow):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            workflow_stats(workflow=workflow, days=30, now=NOW)
        return len(captured)

    run(workflow, duration_ms=10)
    queries()  # the workspace (its time zone) is read once and kept on the workflow
    few = queries()
    for day in range(20):
        run(workflow, duration_ms=day, at=NOW - datetime.timedelta(days=day))
        run(workflow, status="waiting", current_node=f"node{day}")
    assert queries() == few


# --- the endpoint -------------------------------------------------------------------------------------------


def test_stats_endpoint_answers_a_viewer(reader, workflow):
    run(workflow, duration_ms=40, at=timezone.now())
    run(workflow, status="failed", duration_ms=60, at=timezone.now())
    response = reader.client.get(f"/api/v1/workflows/{workflow.pk}/stats/", {"days": 7})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["days"] == 7 and len(body["daily"]) == 7
    assert (body["executions"], body["succeeded"], body["failed"], body["success_rate"]) == (2, 1, 1, 0.5)
    assert body["avg_duration_ms"] == 50
    assert set(body) >= {
        "executions",
        "succeeded",
        "failed",
        "cancelled",
        "running",
        "waiting",
        "success_rate",
        "avg_duration_ms",
        "p95_duration_ms",
        "waiting_at",
        "daily",
    }
    assert body["daily"][0]["date"] < body["daily"][-1]["date"]


@pytest.mark.parametrize("days", ["0", "366", "-3", "abc", "1.5", "99999999999999999999"])
def test_stats_endpoint_refuses_a_bad_window_naming_days(reader, workflow, assert_error, days):
    response = reader.client.get(f"/api/v1/workflows/{workflow.pk}/stats/", {"days": days})
    assert_error(response, 400, code="validation_error", field="days")
