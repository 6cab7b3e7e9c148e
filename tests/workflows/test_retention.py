"""Retention: past WORKFLOW_RETENTION_DAYS a finished execution keeps no step output in its state,
as its StepRuns keep no input or output."""

import datetime

import pytest
from django.utils import timezone

from tests.workflows.engine_kit import chain, kit, make_workflow, node, run  # noqa: F401
from workflows.models import Execution, ExecutionStatus
from workflows.services.executions import execution_retry, execution_start, executions_state_prune
from workflows.tasks.engine import step_runs_prune

pytestmark = pytest.mark.usefixtures("kit")


def finished(definition, *, days_ago: int, data=None) -> Execution:
    execution = run(execution_start(workflow=make_workflow(definition), trigger_data=data or {}))
    Execution.objects.filter(pk=execution.pk).update(finished_at=timezone.now() - datetime.timedelta(days=days_ago))
    execution.refresh_from_db()
    return execution


def test_an_old_finished_executions_step_outputs_are_dropped_and_a_recent_ones_kept(settings):
    settings.WORKFLOW_RETENTION_DAYS = 30
    old = finished(chain(node("a", "t_record", value="{{ trigger.email }}")), days_ago=31, data={"email": "a@x.io"})
    recent = finished(chain(node("a", "t_record", value="{{ trigger.email }}")), days_ago=29, data={"email": "b@x.io"})
    assert old.state["steps"]["a"]["value"] == "a@x.io"

    assert executions_state_prune(batch=1) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.state == {"queue": [], "steps": {}}
    assert old.status == ExecutionStatus.SUCCEEDED
    assert recent.state["steps"]["a"]["value"] == "b@x.io"
    assert executions_state_prune() == 0


def test_a_live_execution_keeps_its_state_however_old(settings):
    settings.WORKFLOW_RETENTION_DAYS = 30
    execution = finished(chain(node("a", "t_record")), days_ago=40)
    Execution.objects.filter(pk=execution.pk).update(status=ExecutionStatus.WAITING)
    assert executions_state_prune() == 0
    execution.refresh_from_db()
    assert execution.state["steps"]["a"] is not None


def test_a_pruned_failed_execution_can_still_be_retried_from_the_step_that_failed(settings):
    settings.WORKFLOW_RETENTION_DAYS = 30
    execution = finished(chain(node("a", "t_record"), node("b", "t_fail"), node("c", "t_record")), days_ago=31)
    assert execution.status == ExecutionStatus.FAILED
    assert executions_state_prune() == 1
    execution.refresh_from_db()
    assert execution.state == {"queue": ["b"], "steps": {}}
    execution_retry(execution=execution)
    execution.refresh_from_db()
    assert execution.state["queue"] == ["b"] and execution.status == ExecutionStatus.PENDING


def test_the_nightly_task_prunes_steps_and_execution_state_together(settings):
    settings.WORKFLOW_RETENTION_DAYS = 30
    execution = finished(chain(node("a", "t_record")), days_ago=31)
    execution.steps.update(started_at=timezone.now() - datetime.timedelta(days=31))
    assert step_runs_prune() == 2
    execution.refresh_from_db()
    assert execution.state["steps"] == {} and execution.steps.get().output is None
