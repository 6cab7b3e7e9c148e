from django.db import models, transaction

from core.logging import get_logger
from core.models import Event
from core.request_context import current_request_id

log = get_logger(__name__)


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
    event stays undispatched and the periodic sweeper delivers it later.
    """
    event = Event.objects.create(
        workspace_id=workspace.pk if isinstance(workspace, models.Model) else workspace,
        type=type,
        payload=payload,
        subject=_subject_label(subject),
        request_id=current_request_id() or "",
    )
    transaction.on_commit(lambda: enqueue_dispatch(event.pk))
    return event


def enqueue_dispatch(event_id: int) -> bool:
    from core.tasks import dispatch_event

    try:
        dispatch_event.delay(event_id)
    except Exception:  # any broker failure: the sweeper is the safety net
        log.warning("event_enqueue_failed", event_id=event_id, exc_info=True)
        return False
    return True
