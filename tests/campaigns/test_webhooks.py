"""ESP webhooks: the payloads Postmark and Mailgun document update the ledger; hard bounces and
complaints suppress the contact and go on its timeline; a request without the basic auth secret or
with a bad signature is refused and changes nothing."""

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from django.test import Client

from campaigns.events import EMAIL_BOUNCED, EMAIL_COMPLAINED
from campaigns.models import EmailSend, SendKind, SendStatus
from campaigns.tracking import new_send_token
from core.models import Event
from crm.events import CONTACT_UNSUBSCRIBED
from crm.models import ActivityKind, ContactActivity, ContactStatus
from tests.factories import CampaignFactory, EmailSendFactory

pytestmark = pytest.mark.django_db

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "siteflow:webhook-secret"
SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
POSTMARK = "/webhooks/email/postmark/tracking/"
MAILGUN = "/webhooks/email/mailgun/tracking/"


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def send():
    campaign = CampaignFactory()
    return EmailSendFactory(
        workspace=campaign.workspace,
        campaign=campaign,
        kind=SendKind.CAMPAIGN,
        token=new_send_token(),
        status=SendStatus.SENT,
        message_id="<20130503182626.18666.16540@sandbox.mailgun.org>",
    )


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def postmark(name: str, send) -> dict:
    body = payload(name)
    body["Metadata"] = {"send_id": str(send.pk)}
    return body


def mailgun_sign(body: dict, key: str = SIGNING_KEY) -> dict:
    signature = body["signature"]
    signature["signature"] = hmac.new(
        key.encode(), f"{signature['timestamp']}{signature['token']}".encode(), hashlib.sha256
    ).hexdigest()
    return body


def mailgun(name: str, send=None) -> dict:
    body = payload(name)
    if send is not None:
        body["event-data"]["user-variables"] = {"send_id": str(send.pk)}
    return mailgun_sign(body)


def post(url: str, body: dict, auth: str | None = SECRET):
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    return Client(enforce_csrf_checks=True).post(url, data=json.dumps(body), content_type="application/json", **headers)


def snapshot(send) -> tuple:
    send = EmailSend.objects.select_related("contact").get(pk=send.pk)
    return send.status, send.error, send.delivered_at, send.contact.status, Event.objects.count()


def assert_bounced(send, esp: str):
    send.refresh_from_db()
    assert send.status == SendStatus.BOUNCED
    assert send.contact.status == ContactStatus.BOUNCED
    activity = ContactActivity.objects.get(contact=send.contact, kind=ActivityKind.EMAIL_BOUNCED)
    assert activity.data["esp"] == esp and activity.data["send_id"] == send.pk
    bounced = Event.objects.get(type=EMAIL_BOUNCED)
    assert bounced.payload == {
        "send_id": send.pk,
        "contact_id": send.contact_id,
        "campaign_id": send.campaign_id,
        "hard": True,
    }
    assert send.contact not in type(send.contact).objects.sendable()


def assert_complained(send):
    send.refresh_from_db()
    assert send.status == SendStatus.COMPLAINED
    assert send.contact.status == ContactStatus.COMPLAINED
    assert Event.objects.get(type=EMAIL_COMPLAINED).payload["send_id"] == send.pk
    assert not Event.objects.filter(type=CONTACT_UNSUBSCRIBED).exists()


# --- Postmark: basic auth ---------------------------------------------------------------------------


def test_postmark_hard_bounce_bounces_the_send_and_suppresses_the_contact(send):
    response = post(POSTMARK, postmark("postmark_bounce.json", send))
    assert response.status_code == 200
    assert_bounced(send, "Postmark")
    assert "unable to deliver" in send.error


def test_postmark_spam_complaint_suppresses_the_contact(send):
    assert post(POSTMARK, postmark("postmark_spam_complaint.json", send)).status_code == 200
    assert_complained(send)


def test_postmark_soft_bounce_is_noted_and_suppresses_nothing(send):
    assert post(POSTMARK, postmark("postmark_soft_bounce.json", send)).status_code == 200
    send.refresh_from_db()
    assert send.status == SendStatus.SENT
    assert "Mailbox full" in send.error
    assert send.contact.status == ContactStatus.ACTIVE
    assert not Event.objects.filter(type=EMAIL_BOUNCED).exists()


def test_postmark_delivery_marks_the_send_delivered(send):
    assert post(POSTMARK, postmark("postmark_delivery.json", send)).status_code == 200
    send.refresh_from_db()
    assert send.status == SendStatus.DELIVERED
    assert send.delivered_at.isoformat().startswith("2019-11-05T16:33:54")


def test_a_late_delivery_report_does_not_undo_a_bounce(send):
    post(POSTMARK, postmark("postmark_bounce.json", send))
    post(POSTMARK, postmark("postmark_delivery.json", send))
    send.refresh_from_db()
    assert send.status == SendStatus.BOUNCED


def test_a_repeated_report_is_applied_once(send):
    body = postmark("postmark_bounce.json", send)
    post(POSTMARK, body)
    assert post(POSTMARK, body).status_code == 200
    assert Event.objects.filter(type=EMAIL_BOUNCED).count() == 1
    assert ContactActivity.objects.filter(kind=ActivityKind.EMAIL_BOUNCED).count() == 1


def test_a_report_about_a_message_that_is_not_ours_is_ignored(send):
    before = snapshot(send)
    body = payload("postmark_bounce.json")  # its documented MessageID and metadata match nothing here
    assert post(POSTMARK, body).status_code == 200
    body["Metadata"] = {"send_id": "987654321"}
    assert post(POSTMARK, body).status_code == 200
    assert snapshot(send) == before


@pytest.mark.parametrize("auth", [None, "siteflow:wrong", "someone:" + SECRET.split(":")[1]])
def test_postmark_without_the_secret_is_refused_and_changes_nothing(send, auth):
    before = snapshot(send)
    response = post(POSTMARK, postmark("postmark_bounce.json", send), auth=auth)
    assert response.status_code in (400, 403)
    assert snapshot(send) == before


def test_webhooks_are_refused_while_no_secret_is_configured(send, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    before = snapshot(send)
    assert post(POSTMARK, postmark("postmark_bounce.json", send), auth=None).status_code == 403
    assert post(MAILGUN, mailgun("mailgun_failed_permanent.json", send), auth=None).status_code == 403
    assert snapshot(send) == before


def test_a_signing_webhook_without_its_key_is_refused_not_an_error(send, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    before = snapshot(send)
    assert post(MAILGUN, mailgun("mailgun_failed_permanent.json", send)).status_code == 403
    assert snapshot(send) == before


# --- Mailgun: basic auth and its HMAC signature -----------------------------------------------------


def test_mailgun_permanent_failure_bounces_the_send_and_suppresses_the_contact(send):
    assert post(MAILGUN, mailgun("mailgun_failed_permanent.json", send)).status_code == 200
    assert_bounced(send, "Mailgun")
    assert "previously bounced" in send.error


def test_mailgun_report_finds_the_send_by_message_id_without_metadata(send):
    assert post(MAILGUN, mailgun("mailgun_failed_permanent.json")).status_code == 200
    assert_bounced(send, "Mailgun")


def test_mailgun_complaint_suppresses_the_contact(send):
    assert post(MAILGUN, mailgun("mailgun_complained.json", send)).status_code == 200
    assert_complained(send)


def test_mailgun_temporary_failure_suppresses_nothing(send):
    assert post(MAILGUN, mailgun("mailgun_failed_temporary.json", send)).status_code == 200
    send.refresh_from_db()
    assert (send.status, send.contact.status) == (SendStatus.SENT, ContactStatus.ACTIVE)
    assert "over quota" in send.error


def test_mailgun_with_a_bad_signature_is_refused_and_changes_nothing(send):
    before = snapshot(send)
    forged = mailgun_sign(copy.deepcopy(mailgun("mailgun_failed_permanent.json", send)), key="not-the-key")
    assert post(MAILGUN, forged).status_code == 400
    unsigned = mailgun("mailgun_failed_permanent.json", send)
    del unsigned["signature"]
    assert post(MAILGUN, unsigned).status_code == 400
    # A correct signature still needs the basic auth secret.
    assert post(MAILGUN, mailgun("mailgun_failed_permanent.json", send), auth=None).status_code == 400
    assert snapshot(send) == before


# --- Malformed bodies ---------------------------------------------------------------------------------

MALFORMED = ["{]", "null", "[]", '"text"', "a=b", '{"RecordType": "Bounce", "Metadata": "x", "MessageID": []}']


@pytest.mark.parametrize("url", [POSTMARK, MAILGUN, "/webhooks/email/postmark/inbound/"])
@pytest.mark.parametrize("body", MALFORMED)
def test_an_authenticated_webhook_with_a_malformed_body_is_refused_and_changes_nothing(send, url, body):
    before = snapshot(send)
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}
    response = Client(raise_request_exception=False).post(url, data=body, content_type="application/json", **headers)

    assert 400 <= response.status_code < 500  # 400; a tracking record at the inbound URL is a 403
    assert snapshot(send) == before


def test_an_error_applying_a_report_stays_a_500_so_the_esp_retries(send, monkeypatch):
    def broken(**kwargs):
        raise ValueError("database went away")

    monkeypatch.setattr("campaigns.handlers.tracking_event_apply", broken)
    client = Client(raise_request_exception=False)
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}
    body = json.dumps(postmark("postmark_bounce.json", send))
    response = client.post(POSTMARK, data=body, content_type="application/json", **headers)

    assert response.status_code == 500
