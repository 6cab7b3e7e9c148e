from celery import shared_task

from core.events import dispatch


@shared_task(ignore_result=True)
def dispatch_event(event_id: int) -> None:
    dispatch.process_event(event_id)


@shared_task(ignore_result=True)
def dispatch_events(event_ids: list[int]) -> None:
    dispatch.process_events(event_ids)


@shared_task(ignore_result=True)
def sweep_events() -> int:
    return dispatch.sweep_events()
