"""The demo workspace's email: a sent campaign whose report looks like a real send, and a draft;
ready to send (postal address, verified sender), and added once however often the seed runs."""

import pytest
from django.db.models import Count

from campaigns.demo import DRAFT_NAME, SENT_NAME, demo_campaigns_seed
from campaigns.models import (
    Campaign,
    CampaignStatus,
    EmailEngagement,
    EmailSend,
    EngagementKind,
    SendingSettings,
    SendStatus,
)
from crm.demo import demo_crm_seed
from crm.models import ContactStatus
from tests.factories import UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_workspace():
    workspace = WorkspaceFactory(name="Acme Marketing", timezone="Europe/Lisbon")
    actor = UserFactory()
    demo_crm_seed(workspace=workspace, actor=actor, team=[actor])
    assert demo_campaigns_seed(workspace=workspace, actor=actor) == 2
    return workspace, actor


def test_seeding_twice_adds_the_campaigns_and_their_ledger_once(demo_workspace):
    workspace, actor = demo_workspace
    sends, engagements = EmailSend.objects.count(), EmailEngagement.objects.count()
    assert demo_campaigns_seed(workspace=workspace, actor=actor) == 0
    assert Campaign.objects.for_workspace(workspace).count() == 2
    assert (EmailSend.objects.count(), EmailEngagement.objects.count()) == (sends, engagements)


def test_the_workspace_can_send_a_postal_address_and_a_verified_sender(demo_workspace):
    workspace, _ = demo_workspace
    assert SendingSettings.objects.get(workspace=workspace).postal_address.strip()
    draft = Campaign.objects.get(workspace=workspace, name=DRAFT_NAME)
    assert draft.status == CampaignStatus.DRAFT and draft.sender.is_verified
    assert draft.audience["segments"]  # the "newsletter without a purchase" segment
    assert len(draft.content["blocks"]) >= 5


def test_the_sent_campaign_has_realistic_rates_spread_over_days(demo_workspace):
    workspace, _ = demo_workspace
    campaign = Campaign.objects.get(workspace=workspace, name=SENT_NAME)
    sends = EmailSend.objects.filter(campaign=campaign)
    assert campaign.status == CampaignStatus.SENT and campaign.recipients == sends.count() > 200
    by_status = dict(sends.values_list("status").annotate(n=Count("id")))
    assert 1 <= by_status[SendStatus.BOUNCED] <= 5 and by_status.get(SendStatus.COMPLAINED) == 1
    # Bounced rows are the contacts suppressed now, who were active when it went out.
    bounced = sends.filter(status=SendStatus.BOUNCED)
    assert set(bounced.values_list("contact__status", flat=True)) == {ContactStatus.BOUNCED}
    assert not bounced.filter(delivered_at__isnull=False).exists()

    delivered = sends.exclude(status=SendStatus.BOUNCED).count()
    opened = sends.filter(first_opened_at__isnull=False).count()
    clicked = sends.filter(first_clicked_at__isnull=False).count()
    assert 0.3 < opened / delivered < 0.5
    assert 0.04 < clicked / delivered < 0.13
    assert not sends.filter(first_clicked_at__isnull=False, first_opened_at__isnull=True).exists()

    engagements = EmailEngagement.objects.filter(campaign=campaign)
    human_opens = engagements.filter(kind=EngagementKind.OPEN, machine=False)
    assert human_opens.count() == sum(sends.values_list("open_count", flat=True))
    days = {at.date() for at in human_opens.values_list("at", flat=True)}
    assert len(days) >= 3  # a tail over the following days, not one burst
    assert all(campaign.started_at <= at for at in engagements.values_list("at", flat=True))
    assert engagements.filter(kind=EngagementKind.CLICK).values("url").distinct().count() == 3
    # The A/B test: a tenth of the audience on each subject, the winner to the rest.
    variants = dict(sends.values_list("variant").annotate(n=Count("id")))
    assert variants["a"] == variants["b"] and variants[""] > variants["a"] * 3
    assert campaign.ab_winner == "b"
