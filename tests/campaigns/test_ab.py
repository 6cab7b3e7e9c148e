"""Subject A/B tests: a share of the audience split evenly between the two subjects, at random but the
same way for the same campaign; after the wait, the better subject by open or click rate goes to the
rest (a tie goes to a)."""

import datetime
from collections import Counter
from unittest import mock

import pytest
from django.utils import timezone

from campaigns.models import AbMetric, Campaign, CampaignStatus, EmailSend, SendingSettings, SendStatus
from campaigns.selectors import campaign_progress, campaign_stats
from campaigns.services import campaigns as services
from campaigns.services.campaigns import campaign_ab_decide, campaign_start, campaigns_ab_decide_due
from tests.factories import CampaignFactory, ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace():
    workspace = WorkspaceFactory()
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Street")
    ContactFactory.create_batch(100, workspace=workspace)
    return workspace


@pytest.fixture
def dispatched():
    with mock.patch.object(services, "campaign_dispatch") as dispatch:
        yield dispatch


def started(workspace, **fields) -> Campaign:
    campaign = CampaignFactory(
        workspace=workspace,
        subject="Subject A",
        subject_b="Subject B",
        ab_test_percent=20,
        ab_wait_minutes=60,
        status=CampaignStatus.SENDING,
        started_at=timezone.now(),
        **fields,
    )
    campaign_start(campaign_id=campaign.pk)
    return Campaign.objects.get(pk=campaign.pk)


def variants(campaign) -> Counter:
    return Counter(EmailSend.objects.filter(campaign=campaign).values_list("variant", flat=True))


def engage(campaign, variant: str, n: int, field: str) -> None:
    rows = EmailSend.objects.filter(campaign=campaign, variant=variant).order_by("pk")
    EmailSend.objects.filter(pk__in=[row.pk for row in rows[:n]]).update(**{field: timezone.now()})


def hand_over(campaign) -> None:
    EmailSend.objects.filter(campaign=campaign).exclude(variant="").update(
        status=SendStatus.SENT, sent_at=timezone.now()
    )


def test_the_test_share_is_split_evenly_and_the_rest_waits(workspace, dispatched):
    before = timezone.now()
    campaign = started(workspace)
    assert variants(campaign) == {"a": 10, "b": 10, "": 80}
    assert set(EmailSend.objects.filter(campaign=campaign, variant="b").values_list("subject", flat=True)) == {
        "Subject B"
    }
    assert set(EmailSend.objects.filter(campaign=campaign, variant="").values_list("subject", flat=True)) == {
        "Subject A"
    }
    assert (
        before + datetime.timedelta(minutes=60)
        <= campaign.ab_decide_at
        <= timezone.now() + datetime.timedelta(minutes=60)
    )
    assert campaign_progress(campaign)["waiting_for_winner"] == 80


def test_the_split_is_random_but_reproducible(workspace):
    campaign = CampaignFactory(workspace=workspace, subject_b="B", ab_test_percent=30)
    first, again = services._variants(campaign, 500), services._variants(campaign, 500)
    assert first == again
    assert Counter(first) == {"a": 75, "b": 75, "": 350}
    # Not simply the first rows of the audience.
    assert "" in first[:150] and {"a", "b"} <= set(first[150:])
    other = CampaignFactory(workspace=workspace, subject_b="B", ab_test_percent=30)
    assert services._variants(other, 500) != first


def test_a_share_too_small_to_split_means_no_test(dispatched):
    workspace = WorkspaceFactory()
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Street")
    ContactFactory.create_batch(5, workspace=workspace)
    campaign = started(workspace)
    assert variants(campaign) == {"a": 5}
    assert campaign.ab_decide_at is None
    dispatched.assert_called_once()


def test_nothing_is_decided_before_the_wait_is_over(workspace, dispatched):
    campaign = started(workspace)
    assert campaign_ab_decide(campaign_id=campaign.pk) == ""
    assert campaigns_ab_decide_due() == 0
    assert Campaign.objects.get(pk=campaign.pk).ab_winner == ""
    assert variants(campaign)[""] == 80


def test_the_better_open_rate_wins_and_goes_to_the_rest(workspace, dispatched):
    campaign = started(workspace)
    hand_over(campaign)
    engage(campaign, "a", 2, "first_opened_at")
    engage(campaign, "b", 5, "first_opened_at")
    engage(campaign, "a", 4, "first_clicked_at")  # clicks don't count with the open metric
    dispatched.reset_mock()
    later = campaign.ab_decide_at + datetime.timedelta(seconds=1)
    assert campaigns_ab_decide_due(now=later) == 1
    campaign.refresh_from_db()
    assert campaign.ab_winner == "b"
    assert variants(campaign) == {"a": 10, "b": 90}
    waiting = EmailSend.objects.filter(campaign=campaign, status=SendStatus.QUEUED)
    assert set(waiting.values_list("subject", flat=True)) == {"Subject B"}
    dispatched.assert_called_once()
    # Decided once.
    assert campaign_ab_decide(campaign_id=campaign.pk, now=later) == ""
    assert campaigns_ab_decide_due(now=later) == 0
    assert dispatched.call_count == 1


def test_the_click_metric_and_a_tie(workspace, dispatched):
    by_clicks = started(workspace, ab_metric=AbMetric.CLICKS)
    hand_over(by_clicks)
    engage(by_clicks, "b", 6, "first_opened_at")
    engage(by_clicks, "a", 3, "first_clicked_at")
    engage(by_clicks, "b", 1, "first_clicked_at")
    later = by_clicks.ab_decide_at + datetime.timedelta(seconds=1)
    assert campaign_ab_decide(campaign_id=by_clicks.pk, now=later) == "a"

    tie = started(workspace)
    hand_over(tie)
    engage(tie, "a", 3, "first_opened_at")
    engage(tie, "b", 3, "first_opened_at")
    assert campaign_ab_decide(campaign_id=tie.pk, now=later) == "a"


def test_nothing_handed_over_yet_goes_to_a(workspace, dispatched):
    campaign = started(workspace)
    later = campaign.ab_decide_at + datetime.timedelta(seconds=1)
    assert campaign_ab_decide(campaign_id=campaign.pk, now=later) == "a"


def test_a_paused_test_waits_for_the_resume(workspace, dispatched):
    campaign = started(workspace)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED)
    later = campaign.ab_decide_at + datetime.timedelta(seconds=1)
    assert campaigns_ab_decide_due(now=later) == 0
    assert variants(campaign)[""] == 80


def test_stats_show_each_subjects_figures(workspace, dispatched):
    campaign = started(workspace)
    hand_over(campaign)
    engage(campaign, "a", 1, "first_opened_at")
    engage(campaign, "b", 4, "first_opened_at")
    ab = campaign_stats(campaign)["ab"]
    assert ab["metric"] == "opens" and ab["winner"] == ""
    assert ab["variants"]["a"]["subject"] == "Subject A" and ab["variants"]["a"]["open_rate"] == 0.1
    assert ab["variants"]["b"]["sent"] == 10 and ab["variants"]["b"]["open_rate"] == 0.4
