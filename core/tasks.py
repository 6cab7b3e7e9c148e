from celery import shared_task

from core.events import dispatch


@shared_task(ignore_result=True)
def dispatch_event(event_id: int) -> None:
    dispatch.process_event(event_id)


@shared_task(ignore_result=True)
def dispatch_events(event_ids: list[int]) -> None:
    # One after another: each is independent, and one handler's failure is recorded on its delivery.
    for event_id in event_ids:
        dispatch.process_event(event_id)


@shared_task(ignore_result=True)
def sweep_events() -> int:
    return dispatch.sweep_events()
