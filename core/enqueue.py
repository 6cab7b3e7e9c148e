"""Publishing a Celery task from code whose work is already stored."""

from core.logging import get_logger

log = get_logger(__name__)


def enqueue(task, *args) -> bool:
    """`task.delay(*args)`, except that a broker failure is logged and answered with False rather than
    raised: the caller's rows are committed, and a sweeper (the event outbox's, the ledger's, the
    imports' and campaigns' beat tasks) finds the work and enqueues it again."""
    try:
        task.delay(*args)
    except Exception:  # any broker failure (the traceback names the task: reading task.name may fail too)
        log.warning("task_enqueue_failed", exc_info=True)
        return False
    return True
