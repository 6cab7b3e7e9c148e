from collections.abc import Iterable

from django.db import models, transaction
from django.utils import timezone

from core.bulk import bulk_insert
from core.enqueue import enqueue
from core.events.registry import is_wanted
from core.models import Event
from core.request_context import current_request_id


def _subject_label(subject: models.Model | str | None) -> str:
    if subject is None:
        return ""
    if isinstance(subject, models.Model):
        return f"{subject._meta.label_lower}:{subject.pk}"
    return subject


def emit(*, workspace, type: str, payload: dict, subject: models.Model | str | None = None) -> Event:
    """Record a domain event in the caller's transaction; it is dispatched once that commits.

    `workspace` is a Workspace or its id (a hot path that never loaded the workspace row passes the id).

    A rolled-back transaction takes the event with it. If the broker is unreachable at commit, the
    event stays undispatched and the periodic sweeper delivers it later. An event no handler wants
    (see core.events.registry) is recorded as dispatched and never queued.
    """
    workspace_id = workspace.pk if isinstance(workspace, models.Model) else workspace
    wanted = is_wanted(workspace_id, type, payload)
    event = Event.objects.create(
        workspace_id=workspace_id,
        type=type,
        payload=payload,
        subject=_subject_label(subject),
        request_id=current_request_id() or "",
        dispatched_at=None if wanted else timezone.now(),
    )
    if wanted:
        transaction.on_commit(lambda: enqueue_dispatch(event.pk))
    return event


def emit_many(*, workspace, events: Iterable[tuple[str, dict, models.Model | str | None]]) -> list[int]:
    """`emit()` for many events at once, each (type, payload, subject): one insert (COPY on
    PostgreSQL), and one task that dispatches them all once the transaction commits. For set-based
    writers (imports) whose per-event round trips would cost more than the work itself. Returns the
    events' ids."""
    workspace_id = workspace.pk if isinstance(workspace, models.Model) else workspace
    request_id = current_request_id() or ""
    now = timezone.now()
    rows = [
        (workspace_id, type, payload, _subject_label(subject), request_id, now) for type, payload, subject in events
    ]
    ids = bulk_insert(
        Event, ["workspace_id", "type", "payload", "subject", "request_id", "created_at"], rows, returning_ids=True
    )
    if ids:
        transaction.on_commit(lambda: enqueue_dispatch_many(ids))
    return ids


def enqueue_dispatch(event_id: int) -> bool:
    from core.tasks import dispatch_event

    return enqueue(dispatch_event, event_id)


def enqueue_dispatch_many(event_ids: list[int]) -> bool:
    from core.tasks import dispatch_events

    return enqueue(dispatch_events, event_ids)
