"""Campaign lifecycle tasks: the audience snapshot, scheduled starts and A/B decisions. Thin: they
take ids and call campaigns.services.campaigns, whose functions are safe to run twice."""

from celery import shared_task

from campaigns.services import campaigns as campaign_services


@shared_task(ignore_result=True)
def campaign_start(campaign_id: int) -> int:
    """The audience snapshot of a campaign just marked sending; a second run writes nothing."""
    return campaign_services.campaign_start(campaign_id=campaign_id)


@shared_task(ignore_result=True)
def campaigns_start_due() -> int:
    """Every few seconds (Celery beat): start scheduled campaigns that fell due."""
    return campaign_services.campaigns_start_due()


@shared_task(ignore_result=True)
def campaigns_ab_decide() -> int:
    """Every minute (Celery beat): pick the winners of A/B tests whose wait is over."""
    return campaign_services.campaigns_ab_decide_due()
