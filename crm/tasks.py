"""Celery tasks of the CRM: thin wrappers over services, given ids, safe to run twice."""

from celery import shared_task

from core.logging import get_logger
from crm.services import imports
from crm.services.scoring import score_decay_run

log = get_logger(__name__)

#: A run that fails on something other than the file (the database restarting, say) is retried;
#: each retry carries on after the last committed batch.
IMPORT_RETRIES = 3


@shared_task(bind=True, ignore_result=True, max_retries=IMPORT_RETRIES)
def contact_import_run(self, import_id: int) -> None:
    try:
        imports.contact_import_process(import_id=import_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            log.exception("contact_import_gave_up", import_id=import_id)
            imports.contact_import_fail(
                import_id=import_id,
                error="The import stopped on an error on our side. The rows counted as processed are in; "
                "upload the file again to import the rest (rows already imported are merged, not duplicated).",
            )
            return
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc


@shared_task(ignore_result=True)
def score_decay() -> int:
    """Daily (Celery beat): lower the scores of contacts gone quiet; running it twice changes nothing."""
    return score_decay_run()


@shared_task(ignore_result=True)
def contact_imports_resume() -> int:
    """Every few minutes (Celery beat): start imports still waiting long after their upload, e.g.
    because the broker was down when they were stored. Starting one twice is harmless."""
    stalled = imports.contact_imports_stalled()
    for import_id in stalled:
        imports.enqueue_contact_import(import_id)
    return len(stalled)
