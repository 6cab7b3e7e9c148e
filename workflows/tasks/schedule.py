"""Tasks that fire schedule triggers (the beat entries workflows.schedule keeps)."""

from celery import shared_task

from workflows import schedule


@shared_task(ignore_result=True)
def workflow_schedule_fire(workflow_id: int) -> int:
    """A schedule trigger's cron came round: start the workflow for its segment, or once."""
    return schedule.schedule_fire(workflow_id=workflow_id)
