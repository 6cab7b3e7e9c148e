"""Delivery tasks: a campaign's batch loop, one message, and the sweeper that recovers from crashes."""

from celery import shared_task

from campaigns.delivery import sending
from campaigns.services.sends import campaign_dispatch


@shared_task(ignore_result=True)
def email_send_batch(campaign_id: int) -> None:
    """Send a campaign's rows for a while, then queue the next run (a delay ≤ 60 s when the
    workspace's rate is used up for this minute)."""
    again = sending.campaign_send_run(campaign_id=campaign_id)
    # Eager (in tests), a countdown is ignored and the run would spin until the minute is over;
    # the sweeper brings the campaign back instead.
    if again is not None and not (again and email_send_batch.app.conf.task_always_eager):
        email_send_batch.apply_async((campaign_id,), countdown=again)


@shared_task(ignore_result=True)
def deliver_send(send_id: int) -> None:
    sending.send_deliver(send_id=send_id)


@shared_task(ignore_result=True)
def email_sends_sweep() -> int:
    """Every 30 s (beat): see campaigns.delivery.sending.sends_sweep. Returns the work re-enqueued."""
    stalled, lone = sending.sends_sweep()
    for campaign in stalled:
        campaign_dispatch(campaign=campaign)
    for send_id in lone:
        deliver_send.delay(send_id)
    return len(stalled) + len(lone)
