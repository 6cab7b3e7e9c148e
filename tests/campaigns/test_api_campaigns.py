"""The campaigns API: CRUD with figures, the lifecycle actions, previews, stats, progress and the live
recipient count; who may do what; and every bad input answered with a 400 naming the field."""

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from accounts.roles import Role
from campaigns.models import (
    Campaign,
    CampaignStatus,
    EmailEngagement,
    EmailSend,
    EngagementKind,
    SendingSettings,
    SendKind,
    SendStatus,
)
from campaigns.services import campaigns as services
from campaigns.services.campaigns import campaign_start
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    EmailSendFactory,
    SegmentFactory,
    SenderFactory,
    TagFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"
BLOCKS = {"blocks": [{"type": "heading", "text": "Hello {{ contact.first_name | default('there') }}"}]}


@pytest.fixture
def editor(member):
    editor = member(Role.EDITOR)
    editor.workspace.timezone = "America/New_York"
    editor.workspace.save()
    SendingSettings.objects.create(workspace=editor.workspace, postal_address="1 Harbour Street, Bristol")
    return editor


@pytest.fixture
def contacts(editor):
    return [ContactFactory(workspace=editor.workspace, first_name=f"Ann{n}") for n in range(4)]


@pytest.fixture
def campaign(editor, contacts):
    return CampaignFactory(workspace=editor.workspace, content=BLOCKS)


@pytest.fixture(autouse=True)
def no_workers():
    """Nothing here needs the tasks: what they would be given is asserted instead."""
    with (
        mock.patch("campaigns.tasks.lifecycle.campaign_start.delay") as start,
        mock.patch.object(services, "campaign_dispatch"),
    ):
        yield start


def detail(campaign, action: str = "") -> str:
    return f"{URL}{campaign.pk}/{action + '/' if action else ''}"


# --- CRUD --------------------------------------------------------------------------------------------


def test_create_then_read_it_back_with_figures(editor, contacts):
    sender = SenderFactory(workspace=editor.workspace)
    vip = TagFactory(workspace=editor.workspace)
    response = editor.client.post(
        URL,
        {"name": "Spring", "subject": "Hi", "sender": sender.pk, "content": BLOCKS, "audience": {"tags": [vip.pk]}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["sender_detail"] == {
        "id": sender.pk,
        "from_name": sender.from_name,
        "from_email": sender.from_email,
        "status": "verified",
    }
    assert body["audience"]["tags"] == [vip.pk]
    assert body["figures"] == {
        "sent": 0,
        "unique_opens": 0,
        "unique_clicks": 0,
        "bounces": 0,
        "open_rate": 0.0,
        "click_rate": 0.0,
    }
    assert body["timezone"] == "America/New_York"
    assert Campaign.objects.get(pk=body["id"]).created_by == editor.user


def test_put_needs_the_name_and_patch_does_not(editor, campaign, assert_error):
    assert_error(editor.client.put(detail(campaign), {"subject": "x"}, format="json"), 400, field="name")
    response = editor.client.patch(detail(campaign), {"subject": "New"}, format="json")
    assert response.status_code == 200 and response.json()["subject"] == "New"


def test_list_shows_key_figures_in_a_bounded_number_of_queries(
    editor, contacts, django_assert_max_num_queries, settings
):
    for n in range(5):
        sent = CampaignFactory(workspace=editor.workspace, status=CampaignStatus.SENT, name=f"Sent {n}")
        for contact, status in zip(
            contacts, [SendStatus.SENT, SendStatus.SENT, SendStatus.BOUNCED, SendStatus.SENT], strict=True
        ):
            EmailSendFactory(
                workspace=editor.workspace,
                contact=contact,
                campaign=sent,
                kind=SendKind.CAMPAIGN,
                status=status,
                first_opened_at=timezone.now() if contact == contacts[0] else None,
            )
    with django_assert_max_num_queries(8):
        response = editor.client.get(URL, {"status": "sent", "ordering": "name"})
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == [f"Sent {n}" for n in range(5)]
    assert rows[0]["figures"] == {
        "sent": 4,
        "unique_opens": 1,
        "unique_clicks": 0,
        "bounces": 1,
        "open_rate": round(1 / 3, 4),
        "click_rate": 0.0,
    }


def test_list_searches_and_filters(editor, campaign):
    CampaignFactory(workspace=editor.workspace, name="Autumn offer", subject="Sale")
    assert [row["name"] for row in editor.client.get(URL, {"search": "autumn"}).json()["results"]] == ["Autumn offer"]
    assert editor.client.get(URL, {"status": "sending"}).json()["count"] == 0


def test_delete_only_a_draft(editor, campaign, assert_error):
    sent = CampaignFactory(workspace=editor.workspace, status=CampaignStatus.SENT)
    assert_error(editor.client.delete(detail(sent)), 400, field="status")
    assert editor.client.delete(detail(campaign)).status_code == 204
    assert list(Campaign.objects.values_list("pk", flat=True)) == [sent.pk]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "N", "sender": "abc"}, "sender"),
        ({"name": "N", "sender": 10**30}, "sender"),
        ({"name": "N", "sender": 0}, "sender"),
        ({"name": "N", "sender": 99999999}, "sender"),
        ({"name": "N", "ab_test_percent": "half"}, "ab_test_percent"),
        ({"name": "N", "ab_test_percent": 75, "subject_b": "B"}, "ab_test_percent"),
        ({"name": "N", "ab_wait_minutes": 10**12}, "ab_wait_minutes"),
        ({"name": "N", "ab_metric": "money"}, "ab_metric"),
        ({"name": "N", "subject": "{% if %}"}, "subject"),
        ({"name": "N", "subject": ["x"]}, "subject"),
        ({"name": "N", "content": {"blocks": [{"type": "video"}]}}, "content.blocks.0.type"),
        ({"name": "N", "content": [1, 2]}, "content"),
        ({"name": "N", "audience": "everyone"}, "audience"),
        ({"name": "N", "audience": {"segments": ["x"]}}, "audience.segments.0"),
        ({"name": "N", "audience": {"tags": [99999999]}}, "audience.tags.0"),
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "N" * 401}, "name"),
        ({"name": {"text": "N"}}, "name"),
        ({"name": "N", "preheader": "{{ contact."}, "preheader"),
        ({"name": "N", "subject_b": "{% for %}"}, "subject_b"),
        ({"name": "N", "sender": True}, "sender"),
        ({"name": "N", "ab_test_percent": -1, "subject_b": "B"}, "ab_test_percent"),
        ({"name": "N", "ab_test_percent": 10**30, "subject_b": "B"}, "ab_test_percent"),
        ({"name": "N", "ab_test_percent": 20}, "subject_b"),
        ({"name": "N", "ab_wait_minutes": 1}, "ab_wait_minutes"),
        ({"name": "N", "ab_wait_minutes": "soon"}, "ab_wait_minutes"),
        ({"name": "N", "ab_metric": ["opens"]}, "ab_metric"),
        ({"name": "N", "audience": {"everyone": True}}, "audience.everyone"),
        ({"name": "N", "audience": {"segments": 5}}, "audience.segments"),
        ({"name": "N", "audience": {"tags": list(range(1, 102))}}, "audience.tags"),
        ({"name": "N", "audience": {"exclude_segments": [True]}}, "audience.exclude_segments.0"),
        ({"name": "N", "audience": {"exclude_tags": [10**30]}}, "audience.exclude_tags.0"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(editor, assert_error, data, field):
    error = assert_error(editor.client.post(URL, data, format="json"), 400)
    assert any(key == field or key.startswith(field + ".") for key in error["details"]), error
    assert not Campaign.objects.exists()


def test_another_workspaces_ids_are_a_400_naming_each(editor, assert_error):
    other = WorkspaceFactory()
    data = {
        "name": "N",
        "sender": SenderFactory(workspace=other).pk,
        "audience": {
            "segments": [SegmentFactory(workspace=other).pk],
            "exclude_tags": [TagFactory(workspace=other).pk],
        },
    }
    error = assert_error(editor.client.post(URL, data, format="json"), 400)
    assert set(error["details"]) == {"sender", "audience.segments.0", "audience.exclude_tags.0"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"subject": "{% if %}"}, "subject"),
        ({"sender": "abc"}, "sender"),
        ({"content": "text"}, "content"),
        ({"audience": {"segments": ["x"]}}, "audience.segments.0"),
        ({"ab_test_percent": 51, "subject_b": "B"}, "ab_test_percent"),
        ({"ab_metric": "money"}, "ab_metric"),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field_and_keeps_the_campaign(editor, campaign, assert_error, data, field):
    before = Campaign.objects.values().get(pk=campaign.pk)
    error = assert_error(editor.client.patch(detail(campaign), data, format="json"), 400)
    assert any(key == field or key.startswith(field + ".") for key in error["details"]), error
    assert Campaign.objects.values().get(pk=campaign.pk) == before


def test_editing_a_sent_campaign_is_a_400_and_changes_nothing(editor, assert_error):
    sent = CampaignFactory(workspace=editor.workspace, status=CampaignStatus.SENT, subject="Was")
    assert_error(editor.client.patch(detail(sent), {"subject": "Now"}, format="json"), 400, field="status")
    assert Campaign.objects.get(pk=sent.pk).subject == "Was"


@pytest.mark.parametrize("pk", ["99999999999999999999999", "0", "abc"])
def test_an_unknown_campaign_is_a_404(editor, assert_error, pk):
    assert_error(editor.client.get(f"{URL}{pk}/"), 404)
    assert_error(editor.client.post(f"{URL}{pk}/send/"), 404)


# --- Lifecycle --------------------------------------------------------------------------------------------


def test_send_starts_the_campaign(editor, campaign, no_workers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.client.post(detail(campaign, "send"))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "sending" and response.json()["started_at"]
    no_workers.assert_called_once_with(campaign.pk)


def test_send_lists_every_missing_prerequisite(editor, assert_error):
    SendingSettings.objects.filter(workspace=editor.workspace).update(postal_address="")
    campaign = CampaignFactory(
        workspace=editor.workspace,
        subject="",
        content={},
        sender=SenderFactory(workspace=editor.workspace, status="pending", verified_at=None),
    )
    error = assert_error(editor.client.post(detail(campaign, "send")), 400)
    assert set(error["details"]) == {"postal_address", "sender", "subject", "content", "audience"}
    for field in error["details"]:
        assert field in error["message"]
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_schedule_reads_and_shows_the_workspaces_zone(editor, campaign):
    at = (timezone.now() + datetime.timedelta(days=3)).astimezone(datetime.UTC)
    naive = at.replace(tzinfo=None, microsecond=0).isoformat()
    response = editor.client.post(detail(campaign, "schedule"), {"scheduled_at": naive}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["scheduled_at"].startswith(naive) and body["scheduled_at"][-6:] in ("-05:00", "-04:00")
    offset = "+02:00"
    local = at.astimezone(datetime.timezone(datetime.timedelta(hours=2))).replace(microsecond=0).isoformat()
    assert local.endswith(offset)
    response = editor.client.post(detail(campaign, "schedule"), {"scheduled_at": local}, format="json")
    stored = Campaign.objects.get(pk=campaign.pk).scheduled_at
    assert stored == at.replace(microsecond=0)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2020-01-01T09:00:00+00:00",
        "",
        None,
        12,
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-05:00",
        "2026-02-30T09:00:00",
    ],
)
def test_a_bad_or_past_schedule_is_a_400(editor, campaign, assert_error, value):
    response = editor.client.post(detail(campaign, "schedule"), {"scheduled_at": value}, format="json")
    assert_error(response, 400, field="scheduled_at")
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_pause_resume_cancel_through_the_api(editor, campaign, assert_error):
    editor.client.post(detail(campaign, "send"))
    campaign_start(campaign_id=campaign.pk)
    assert editor.client.post(detail(campaign, "pause")).json()["status"] == "paused"
    assert_error(editor.client.post(detail(campaign, "pause")), 400, field="status")
    assert editor.client.post(detail(campaign, "resume")).json()["status"] == "sending"
    assert editor.client.post(detail(campaign, "cancel")).json()["status"] == "cancelled"
    assert set(EmailSend.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"cancelled"}


def test_test_send_answers_with_the_ledger_row(editor, campaign, assert_error):
    response = editor.client.post(detail(campaign, "test"), {"email": "boss@example.com"}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["to_email"] == "boss@example.com" and body["subject"].startswith("[Test] ")
    assert EmailSend.objects.get(pk=body["id"]).kind == SendKind.TRANSACTIONAL
    assert_error(editor.client.post(detail(campaign, "test"), {"email": "nope"}, format="json"), 400, field="email")
    assert_error(editor.client.post(detail(campaign, "test"), {}, format="json"), 400, field="email")


@pytest.mark.parametrize("email", [["boss@example.com"], 12, "", "a@b@example.com", "x" * 250 + "@example.com"])
def test_a_bad_test_address_is_a_400_naming_email_and_sends_nothing(editor, campaign, assert_error, email):
    response = editor.client.post(detail(campaign, "test"), {"email": email}, format="json")
    assert_error(response, 400, field="email")
    assert not EmailSend.objects.exists()


def test_a_viewer_reads_but_cannot_send_or_schedule(member, editor, campaign, assert_error):
    viewer = member(Role.VIEWER)
    assert viewer.client.get(detail(campaign)).status_code == 200
    assert viewer.client.get(detail(campaign, "preview")).status_code == 200
    assert viewer.client.post(f"{URL}recipient-count/", {}, format="json").status_code == 200
    for action in ("send", "schedule", "pause", "resume", "cancel", "test"):
        assert_error(viewer.client.post(detail(campaign, action), {}, format="json"), 403)
    assert_error(viewer.client.patch(detail(campaign), {"name": "x"}, format="json"), 403)
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


# --- Reading ------------------------------------------------------------------------------------------------


def test_preview_renders_for_a_contact_or_a_sample(editor, campaign, contacts, assert_error):
    response = editor.client.get(detail(campaign, "preview"), {"contact": contacts[0].pk})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"subject", "html", "text"}
    assert "Hello Ann0" in body["html"] and "Hello Ann0" in body["text"]
    assert "1 Harbour Street" in body["text"]
    assert "Hello Ann3" in editor.client.get(detail(campaign, "preview")).json()["html"]  # the newest
    other = ContactFactory(workspace=WorkspaceFactory())
    for value in (other.pk, "abc", "99999999999999999999999", 0):
        assert_error(editor.client.get(detail(campaign, "preview"), {"contact": value}), 400, field="contact")


def test_progress_and_stats(editor, campaign, contacts):
    editor.client.post(detail(campaign, "send"))
    campaign_start(campaign_id=campaign.pk)
    rows = list(EmailSend.objects.filter(campaign=campaign).order_by("pk"))
    started = Campaign.objects.get(pk=campaign.pk).started_at
    EmailSend.objects.filter(pk__in=[row.pk for row in rows[:3]]).update(status=SendStatus.SENT, sent_at=started)
    EmailSend.objects.filter(pk=rows[0].pk).update(
        first_opened_at=started, open_count=2, first_clicked_at=started, click_count=1
    )
    EmailSend.objects.filter(pk=rows[1].pk).update(first_opened_at=started, open_count=1)
    for row, kind, url, minutes in (
        (rows[0], EngagementKind.OPEN, "", 5),
        (rows[0], EngagementKind.CLICK, "https://example.com/a", 6),
        (rows[1], EngagementKind.OPEN, "", 70),
    ):
        EmailEngagement.objects.create(
            workspace=editor.workspace,
            send=row,
            campaign=campaign,
            kind=kind,
            url=url,
            at=started + datetime.timedelta(minutes=minutes),
        )

    progress = editor.client.get(detail(campaign, "progress")).json()
    assert (progress["recipients"], progress["sent"], progress["pending"], progress["percent"]) == (4, 3, 1, 75.0)

    stats = editor.client.get(detail(campaign, "stats")).json()
    assert (stats["sent"], stats["unique_opens"], stats["unique_clicks"]) == (3, 2, 1)
    assert stats["open_rate"] == round(2 / 3, 4) and stats["click_to_open_rate"] == 0.5
    assert stats["links"] == [{"url": "https://example.com/a", "clicks": 1, "unique_clicks": 1}]
    opened = [bucket for bucket in stats["timeline"] if bucket["opens"] or bucket["clicks"]]
    assert [(bucket["opens"], bucket["clicks"], bucket["period"]) for bucket in opened] in (
        [(1, 1, "hour"), (1, 0, "hour")],
        [(1, 0, "hour"), (0, 1, "hour"), (1, 0, "hour")],
    )
    assert stats["ab"] is None and stats["unsubscribes"] == 0


def test_recipient_count_of_an_unsaved_audience(editor, contacts, assert_error):
    vip = TagFactory(workspace=editor.workspace)
    contacts[0].tags.add(vip, through_defaults={"workspace": editor.workspace})
    url = f"{URL}recipient-count/"
    assert editor.client.post(url, {}, format="json").json() == {"count": 4}
    assert editor.client.post(url, {"audience": {"tags": [vip.pk]}}, format="json").json() == {"count": 1}
    assert editor.client.post(url, {"audience": {"exclude_tags": [vip.pk]}}, format="json").json() == {"count": 3}
    assert_error(editor.client.post(url, {"audience": {"tags": ["vip"]}}, format="json"), 400, field="audience.tags.0")
    other = TagFactory(workspace=WorkspaceFactory())
    assert_error(
        editor.client.post(url, {"audience": {"tags": [other.pk]}}, format="json"), 400, field="audience.tags.0"
    )
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("audience", "field"),
    [
        ("everyone", "audience"),
        ([1, 2], "audience"),
        ({"lists": [1]}, "audience.lists"),
        ({"segments": "all"}, "audience.segments"),
        ({"exclude_segments": [0]}, "audience.exclude_segments.0"),
    ],
)
def test_a_bad_audience_to_count_is_a_400_naming_it(editor, assert_error, audience, field):
    error = assert_error(editor.client.post(f"{URL}recipient-count/", {"audience": audience}, format="json"), 400)
    assert field in error["details"], error
