"""The sweeper hands due waits and lapsed leases back to the workers, each exactly once, even with two
sweepers running at the same moment."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import ExecutionFactory, WorkflowVersionFactory
from tests.workflows.engine_kit import chain, kit, make_workflow, node, run  # noqa: F401
from workflows import engine
from workflows.models import Execution, ExecutionStatus
from workflows.services.executions import execution_start

pytestmark = pytest.mark.usefixtures("kit")


def ago(seconds: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


@pytest.fixture
def enqueued(monkeypatch):
    """The ids the sweeper enqueues, instead of publishing them."""
    ids: list[int] = []
    monkeypatch.setattr(engine, "enqueue_run", lambda pk: ids.append(pk) or True)
    return ids


def test_due_waits_and_lapsed_leases_are_handed_out_and_nothing_else(enqueued, django_capture_on_commit_callbacks):
    version = WorkflowVersionFactory()

    def make(status, **fields):
        return ExecutionFactory(version=version, status=status, **fields).pk

    due_wait = make(ExecutionStatus.WAITING, resume_at=ago(1))
    lapsed_run = make(ExecutionStatus.RUNNING, lease_expires_at=ago(1), lease_token="dead")
    lost_pending = make(ExecutionStatus.PENDING, lease_expires_at=ago(1))
    make(ExecutionStatus.WAITING, resume_at=ago(-60))  # not yet
    make(ExecutionStatus.RUNNING, lease_expires_at=ago(-60), lease_token="alive")
    make(ExecutionStatus.PENDING, lease_expires_at=ago(-10))  # its task is on the way
    for status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED):
        make(status, resume_at=ago(5), lease_expires_at=ago(5))

    with django_capture_on_commit_callbacks(execute=True):
        handed = engine.executions_sweep()
    assert sorted(handed) == sorted([due_wait, lapsed_run, lost_pending]) == sorted(enqueued)
    for execution in Execution.objects.filter(pk__in=handed):
        assert execution.status == ExecutionStatus.PENDING and execution.lease_token == ""
        assert execution.lease_expires_at > timezone.now()
    # Handed out once: until the grace passes, the next sweep leaves them to their tasks.
    assert engine.executions_sweep() == []


def test_the_sweeper_takes_a_batch_per_transaction(settings, enqueued):
    settings.WORKFLOW_SWEEP_BATCH = 3
    version = WorkflowVersionFactory()
    for _ in range(5):
        ExecutionFactory(version=version, status=ExecutionStatus.WAITING, resume_at=ago(1))
    assert len(engine.executions_sweep(batches=1)) == 3
    assert len(engine.executions_sweep(batches=1)) == 2
    for _ in range(7):
        ExecutionFactory(version=version, status=ExecutionStatus.WAITING, resume_at=ago(1))
    assert len(engine.executions_sweep()) == 7  # batch after batch while they come full


def test_a_lost_task_is_recovered_and_a_killed_worker_resumes_after_its_last_step(enqueued):
    workflow = make_workflow(chain(node("a", "t_record"), node("b", "t_record")))
    execution = execution_start(workflow=workflow, trigger_data={})
    # The task was lost with the broker: after the grace, the sweeper enqueues it again.
    Execution.objects.filter(pk=execution.pk).update(lease_expires_at=ago(1))
    assert engine.executions_sweep() == [execution.pk]
    # A worker took it, committed step a, and died before b.
    claimed = engine.execution_claim(execution.pk)
    runner = engine.Runner(claimed, engine.graph_for(claimed.version_id))
    runner._step("a", None, timezone.now())
    Execution.objects.filter(pk=execution.pk).update(lease_expires_at=ago(1))
    assert engine.executions_sweep() == [execution.pk]
    execution = run(execution)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert list(execution.steps.order_by("id").values_list("node_id", flat=True)) == ["a", "b"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_never_hand_out_the_same_execution(settings, enqueued):
    """One sweeper holds its batch's row locks while the other sweeps: the other skips them and takes
    the rest. Then both race freely until nothing is due. No id is handed out twice."""
    settings.WORKFLOW_SWEEP_BATCH = 200
    version = WorkflowVersionFactory()
    Execution.objects.bulk_create(
        Execution(
            workspace=version.workspace,
            workflow=version.workflow,
            version=version,
            status=ExecutionStatus.WAITING,
            resume_at=ago(1),
        )
        for _ in range(1500)
    )
    holding = threading.Event()
    swept = threading.Event()
    results: dict[str, list[int]] = {"first": [], "second": []}
    errors: list[BaseException] = []

    def first():
        try:
            with transaction.atomic():
                results["first"] += engine.executions_sweep(batches=1)
                holding.set()
                assert swept.wait(30)
            while batch := engine.executions_sweep():
                results["first"] += batch
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)
        finally:
            holding.set()
            connection.close()

    def second():
        try:
            assert holding.wait(30)
            results["second"] += engine.executions_sweep(batches=1)
            swept.set()
            while batch := engine.executions_sweep():
                results["second"] += batch
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)
        finally:
            swept.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    first_ids, second_ids = results["first"], results["second"]
    assert len(first_ids) >= 200 and len(second_ids) >= 200  # both had a share while the other held its batch
    assert not set(first_ids) & set(second_ids)
    assert len(first_ids) + len(second_ids) == len(set(first_ids) | set(second_ids)) == 1500
    assert not Execution.objects.filter(status=ExecutionStatus.WAITING).exists()
