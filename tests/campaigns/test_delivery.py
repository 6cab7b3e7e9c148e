"""Delivery: claiming ledger rows, handing them to SMTP in two phases, retries, rate limits, headers."""

import asyncio
import datetime
import email
import email.policy
import logging
import socket
from collections import Counter
from contextlib import contextmanager

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.delivery import sending
from campaigns.delivery.backends import DeliveryError, TwoPhaseSMTPBackend
from campaigns.delivery.messages import MessageBuilder
from campaigns.events import CAMPAIGN_FINISHED, EMAIL_SENT
from campaigns.models import CampaignStatus, EmailSend, SendingSettings, SendKind, SendStatus
from campaigns.services.sends import email_send_create
from campaigns.tasks.delivery import email_sends_sweep
from core.models import Event
from crm.models import ActivityKind, ContactActivity, ContactStatus
from tests.factories import CampaignFactory, ContactFactory, EmailSendFactory, SenderFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


# --- A local SMTP server ----------------------------------------------------------------------------


class SinkHandler:
    """What a loopback SMTP server accepted, by recipient; `refuse_rcpt` / `refuse_data` script the
    next replies (None: accept)."""

    def __init__(self):
        self.messages: list[tuple[str, bytes]] = []
        self.refuse_rcpt: list[str | None] = []
        self.refuse_data: list[str | None] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt and (reply := self.refuse_rcpt.pop(0)):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data and (reply := self.refuse_data.pop(0)):
            return reply
        self.messages.extend((rcpt, envelope.content) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted"

    def counts(self) -> Counter:
        return Counter(rcpt for rcpt, _ in self.messages)

    def parsed(self, rcpt: str) -> email.message.Message:
        return email.message_from_bytes(next(content for to, content in self.messages if to == rcpt))


class MtaLikeSMTP(SMTP):
    """aiosmtpd drops whatever a client sent before hanging up, even a message complete with its
    final dot; an MTA such as Postfix reads its input to the end and queues that message. This server
    does as they do, so a sink's count is what a real server would deliver. A DATA cut off before
    its dot is still discarded."""

    def eof_received(self):
        return asyncio.StreamReaderProtocol.eof_received(self)  # only marks the end of the input

    async def handle_exception(self, error):
        if isinstance(error, asyncio.IncompleteReadError):  # the input ran out mid-line or mid-message
            self.transport.close()
            return "421 Closing"
        return await super().handle_exception(error)


class SinkController(Controller):
    def factory(self):
        return MtaLikeSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_sink():
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
    handler = SinkHandler()
    controller = SinkController(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def sink(settings):
    with smtp_sink() as (handler, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
        yield handler


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def sending_campaign(*, contacts: int = 3, **fields):
    """A campaign in status sending with its audience snapshotted as queued rows."""
    workspace = WorkspaceFactory()
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Street, Springfield")
    content = {"blocks": [{"type": "text", "text": "News"}, {"type": "button", "url": "https://example.com/news"}]}
    campaign = CampaignFactory(
        workspace=workspace, status=CampaignStatus.SENDING, started_at=timezone.now(), content=content, **fields
    )
    for n in range(contacts):
        contact = ContactFactory(workspace=workspace, first_name=f"Ann{n}")
        EmailSendFactory(
            workspace=workspace,
            contact=contact,
            kind=SendKind.CAMPAIGN,
            campaign=campaign,
            from_email=str(campaign.sender),
            subject=campaign.subject,
            body={},
        )
    return campaign


def rows(campaign):
    return EmailSend.objects.filter(campaign=campaign).order_by("id")


def run(campaign, **kwargs):
    return sending.campaign_send_run(campaign_id=campaign.pk, **kwargs)


# --- Campaigns over SMTP ----------------------------------------------------------------------------


def test_a_campaign_is_sent_once_to_each_sendable_contact_and_then_finishes(sink):
    campaign = sending_campaign(contacts=4)
    unsubscribed = rows(campaign).first().contact
    unsubscribed.status = ContactStatus.UNSUBSCRIBED
    unsubscribed.save()

    assert run(campaign) is None

    sendable = [send.to_email for send in rows(campaign) if send.contact_id != unsubscribed.pk]
    assert sink.counts() == Counter({address: 1 for address in sendable})
    statuses = Counter(rows(campaign).values_list("status", flat=True))
    assert statuses == {SendStatus.SENT: 3, SendStatus.SKIPPED: 1}
    sent = rows(campaign).filter(status=SendStatus.SENT)
    assert all(send.attempts == 1 and send.sent_at and send.message_id for send in sent)
    assert {send.subject for send in sent} == {f"Hello {send.contact.first_name}" for send in sent}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT and campaign.finished_at
    assert Event.objects.filter(type=CAMPAIGN_FINISHED, workspace=campaign.workspace).count() == 1
    events = Event.objects.filter(type=EMAIL_SENT, workspace=campaign.workspace)
    assert sorted(event.payload["send_id"] for event in events) == sorted(send.pk for send in sent)
    activities = ContactActivity.objects.filter(kind=ActivityKind.EMAIL_SENT, workspace=campaign.workspace)
    assert sorted(activities.values_list("contact_id", flat=True)) == sorted(send.contact_id for send in sent)
    assert not activities.filter(contact=unsubscribed).exists()


def test_campaign_messages_carry_one_click_unsubscribe_a_stable_message_id_and_tracking(sink, settings):
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@mail.example.com"
    campaign = sending_campaign(contacts=1)
    run(campaign)

    send = rows(campaign).get()
    message = sink.parsed(send.to_email)
    assert message["List-Unsubscribe"] == (
        f"<{settings.EMAIL_PUBLIC_URL}/u/{send.token}/>, "
        f"<mailto:unsubscribe+{send.token}@mail.example.com?subject=unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == send.message_id == f"<{send.token}@{campaign.sender.from_email.split('@')[1]}>"
    assert message["From"] == f"{campaign.sender.from_name} <{campaign.sender.from_email}>"
    html = next(part for part in message.walk() if part.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    assert f"/t/o/{send.token}.gif" in body
    assert f"/t/c/{send.token}?" in body


def test_a_commit_lost_to_another_worker_abandons_the_message_and_the_connection_carries_on(sink, settings):
    backend = TwoPhaseSMTPBackend()
    lost = mail.EmailMessage("Lost", "body", "from@example.com", ["lost@example.com"])
    won = mail.EmailMessage("Won", "body", "from@example.com", ["won@example.com"])

    def commit(send_dot) -> bool:
        send_dot()
        return True

    assert backend.send_two_phase(lost, lambda send_dot: False) is False
    assert backend.send_two_phase(won, commit) is True
    backend.close()

    assert sink.counts() == Counter({"won@example.com": 1})


def test_smtp_messages_keep_non_ascii_text_and_lines_that_start_with_a_dot(sink):
    message = mail.EmailMultiAlternatives(
        "Zoë, your café plan ☕", ".hidden?\nNo: dot-stuffed.", "Zoë Café <news@example.com>", ["ann@example.com"]
    )
    message.attach_alternative("<p>Grüße</p>\n.<p>still here</p>", "text/html")

    assert TwoPhaseSMTPBackend().send_two_phase(message, lambda send_dot: send_dot() or True) is True

    received = email.message_from_bytes(sink.messages[0][1], policy=email.policy.default)
    assert received["Subject"] == "Zoë, your café plan ☕"
    assert received["From"].addresses[0].display_name == "Zoë Café"
    assert received.get_body("plain").get_content().splitlines() == [".hidden?", "No: dot-stuffed."]
    assert received.get_body("html").get_content().splitlines() == ["<p>Grüße</p>", ".<p>still here</p>"]


def test_a_header_that_spans_lines_is_refused_and_nothing_is_sent(sink):
    message = mail.EmailMessage(
        "Hi", "body", "news@example.com", ["ann@example.com"], headers={"X-Note": "a\r\nBcc: x@y.z"}
    )

    with pytest.raises(DeliveryError) as refused:
        TwoPhaseSMTPBackend().send_two_phase(message, lambda send_dot: send_dot() or True)

    assert not refused.value.transient
    assert "can't span lines" in refused.value.reason
    assert sink.messages == []


class Killed(BaseException):
    """The worker dying between sending the message text and committing."""


def test_a_worker_killed_before_its_commit_leaves_the_row_queued_and_the_message_undelivered(sink, monkeypatch):
    campaign = sending_campaign(contacts=2)
    first = rows(campaign).first()
    real = TwoPhaseSMTPBackend.send_two_phase

    def dies(send_dot):
        raise Killed

    def dies_on_the_first(self, message, commit):
        return real(self, message, dies if message.to == [first.to_email] else commit)

    monkeypatch.setattr(TwoPhaseSMTPBackend, "send_two_phase", dies_on_the_first)
    with pytest.raises(Killed):
        run(campaign)
    first.refresh_from_db()
    assert first.status == SendStatus.QUEUED and first.claimed_until > timezone.now()
    assert sink.counts() == Counter()

    monkeypatch.setattr(TwoPhaseSMTPBackend, "send_two_phase", real)
    assert run(campaign) is None  # the lease still holds the dead worker's rows
    assert sink.counts() == Counter()
    rows(campaign).update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    run(campaign)

    assert sink.counts() == Counter({send.to_email: 1 for send in rows(campaign)})
    assert set(rows(campaign).values_list("status", flat=True)) == {SendStatus.SENT}


def test_a_transient_refusal_is_retried_with_backoff_and_then_sent(sink):
    campaign = sending_campaign(contacts=1)
    sink.refuse_rcpt = ["451 4.3.0 Try again later"]

    run(campaign)
    send = rows(campaign).get()
    assert send.status == SendStatus.QUEUED and send.attempts == 1
    assert send.error == "Recipient refused: 451 4.3.0 Try again later"
    assert (
        datetime.timedelta(seconds=25)
        < send.next_attempt_at - timezone.now()
        <= datetime.timedelta(seconds=sending.BACKOFF_BASE_SECONDS)
    )
    assert run(campaign) is None  # not due yet: nothing sent, campaign still sending
    assert sink.counts() == Counter()

    rows(campaign).update(next_attempt_at=timezone.now())
    run(campaign)
    send.refresh_from_db()
    assert send.status == SendStatus.SENT and send.attempts == 2 and send.error == ""
    assert sink.counts() == Counter({send.to_email: 1})


def test_transient_failures_give_up_after_the_maximum_attempts(sink, settings):
    settings.SENDING_MAX_ATTEMPTS = 2
    campaign = sending_campaign(contacts=1)
    sink.refuse_data = ["421 4.7.0 Too busy", "452 4.3.1 Out of space"]

    run(campaign)
    rows(campaign).update(next_attempt_at=timezone.now())
    run(campaign)

    send = rows(campaign).get()
    assert send.status == SendStatus.FAILED and send.attempts == 2 and send.sent_at is None
    assert send.error == "Gave up after 2 attempts. Message refused: 452 4.3.1 Out of space"
    assert sink.counts() == Counter()
    assert rows(campaign).model.objects.filter(pk=send.pk, campaign__status=CampaignStatus.SENT).exists()


def test_a_permanent_refusal_fails_the_row_with_the_reason_and_the_rest_go_out(sink):
    campaign = sending_campaign(contacts=2)
    sink.refuse_rcpt = ["550 5.1.1 No such user"]

    run(campaign)

    refused, delivered = rows(campaign)
    assert refused.status == SendStatus.FAILED and refused.attempts == 1
    assert refused.error == "Recipient refused: 550 5.1.1 No such user"
    assert delivered.status == SendStatus.SENT
    assert sink.counts() == Counter({delivered.to_email: 1})
    assert not Event.objects.filter(type=EMAIL_SENT, payload__send_id=refused.pk).exists()


def test_a_refusal_of_the_whole_message_takes_back_the_sent_status(sink):
    campaign = sending_campaign(contacts=1)
    sink.refuse_data = ["554 5.7.1 Message rejected as spam"]

    run(campaign)

    send = rows(campaign).get()
    assert send.status == SendStatus.FAILED and send.sent_at is None and send.attempts == 1
    assert send.error == "Message refused: 554 5.7.1 Message rejected as spam"


def test_the_workspace_rate_limit_stops_handing_over_until_the_next_minute(sink, monkeypatch):
    monkeypatch.setattr("campaigns.delivery.ratelimit.time.time", lambda: 1_800_000_030.0)  # mid-minute
    campaign = sending_campaign(contacts=5)
    SendingSettings.objects.filter(workspace=campaign.workspace).update(rate_per_minute=3)

    again = run(campaign)

    assert again == 30
    assert len(sink.messages) == 3
    assert Counter(rows(campaign).values_list("status", flat=True)) == {SendStatus.SENT: 3, SendStatus.QUEUED: 2}
    assert run(campaign) == 30  # the window is still full: nothing more
    assert len(sink.messages) == 3

    monkeypatch.setattr("campaigns.delivery.ratelimit.time.time", lambda: 1_800_000_060.0)  # the next minute
    assert run(campaign) is None
    assert len(sink.messages) == 5


def test_a_run_out_of_time_queues_the_next_or_finishes_when_nothing_is_left(sink):
    campaign = sending_campaign(contacts=2)

    assert run(campaign, seconds=0) == 0  # rows left: run again at once
    assert sink.counts() == Counter()

    rows(campaign).update(status=SendStatus.SENT)
    assert run(campaign, seconds=0) is None
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_paused_campaign_stops_sending(sink):
    campaign = sending_campaign(contacts=2)
    campaign.status = CampaignStatus.PAUSED
    campaign.save()

    assert run(campaign) is None
    assert sink.counts() == Counter()


def test_the_ab_holdout_waits_for_the_winner_and_then_gets_its_subject(sink):
    campaign = sending_campaign(contacts=3, subject_b="Second subject {{ contact.first_name }}", ab_test_percent=50)
    test_a, test_b, holdout = rows(campaign)
    EmailSend.objects.filter(pk=test_a.pk).update(variant="a")
    EmailSend.objects.filter(pk=test_b.pk).update(variant="b")

    assert run(campaign) is None
    assert set(sink.counts()) == {test_a.to_email, test_b.to_email}
    assert sink.parsed(test_b.to_email)["Subject"] == f"Second subject {test_b.contact.first_name}"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # the holdout is still to go

    campaign.ab_winner = "b"
    campaign.save()
    run(campaign)
    assert sink.parsed(holdout.to_email)["Subject"] == f"Second subject {holdout.contact.first_name}"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


# --- Other backends ---------------------------------------------------------------------------------


def test_other_backends_record_sending_then_sent(outbox):
    campaign = sending_campaign(contacts=2)

    run(campaign)

    assert sorted(message.to[0] for message in outbox) == sorted(rows(campaign).values_list("to_email", flat=True))
    assert all(
        message.metadata == {"send_id": str(send.pk)} for message, send in zip(outbox, rows(campaign), strict=True)
    )
    assert set(rows(campaign).values_list("status", flat=True)) == {SendStatus.SENT}


def api_error(status: int) -> AnymailAPIError:
    response = requests.Response()
    response.status_code, response.reason, response._content = status, "Reason", b"{}"
    return AnymailAPIError("Refused", status_code=status, response=response)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (api_error(429), SendStatus.QUEUED),
        (api_error(503), SendStatus.QUEUED),
        (AnymailAPIError("No answer"), SendStatus.QUEUED),
        (api_error(400), SendStatus.FAILED),
        (AnymailRecipientsRefused("All refused"), SendStatus.FAILED),
    ],
)
def test_an_email_provider_error_is_retried_or_recorded_by_its_kind(outbox, monkeypatch, error, status):
    def refuse(self, messages):
        raise error

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    campaign = sending_campaign(contacts=1)

    run(campaign)

    send = rows(campaign).get()
    assert (send.status, send.attempts) == (status, 1)
    assert str(error) in send.error


def test_a_row_left_sending_by_a_dead_worker_is_failed_as_unknown_and_never_resent(outbox):
    campaign = sending_campaign(contacts=1)
    rows(campaign).update(status=SendStatus.SENDING, claimed_until=timezone.now() - datetime.timedelta(seconds=1))

    email_sends_sweep()

    send = rows(campaign).get()
    assert send.status == SendStatus.FAILED and send.error == sending.OUTCOME_UNKNOWN
    assert outbox == []
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_the_sweeper_brings_back_a_campaign_whose_workers_died(
    outbox, celery_eager, django_capture_on_commit_callbacks
):
    campaign = sending_campaign(contacts=2)
    rows(campaign).update(claimed_until=timezone.now() + datetime.timedelta(seconds=60))
    assert email_sends_sweep() == 0  # a live lease: a worker is on it

    rows(campaign).update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        email_sends_sweep()

    assert len(outbox) == 2
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


# --- Single messages --------------------------------------------------------------------------------


def transactional(workspace, **overrides):
    values = {
        "workspace": workspace,
        "kind": SendKind.TRANSACTIONAL,
        "idempotency_key": "receipt:1",
        "subject": "Your receipt",
        "html": '<p>Thanks! <a href="https://shop.example.com/orders/1">Your order</a></p>',
        "text": "Thanks!",
        "to_email": "buyer@example.com",
    }
    return email_send_create(**(values | overrides))


def test_a_key_used_twice_is_one_row_and_one_message(outbox, celery_eager, django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first, created = transactional(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        again, created_again = transactional(workspace, subject="Something else")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert len(outbox) == 1
    first.refresh_from_db()
    assert first.status == SendStatus.SENT and first.subject == "Your receipt"


def test_transactional_mail_has_no_unsubscribe_headers_no_tracking_and_comes_from_its_sender(
    outbox, celery_eager, django_capture_on_commit_callbacks
):
    workspace = WorkspaceFactory()
    sender = SenderFactory(workspace=workspace, reply_to="help@northwind.example")
    with django_capture_on_commit_callbacks(execute=True):
        send, _ = transactional(workspace, sender=sender)

    (message,) = outbox
    assert "List-Unsubscribe" not in message.extra_headers
    assert "List-Unsubscribe-Post" not in message.extra_headers
    assert message.from_email == f"Northwind News <{sender.from_email}>"
    assert message.reply_to == ["help@northwind.example"]
    html = message.alternatives[0].content
    assert '<a href="https://shop.example.com/orders/1">' in html
    assert f"/t/c/{send.token}" not in html and f"/t/o/{send.token}" not in html


def test_a_workflow_email_to_an_unsubscribed_contact_is_skipped_and_never_sent(
    outbox, celery_eager, django_capture_on_commit_callbacks
):
    contact = ContactFactory(status=ContactStatus.UNSUBSCRIBED)
    with django_capture_on_commit_callbacks(execute=True):
        send, created = email_send_create(
            workspace=contact.workspace,
            kind=SendKind.WORKFLOW,
            idempotency_key="workflow:1:welcome",
            subject="Welcome",
            html="<p>Hi</p>",
            text="Hi",
            contact=contact,
        )
    assert created and send.status == SendStatus.SKIPPED
    assert outbox == []


def test_a_workflow_email_carries_the_unsubscribe_headers(outbox, celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        send, _ = email_send_create(
            workspace=contact.workspace,
            kind=SendKind.WORKFLOW,
            idempotency_key="workflow:2:welcome",
            subject="Welcome",
            html="<p>Hi</p>",
            text="Hi",
            contact=contact,
        )
    (message,) = outbox
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/u/{send.token}/" in message.extra_headers["List-Unsubscribe"]
    assert ContactActivity.objects.filter(contact=contact, kind=ActivityKind.EMAIL_SENT).count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to_email": "not an address"}, "to_email"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"kind": "newsletter"}, "kind"),
        ({"subject": "Two\nlines"}, "subject"),
        ({"subject": "Carriage\rreturn"}, "subject"),
        ({"subject": "x" * 301}, "subject"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
        ({"idempotency_key": "   "}, "idempotency_key"),
        ({"subject": None}, "subject"),
        ({"text": None}, "text"),
        ({"html": ["<p>Hi</p>"]}, "html"),
        ({"kind": SendKind.WORKFLOW}, "contact"),
    ],
)
def test_a_bad_single_send_is_refused_naming_the_field_and_nothing_is_stored(overrides, field):
    workspace = WorkspaceFactory()
    with pytest.raises(ValidationError) as raised:
        transactional(workspace, **overrides)
    assert field in raised.value.message_dict
    assert not EmailSend.objects.exists()


def test_a_contact_of_another_workspace_is_refused_naming_the_contact():
    workspace = WorkspaceFactory()
    with pytest.raises(ValidationError) as raised:
        transactional(workspace, contact=ContactFactory(), to_email=None)
    assert "contact" in raised.value.message_dict
    assert not EmailSend.objects.exists()


def test_marketing_email_to_an_address_other_than_the_contacts_is_refused():
    contact = ContactFactory(email="reader@example.com")
    with pytest.raises(ValidationError) as raised:
        transactional(contact.workspace, kind=SendKind.WORKFLOW, contact=contact, to_email="someone-else@example.com")
    assert "to_email" in raised.value.message_dict
    assert not EmailSend.objects.exists()

    send, created = transactional(
        contact.workspace, kind=SendKind.WORKFLOW, contact=contact, to_email="Reader@Example.com"
    )
    assert created and send.to_email == "Reader@Example.com"


def test_a_key_another_workspace_used_is_refused_and_its_row_is_left_as_it_was():
    theirs, _ = transactional(WorkspaceFactory())
    with pytest.raises(ValidationError) as raised:
        transactional(WorkspaceFactory(), subject="Not yours", to_email="other@example.com")
    assert "idempotency_key" in raised.value.message_dict
    (row,) = EmailSend.objects.all()
    assert (row.pk, row.workspace_id, row.subject, row.to_email) == (
        theirs.pk,
        theirs.workspace_id,
        "Your receipt",
        "buyer@example.com",
    )


def test_an_unverified_or_foreign_sender_is_refused():
    workspace = WorkspaceFactory()
    for sender in (SenderFactory(workspace=workspace, status="pending"), SenderFactory()):
        with pytest.raises(ValidationError) as raised:
            transactional(workspace, sender=sender)
        assert "sender" in raised.value.message_dict


def test_a_transient_failure_of_a_single_send_is_brought_back_by_the_sweeper(
    sink, celery_eager, django_capture_on_commit_callbacks
):
    sink.refuse_rcpt = ["451 Later"]
    with django_capture_on_commit_callbacks(execute=True):
        send, _ = transactional(WorkspaceFactory())
    send.refresh_from_db()
    assert send.status == SendStatus.QUEUED and send.attempts == 1

    EmailSend.objects.filter(pk=send.pk).update(next_attempt_at=timezone.now())
    email_sends_sweep()

    send.refresh_from_db()
    assert send.status == SendStatus.SENT and send.attempts == 2
    assert sink.counts() == Counter({"buyer@example.com": 1})


def test_message_building_uses_the_workspace_tracking_preferences(outbox):
    campaign = sending_campaign(contacts=1)
    SendingSettings.objects.filter(workspace=campaign.workspace).update(track_opens=False, track_clicks=False)
    send = rows(campaign).select_related("contact").get()

    html = MessageBuilder(workspace_id=campaign.workspace_id, campaign=campaign).build(send).alternatives[0].content

    assert "/t/o/" not in html and "/t/c/" not in html


# --- The commit that decides (PostgreSQL) -----------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_sent_commit_is_on_its_way_before_the_dot_and_a_lost_race_rolls_back():
    send = EmailSendFactory()
    mark = EmailSend.objects.filter(pk=send.pk, status=SendStatus.QUEUED)
    calls = []

    assert sending.commit_then(lambda: mark.update(status=SendStatus.SENT) == 1, lambda: calls.append("dot"))
    assert calls == ["dot"]
    assert EmailSend.objects.get(pk=send.pk).status == SendStatus.SENT

    def loses() -> bool:
        EmailSend.objects.filter(pk=send.pk).update(error="written, then rolled back")
        return False

    assert sending.commit_then(loses, lambda: calls.append("dot")) is False
    assert calls == ["dot"]
    assert EmailSend.objects.get(pk=send.pk).error == ""

    def dot_fails() -> None:
        raise ConnectionResetError

    EmailSend.objects.filter(pk=send.pk).update(status=SendStatus.QUEUED)
    with pytest.raises(ConnectionResetError):
        sending.commit_then(lambda: mark.update(status=SendStatus.SENT) == 1, dot_fails)
    # Committed all the same (the caller takes it back), and the connection is fit for the next query.
    assert EmailSend.objects.get(pk=send.pk).status == SendStatus.SENT
