"""The executions API: the monitor's list (filters by workflow, status, contact and start date;
constant queries), the detail with every step and the version's definition, retry, re-run and
cancel; who may do what; another workspace's execution is a 404; bad filters are a 400 naming them."""

import datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import ContactTag
from tests.factories import (
    ContactFactory,
    ExecutionFactory,
    StepRunFactory,
    WorkspaceFactory,
    simple_definition,
)
from workflows.models import Execution, ExecutionStatus, StepStatus
from workflows.services.executions import execution_start
from workflows.services.workflows import workflow_activate, workflow_create, workflow_update

pytestmark = pytest.mark.django_db

URL = "/api/v1/executions/"


@pytest.fixture
def editor(editor):
    """In New York, whose day is not UTC's: the start-date filter reads dates in the workspace's zone."""
    editor.workspace.timezone = "America/New_York"
    editor.workspace.save()
    return editor


@pytest.fixture
def workflow(editor):
    workflow = workflow_create(workspace=editor.workspace, name="Welcome", definition=simple_definition())
    workflow_activate(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


@pytest.fixture
def enqueued():
    with mock.patch("workflows.engine.enqueue_run") as enqueue_run:
        yield enqueue_run


def run(workflow, **kwargs) -> Execution:
    return ExecutionFactory(version=workflow.active_version, **kwargs)


def detail(execution, action: str = "") -> str:
    return f"{URL}{execution.pk}/{action + '/' if action else ''}"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- list ---------------------------------------------------------------------------------------------------


def test_list_rows_name_the_workflow_version_and_contact(editor, workflow):
    contact = ContactFactory(workspace=editor.workspace, email="ann@example.com")
    execution = run(workflow, contact=contact, status="failed", error="No sender.", current_node="tag")
    anonymous = run(workflow, contact=None)
    ExecutionFactory()  # another workspace's

    rows = {row["id"]: row for row in editor.client.get(URL).json()["results"]}
    assert set(rows) == {execution.pk, anonymous.pk}
    row = rows[execution.pk]
    assert row["workflow"] == {"id": workflow.pk, "name": "Welcome"}
    assert row["version"] == 1
    assert row["contact"] == {"id": contact.pk, "email": "ann@example.com"}
    assert (row["status"], row["current_node"], row["error"]) == ("failed", "tag", "No sender.")
    assert rows[anonymous.pk]["contact"] is None
    assert "trigger_data" not in row and "steps" not in row


def test_list_is_newest_first_and_costs_the_same_queries_for_more_rows(editor, workflow):
    older = run(workflow, created_at=timezone.now() - datetime.timedelta(hours=1))
    newer = run(workflow)
    assert ids(editor.client.get(URL)) == [newer.pk, older.pk]

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            editor.client.get(URL)
        return len(captured)

    few = queries()
    for _ in range(15):
        run(workflow, contact=ContactFactory(workspace=editor.workspace))
    assert queries() == few


def test_list_filters_by_workflow_status_and_contact(editor, workflow):
    other = workflow_create(workspace=editor.workspace, name="Other", definition=simple_definition("x"))
    workflow_activate(workflow=other)
    other.refresh_from_db()
    ann = ContactFactory(workspace=editor.workspace)
    mine = run(workflow, contact=ann, status="waiting")
    failed = run(workflow, status="failed")
    theirs = run(other, contact=ann, status="succeeded")

    assert set(ids(editor.client.get(URL, {"workflow": workflow.pk}))) == {mine.pk, failed.pk}
    assert ids(editor.client.get(URL, {"status": "failed"})) == [failed.pk]
    assert set(ids(editor.client.get(URL, {"status": ["failed", "waiting"]}))) == {mine.pk, failed.pk}
    assert set(ids(editor.client.get(URL, {"contact": ann.pk}))) == {mine.pk, theirs.pk}
    assert ids(editor.client.get(URL, {"contact": ann.pk, "workflow": other.pk})) == [theirs.pk]


def test_list_filters_by_start_date_in_the_workspace_s_zone(editor, workflow):
    # 03:00 UTC on 2 March is still 1 March in New York.
    late_evening = run(workflow, created_at=datetime.datetime(2026, 3, 2, 3, 0, tzinfo=datetime.UTC))
    next_day = run(workflow, created_at=datetime.datetime(2026, 3, 2, 15, 0, tzinfo=datetime.UTC))
    assert ids(editor.client.get(URL, {"created_after": "2026-03-02"})) == [next_day.pk]
    assert ids(editor.client.get(URL, {"created_before": "2026-03-02"})) == [late_evening.pk]
    assert ids(editor.client.get(URL, {"created_after": "2026-03-02T00:00:00Z"})) == [next_day.pk, late_evening.pk]
    assert ids(
        editor.client.get(URL, {"created_after": "2026-03-01", "created_before": "2026-03-02T12:00:00+00:00"})
    ) == [late_evening.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"workflow": "abc"}, "workflow"),
        ({"workflow": "99999999999999999999999"}, "workflow"),
        ({"contact": "-1"}, "contact"),
        ({"contact": "1.5"}, "contact"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_after": "2026-13-40"}, "created_after"),
        ({"created_before": "0001-01-01"}, "created_before"),
        ({"created_before": "2026-01-01T25:00:00"}, "created_before"),
        ({"created_before": "2026-01-01T10:00:00+99:00"}, "created_before"),
    ],
)
def test_list_refuses_bad_filters_naming_them(editor, workflow, assert_error, params, field):
    assert_error(editor.client.get(URL, params), 400, code="validation_error", field=field)


def test_list_refuses_ids_of_another_workspace_as_filters(editor, workflow, assert_error):
    foreign = ExecutionFactory()
    assert_error(editor.client.get(URL, {"workflow": foreign.workflow_id}), 400, field="workflow")
    assert_error(editor.client.get(URL, {"contact": foreign.contact_id}), 400, field="contact")


# --- detail -------------------------------------------------------------------------------------------------


def test_detail_has_trigger_data_steps_in_order_and_the_version_s_definition(editor, workflow):
    execution = run(workflow, trigger_data={"email": "ann@example.com"}, status="failed", error="Boom")
    first = StepRunFactory(execution=execution, node_id="tag", status=StepStatus.FAILED, error="Boom", attempt=1)
    second = StepRunFactory(execution=execution, node_id="tag", status=StepStatus.FAILED, error="Boom", attempt=2)
    # Editing the draft afterwards doesn't change what the execution ran.
    workflow_update(workflow=workflow, definition=simple_definition("changed"))

    body = editor.client.get(detail(execution)).json()
    assert body["trigger_data"] == {"email": "ann@example.com"}
    assert body["version"] == 1 and body["version_id"] == workflow.active_version_id
    assert [(step["id"], step["attempt"]) for step in body["steps"]] == [(first.pk, 1), (second.pk, 2)]
    step = body["steps"][0]
    assert set(step) >= {"node_id", "node_type", "status", "port", "input", "output", "error", "duration_ms"}
    assert body["definition"]["nodes"][0]["config"]["tag"] == "lead"


def test_detail_of_an_execution_the_engine_ran(editor, workflow, celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory(workspace=editor.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        execution = execution_start(workflow=workflow, contact=contact, trigger_data={"source": "api"})
    body = editor.client.get(detail(execution)).json()
    assert body["status"] == "succeeded", body
    assert [(step["node_id"], step["status"], step["port"]) for step in body["steps"]] == [("tag", "succeeded", "out")]
    assert body["duration_ms"] is not None
    assert ContactTag.objects.filter(contact=contact, tag__name="lead").exists()


# --- retry, re-run, cancel ----------------------------------------------------------------------------------


def test_retry_sends_a_failed_execution_back_to_the_workers(
    editor, workflow, enqueued, django_capture_on_commit_callbacks
):
    execution = run(workflow, status="failed", error="Boom", current_node="tag")
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.client.post(detail(execution, "retry"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending" and response.json()["error"] == ""
    enqueued.assert_called_once_with(execution.pk)


def test_rerun_starts_a_new_execution_on_the_active_version(
    editor, workflow, enqueued, django_capture_on_commit_callbacks
):
    execution = run(workflow, status="succeeded", trigger_data={"a": 1})
    workflow_update(workflow=workflow, definition=simple_definition("v2"))
    workflow_activate(workflow=workflow)
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.client.post(detail(execution, "rerun"), {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] != execution.pk and body["rerun_of"] == execution.pk
    assert body["version"] == 2 and body["trigger_data"] == {"a": 1}
    enqueued.assert_called_once_with(body["id"])


def test_cancel_stops_a_waiting_execution(editor, workflow):
    execution = run(workflow, status="waiting", resume_at=timezone.now() + datetime.timedelta(days=2))
    response = editor.client.post(detail(execution, "cancel"), {}, format="json")
    assert response.status_code == 200, response.content
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED and execution.resume_at is None


@pytest.mark.parametrize(
    ("action", "status"),
    [("retry", "succeeded"), ("retry", "waiting"), ("rerun", "running"), ("cancel", "failed"), ("cancel", "cancelled")],
)
def test_actions_that_the_status_doesn_t_allow_are_refused_naming_it(
    editor, workflow, enqueued, assert_error, action, status, django_capture_on_commit_callbacks
):
    execution = run(workflow, status=status)
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.client.post(detail(execution, action), {}, format="json")
    assert_error(response, 400, field="status")
    execution.refresh_from_db()
    assert execution.status == status
    assert Execution.objects.count() == 1
    enqueued.assert_not_called()


def test_rerun_of_a_paused_workflow_is_refused(editor, workflow, enqueued, assert_error):
    from workflows.services.workflows import workflow_pause

    execution = run(workflow, status="failed")
    workflow_pause(workflow=workflow)
    assert_error(editor.client.post(detail(execution, "rerun"), {}, format="json"), 400, field="workflow")
    assert Execution.objects.count() == 1


# --- permissions and other workspaces -----------------------------------------------------------------------


def test_a_viewer_reads_executions_but_can_t_act_on_them(editor, viewer, workflow, enqueued, assert_error):
    failed = run(workflow, status="failed")
    waiting = run(workflow, status="waiting")
    assert viewer.client.get(URL).status_code == 200
    assert viewer.client.get(detail(failed)).status_code == 200
    for response in [
        viewer.client.post(detail(failed, "retry"), {}, format="json"),
        viewer.client.post(detail(failed, "rerun"), {}, format="json"),
        viewer.client.post(detail(waiting, "cancel"), {}, format="json"),
    ]:
        assert_error(response, 403, code="permission_denied")
    assert {e.status for e in Execution.objects.all()} == {"failed", "waiting"}
    enqueued.assert_not_called()


def test_another_workspace_s_execution_is_not_found(editor, workflow, enqueued, assert_error):
    foreign = ExecutionFactory(version__workflow__workspace=WorkspaceFactory(), status="failed")
    for response in [
        editor.client.get(detail(foreign)),
        editor.client.post(detail(foreign, "retry"), {}, format="json"),
        editor.client.post(detail(foreign, "rerun"), {}, format="json"),
        editor.client.post(detail(foreign, "cancel"), {}, format="json"),
    ]:
        assert_error(response, 404, code="not_found")
    foreign.refresh_from_db()
    assert foreign.status == "failed"
    assert_error(editor.client.get(f"{URL}99999999999999999999999/"), 404)
