"""Delivering events to handlers: each handler at most once per event, retried with backoff."""

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from core.events.emit import enqueue_dispatch
from core.events.registry import Handler, handlers_for
from core.logging import get_logger
from core.models import DeliveryStatus, Event, EventDelivery

log = get_logger(__name__)


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … capped at an hour."""
    return timedelta(seconds=min(10 * 2 ** (attempts - 1), 3600))


def _run_one(event: Event, name: str, func: Handler) -> None:
    # The delivery row is locked (SKIP LOCKED: a concurrent worker moves on rather than waits) and
    # its outcome is committed together with the handler's own writes, so a success is recorded
    # exactly when the handler's effects are, and a second worker never runs it again.
    with transaction.atomic():
        delivery = (
            EventDelivery.objects.select_for_update(skip_locked=True)
            .filter(event=event, handler=name, status=DeliveryStatus.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
            .first()
        )
        if delivery is None:
            return
        delivery.attempts += 1
        try:
            with transaction.atomic():
                func(event)
        except Exception as exc:  # noqa: BLE001 — a handler's failure is recorded, not raised
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if delivery.attempts >= settings.EVENTS_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.completed_at = timezone.now()
                log.error("event_handler_gave_up", event_id=event.pk, handler=name, attempts=delivery.attempts)
            else:
                delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
                log.warning("event_handler_failed", event_id=event.pk, handler=name, attempts=delivery.attempts)
        else:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.completed_at = timezone.now()
            delivery.last_error = ""
        delivery.save()


def process_event(event_id: int) -> None:
    event = Event.objects.filter(pk=event_id, dispatched_at__isnull=True).first()
    if event is None:
        return
    handlers = handlers_for(event.type)
    EventDelivery.objects.bulk_create(
        [EventDelivery(event=event, handler=name) for name in handlers], ignore_conflicts=True
    )
    for name, func in handlers.items():
        _run_one(event, name, func)

    pending = EventDelivery.objects.filter(event=event, status=DeliveryStatus.PENDING)
    if not pending.exists():
        Event.objects.filter(pk=event.pk).update(dispatched_at=timezone.now(), next_attempt_at=None)
        return
    next_due = pending.aggregate(due=Min("next_attempt_at"))["due"]
    # Retries ride on the sweeper, which runs more often than the shortest backoff is long.
    Event.objects.filter(pk=event.pk).update(next_attempt_at=next_due)


def process_events(event_ids: list[int]) -> None:
    """`process_event()` for many events; those of types no handler listens to (yet) are marked
    dispatched together, in one statement, rather than three queries each."""
    unheard = [
        pk
        for pk, type in Event.objects.filter(pk__in=event_ids, dispatched_at__isnull=True).values_list("pk", "type")
        if not handlers_for(type)
    ]
    if unheard:
        Event.objects.filter(pk__in=unheard, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now(), next_attempt_at=None
        )
    skip = set(unheard)
    # One after another: each is independent, and one handler's failure is recorded on its delivery.
    for event_id in event_ids:
        if event_id not in skip:
            process_event(event_id)


def sweep_events() -> int:
    """Re-enqueue events the after-commit dispatch missed (broker down, process killed) or that are
    due for a retry. Returns how many were enqueued."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.EVENTS_SWEEP_GRACE_SECONDS)
    due = list(
        Event.objects.filter(dispatched_at__isnull=True)
        .filter(Q(next_attempt_at__isnull=True, created_at__lte=grace) | Q(next_attempt_at__lte=now))
        .order_by("created_at")
        .values_list("pk", flat=True)[: settings.EVENTS_SWEEP_BATCH]
    )
    # Not again for a grace period: while a backlog keeps the task queued, sweeping it every run
    # would add a copy each time and grow the queue faster than the workers drain it.
    Event.objects.filter(pk__in=due, dispatched_at__isnull=True).update(
        next_attempt_at=now + timedelta(seconds=settings.EVENTS_SWEEP_GRACE_SECONDS)
    )
    enqueued = sum(enqueue_dispatch(pk) for pk in due)
    if enqueued:
        log.info("events_swept", enqueued=enqueued)
    return enqueued


@transaction.atomic
def retry_failed_deliveries(*, event_ids: list[int]) -> list[int]:
    """Give the handlers that gave up on these events a fresh set of attempts; returns the events
    that had any. They are enqueued after commit, so the worker sees the reset rows."""
    failed = EventDelivery.objects.filter(event_id__in=event_ids, status=DeliveryStatus.FAILED)
    retried = sorted(set(failed.values_list("event_id", flat=True)))
    failed.update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, completed_at=None)
    Event.objects.filter(pk__in=retried).update(dispatched_at=None, next_attempt_at=None)
    for event_id in retried:
        transaction.on_commit(partial(enqueue_dispatch, event_id))
    return retried
