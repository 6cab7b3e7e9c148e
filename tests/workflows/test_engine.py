"""The engine: steps in order along the ports taken, one StepRun each, failures and transient
retries, exits, leases, and the services that start, retry, re-run and cancel executions."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from crm.models import Contact
from tests.factories import ContactFactory, WorkspaceFactory
from tests.workflows.engine_kit import (
    ATTEMPTS,
    CALLS,
    Fail,
    activate,
    chain,
    definition,
    kit,  # noqa: F401
    later,
    make_workflow,
    node,
    run,
)
from workflows import engine
from workflows.models import Execution, ExecutionStatus, StepRun, StepStatus, WorkflowStatus
from workflows.services.executions import (
    execution_cancel,
    execution_rerun,
    execution_retry,
    execution_start,
    executions_start_many,
)

pytestmark = pytest.mark.usefixtures("kit")


def start(workflow, contact=None, **kwargs) -> Execution:
    execution = execution_start(workflow=workflow, contact=contact, trigger_data=kwargs.pop("data", {}), **kwargs)
    assert execution is not None
    return execution


def steps(execution) -> list[tuple[str, str, str]]:
    return list(StepRun.objects.filter(execution=execution).order_by("id").values_list("node_id", "status", "port"))


def test_a_chain_runs_every_step_in_order_and_succeeds():
    workflow = make_workflow(chain(node("a", "t_record", value="one"), node("b", "t_record", value="{{ trigger.x }}")))
    execution = run(start(workflow, data={"x": "two"}))
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert steps(execution) == [("a", "succeeded", "out"), ("b", "succeeded", "out")]
    assert execution.state["steps"]["b"] == {"value": "two", "node": "b"}
    assert execution.current_node == "" and execution.lease_token == "" and execution.lease_expires_at is None
    assert execution.started_at and execution.finished_at and execution.duration_ms is not None
    step = StepRun.objects.get(execution=execution, node_id="a")
    assert step.input == {"value": "one"} and step.output == {"value": "one", "node": "a"}
    assert step.finished_at and step.duration_ms is not None and step.attempt == 1


def test_a_later_step_reads_an_earlier_steps_output():
    workflow = make_workflow(
        chain(node("a", "t_record", value="hi"), node("b", "t_record", value="{{ steps.a.output.value }}!"))
    )
    execution = run(start(workflow))
    assert execution.state["steps"]["b"]["value"] == "hi!"


def test_only_the_branch_of_the_port_taken_runs():
    spec = definition(
        [node("if", "t_branch", port="false"), node("yes", "t_record"), node("no", "t_record")],
        [("trigger", "if"), ("if", "true", "yes"), ("if", "false", "no")],
    )
    execution = run(start(make_workflow(spec)))
    assert steps(execution) == [("if", "succeeded", "false"), ("no", "succeeded", "out")]


def test_fan_out_runs_each_branch_to_its_end_in_definition_order_and_a_merge_once():
    spec = definition(
        [node(n, "t_record") for n in ("a", "b", "c", "d", "m")],
        [("trigger", "a"), ("a", "b"), ("a", "c"), ("b", "d"), ("d", "m"), ("c", "m")],
    )
    execution = run(start(make_workflow(spec)))
    assert [s[0] for s in steps(execution)] == ["a", "b", "d", "m", "c"]
    assert execution.status == ExecutionStatus.SUCCEEDED


def test_a_step_error_fails_the_execution_there_and_rolls_back_its_writes():
    contact = ContactFactory(first_name="Ada")
    spec = chain(
        node("a", "t_record"), node("boom", "t_fail", message="No sender.", rename="Eve"), node("c", "t_record")
    )
    execution = run(start(make_workflow(spec, workspace=contact.workspace), contact))
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error == "No sender." and execution.current_node == "boom"
    assert steps(execution) == [("a", "succeeded", "out"), ("boom", "failed", "")]
    assert StepRun.objects.get(execution=execution, node_id="boom").error == "No sender."
    assert Contact.objects.get(pk=contact.pk).first_name == "Ada"
    assert [c[0] for c in CALLS] == ["a"]


def test_an_unexpected_exception_is_the_steps_error_not_a_crash():
    execution = run(start(make_workflow(chain(node("boom", "t_fail", message="crash")))))
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error == "ValueError: not a step error"


def test_a_node_type_that_no_longer_exists_fails_its_step_clearly():
    execution = run(start(make_workflow(chain(node("gone", "t_vanished")))))
    assert execution.status == ExecutionStatus.FAILED
    assert "t_vanished" in execution.error


def test_a_bad_config_fails_the_step_naming_the_problem():
    execution = run(start(make_workflow(chain(node("a", "t_record", value=5)))))
    assert execution.status == ExecutionStatus.FAILED and "value" in execution.error


def test_leaving_by_a_port_the_node_does_not_have_fails_the_step():
    execution = run(start(make_workflow(chain(node("odd", "t_badport")))))
    assert execution.status == ExecutionStatus.FAILED and "nowhere" in execution.error


def test_exit_ends_the_execution_and_drops_queued_branches():
    spec = definition(
        [node("a", "t_record"), node("stop", "t_exit"), node("b", "t_record")],
        [("trigger", "stop"), ("trigger", "b"), ("stop", "a")],
    )
    execution = run(start(make_workflow(spec)))
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert steps(execution) == [("stop", "succeeded", "")]


def test_a_workflow_without_nodes_succeeds_at_once():
    execution = run(start(make_workflow(definition([], []))))
    assert execution.status == ExecutionStatus.SUCCEEDED and steps(execution) == []


# --- transient errors ------------------------------------------------------------------------------------


def test_a_transient_error_waits_with_backoff_then_the_retry_succeeds():
    execution = run(start(make_workflow(chain(node("call", "t_flaky", failures=2), node("after", "t_record")))))
    assert execution.status == ExecutionStatus.WAITING
    assert execution.resume_at is not None
    first_wait = (execution.resume_at - timezone.now()).total_seconds()
    assert 25 < first_wait <= 30
    assert engine.executions_sweep() == []  # not due yet

    with freeze_time(execution.resume_at):
        assert engine.executions_sweep() == [execution.pk]
        execution = run(execution)
        assert execution.status == ExecutionStatus.WAITING
        assert (execution.resume_at - timezone.now()).total_seconds() == 60  # twice as long

    with freeze_time(execution.resume_at):
        engine.executions_sweep()
        execution = run(execution)
    assert execution.status == ExecutionStatus.SUCCEEDED
    rows = list(StepRun.objects.filter(execution=execution).order_by("id").values_list("node_id", "status", "attempt"))
    assert rows == [("call", "failed", 1), ("call", "failed", 2), ("call", "succeeded", 3), ("after", "succeeded", 1)]
    assert StepRun.objects.get(execution=execution, node_id="call", attempt=1).error == "Timed out (attempt 1)."


def test_a_transient_error_fails_the_step_after_the_last_attempt(settings):
    settings.WORKFLOW_STEP_MAX_ATTEMPTS = 2
    execution = run(start(make_workflow(chain(node("call", "t_flaky", failures=5)))))
    with freeze_time(execution.resume_at):
        engine.executions_sweep()
        execution = run(execution)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error == "Timed out (attempt 2)."
    assert ATTEMPTS[(execution.pk, "call")] == 2


def test_backoff_doubles_and_is_capped():
    assert engine.backoff(1) == datetime.timedelta(seconds=30)
    assert engine.backoff(3) == datetime.timedelta(seconds=120)
    assert engine.backoff(30) == datetime.timedelta(hours=1)


# --- claims and leases -----------------------------------------------------------------------------------


def test_only_one_worker_claims_an_execution_until_its_lease_lapses():
    execution = start(make_workflow(chain(node("a", "t_record"))))
    first = engine.execution_claim(execution.pk)
    assert first is not None and first.status == ExecutionStatus.RUNNING and first.lease_token
    assert engine.execution_claim(execution.pk) is None
    Execution.objects.filter(pk=execution.pk).update(lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    second = engine.execution_claim(execution.pk)
    assert second is not None and second.lease_token != first.lease_token


def test_a_worker_that_lost_its_lease_commits_nothing_more():
    execution = start(make_workflow(chain(node("a", "t_record"), node("b", "t_record"))))
    claimed = engine.execution_claim(execution.pk)
    # Another worker took it over (this one stalled past its lease).
    Execution.objects.filter(pk=execution.pk).update(lease_token="someone-else")
    engine.Runner(claimed, engine.graph_for(claimed.version_id)).run()
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.RUNNING and execution.lease_token == "someone-else"
    assert steps(execution) == [] and execution.state == {}


def test_a_finished_execution_is_not_run_again():
    execution = run(start(make_workflow(chain(node("a", "t_record")))))
    assert engine.execution_run(execution_id=execution.pk) is None
    assert engine.execution_run(execution_id=987654321) is None
    assert len(CALLS) == 1


def test_each_step_costs_a_few_queries_beyond_its_own(django_assert_max_num_queries):
    workflow = make_workflow(chain(*[node(f"n{i}", "t_branch", port="true") for i in range(10)]))
    spec = workflow.active_version.definition
    for i in range(9):
        spec["edges"][i + 1]["port"] = "true"
    execution = start(workflow)
    engine.graph_for(execution.version_id)  # cached per process: the first run of a version reads it once
    with CaptureQueriesContext(connection) as queries:
        run(execution)
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    # claim + load + per step (INSERT step, UPDATE execution, and SAVEPOINT/RELEASE or BEGIN/COMMIT)
    # + the refresh in run()
    per_step = (len(queries) - 3) / 10
    assert per_step <= 4, [q["sql"][:80] for q in queries.captured_queries]


# --- starting ----------------------------------------------------------------------------------------------


def test_an_inactive_workflow_starts_nothing_unless_given_a_version():
    workflow = make_workflow(chain(node("a", "t_record")))
    workflow.status = WorkflowStatus.PAUSED
    workflow.save()
    assert execution_start(workflow=workflow, trigger_data={}) is None
    execution = execution_start(workflow=workflow, trigger_data={}, version=workflow.active_version)
    assert execution is not None and execution.status == ExecutionStatus.PENDING
    assert execution.version_id == workflow.active_version_id
    assert execution.lease_expires_at > timezone.now()


def test_the_same_trigger_key_starts_one_execution():
    workflow = make_workflow(chain(node("a", "t_record")))
    assert execution_start(workflow=workflow, trigger_data={}, trigger_key="event:1") is not None
    assert execution_start(workflow=workflow, trigger_data={}, trigger_key="event:1") is None
    assert execution_start(workflow=workflow, trigger_data={}, trigger_key="event:2") is not None
    # Manual starts carry no key and may repeat.
    assert execution_start(workflow=workflow, trigger_data={}) is not None
    assert execution_start(workflow=workflow, trigger_data={}) is not None
    assert Execution.objects.filter(workflow=workflow).count() == 4


def test_reentry_once_per_contact():
    contact = ContactFactory()
    workflow = make_workflow(chain(node("a", "t_record"), reentry={"policy": "once"}), workspace=contact.workspace)
    assert execution_start(workflow=workflow, contact=contact, trigger_data={}, trigger_key="e:1")
    assert execution_start(workflow=workflow, contact=contact, trigger_data={}, trigger_key="e:2") is None
    other = ContactFactory(workspace=contact.workspace)
    assert execution_start(workflow=workflow, contact=other, trigger_data={}, trigger_key="e:3")


def test_reentry_once_per_n_days():
    contact = ContactFactory()
    spec = chain(node("a", "t_record"), reentry={"policy": "interval", "days": 7})
    workflow = make_workflow(spec, workspace=contact.workspace)
    first = execution_start(workflow=workflow, contact=contact, trigger_data={})
    assert execution_start(workflow=workflow, contact=contact, trigger_data={}) is None
    Execution.objects.filter(pk=first.pk).update(created_at=timezone.now() - datetime.timedelta(days=8))
    assert execution_start(workflow=workflow, contact=contact, trigger_data={}) is not None


def test_reentry_always_lets_every_trigger_in():
    contact = ContactFactory()
    workflow = make_workflow(chain(node("a", "t_record")), workspace=contact.workspace)
    assert all(execution_start(workflow=workflow, contact=contact, trigger_data={}) for _ in range(3))


def test_start_many_is_keyed_per_contact_and_applies_reentry():
    workspace = WorkspaceFactory()
    contacts = [ContactFactory(workspace=workspace) for _ in range(5)]
    workflow = make_workflow(chain(node("a", "t_record"), reentry={"policy": "once"}), workspace=workspace)
    execution_start(workflow=workflow, contact=contacts[0], trigger_data={})
    ids = [c.pk for c in contacts]
    assert (
        executions_start_many(workflow=workflow, contact_ids=ids, trigger_data={"slot": 1}, trigger_key_prefix="s:1")
        == 4
    )
    assert executions_start_many(workflow=workflow, contact_ids=ids, trigger_data={}, trigger_key_prefix="s:1") == 0
    keys = set(
        Execution.objects.filter(workflow=workflow).exclude(trigger_key="").values_list("trigger_key", flat=True)
    )
    assert keys == {f"s:1:{c.pk}" for c in contacts[1:]}
    assert executions_start_many(workflow=workflow, contact_ids=[], trigger_data={}, trigger_key_prefix="s:2") == 0


def test_start_many_with_always_starts_again_on_the_next_slot():
    workspace = WorkspaceFactory()
    ids = [ContactFactory(workspace=workspace).pk for _ in range(3)]
    workflow = make_workflow(chain(node("a", "t_record")), workspace=workspace)
    assert executions_start_many(workflow=workflow, contact_ids=ids, trigger_data={}, trigger_key_prefix="s:1") == 3
    assert executions_start_many(workflow=workflow, contact_ids=ids, trigger_data={}, trigger_key_prefix="s:2") == 3
    execution = Execution.objects.filter(workflow=workflow).first()
    assert run(execution).status == ExecutionStatus.SUCCEEDED


# --- retry, re-run, cancel ------------------------------------------------------------------------------


def test_retry_resumes_at_the_failed_step_in_the_same_execution():
    spec = chain(node("a", "t_record"), node("boom", "t_fail"), node("c", "t_record"))
    execution = run(start(make_workflow(spec)))
    assert execution.status == ExecutionStatus.FAILED
    Fail.healed = True
    execution = execution_retry(execution=execution)
    assert execution.status == ExecutionStatus.PENDING and execution.error == ""
    execution = run(execution)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert [c[0] for c in CALLS] == ["a", "c"]  # a didn't run again
    assert steps(execution) == [
        ("a", "succeeded", "out"),
        ("boom", "failed", ""),
        ("boom", "succeeded", "out"),
        ("c", "succeeded", "out"),
    ]


@pytest.mark.parametrize("status", ["pending", "running", "waiting", "succeeded", "cancelled"])
def test_only_a_failed_execution_can_be_retried(status):
    execution = start(make_workflow(chain(node("a", "t_record"))))
    Execution.objects.filter(pk=execution.pk).update(status=status)
    with pytest.raises(ValidationError) as error:
        execution_retry(execution=execution)
    assert "status" in error.value.message_dict


def test_rerun_starts_over_on_the_current_version():
    workflow = make_workflow(chain(node("a", "t_record", value="v1")))
    contact = ContactFactory(workspace=workflow.workspace)
    old = run(start(workflow, contact, data={"x": 1}))
    activate(workflow, chain(node("a", "t_record", value="v2")))
    new = run(execution_rerun(execution=old))
    assert new.pk != old.pk and new.rerun_of_id == old.pk
    assert new.version_id == workflow.active_version_id and new.contact_id == contact.pk
    assert new.trigger_data == {"x": 1} and new.trigger_key == ""
    assert new.state["steps"]["a"]["value"] == "v2"


def test_rerun_refuses_a_live_execution_and_a_paused_workflow():
    workflow = make_workflow(chain(node("a", "t_record")))
    live = start(workflow)
    with pytest.raises(ValidationError) as error:
        execution_rerun(execution=live)
    assert "status" in error.value.message_dict
    done = run(start(workflow))
    workflow.status = WorkflowStatus.PAUSED
    workflow.save()
    with pytest.raises(ValidationError) as error:
        execution_rerun(execution=done)
    assert "workflow" in error.value.message_dict


def test_cancel_stops_a_waiting_execution_for_good():
    execution = run(start(make_workflow(chain(node("w", "t_wait", seconds=60), node("after", "t_record")))))
    assert execution.status == ExecutionStatus.WAITING
    execution = execution_cancel(execution=execution)
    assert execution.status == ExecutionStatus.CANCELLED and execution.finished_at
    assert StepRun.objects.get(execution=execution).status == StepStatus.SKIPPED
    assert engine.executions_sweep(now=later(3600)) == []
    assert engine.execution_run(execution_id=execution.pk) is None
    assert CALLS == []


def test_cancel_takes_the_lease_from_a_running_worker():
    execution = start(make_workflow(chain(node("a", "t_record"), node("b", "t_record"))))
    claimed = engine.execution_claim(execution.pk)
    execution_cancel(execution=execution)
    engine.Runner(claimed, engine.graph_for(claimed.version_id)).run()
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED and steps(execution) == []


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_a_finished_execution_cannot_be_cancelled(status):
    execution = start(make_workflow(chain(node("a", "t_record"))))
    Execution.objects.filter(pk=execution.pk).update(status=status)
    with pytest.raises(ValidationError) as error:
        execution_cancel(execution=execution)
    assert "status" in error.value.message_dict


# --- retention -----------------------------------------------------------------------------------------------


def test_old_step_data_is_pruned_and_the_rows_stay(settings):
    settings.WORKFLOW_RETENTION_DAYS = 30
    execution = run(start(make_workflow(chain(node("a", "t_record"), node("b", "t_record")))))
    StepRun.objects.filter(node_id="a").update(started_at=timezone.now() - datetime.timedelta(days=31))
    assert engine.step_runs_prune(batch=1) == 1
    old, new = StepRun.objects.filter(execution=execution).order_by("id")
    assert (old.input, old.output, old.pruned, old.status) == (None, None, True, StepStatus.SUCCEEDED)
    assert new.output is not None and not new.pruned
    assert engine.step_runs_prune() == 0
    assert StepRun.objects.filter(execution=execution).count() == 2


# --- decisions ride with the next step ------------------------------------------------------------------


def test_a_decision_is_recorded_with_the_step_after_it_even_when_that_step_fails():
    spec = chain(node("if", "t_branch", port="true"), node("boom", "t_fail", message="Nope."))
    spec["edges"][1]["port"] = "true"
    execution = run(start(make_workflow(spec)))
    assert execution.status == ExecutionStatus.FAILED and execution.current_node == "boom"
    assert steps(execution) == [("if", "succeeded", "true"), ("boom", "failed", "")]
    assert execution.state["steps"] == {"if": {"went": "true"}} and execution.state["queue"] == ["boom"]
    Fail.healed = True
    execution = run(execution_retry(execution=execution))
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert steps(execution)[-1] == ("boom", "succeeded", "out")


def test_a_decision_is_lost_with_the_lease_and_decided_again():
    spec = chain(node("if", "t_branch", port="true"), node("a", "t_record"))
    spec["edges"][1]["port"] = "true"
    execution = start(make_workflow(spec))
    claimed = engine.execution_claim(execution.pk)
    runner = engine.Runner(claimed, engine.graph_for(claimed.version_id))
    assert runner._step("if", None, timezone.now()) is True  # decided, not yet written
    assert steps(execution) == []
    Execution.objects.filter(pk=execution.pk).update(lease_token="someone-else")
    assert runner._step("a", None, timezone.now()) is False
    assert steps(execution) == []  # its run was rolled back with the decision
    Execution.objects.filter(pk=execution.pk).update(lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    execution = run(execution)
    assert steps(execution) == [("if", "succeeded", "true"), ("a", "succeeded", "out")]


def test_start_many_ignores_contacts_of_other_workspaces_and_works_in_chunks(monkeypatch):
    from workflows.services import executions as services

    monkeypatch.setattr(services, "START_MANY_CHUNK", 2)
    workspace = WorkspaceFactory()
    ours = [ContactFactory(workspace=workspace).pk for _ in range(5)]
    theirs = ContactFactory().pk
    workflow = make_workflow(chain(node("a", "t_record")), workspace=workspace)
    ids = [*ours, theirs, ours[0], 987654321]
    assert executions_start_many(workflow=workflow, contact_ids=ids, trigger_data={}, trigger_key_prefix="s") == 5
    assert set(Execution.objects.filter(workflow=workflow).values_list("contact_id", flat=True)) == set(ours)


def test_a_long_trigger_key_is_stored_whole_in_digest_and_stays_apart_from_a_similar_one():
    workflow = make_workflow(chain(node("a", "t_record")))
    long_a, long_b = "hook:" + "x" * 300 + "a", "hook:" + "x" * 300 + "b"
    first = execution_start(workflow=workflow, trigger_data={}, trigger_key=long_a)
    assert first is not None and len(first.trigger_key) == 200
    assert execution_start(workflow=workflow, trigger_data={}, trigger_key=long_a) is None
    assert execution_start(workflow=workflow, trigger_data={}, trigger_key=long_b) is not None


@pytest.mark.parametrize("bad", [None, [], "text", 5])
def test_trigger_data_that_is_not_an_object_is_stored_as_an_empty_one(bad):
    execution = execution_start(workflow=make_workflow(chain(node("a", "t_record"))), trigger_data=bad)
    assert Execution.objects.get(pk=execution.pk).trigger_data == {}
