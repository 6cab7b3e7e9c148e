"""Waits: an execution suspends on the row, the sweeper hands it back when due, and it resumes once,
on the clock of the workspace's time zone; events wake wait_for_event steps; goals pull a waiting
contact forward when their rules come to hold."""

import datetime

import pytest
from django.utils import timezone
from freezegun import freeze_time

from core.events import emit
from crm.services.tags import contact_tags_add, tags_resolve
from tests.factories import ContactFactory, WorkspaceFactory
from tests.workflows.engine_kit import CALLS, chain, definition, kit, make_workflow, node, run  # noqa: F401
from workflows import engine
from workflows.models import Execution, ExecutionStatus, StepRun, StepStatus
from workflows.services.executions import execution_start

pytestmark = pytest.mark.usefixtures("kit")

UTC = datetime.UTC


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def start(workflow, contact=None) -> Execution:
    execution = execution_start(workflow=workflow, contact=contact, trigger_data={})
    return run(execution)


def sweep_and_run() -> list[int]:
    """What beat and the workers do: hand out what is due, and run it."""
    ids = engine.executions_sweep()
    for pk in ids:
        engine.execution_run(execution_id=pk)
    return ids


def test_a_wait_suspends_on_the_row_and_resumes_once_when_due():
    with freeze_time(at(2026, 5, 4, 10, 0)):
        execution = start(make_workflow(chain(node("w", "t_wait", seconds=3600), node("after", "t_record"))))
        assert execution.status == ExecutionStatus.WAITING
        assert execution.resume_at == at(2026, 5, 4, 11, 0) and execution.current_node == "w"
        assert execution.lease_token == "" and execution.lease_expires_at is None
        step = StepRun.objects.get(execution=execution)
        assert (step.node_id, step.status, step.finished_at) == ("w", StepStatus.WAITING, None)
    with freeze_time(at(2026, 5, 4, 10, 59, 59)):
        assert sweep_and_run() == []
    with freeze_time(at(2026, 5, 4, 11, 0)):
        assert sweep_and_run() == [execution.pk]
        assert sweep_and_run() == []
    with freeze_time(at(2026, 5, 5)):
        assert sweep_and_run() == []
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.resume_at is None
    # The waiting row is completed in place: one row for the wait, with its whole duration.
    rows = list(StepRun.objects.filter(execution=execution).order_by("id").values_list("node_id", "status", "port"))
    assert rows == [("w", "succeeded", "out"), ("after", "succeeded", "out")]
    wait = StepRun.objects.get(execution=execution, node_id="w")
    assert wait.duration_ms == 3600 * 1000 and wait.input == {"seconds": 3600, "event": ""}
    assert [c[0] for c in CALLS] == ["w", "after"] and CALLS[0][2] == {"reason": "time"}


def test_waits_over_days_fire_once_at_the_hour_of_the_workspaces_time_zone():
    """Wait until Monday 09:00 in New York, started on a Friday; the clocks go forward that Sunday,
    so 09:00 is 13:00 UTC, not 14:00."""
    workspace = WorkspaceFactory(timezone="America/New_York")
    spec = chain(
        node("monday", "wait", mode="weekday", weekdays=["mon"], hour=9, minute=0),
        node("after", "t_record"),
    )
    workflow = make_workflow(spec, workspace=workspace)
    with freeze_time(at(2026, 3, 6, 15, 0)):  # Friday 10:00 EST
        execution = start(workflow, ContactFactory(workspace=workspace))
    assert execution.status == ExecutionStatus.WAITING
    assert execution.resume_at == at(2026, 3, 9, 13, 0)
    handed_out = []
    clock = at(2026, 3, 6, 15, 0)
    clocks = [at(2026, 3, 9, 12, 59, 59)]  # a second early: nothing yet
    while clock <= at(2026, 3, 11):
        clocks.append(clock)
        clock += datetime.timedelta(hours=2)
    for clock in sorted(clocks):
        with freeze_time(clock):
            handed_out += [(clock, pk) for pk in sweep_and_run()]
    assert handed_out == [(at(2026, 3, 9, 13, 0), execution.pk)]
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.finished_at == at(2026, 3, 9, 13, 0)
    assert [c[0] for c in CALLS] == ["after"]
    assert StepRun.objects.filter(execution=execution, node_id="monday", status=StepStatus.SUCCEEDED).count() == 1


def test_a_wait_of_days_fires_once_after_those_days():
    workspace = WorkspaceFactory(timezone="Europe/Berlin")
    spec = chain(node("pause", "wait", duration={"amount": 2, "unit": "days"}), node("after", "t_record"))
    with freeze_time(at(2026, 6, 1, 8, 0)):
        execution = start(make_workflow(spec, workspace=workspace), ContactFactory(workspace=workspace))
    fired = []
    for hours in range(0, 24 * 4, 6):
        with freeze_time(at(2026, 6, 1, 8, 0) + datetime.timedelta(hours=hours)):
            fired += sweep_and_run()
    assert fired == [execution.pk]
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.finished_at == at(2026, 6, 3, 8, 0)


def test_an_open_wakes_the_contacts_wait_for_event_and_it_leaves_by_event(
    celery_eager, django_capture_on_commit_callbacks
):
    contact = ContactFactory()
    spec = definition(
        [
            node("opened", "wait_for_event", event="email_opened", timeout={"amount": 2, "unit": "days"}),
            node("yes", "t_record"),
            node("no", "t_record"),
        ],
        [("trigger", "opened"), ("opened", "event", "yes"), ("opened", "timeout", "no")],
    )
    workflow = make_workflow(spec, workspace=contact.workspace)
    execution = start(workflow, contact)
    other = start(workflow, ContactFactory(workspace=contact.workspace))
    assert execution.status == ExecutionStatus.WAITING and execution.wait_event == "email.opened"
    with django_capture_on_commit_callbacks(execute=True):
        emit(
            workspace=contact.workspace,
            type="email.opened",
            payload={"send_id": 7, "contact_id": contact.pk, "campaign_id": None},
        )
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert [c[0] for c in CALLS] == ["yes"]
    assert execution.state["steps"]["opened"]["event"]["send_id"] == 7
    other.refresh_from_db()
    assert other.status == ExecutionStatus.WAITING  # someone else's open
    # The timeout passes for the other: it leaves by "timeout", once.
    with freeze_time(other.resume_at):
        assert sweep_and_run() == [other.pk]
        assert sweep_and_run() == []
    other.refresh_from_db()
    assert other.status == ExecutionStatus.SUCCEEDED and other.state["steps"]["opened"] == {"timed_out": True}


def test_a_click_does_not_wake_a_wait_for_an_open(celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    spec = chain(node("opened", "t_wait", seconds=600, event="email.opened"))
    spec["edges"] = [{"source": "trigger", "target": "opened"}]
    execution = start(make_workflow(spec, workspace=contact.workspace), contact)
    with django_capture_on_commit_callbacks(execute=True):
        emit(workspace=contact.workspace, type="email.clicked", payload={"contact_id": contact.pk, "send_id": 1})
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.WAITING and "signal" not in execution.state


def goal_workflow(contact):
    spec = definition(
        [
            node("w", "wait", duration={"amount": 3, "unit": "days"}),
            node("reminder", "t_record"),
            node("won", "goal", rules={"all": [{"field": "contact.tags", "op": "has_tag", "value": "customer"}]}),
            node("thanks", "t_record"),
        ],
        [("trigger", "w"), ("w", "reminder"), ("reminder", "won"), ("won", "thanks")],
    )
    return make_workflow(spec, workspace=contact.workspace)


def test_a_goal_reached_while_waiting_pulls_the_contact_to_it(celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    execution = start(goal_workflow(contact), contact)
    assert execution.status == ExecutionStatus.WAITING
    with django_capture_on_commit_callbacks(execute=True):
        contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["customer"]))
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.WAITING and execution.resume_at <= timezone.now()  # due: re-check
    assert sweep_and_run() == [execution.pk]
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    rows = list(StepRun.objects.filter(execution=execution).order_by("id").values_list("node_id", "status"))
    assert rows == [("w", "skipped"), ("won", "succeeded"), ("thanks", "succeeded")]
    assert [c[0] for c in CALLS] == ["thanks"]  # the reminder never went


def test_a_goal_recheck_that_finds_nothing_keeps_the_wait_as_it_was(celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    with freeze_time(at(2026, 5, 4, 12, 0)):
        execution = start(goal_workflow(contact), contact)
    assert execution.resume_at == at(2026, 5, 7, 12, 0)
    with freeze_time(at(2026, 5, 5, 12, 0)):
        with django_capture_on_commit_callbacks(execute=True):
            contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["prospect"]))
        assert sweep_and_run() == [execution.pk]
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.WAITING and execution.resume_at == at(2026, 5, 7, 12, 0)
    assert StepRun.objects.get(execution=execution).status == StepStatus.WAITING
    with freeze_time(at(2026, 5, 7, 12, 0)):
        assert sweep_and_run() == [execution.pk]
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert [c[0] for c in CALLS] == ["reminder", "thanks"]


def test_a_goal_that_already_holds_skips_ahead_before_the_first_step():
    contact = ContactFactory()
    contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["customer"]))
    execution = start(goal_workflow(contact), contact)
    assert execution.status == ExecutionStatus.SUCCEEDED
    rows = list(StepRun.objects.filter(execution=execution).order_by("id").values_list("node_id", flat=True))
    assert rows == ["won", "thanks"]


def test_a_contact_change_leaves_waits_without_goals_alone(celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    execution = start(make_workflow(chain(node("w", "t_wait", seconds=3600)), workspace=contact.workspace), contact)
    resume_at = execution.resume_at
    with django_capture_on_commit_callbacks(execute=True):
        contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["customer"]))
    execution.refresh_from_db()
    assert execution.resume_at == resume_at and execution.status == ExecutionStatus.WAITING


def test_a_retry_woken_early_by_a_goal_recheck_keeps_its_backoff(celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    spec = definition(
        [
            node("call", "t_flaky", failures=1),
            node("won", "goal", rules={"all": [{"field": "contact.tags", "op": "has_tag", "value": "customer"}]}),
        ],
        [("trigger", "call"), ("call", "won")],
    )
    with freeze_time(at(2026, 5, 4, 12, 0)):
        execution = start(make_workflow(spec, workspace=contact.workspace), contact)
    assert execution.status == ExecutionStatus.WAITING and execution.resume_at == at(2026, 5, 4, 12, 0, 30)
    with freeze_time(at(2026, 5, 4, 12, 0, 10)):
        with django_capture_on_commit_callbacks(execute=True):
            contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["prospect"]))
        assert sweep_and_run() == [execution.pk]
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.WAITING and execution.resume_at == at(2026, 5, 4, 12, 0, 30)
    with freeze_time(at(2026, 5, 4, 12, 0, 30)):
        assert sweep_and_run() == [execution.pk]
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert list(
        StepRun.objects.filter(execution=execution).order_by("id").values_list("node_id", "attempt", "status")
    ) == [
        ("call", 1, "failed"),
        ("call", 2, "succeeded"),
        ("won", 1, "succeeded"),
    ]


def test_an_event_for_a_wait_the_sweeper_just_handed_out_still_reaches_it(
    celery_eager, django_capture_on_commit_callbacks
):
    contact = ContactFactory()
    spec = definition(
        [node("opened", "wait_for_event", event="email_opened", timeout={"amount": 1, "unit": "days"})],
        [("trigger", "opened")],
    )
    execution = start(make_workflow(spec, workspace=contact.workspace), contact)
    Execution.objects.filter(pk=execution.pk).update(status=ExecutionStatus.PENDING)  # handed out, not yet run
    with django_capture_on_commit_callbacks(execute=True):
        emit(workspace=contact.workspace, type="email.opened", payload={"contact_id": contact.pk, "send_id": 3})
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert StepRun.objects.get(execution=execution).port == "event"


def test_a_recheck_whose_lease_was_taken_meanwhile_leaves_the_row_to_its_new_holder(
    celery_eager, django_capture_on_commit_callbacks, monkeypatch
):
    contact = ContactFactory()
    with freeze_time(at(2026, 5, 4, 12, 0)):
        execution = start(goal_workflow(contact), contact)
    with freeze_time(at(2026, 5, 5, 12, 0)):
        with django_capture_on_commit_callbacks(execute=True):
            contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["prospect"]))
        engine.executions_sweep()
        suspend = engine.Runner._suspend

        def taken_first(runner, *args):
            Execution.objects.filter(pk=execution.pk).update(lease_token="someone-else")
            suspend(runner, *args)

        monkeypatch.setattr(engine.Runner, "_suspend", taken_first)
        engine.execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.RUNNING and execution.lease_token == "someone-else"
