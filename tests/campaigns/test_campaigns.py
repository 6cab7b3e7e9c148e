"""Campaign services: what a campaign accepts when saved, who its audience is, what stops it from
going out (each prerequisite named), schedules, the snapshot of its audience into the ledger,
pausing, resuming and cancelling."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.events import CAMPAIGN_FINISHED, CAMPAIGN_STARTED
from campaigns.models import Campaign, CampaignStatus, EmailSend, SendingSettings, SendKind, SendStatus
from campaigns.selectors import campaign_audience, campaign_progress, campaign_recipient_count
from campaigns.services import campaigns as services
from campaigns.services.campaigns import (
    campaign_cancel,
    campaign_create,
    campaign_delete,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    campaign_send,
    campaign_start,
    campaign_test_send,
    campaign_update,
    campaigns_start_due,
)
from core.models import Event
from crm.models import ContactStatus, ContactTag
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    SegmentFactory,
    SenderFactory,
    TagFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

BLOCKS = {"blocks": [{"type": "heading", "text": "Hello {{ contact.first_name }}"}]}


@pytest.fixture
def workspace():
    workspace = WorkspaceFactory(timezone="Europe/Paris")
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Street, Bristol")
    return workspace


@pytest.fixture
def contacts(workspace):
    return [ContactFactory(workspace=workspace, email=f"c{n}@example.com", first_name=f"C{n}") for n in range(6)]


@pytest.fixture
def ready(workspace, contacts):
    """A draft that can go out: sender verified, subject, a block, everyone as its audience."""
    return CampaignFactory(workspace=workspace, subject="Hi {{ contact.first_name }}", content=BLOCKS)


@pytest.fixture
def dispatched():
    with mock.patch.object(services, "campaign_dispatch") as dispatch:
        yield dispatch


def errors_of(call, **kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        call(**kwargs)
    return caught.value.message_dict


def tag(workspace, name, *contacts):
    tag = TagFactory(workspace=workspace, name=name)
    for contact in contacts:
        ContactTag.objects.create(workspace=workspace, contact=contact, tag=tag)
    return tag


# --- Saving ------------------------------------------------------------------------------------------


def test_create_keeps_the_cleaned_fields(workspace):
    sender = SenderFactory(workspace=workspace)
    campaign = campaign_create(
        workspace=workspace,
        name="  Spring   news ",
        subject="Hi {{ contact.first_name | default('there') }}",
        sender=sender.pk,
        content=BLOCKS,
        audience={"tags": []},
    )
    campaign.refresh_from_db()
    assert campaign.name == "Spring news"
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.sender == sender
    assert campaign.content["blocks"][0]["text"] == "Hello {{ contact.first_name }}"
    assert campaign.audience == {"segments": [], "tags": [], "exclude_segments": [], "exclude_tags": []}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"subject": "Hi {{ contact.first_name "}, "subject", "Line 1"),
        ({"preheader": "ok\n{% if %}"}, "preheader", "Line 1"),
        ({"subject_b": "{{ contact.__class__ }}"}, "subject_b", ""),
        (
            {"content": {"blocks": [{"type": "text", "text": "fine"}, {"type": "text", "text": "{{ oops"}]}},
            "content.blocks.1.text",
            "Line 1",
        ),
        ({"content": "blocks"}, "content", ""),
        ({"name": ""}, "name", ""),
        ({"name": "x" * 201}, "name", ""),
        ({"subject": 5}, "subject", ""),
        ({"sender": 10**30}, "sender", ""),
        ({"sender": "1"}, "sender", ""),
        ({"ab_test_percent": 51, "subject_b": "B"}, "ab_test_percent", ""),
        ({"ab_test_percent": -1}, "ab_test_percent", ""),
        ({"ab_test_percent": True}, "ab_test_percent", ""),
        ({"ab_test_percent": 10}, "subject_b", "second subject"),
        ({"ab_wait_minutes": 1}, "ab_wait_minutes", ""),
        ({"ab_wait_minutes": 10**9}, "ab_wait_minutes", ""),
        ({"ab_metric": "revenue"}, "ab_metric", ""),
        ({"audience": []}, "audience", ""),
        ({"audience": {"segments": "1"}}, "audience.segments", ""),
        ({"audience": {"segments": [1.5]}}, "audience.segments.0", ""),
        ({"audience": {"tags": [True]}}, "audience.tags.0", ""),
        ({"audience": {"tags": [10**30]}}, "audience.tags.0", ""),
        ({"audience": {"people": [1]}}, "audience.people", "Unknown key"),
        ({"audience": {"tags": list(range(1, 200))}}, "audience.tags", "At most"),
    ],
)
def test_a_bad_field_is_refused_at_save_by_its_path(workspace, fields, field, message):
    found = errors_of(campaign_create, workspace=workspace, **({"name": "News"} | fields))
    assert field in found, found
    assert message in " ".join(found[field])
    assert not Campaign.objects.exists()


def test_every_bad_field_is_named_at_once(workspace):
    found = errors_of(campaign_create, workspace=workspace, name="", subject="{{", ab_metric="x")
    assert {"name", "subject", "ab_metric"} <= set(found)


def test_ids_of_another_workspace_are_refused(workspace):
    other = WorkspaceFactory()
    segment, tag_ = SegmentFactory(workspace=other), TagFactory(workspace=other)
    mine = TagFactory(workspace=workspace)
    found = errors_of(
        campaign_create,
        workspace=workspace,
        name="News",
        sender=SenderFactory(workspace=other).pk,
        audience={"segments": [segment.pk], "tags": [mine.pk, tag_.pk], "exclude_tags": [999999999]},
    )
    assert set(found) == {"sender", "audience.segments.0", "audience.tags.1", "audience.exclude_tags.0"}
    assert "No segment with id" in found["audience.segments.0"][0]


def test_update_changes_only_what_is_given(ready):
    campaign = campaign_update(campaign=ready, subject="New subject", ab_test_percent=20, subject_b="Other")
    assert (campaign.subject, campaign.ab_test_percent, campaign.subject_b) == ("New subject", 20, "Other")
    assert campaign.name == ready.name and campaign.content == BLOCKS
    with pytest.raises(TypeError):
        campaign_update(campaign=ready, status=CampaignStatus.SENT)


@pytest.mark.parametrize("status", [CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT])
def test_a_campaign_that_went_out_cannot_be_edited_or_deleted(ready, status):
    Campaign.objects.filter(pk=ready.pk).update(status=status)
    assert "status" in errors_of(campaign_update, campaign=ready, subject="Changed")
    assert "status" in errors_of(campaign_delete, campaign=ready)
    ready.refresh_from_db()
    assert ready.subject == "Hi {{ contact.first_name }}"


def test_a_scheduled_campaign_can_be_edited_but_must_stay_ready(ready):
    campaign_schedule(campaign=ready, scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    assert campaign_update(campaign=ready, name="Renamed").name == "Renamed"
    assert "subject" in errors_of(campaign_update, campaign=ready, subject="")
    assert "status" in errors_of(campaign_delete, campaign=ready)


def test_a_draft_is_deleted(ready):
    campaign_delete(campaign=ready)
    assert not Campaign.objects.filter(pk=ready.pk).exists()


# --- Audience ----------------------------------------------------------------------------------------------


def emails(workspace, audience) -> set[str]:
    return set(campaign_audience(workspace, audience).values_list("email", flat=True))


def test_no_segment_and_no_tag_is_everyone_sendable(workspace, contacts):
    for contact, status in zip(contacts[:4], ContactStatus.values[1:], strict=True):
        contact.status = status
        contact.save()
    assert emails(workspace, {}) == {"c4@example.com", "c5@example.com"}
    assert campaign_recipient_count(workspace, None) == 2


def test_segments_or_tags_then_exclusions(workspace, contacts):
    vip = tag(workspace, "VIP", *contacts[:2])
    press = tag(workspace, "Press", contacts[2])
    muted = tag(workspace, "Muted", contacts[1])
    c3 = SegmentFactory(
        workspace=workspace, rules={"match": "all", "rules": [{"field": "email", "op": "starts_with", "value": "c3"}]}
    )
    c4 = SegmentFactory(
        workspace=workspace, rules={"match": "all", "rules": [{"field": "email", "op": "starts_with", "value": "c4"}]}
    )
    audience = {
        "segments": [c3.pk, c4.pk],
        "tags": [vip.pk, press.pk],
        "exclude_tags": [muted.pk],
        "exclude_segments": [c4.pk],
    }
    assert emails(workspace, audience) == {"c0@example.com", "c2@example.com", "c3@example.com"}
    assert campaign_recipient_count(workspace, audience) == 3


def test_excluding_a_segment_keeps_contacts_its_rule_says_nothing_about(workspace, contacts):
    """A custom field missing on a contact makes the rule unknown (NULL) in SQL: NOT (rule) would
    drop the contact, though it is plainly not in the segment."""
    from tests.factories import CustomFieldFactory

    CustomFieldFactory(workspace=workspace, key="plan", label="Plan")
    contacts[0].custom_fields = {"plan": "pro"}
    contacts[0].save()
    pro = SegmentFactory(
        workspace=workspace, rules={"match": "all", "rules": [{"field": "custom.plan", "op": "eq", "value": "pro"}]}
    )
    assert len(emails(workspace, {"exclude_segments": [pro.pk]})) == 5


def test_a_segment_whose_rule_broke_is_named(workspace, contacts):
    gone = tag(workspace, "Gone")
    segment = SegmentFactory(
        workspace=workspace,
        name="Gone people",
        rules={"match": "all", "rules": [{"field": "tag", "op": "has", "value": gone.pk}]},
    )
    gone.delete()
    with pytest.raises(ValidationError) as caught:
        campaign_recipient_count(workspace, {"tags": [], "segments": [segment.pk]})
    assert "Gone people" in caught.value.message_dict["audience.segments.0"][0]


# --- Sending prerequisites -----------------------------------------------------------------------------


def test_sending_names_every_missing_prerequisite_and_changes_nothing(workspace, contacts):
    SendingSettings.objects.filter(workspace=workspace).update(postal_address="  ")
    campaign = CampaignFactory(
        workspace=workspace,
        subject="",
        content={"blocks": []},
        sender=SenderFactory(workspace=workspace, status="pending", verified_at=None),
        audience={"tags": [tag(workspace, "Nobody").pk]},
    )
    found = errors_of(campaign_send, campaign=campaign)
    assert set(found) == {"postal_address", "sender", "subject", "content", "audience"}
    assert "not verified" in found["sender"][0]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.started_at is None


def test_sending_without_a_sender_asks_for_one(ready):
    Campaign.objects.filter(pk=ready.pk).update(sender=None)
    assert errors_of(campaign_send, campaign=ready) == {"sender": ["Choose a sender."]}


def test_a_template_that_fails_when_rendered_stops_the_send(ready):
    Campaign.objects.filter(pk=ready.pk).update(
        content={"blocks": [{"type": "text", "text": "{{ contact.email.center(1000000000) }}"}]}
    )
    assert "content" in errors_of(campaign_send, campaign=ready)


def test_send_marks_sending_and_queues_the_snapshot_on_commit(ready, django_capture_on_commit_callbacks):
    with (
        mock.patch("campaigns.tasks.lifecycle.campaign_start.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        campaign = campaign_send(campaign=ready)
    assert campaign.status == CampaignStatus.SENDING and campaign.started_at is not None
    delay.assert_called_once_with(ready.pk)
    assert "status" in errors_of(campaign_send, campaign=ready)


# --- Schedules ---------------------------------------------------------------------------------------


def test_a_time_without_offset_is_in_the_workspaces_zone(ready):
    local = (timezone.now() + datetime.timedelta(days=2)).astimezone(datetime.UTC).replace(tzinfo=None)
    campaign = campaign_schedule(campaign=ready, scheduled_at=local)
    assert campaign.status == CampaignStatus.SCHEDULED
    # Paris is one or two hours ahead of UTC: the same wall time is earlier in UTC.
    assert campaign.scheduled_at < local.replace(tzinfo=datetime.UTC)
    assert campaign.scheduled_at.astimezone(datetime.UTC).hour != local.hour


@pytest.mark.parametrize("delta", [datetime.timedelta(minutes=-1), datetime.timedelta(days=400)])
def test_a_past_or_far_time_is_refused(ready, delta):
    found = errors_of(campaign_schedule, campaign=ready, scheduled_at=timezone.now() + delta)
    assert list(found) == ["scheduled_at"]
    ready.refresh_from_db()
    assert ready.status == CampaignStatus.DRAFT


def test_scheduling_checks_the_prerequisites(ready):
    SendingSettings.objects.filter(workspace=ready.workspace).update(postal_address="")
    found = errors_of(campaign_schedule, campaign=ready, scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    assert list(found) == ["postal_address"]


def test_beat_starts_due_campaigns_once(ready, django_capture_on_commit_callbacks):
    campaign_schedule(campaign=ready, scheduled_at=timezone.now() + datetime.timedelta(minutes=5))
    later = CampaignFactory(workspace=ready.workspace, content=BLOCKS)
    campaign_schedule(campaign=later, scheduled_at=timezone.now() + datetime.timedelta(hours=5))
    with mock.patch("campaigns.tasks.lifecycle.campaign_start.delay") as delay:
        assert campaigns_start_due(now=timezone.now()) == 0
        with django_capture_on_commit_callbacks(execute=True):
            assert campaigns_start_due(now=timezone.now() + datetime.timedelta(minutes=6)) == 1
            assert campaigns_start_due(now=timezone.now() + datetime.timedelta(minutes=6)) == 0
    delay.assert_called_once_with(ready.pk)
    assert Campaign.objects.get(pk=ready.pk).status == CampaignStatus.SENDING
    assert Campaign.objects.get(pk=later.pk).status == CampaignStatus.SCHEDULED


def test_a_due_campaign_no_longer_ready_goes_back_to_draft(ready):
    campaign_schedule(campaign=ready, scheduled_at=timezone.now() + datetime.timedelta(minutes=5))
    SendingSettings.objects.filter(workspace=ready.workspace).update(postal_address="")
    with mock.patch("campaigns.tasks.lifecycle.campaign_start.delay") as delay:
        assert campaigns_start_due(now=timezone.now() + datetime.timedelta(minutes=6)) == 0
    delay.assert_not_called()
    assert Campaign.objects.get(pk=ready.pk).status == CampaignStatus.DRAFT


def test_beat_requeues_a_snapshot_whose_task_was_lost(ready):
    Campaign.objects.filter(pk=ready.pk).update(
        status=CampaignStatus.SENDING, started_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    with mock.patch("campaigns.tasks.lifecycle.campaign_start.delay") as delay:
        campaigns_start_due()
    delay.assert_called_once_with(ready.pk)


# --- The snapshot --------------------------------------------------------------------------------------


def start(campaign) -> int:
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING, started_at=timezone.now())
    return campaign_start(campaign_id=campaign.pk)


def test_the_snapshot_writes_one_row_per_sendable_contact(ready, contacts, dispatched):
    contacts[0].status = ContactStatus.UNCONFIRMED
    contacts[0].save()
    assert start(ready) == 5
    rows = EmailSend.objects.filter(campaign=ready)
    assert {row.to_email for row in rows} == {c.email for c in contacts[1:]}
    row = rows.get(contact=contacts[1])
    assert row.kind == SendKind.CAMPAIGN and row.status == SendStatus.QUEUED and row.variant == "a"
    assert row.idempotency_key == f"campaign:{ready.pk}:{contacts[1].pk}"
    assert row.from_email == f"{ready.sender.from_name} <{ready.sender.from_email}>"
    assert row.subject == ready.subject
    assert len({row.token for row in rows}) == 5
    campaign = Campaign.objects.get(pk=ready.pk)
    assert campaign.recipients == 5 and campaign.ab_decide_at is None
    started = Event.objects.get(type=CAMPAIGN_STARTED)
    assert started.payload == {"campaign_id": ready.pk, "recipients": 5}
    dispatched.assert_called_once()


def test_the_snapshot_runs_once(ready, dispatched):
    assert start(ready) == 6
    ContactFactory(workspace=ready.workspace)
    assert campaign_start(campaign_id=ready.pk) == 0
    assert EmailSend.objects.filter(campaign=ready).count() == 6
    assert Event.objects.filter(type=CAMPAIGN_STARTED).count() == 1
    assert dispatched.call_count == 1


@pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.CANCELLED, CampaignStatus.SCHEDULED])
def test_the_snapshot_waits_for_sending(ready, status, dispatched):
    Campaign.objects.filter(pk=ready.pk).update(status=status)
    assert campaign_start(campaign_id=ready.pk) == 0
    assert campaign_start(campaign_id=10**12) == 0
    assert not EmailSend.objects.exists()


def test_an_audience_emptied_since_sending_finishes_the_campaign(ready, contacts, dispatched):
    for contact in contacts:
        contact.status = ContactStatus.UNSUBSCRIBED
        contact.save()
    assert start(ready) == 0
    campaign = Campaign.objects.get(pk=ready.pk)
    assert campaign.status == CampaignStatus.SENT and campaign.finished_at is not None
    assert Event.objects.get(type=CAMPAIGN_FINISHED).payload == {"campaign_id": ready.pk, "status": "sent"}


def test_a_paused_campaign_is_snapshotted_but_not_dispatched(ready, dispatched):
    Campaign.objects.filter(pk=ready.pk).update(status=CampaignStatus.PAUSED, started_at=timezone.now())
    assert campaign_start(campaign_id=ready.pk) == 6
    dispatched.assert_not_called()


# --- Pause, resume, cancel ----------------------------------------------------------------------------


def test_pause_resume_and_cancel(ready, dispatched):
    start(ready)
    assert "status" in errors_of(campaign_resume, campaign=ready)
    assert campaign_pause(campaign=ready).status == CampaignStatus.PAUSED
    assert "status" in errors_of(campaign_pause, campaign=ready)
    assert campaign_resume(campaign=ready).status == CampaignStatus.SENDING
    assert dispatched.call_count == 2  # the start, and the resume
    rows = list(EmailSend.objects.filter(campaign=ready).order_by("pk"))
    EmailSend.objects.filter(pk=rows[0].pk).update(status=SendStatus.SENT)
    EmailSend.objects.filter(pk=rows[1].pk).update(status=SendStatus.SENDING)
    campaign = campaign_cancel(campaign=ready)
    assert campaign.status == CampaignStatus.CANCELLED and campaign.finished_at is not None
    assert campaign_progress(campaign)["counts"] | {} == {
        **dict.fromkeys(SendStatus.values, 0),
        SendStatus.SENT: 1,
        SendStatus.SENDING: 1,
        SendStatus.CANCELLED: 4,
    }
    assert Event.objects.filter(type=CAMPAIGN_FINISHED, payload__status="cancelled").count() == 1
    assert "status" in errors_of(campaign_cancel, campaign=ready)


def test_resuming_a_campaign_paused_before_its_snapshot_takes_it(ready, django_capture_on_commit_callbacks):
    Campaign.objects.filter(pk=ready.pk).update(status=CampaignStatus.PAUSED, started_at=timezone.now())
    with (
        mock.patch("campaigns.tasks.lifecycle.campaign_start.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        campaign_resume(campaign=ready)
    delay.assert_called_once_with(ready.pk)


def test_a_draft_cannot_be_cancelled(ready):
    assert "status" in errors_of(campaign_cancel, campaign=ready)


def test_progress_counts_rows_and_the_share_done(ready, dispatched):
    start(ready)
    EmailSend.objects.filter(campaign=ready, pk__in=EmailSend.objects.filter(campaign=ready).values("pk")[:3]).update(
        status=SendStatus.SENT
    )
    progress = campaign_progress(Campaign.objects.get(pk=ready.pk))
    assert (progress["recipients"], progress["sent"], progress["done"], progress["pending"]) == (6, 3, 3, 3)
    assert progress["percent"] == 50.0


# --- Test sends ---------------------------------------------------------------------------------------------


def test_a_test_send_goes_to_the_address_as_a_sample_contact_would_get_it(ready, contacts):
    send = campaign_test_send(campaign=ready, email=" boss@example.com ")
    assert send.kind == SendKind.TRANSACTIONAL and send.contact is None
    assert send.to_email == "boss@example.com"
    assert send.ref == f"test:{ready.pk}"
    newest = contacts[-1]
    assert send.subject == f"[Test] Hi {newest.first_name}"
    assert f"Hello {newest.first_name}" in send.body["html"]
    assert "1 Harbour Street" in send.body["text"]
    # Each request is its own message.
    again = campaign_test_send(campaign=ready, email="boss@example.com")
    assert again.pk != send.pk


def test_a_test_send_to_a_bad_address_is_refused(ready):
    assert list(errors_of(campaign_test_send, campaign=ready, email="boss")) == ["email"]
    assert not EmailSend.objects.exists()


def test_test_sends_are_capped_per_hour(ready):
    with mock.patch.object(services, "TEST_SENDS_MAX", 2):
        campaign_test_send(campaign=ready, email="a@example.com")
        campaign_test_send(campaign=ready, email="b@example.com")
        found = errors_of(campaign_test_send, campaign=ready, email="c@example.com")
    assert "At most 2 test emails an hour" in found["email"][0]
    assert EmailSend.objects.count() == 2


def test_stats_count_the_unsubscribes_through_the_campaigns_messages(ready, dispatched):
    from campaigns.selectors import campaign_stats
    from campaigns.services.engagement import email_unsubscribe

    start(ready)
    rows = list(EmailSend.objects.filter(campaign=ready).select_related("contact").order_by("pk"))
    EmailSend.objects.filter(campaign=ready).update(status=SendStatus.SENT)
    email_unsubscribe(send=rows[0], reason="Too many emails")
    email_unsubscribe(send=rows[0], reason="Still too many")  # asking twice is one unsubscribe
    # Unsubscribed some other way (not through this campaign's link): not counted here.
    other = CampaignFactory(workspace=ready.workspace)
    stray = EmailSend.objects.create(
        workspace=ready.workspace,
        contact=rows[1].contact,
        kind=SendKind.CAMPAIGN,
        campaign=other,
        idempotency_key="other:1",
        token="other-token",
        to_email=rows[1].to_email,
    )
    email_unsubscribe(send=stray, reason="Other newsletter")
    stats = campaign_stats(Campaign.objects.get(pk=ready.pk))
    assert stats["unsubscribes"] == 1
    assert stats["unsubscribe_rate"] == round(1 / 6, 4)


def test_the_sweeper_leaves_a_campaign_waiting_for_its_snapshot(ready, dispatched):
    """Between the send and its snapshot a sending campaign has no rows; nothing pending is not done."""
    from campaigns.delivery.sending import sends_sweep

    with mock.patch("campaigns.tasks.lifecycle.campaign_start.delay"):
        campaign_send(campaign=ready)
    sends_sweep()
    assert campaign_start(campaign_id=ready.pk) == 6
    assert Campaign.objects.get(pk=ready.pk).status == CampaignStatus.SENDING


def test_a_snapshot_larger_than_a_slice_is_written_whole(ready, contacts, dispatched):
    with mock.patch.object(services, "SNAPSHOT_SLICE", 4):
        assert start(ready) == 6
    assert sorted(EmailSend.objects.filter(campaign=ready).values_list("contact_id", flat=True)) == sorted(
        contact.pk for contact in contacts
    )
    assert Campaign.objects.get(pk=ready.pk).recipients == 6
