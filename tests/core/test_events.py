"""The domain-event outbox: nothing emitted in a committed transaction is lost, nothing rolled back
is delivered, and each handler's work happens once."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time

from core.events import dispatch, emit
from core.models import DeliveryStatus, Event, EventDelivery
from tests.conftest import celery_broker
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


DEAD_BROKER = "redis://127.0.0.1:9/0"


@pytest.fixture
def eager(celery_eager):
    return celery_eager


@pytest.fixture
def workspace():
    return WorkspaceFactory()


class Recorder:
    def __init__(self, fail_times: int = 0):
        self.calls: list[int] = []
        self.fail_times = fail_times

    def __call__(self, event):
        self.calls.append(event.pk)
        if len(self.calls) <= self.fail_times:
            raise RuntimeError(f"boom #{len(self.calls)}")


def later(seconds: float):
    return freeze_time(timezone.now() + timedelta(seconds=seconds))


def test_event_is_dispatched_to_its_handler_after_commit(
    eager, workspace, handlers, django_capture_on_commit_callbacks
):
    recorder = handlers("test.happened", Recorder())
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(workspace=workspace, type="test.happened", payload={"n": 1})
        assert recorder.calls == [], "nothing may run before the transaction commits"
    event.refresh_from_db()
    assert recorder.calls == [event.pk]
    assert event.dispatched_at is not None
    assert EventDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED


def test_event_emitted_in_rolled_back_transaction_is_never_dispatched(
    eager, workspace, handlers, django_capture_on_commit_callbacks
):
    recorder = handlers("test.happened", Recorder())
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        emit(workspace=workspace, type="test.happened", payload={})
        raise RuntimeError("the caller's work failed")
    assert callbacks == []
    assert not Event.objects.exists()
    with later(3600):
        assert dispatch.sweep_events() == 0
    assert recorder.calls == []


def test_event_emitted_while_broker_is_unreachable_is_dispatched_later_by_the_sweeper(
    eager, workspace, handlers, django_capture_on_commit_callbacks
):
    recorder = handlers("test.happened", Recorder())
    started = time.monotonic()
    # A real publish to a port nobody listens on: the caller must not fail, nor wait long.
    with celery_broker(DEAD_BROKER), django_capture_on_commit_callbacks(execute=True):
        event = emit(workspace=workspace, type="test.happened", payload={})
    assert time.monotonic() - started < 10, "a dead broker must not hold the request for long"
    event.refresh_from_db()
    assert event.dispatched_at is None
    assert recorder.calls == []

    # Too fresh for the sweeper: the after-commit dispatch may still be on its way.
    assert dispatch.sweep_events() == 0
    with later(60):
        assert dispatch.sweep_events() == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert recorder.calls == [event.pk]


def test_the_sweeper_queues_a_lost_event_once_per_grace_period(workspace, handlers, monkeypatch):
    handlers("test.happened", Recorder())
    queued = []
    monkeypatch.setattr(dispatch, "enqueue_dispatch", lambda pk: queued.append(pk) or True)
    event = emit(workspace=workspace, type="test.happened", payload={})  # its commit never comes here
    with later(60):
        assert dispatch.sweep_events() == 1
        assert dispatch.sweep_events() == 0, "its task may still be waiting behind a backlog"
    with later(60 + 31):
        assert dispatch.sweep_events() == 1
    assert queued == [event.pk, event.pk]


def test_failing_handler_is_retried_with_backoff_until_it_succeeds(eager, workspace, handlers):
    recorder = handlers("test.happened", Recorder(fail_times=2))
    event = emit(workspace=workspace, type="test.happened", payload={})

    dispatch.process_event(event.pk)
    delivery = EventDelivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "boom #1" in delivery.last_error
    first_wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=5) < first_wait <= timedelta(seconds=10)

    # Not due yet: the sweeper leaves it alone.
    with later(5):
        assert dispatch.sweep_events() == 0
    with later(11):
        assert dispatch.sweep_events() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - timezone.now() > first_wait, "the wait grows"

    with later(60):
        dispatch.sweep_events()
    delivery.refresh_from_db()
    event.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 3)
    assert event.dispatched_at is not None
    assert len(recorder.calls) == 3


@override_settings(EVENTS_MAX_ATTEMPTS=2)
def test_handler_that_keeps_failing_is_given_up_and_recorded(eager, workspace, handlers):
    handlers("test.happened", Recorder(fail_times=99))
    event = emit(workspace=workspace, type="test.happened", payload={})
    dispatch.process_event(event.pk)
    with later(3600):
        dispatch.process_event(event.pk)
    delivery = EventDelivery.objects.get(event=event)
    event.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert "boom #2" in delivery.last_error
    assert event.dispatched_at is not None, "a dead delivery no longer holds the event in the sweeper's queue"


def test_handler_is_never_run_twice_for_one_event(eager, workspace, handlers):
    recorder = handlers("test.happened", Recorder())
    event = emit(workspace=workspace, type="test.happened", payload={})
    dispatch.process_event(event.pk)
    dispatch.process_event(event.pk)
    # Even with the event forced back into the sweeper's view, the delivery record holds.
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    with later(3600):
        dispatch.sweep_events()
    assert recorder.calls == [event.pk]


def test_a_failing_handler_does_not_rerun_its_successful_sibling(eager, workspace, handlers):
    good = handlers("test.happened", Recorder())
    handlers("test.happened", Recorder(fail_times=1))
    event = emit(workspace=workspace, type="test.happened", payload={})
    dispatch.process_event(event.pk)
    with later(60):
        dispatch.sweep_events()
    assert good.calls == [event.pk]
    assert set(EventDelivery.objects.filter(event=event).values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}


def test_a_handlers_writes_roll_back_with_its_failure(eager, workspace, handlers):
    def half_done(event):
        WorkspaceFactory(name="written by a handler that then fails")
        raise RuntimeError("after writing")

    handlers("test.happened", half_done)
    event = emit(workspace=workspace, type="test.happened", payload={})
    dispatch.process_event(event.pk)
    assert not event.workspace.__class__.objects.filter(name="written by a handler that then fails").exists()


def test_event_without_handlers_is_marked_dispatched(eager, workspace):
    event = emit(workspace=workspace, type="nobody.listens", payload={})
    dispatch.process_event(event.pk)
    event.refresh_from_db()
    assert event.dispatched_at is not None


def test_an_event_no_handler_wants_is_recorded_dispatched_and_never_queued(
    eager, workspace, handlers, django_capture_on_commit_callbacks
):
    recorder = handlers("test.happened", Recorder(), wanted=lambda workspace_id, type, payload: payload["n"] == 1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        skipped = emit(workspace=workspace, type="test.happened", payload={"n": 2})
    assert callbacks == [], "an unwanted event queues no dispatch"
    assert skipped.dispatched_at is not None
    assert not EventDelivery.objects.filter(event=skipped).exists()

    with django_capture_on_commit_callbacks(execute=True):
        wanted = emit(workspace=workspace, type="test.happened", payload={"n": 1})
    assert recorder.calls == [wanted.pk]


def test_one_handler_wanting_an_event_dispatches_it_to_all(
    eager, workspace, handlers, django_capture_on_commit_callbacks
):
    picky = handlers("test.happened", Recorder(), wanted=lambda *args: False)
    eager_one = handlers("test.happened", Recorder())
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(workspace=workspace, type="test.happened", payload={})
    assert eager_one.calls == [event.pk]
    assert picky.calls == [event.pk], "a handler's `wanted` spares a dispatch, it doesn't filter one"


def test_event_records_the_subject_and_request_id(eager, workspace):
    from core.request_context import bind_request_id

    bind_request_id("req-12345678")
    event = emit(workspace=workspace, type="test.happened", payload={}, subject=workspace)
    assert event.subject == f"accounts.workspace:{workspace.pk}"
    assert event.request_id == "req-12345678"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_run_a_handler_once_with_skip_locked(eager, workspace, handlers):
    """Two workers pick up the same event at once: SKIP LOCKED lets only one run the handler."""
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow(event):
        calls.append(threading.get_ident())
        started.set()
        release.wait(10)

    handlers("test.slow", slow)
    event = emit(workspace=workspace, type="test.slow", payload={})

    def worker():
        try:
            dispatch.process_event(event.pk)
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=worker)
    second.start()
    second.join(10)
    assert not second.is_alive(), "the second dispatcher skipped the locked delivery instead of waiting"
    release.set()
    first.join(10)
    assert len(calls) == 1
    assert EventDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED
