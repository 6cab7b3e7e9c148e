"""The demo workspace's email: a sent campaign whose report looks like a real send, and a draft;
ready to send (postal address, verified sender), and added once however often the seed runs."""

import pytest
from django.db.models import Count
from django.urls import reverse

from accounts.roles import Role
from campaigns.content import content_clean
from campaigns.demo import DRAFT_NAME, SENT_NAME, UNSUBSCRIBES, demo_campaigns_seed
from campaigns.models import (
    Campaign,
    CampaignStatus,
    EmailEngagement,
    EmailSend,
    EngagementKind,
    SendingSettings,
    SendStatus,
)
from campaigns.selectors import campaign_stats
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


def test_its_report_counts_the_unsubscribes_and_the_content_is_as_the_services_store_it(demo_workspace):
    workspace, _ = demo_workspace
    campaign = Campaign.objects.get(workspace=workspace, name=SENT_NAME)
    stats = campaign_stats(campaign)
    assert stats["unsubscribes"] == UNSUBSCRIBES and stats["complaints"] == 1
    assert 0.3 < stats["open_rate"] < 0.5 and len(stats["links"]) == 3
    assert stats["ab"]["winner"] == "b"
    assert stats["ab"]["variants"]["b"]["open_rate"] > 0
    for each in Campaign.objects.for_workspace(workspace):
        assert content_clean(each.content) == each.content


def test_every_page_renders_with_the_demo(demo_workspace, login_as):
    workspace, _ = demo_workspace
    member = login_as(Role.VIEWER, workspace=workspace)
    sent = Campaign.objects.get(workspace=workspace, name=SENT_NAME)
    draft = Campaign.objects.get(workspace=workspace, name=DRAFT_NAME)
    pages = [
        reverse("dashboard:campaigns"),
        reverse("dashboard:campaigns-report", args=[sent.pk]),
        reverse("dashboard:campaigns-preview", args=[sent.pk]),
        reverse("dashboard:campaigns-edit", args=[draft.pk]),
        reverse("dashboard:campaigns-preview", args=[draft.pk]),
        reverse("dashboard:campaigns-senders"),
        reverse("dashboard:campaigns-settings"),
    ]
    for page in pages:
        assert member.web.get(page).status_code == 200, page
    report = member.web.get(pages[1])
    assert sum(report.context["chart"]["opens"]) > 100 and 'data-testid="ab-winner"' in report.content.decode()
    assert "Hi " in member.web.get(pages[4]).content.decode()
