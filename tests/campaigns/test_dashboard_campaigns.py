"""Campaigns in the dashboard: the list, the editor (blocks saved through the services, errors by
path, the unsaved preview, the live recipient count, test/schedule/send), sending controls and the
report."""

import datetime
import json
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from campaigns.models import Campaign, CampaignStatus, EmailSend, SendingSettings, SendKind, SendStatus
from crm.services.tags import contact_tags_add
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    EmailSendFactory,
    SegmentFactory,
    SenderFactory,
    TagFactory,
    WorkspaceFactory,
)

LIST = reverse("dashboard:campaigns")
BLOCKS = {"blocks": [{"type": "heading", "text": "Spring news"}, {"type": "text", "text": "<p>Hello there</p>"}]}


@pytest.fixture
def editor(member):
    return member(Role.EDITOR)


@pytest.fixture
def ready(editor):
    """A workspace that can send: postal address, a verified sender, two sendable contacts."""
    SendingSettings.objects.create(workspace=editor.workspace, postal_address="1 Harbour St, Lisbon")
    ContactFactory(workspace=editor.workspace, first_name="Ana")
    ContactFactory(workspace=editor.workspace, first_name="Rui")
    return editor


@pytest.fixture
def draft(editor):
    return CampaignFactory(workspace=editor.workspace, name="Spring news", subject="Hello", content=BLOCKS)


def url(name: str, campaign: Campaign) -> str:
    return reverse(f"dashboard:campaigns-{name}", args=[campaign.pk])


def editor_config(response) -> dict:
    html = response.content.decode()
    marker = '<script id="campaign-editor-config" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def form_data(campaign: Campaign, **changes) -> dict:
    data = {
        "name": campaign.name,
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "sender": campaign.sender_id or "",
        "subject_b": "",
        "ab_test_percent": "0",
        "ab_metric": "opens",
        "ab_wait_minutes": "240",
        "content": json.dumps(campaign.content),
    }
    data.update(changes)
    return data


# --- The list ----------------------------------------------------------------------------------------


def test_empty_list_invites_creating_the_first_campaign(editor, viewer):
    html = editor.web.get(LIST).content.decode()
    assert 'data-testid="campaigns-empty"' in html and "Create your first campaign" in html
    assert "Create your first campaign" not in viewer.web.get(LIST).content.decode()


def test_list_shows_each_campaigns_figures_and_filters_by_status_and_search(editor, draft):
    sent = CampaignFactory(workspace=editor.workspace, name="Autumn sale", status=CampaignStatus.SENT, recipients=4)
    for index, opened in enumerate((True, True, False, False)):
        EmailSendFactory(
            workspace=editor.workspace,
            kind=SendKind.CAMPAIGN,
            campaign=sent,
            status=SendStatus.DELIVERED,
            first_opened_at=timezone.now() if opened else None,
            first_clicked_at=timezone.now() if index == 0 else None,
        )
    CampaignFactory(workspace=WorkspaceFactory(), name="Someone else's")
    response = editor.web.get(LIST)
    assert response.status_code == 200
    rows = {campaign.name: campaign for campaign in response.context["campaigns"]}
    assert set(rows) == {"Spring news", "Autumn sale"}
    assert (rows["Autumn sale"].open_rate, rows["Autumn sale"].click_rate) == (50.0, 25.0)
    assert rows["Spring news"].open_rate is None
    html = response.content.decode()
    assert "50.0%" in html and "25.0%" in html

    only_sent = editor.web.get(LIST, {"status": "sent"})
    assert [c.name for c in only_sent.context["campaigns"]] == ["Autumn sale"]
    searched = editor.web.get(LIST, {"q": "spring"})
    assert [c.name for c in searched.context["campaigns"]] == ["Spring news"]
    nothing = editor.web.get(LIST, {"q": "spring", "status": "sent"})
    assert 'data-testid="campaigns-no-match"' in nothing.content.decode()
    # An unknown status is ignored, not an error.
    assert len(editor.web.get(LIST, {"status": "nonsense"}).context["campaigns"]) == 2


def test_list_pages_through_many_campaigns(editor):
    CampaignFactory.create_batch(27, workspace=editor.workspace)
    first = editor.web.get(LIST, {"status": "draft"}).context["campaigns"]
    assert len(first) == 25 and first.next_url == "?status=draft&page=2"
    assert len(editor.web.get(LIST, {"status": "draft", "page": 2}).context["campaigns"]) == 2


@pytest.mark.parametrize("count", [1, 12])
def test_the_list_runs_the_same_queries_however_many_campaigns(editor, django_assert_max_num_queries, count):
    for campaign in CampaignFactory.create_batch(count, workspace=editor.workspace, sender=None):
        EmailSendFactory(workspace=editor.workspace, kind=SendKind.CAMPAIGN, campaign=campaign)
    editor.web.get(LIST)  # the session and workspace lookups are warm
    with django_assert_max_num_queries(8):
        response = editor.web.get(LIST)
    assert response.status_code == 200 and len(response.context["campaigns"]) == count


def test_a_new_campaigns_overlong_name_is_refused_with_a_message(editor):
    response = editor.web.post(reverse("dashboard:campaigns-new"), {"name": "x" * 5000}, follow=True)
    assert response.status_code == 200
    assert not Campaign.objects.filter(workspace=editor.workspace).exists()
    assert [str(message) for message in response.context["messages"]]


def test_new_campaign_is_a_draft_opened_in_the_editor(editor):
    sender = SenderFactory(workspace=editor.workspace)
    response = editor.web.post(reverse("dashboard:campaigns-new"))
    campaign = Campaign.objects.get(workspace=editor.workspace)
    assert response.status_code == 302 and response["Location"] == url("edit", campaign)
    assert campaign.status == CampaignStatus.DRAFT and campaign.sender == sender
    assert campaign.content["blocks"]


def test_viewers_read_but_cannot_change(viewer, editor, draft):
    for name in ("edit", "report", "preview"):
        assert viewer.web.get(url(name, draft)).status_code == 200
    assert viewer.web.get(url("edit", draft)).context["editor_config"]["canWrite"] is False
    assert 'data-testid="save-campaign"' not in viewer.web.get(url("edit", draft)).content.decode()
    assert viewer.web.post(reverse("dashboard:campaigns-new")).status_code == 403
    assert viewer.web.post(url("edit", draft), form_data(draft, name="Changed")).status_code == 403
    for name in ("delete", "pause", "cancel"):
        assert viewer.web.post(url(name, draft)).status_code == 403
    draft.refresh_from_db()
    assert draft.name == "Spring news" and draft.status == CampaignStatus.DRAFT


def test_another_workspaces_campaign_is_not_found(editor):
    other = CampaignFactory(workspace=WorkspaceFactory())
    for name in ("detail", "edit", "report", "preview", "progress"):
        assert editor.web.get(url(name, other)).status_code == 404, name
    for name in ("edit", "delete", "pause", "resume", "cancel", "preview"):
        assert editor.web.post(url(name, other)).status_code == 404, name


# --- The editor -------------------------------------------------------------------------------------


def test_editor_carries_the_block_types_content_and_personalization(editor, draft):
    response = editor.web.get(url("edit", draft))
    assert response.status_code == 200
    config = editor_config(response)
    assert {"heading", "text", "image", "button", "divider", "columns", "footer"} <= set(config["blockTypes"])
    assert config["content"] == draft.content and config["canWrite"] is True
    assert {"key": "contact.first_name", "label": "First name", "example": "Ada"} in config["catalog"]
    assert config["previewUrl"] == url("preview", draft)
    html = response.content.decode()
    assert 'data-testid="postal-address-missing"' in html  # no postal address yet
    assert 'data-testid="verify-sender-hint"' not in html  # the factory's sender is verified


def test_editor_hints_at_verifying_a_sender_when_none_is(editor):
    campaign = CampaignFactory(
        workspace=editor.workspace, sender=SenderFactory(workspace=editor.workspace, status="pending")
    )
    html = editor.web.get(url("edit", campaign)).content.decode()
    assert 'data-testid="verify-sender-hint"' in html and reverse("dashboard:campaigns-senders") in html


def test_saving_stores_fields_content_and_audience(editor, draft):
    segment = SegmentFactory(workspace=editor.workspace)
    tag = TagFactory(workspace=editor.workspace)
    content = {"blocks": [*BLOCKS["blocks"], {"type": "button", "label": "Read", "url": "https://example.com/a"}]}
    data = form_data(draft, name="Spring news v2", preheader="Fresh", content=json.dumps(content))
    data.update({"segments": [segment.pk], "exclude_tags": [tag.pk], "subject_b": "Hi B", "ab_test_percent": "20"})
    response = editor.web.post(url("edit", draft), data)
    assert response.status_code == 302 and response["Location"] == url("edit", draft)
    draft.refresh_from_db()
    assert (draft.name, draft.preheader, draft.subject_b, draft.ab_test_percent) == (
        "Spring news v2",
        "Fresh",
        "Hi B",
        20,
    )
    assert [block["type"] for block in draft.content["blocks"]] == ["heading", "text", "button"]
    assert draft.audience["segments"] == [segment.pk] and draft.audience["exclude_tags"] == [tag.pk]


def test_a_broken_block_is_reported_by_its_path_and_nothing_is_saved(editor, draft):
    content = {"blocks": [BLOCKS["blocks"][0], {"type": "text", "text": "<p>Hi {{ contact.first_name </p>"}]}
    response = editor.web.post(url("edit", draft), form_data(draft, name="Renamed", content=json.dumps(content)))
    assert response.status_code == 400
    config = editor_config(response)
    assert set(config["errors"]) == {"content.blocks.1.text"}
    assert config["content"] == content  # what was typed comes back, to be fixed
    draft.refresh_from_db()
    assert draft.name == "Spring news" and draft.content == BLOCKS


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"subject": "Hi {{ contact.first_name "}, "subject"),
        ({"ab_test_percent": "90"}, "ab_test_percent"),
        ({"ab_test_percent": "20"}, "subject_b"),
        ({"ab_wait_minutes": "99999999999"}, "ab_wait_minutes"),
        ({"sender": "999999"}, "sender"),
        ({"segments": ["424242"]}, "segments"),
        ({"content": "{not json"}, "content"),
        ({"sender": "abc"}, "sender"),
        ({"segments": ["abc"]}, "segments"),
        ({"exclude_tags": ["99999999999999999999999"]}, "exclude_tags"),
        ({"ab_metric": "bogus"}, "ab_metric"),
        ({"ab_test_percent": "-5"}, "ab_test_percent"),
        ({"content": '"just a string"'}, "content"),
        ({"content": "[]"}, "content"),
    ],
)
def test_bad_input_is_an_error_on_its_field_not_a_server_error(editor, draft, changes, field):
    response = editor.web.post(url("edit", draft), form_data(draft, **changes))
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    draft.refresh_from_db()
    assert draft.name == "Spring news" and draft.ab_test_percent == 0


def test_another_workspaces_sender_or_segment_cannot_be_picked(editor, draft):
    before = draft.sender_id
    other = WorkspaceFactory()
    theirs = {"sender": SenderFactory(workspace=other).pk, "segments": [SegmentFactory(workspace=other).pk]}
    response = editor.web.post(url("edit", draft), form_data(draft, **theirs))
    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"sender", "segments"}
    draft.refresh_from_db()
    assert draft.sender_id == before and not draft.audience


def test_sent_campaigns_are_locked(editor):
    campaign = CampaignFactory(workspace=editor.workspace, status=CampaignStatus.SENT)
    response = editor.web.get(url("edit", campaign))
    assert response.status_code == 302 and response["Location"] == url("report", campaign)
    response = editor.web.post(url("edit", campaign), form_data(campaign, name="Changed"))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name != "Changed"
    assert editor.web.get(url("detail", campaign))["Location"] == url("report", campaign)


def test_preview_renders_the_saved_email_for_a_contact_in_a_sandbox(editor, draft):
    draft.content = {"blocks": [{"type": "text", "text": '<p>Hi {{ contact.first_name | default("there") }}</p>'}]}
    draft.save()
    contact = ContactFactory(workspace=editor.workspace, first_name="Marta")
    response = editor.web.get(url("preview", draft), {"contact": contact.pk})
    assert response.status_code == 200
    assert "Hi Marta" in response.content.decode()
    assert "sandbox" in response["Content-Security-Policy"] and "script-src" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    # Someone else's contact is not who the preview shows.
    stranger = ContactFactory(workspace=WorkspaceFactory(), first_name="Stranger")
    assert "Stranger" not in editor.web.get(url("preview", draft), {"contact": stranger.pk}).content.decode()


def test_preview_of_unsaved_edits_renders_them_or_names_the_broken_block(editor, draft):
    content = {"blocks": [{"type": "heading", "text": "Not saved yet"}]}
    response = editor.web.post(
        url("preview", draft), form_data(draft, subject="New subject", content=json.dumps(content))
    )
    assert response.status_code == 200
    data = response.json()
    assert "Not saved yet" in data["html"] and data["subject"] == "New subject" and "Not saved yet" in data["text"]
    assert data["subject_b"] == ""
    contact = ContactFactory(workspace=editor.workspace, first_name="Rui")
    data = form_data(
        draft, subject_b="{{ contact.first_name }}, for you", content=json.dumps(content), contact=contact.pk
    )
    assert editor.web.post(url("preview", draft), data).json()["subject_b"] == "Rui, for you"
    draft.refresh_from_db()
    assert draft.content == BLOCKS and draft.subject == "Hello"

    broken = {"blocks": [{"type": "heading", "text": "ok"}, {"type": "button", "label": "Go", "url": "javascript:x"}]}
    response = editor.web.post(url("preview", draft), form_data(draft, content=json.dumps(broken)))
    assert response.status_code == 400 and set(response.json()["errors"]) == {"content.blocks.1.url"}
    response = editor.web.post(url("preview", draft), form_data(draft, content="[unclosed"))
    assert response.status_code == 400 and "content" in response.json()["errors"]


def test_recipient_count_follows_the_audience_picked(editor):
    vip = TagFactory(workspace=editor.workspace, name="vip")
    contact_tags_add(contact=ContactFactory(workspace=editor.workspace), tags=[vip])
    ContactFactory(workspace=editor.workspace)
    ContactFactory(workspace=editor.workspace, status="unsubscribed")
    count_url = reverse("dashboard:campaigns-recipients")
    assert editor.web.get(count_url).context["recipient_count"] == 2
    assert editor.web.get(count_url, {"tags": [vip.pk]}).context["recipient_count"] == 1
    response = editor.web.get(count_url, {"exclude_tags": [vip.pk]})
    assert response.context["recipient_count"] == 1 and "<strong>1</strong> recipient<" in response.content.decode()
    bad = editor.web.get(count_url, {"segments": ["nonsense"]})
    assert bad.status_code == 200 and bad.context["recipient_count"] is None


# --- Test, schedule, send ---------------------------------------------------------------------------


def test_send_test_saves_then_mails_the_address(ready, draft):
    response = ready.web.post(
        url("edit", draft), {**form_data(draft, name="Tested"), "action": "test", "email": "me@example.com"}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "Tested"
    test = EmailSend.objects.get(ref=f"test:{draft.pk}")
    assert test.to_email == "me@example.com" and test.subject.startswith("[Test]")
    response = ready.web.post(url("edit", draft), {**form_data(draft), "action": "test", "email": "not-an-email"})
    assert response.status_code == 400 and response.context["test_form"].errors["email"]


def test_schedule_takes_a_time_in_the_workspace_zone(ready, draft):
    zone = ZoneInfo("America/New_York")
    ready.workspace.timezone = zone.key
    ready.workspace.save()
    local = (timezone.now() + datetime.timedelta(days=2)).astimezone(zone).replace(second=0, microsecond=0)
    data = {**form_data(draft), "action": "schedule", "scheduled_at": local.strftime("%Y-%m-%dT%H:%M")}
    assert ready.web.post(url("edit", draft), data).status_code == 302
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.SCHEDULED and draft.scheduled_at == local
    html = ready.web.get(url("edit", draft)).content.decode()
    assert "Scheduled for" in html and 'data-testid="cancel-schedule"' in html

    past = {**form_data(draft), "action": "schedule", "scheduled_at": "2001-01-01T09:00"}
    response = ready.web.post(url("edit", draft), past)
    assert response.status_code == 400 and response.context["schedule_form"].errors["scheduled_at"]
    garbage = {**form_data(draft), "action": "schedule", "scheduled_at": "someday"}
    assert ready.web.post(url("edit", draft), garbage).status_code == 400


def test_send_now_refuses_without_a_postal_address_and_keeps_the_edits(editor, draft):
    ContactFactory(workspace=editor.workspace)
    response = editor.web.post(url("edit", draft), {**form_data(draft, name="Kept"), "action": "send"})
    assert response.status_code == 400
    assert "postal address" in response.content.decode()
    draft.refresh_from_db()
    assert draft.name == "Kept" and draft.status == CampaignStatus.DRAFT


def test_send_now_starts_sending_and_opens_the_progress(ready, draft, monkeypatch):
    monkeypatch.setattr("campaigns.services.campaigns._enqueue_start", lambda campaign_id: None)
    response = ready.web.post(url("edit", draft), {**form_data(draft), "action": "send"})
    assert response.status_code == 302 and response["Location"] == url("report", draft)
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.SENDING
    report = ready.web.get(url("report", draft))
    html = report.content.decode()
    assert 'data-testid="send-progress"' in html and 'hx-trigger="every 2s"' in html
    assert url("pause", draft) in html and url("cancel", draft) in html


def test_progress_polls_while_sending_and_reloads_the_page_once_done(editor):
    campaign = CampaignFactory(workspace=editor.workspace, status=CampaignStatus.SENDING, recipients=4)
    for status in (SendStatus.SENT, SendStatus.SENT, SendStatus.FAILED, SendStatus.QUEUED):
        EmailSendFactory(workspace=editor.workspace, kind=SendKind.CAMPAIGN, campaign=campaign, status=status)
    response = editor.web.get(url("progress", campaign), headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Refresh" not in response
    progress = response.context["progress"]
    assert (progress["sent"], progress["counts"]["failed"], progress["pending"]) == (2, 1, 1)
    assert 'hx-trigger="every 2s"' in response.content.decode()
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    response = editor.web.get(url("progress", campaign), headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true" and "every 2s" not in response.content.decode()


def test_pause_resume_and_cancel(editor, monkeypatch):
    monkeypatch.setattr("campaigns.services.campaigns.campaign_dispatch", lambda campaign: None)
    campaign = CampaignFactory(workspace=editor.workspace, status=CampaignStatus.SENDING, recipients=1)
    editor.web.post(url("pause", campaign))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    editor.web.post(url("resume", campaign))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    editor.web.post(url("cancel", campaign))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    # Resuming a cancelled campaign is refused with a message, not an error page.
    response = editor.web.post(url("resume", campaign), follow=True)
    assert response.status_code == 200 and "only a paused campaign" in response.content.decode()


def test_deleting_a_draft(editor, draft):
    response = editor.web.post(url("delete", draft))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Campaign.objects.filter(pk=draft.pk).exists()


# --- The report -------------------------------------------------------------------------------------


def test_report_shows_figures_chart_links_problems_and_ab_result(editor):
    start = timezone.now() - datetime.timedelta(days=3)
    campaign = CampaignFactory(
        workspace=editor.workspace,
        status=CampaignStatus.SENT,
        started_at=start,
        subject_b="Other",
        ab_test_percent=20,
        ab_winner="b",
        recipients=3,
    )
    opened = EmailSendFactory(
        workspace=editor.workspace,
        kind=SendKind.CAMPAIGN,
        campaign=campaign,
        status=SendStatus.DELIVERED,
        variant="b",
        first_opened_at=start + datetime.timedelta(hours=1),
        open_count=1,
    )
    opened.engagements.create(
        workspace=editor.workspace, campaign=campaign, kind="open", at=start + datetime.timedelta(hours=1)
    )
    opened.engagements.create(
        workspace=editor.workspace,
        campaign=campaign,
        kind="click",
        url="https://example.com/x",
        at=start + datetime.timedelta(hours=2),
    )
    EmailSendFactory(
        workspace=editor.workspace,
        kind=SendKind.CAMPAIGN,
        campaign=campaign,
        status=SendStatus.BOUNCED,
        variant="a",
        error="550 no such user",
    )
    response = editor.web.get(url("report", campaign))
    assert response.status_code == 200
    figures = {figure["key"]: figure for figure in response.context["figures"]}
    assert figures["sent"]["value"] == 2 and figures["bounces"]["value"] == 1
    assert figures["opens"]["value"] == 1 and figures["opens"]["rate"] == 100.0
    chart = response.context["chart"]
    assert sum(chart["opens"]) == 1 and sum(chart["clicks"]) == 1 and len(chart["labels"]) >= 48
    html = response.content.decode()
    assert "https://example.com/x" in html and "550 no such user" in html
    assert 'data-testid="ab-winner"' in html and 'id="campaign-chart-data"' in html
    assert "vendor/chartjs/chart.umd.js" in html
    assert 'data-testid="send-progress"' not in html  # it is over


@pytest.mark.parametrize("count", [1, 12])
def test_the_report_runs_the_same_queries_however_many_problems_it_lists(editor, django_assert_max_num_queries, count):
    campaign = CampaignFactory(workspace=editor.workspace, status=CampaignStatus.SENT, started_at=timezone.now())
    EmailSendFactory.create_batch(
        count, workspace=editor.workspace, kind=SendKind.CAMPAIGN, campaign=campaign, status=SendStatus.BOUNCED
    )
    editor.web.get(url("report", campaign))
    with django_assert_max_num_queries(14):
        response = editor.web.get(url("report", campaign))
    assert response.status_code == 200 and len(response.context["problems"]) == count


def test_a_drafts_report_is_empty_not_an_error(editor, draft):
    response = editor.web.get(url("report", draft))
    assert response.status_code == 200 and response.context["chart"]["labels"] == []


def test_a_segment_whose_rules_broke_is_an_error_on_the_segments_picker(ready, draft):
    tag = TagFactory(workspace=ready.workspace)
    segment = SegmentFactory(
        workspace=ready.workspace, rules={"match": "all", "rules": [{"field": "tag", "op": "has", "value": tag.pk}]}
    )
    tag.delete()
    response = ready.web.post(url("edit", draft), {**form_data(draft), "segments": [segment.pk], "action": "send"})
    assert response.status_code == 400
    assert "rule to fix" in " ".join(response.context["form"].errors["segments"])
    assert response.context["recipient_count"] is None
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.DRAFT


def test_a_viewers_preview_shows_the_saved_email_for_a_contact(viewer, editor, draft):
    contact = ContactFactory(workspace=editor.workspace, first_name="Marta")
    draft.subject = 'Hi {{ contact.first_name | default("there") }}'
    draft.save()
    # A viewer's fields are disabled, so the browser posts none of them.
    response = viewer.web.post(url("preview", draft), {"contact": contact.pk})
    assert response.status_code == 200
    assert response.json()["subject"] == "Hi Marta" and "Spring news" in response.json()["html"]
