"""Unsubscribing from an email: the one-click POST (RFC 8058) needs no cookie or login, the page asks
first and offers to resubscribe, a mailto: unsubscribe works too, and a token touches only the
contact its message went to."""

import base64
import json
import re
from html import unescape
from pathlib import Path

import pytest
from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, EventType, inbound
from django.test import Client

from campaigns.delivery.messages import MessageBuilder
from campaigns.models import SendKind
from campaigns.tracking import mailto_token, new_send_token, unsubscribe_mailto, unsubscribe_url
from core.models import Event
from crm.events import CONTACT_UNSUBSCRIBED
from crm.models import ActivityKind, ConsentRecord, Contact, ContactStatus
from tests.factories import CampaignFactory, ContactFactory, EmailSendFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM_ENCODED = "application/x-www-form-urlencoded"


def marketing_send(workspace=None, email: str = "ada@example.com"):
    campaign = CampaignFactory(workspace=workspace or WorkspaceFactory(name="Northwind"))
    return EmailSendFactory(
        workspace=campaign.workspace,
        campaign=campaign,
        contact=ContactFactory(workspace=campaign.workspace, email=email),
        kind=SendKind.CAMPAIGN,
        token=new_send_token(),
        subject="Spring sale",
    )


def one_click(token: str):
    """What a mail provider sends: a bare form POST, no cookie, no CSRF token, no session."""
    client = Client(enforce_csrf_checks=True)
    return client.post(f"/u/{token}/", data=ONE_CLICK, content_type=FORM_ENCODED)


def status_of(contact) -> str:
    return Contact.objects.get(pk=contact.pk).status


def unsubscribed_events() -> list[dict]:
    return list(Event.objects.filter(type=CONTACT_UNSUBSCRIBED).values_list("payload", flat=True))


def test_the_one_click_post_unsubscribes_without_cookie_or_login():
    send = marketing_send()
    response = one_click(send.token)

    assert response.status_code == 200
    assert not response.cookies
    assert status_of(send.contact) == ContactStatus.UNSUBSCRIBED
    withdrawal = ConsentRecord.objects.get(contact=send.contact)
    assert not withdrawal.granted and withdrawal.source == "email"
    assert "One-click" in withdrawal.text and "Spring sale" in withdrawal.text
    assert send.contact.activities.filter(kind=ActivityKind.UNSUBSCRIBED).count() == 1
    assert unsubscribed_events() == [{"contact_id": send.contact_id, "source": "email", "send_id": send.pk}]


def test_unsubscribing_twice_records_it_once():
    send = marketing_send()
    one_click(send.token)
    assert one_click(send.token).status_code == 200
    Client().post(f"/u/{send.token}/")
    assert ConsentRecord.objects.filter(contact=send.contact).count() == 1
    assert len(unsubscribed_events()) == 1


def test_the_page_asks_first_and_opening_it_changes_nothing():
    send = marketing_send()
    response = Client().get(f"/u/{send.token}/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    page = response.content.decode()
    assert "Unsubscribe a•••@example.com from Northwind" in page
    assert "ada@example.com" not in page
    assert f'<form method="post" action="/u/{send.token}/">' in page
    assert status_of(send.contact) == ContactStatus.ACTIVE
    assert not ConsentRecord.objects.exists()


def test_the_pages_button_unsubscribes_and_then_offers_to_resubscribe():
    send = marketing_send()
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/u/{send.token}/")
    assert response.status_code == 200
    assert "You&#x27;re unsubscribed" in response.content.decode()
    assert status_of(send.contact) == ContactStatus.UNSUBSCRIBED
    assert "Unsubscribe page" in ConsentRecord.objects.get().text

    page = client.get(f"/u/{send.token}/").content.decode()
    assert f'action="/u/{send.token}/resubscribe/"' in page
    assert "Resubscribe" in page

    response = client.post(f"/u/{send.token}/resubscribe/")
    assert response.status_code == 200
    assert status_of(send.contact) == ContactStatus.ACTIVE
    assert send.contact in Contact.objects.sendable()
    latest = ConsentRecord.objects.filter(contact=send.contact).order_by("-id").first()
    assert latest.granted and latest.source == "email"


def test_resubscribing_leaves_a_bounced_address_suppressed():
    send = marketing_send()
    Contact.objects.filter(pk=send.contact_id).update(status=ContactStatus.BOUNCED)
    assert Client().post(f"/u/{send.token}/resubscribe/").status_code == 200
    assert status_of(send.contact) == ContactStatus.BOUNCED
    assert not ConsentRecord.objects.exists()


def test_an_unknown_token_is_a_404():
    marketing_send()
    token = new_send_token()
    assert one_click(token).status_code == 404
    assert Client().get(f"/u/{token}/").status_code == 404
    assert Client().post(f"/u/{token}/resubscribe/").status_code == 404
    assert not ConsentRecord.objects.exists()
    assert Contact.objects.get().status == ContactStatus.ACTIVE


@pytest.mark.parametrize(
    "path",
    ["/u/%00/", "/u/%C3%A9/", f"/u/{'a' * 65}/", "/c/x/", "/c/%FF%FE/", f"/c/{'a:' * 2000}/"],
)
def test_garbage_links_are_a_404_page(path):
    marketing_send()
    client = Client(raise_request_exception=False)
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    assert Contact.objects.get().status == ContactStatus.ACTIVE


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/u/{}/"),
        ("delete", "/u/{}/"),
        ("get", "/u/{}/resubscribe/"),
        ("post", "/t/o/{}.gif"),
        ("post", "/t/c/{}"),
        ("delete", "/c/x/"),
        ("delete", "/senders/verify/x/"),
    ],
)
def test_public_endpoints_refuse_other_methods_with_a_405(method, path):
    send = marketing_send()
    response = getattr(Client(raise_request_exception=False), method)(path.format(send.token))
    assert response.status_code == 405
    assert status_of(send.contact) == ContactStatus.ACTIVE


def test_an_oversized_unsubscribe_post_is_a_400_and_unsubscribes_nothing(settings):
    send = marketing_send()
    body = "x=" + "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = Client(raise_request_exception=False).post(f"/u/{send.token}/", data=body, content_type=FORM_ENCODED)
    assert response.status_code == 400
    assert status_of(send.contact) == ContactStatus.ACTIVE
    assert not unsubscribed_events()


def test_a_post_with_an_undecodable_body_still_unsubscribes():
    send = marketing_send()
    response = Client().post(f"/u/{send.token}/", data=b"\xff\xfe=\xff", content_type=FORM_ENCODED)
    assert response.status_code == 200
    assert status_of(send.contact) == ContactStatus.UNSUBSCRIBED


def test_a_token_from_workspace_a_does_nothing_in_workspace_b():
    in_a = marketing_send(workspace=WorkspaceFactory(name="Alpha"))
    workspace_b = WorkspaceFactory(name="Beta")
    in_b = marketing_send(workspace=workspace_b)
    same_person_in_b = in_b.contact

    one_click(in_a.token)
    assert status_of(in_a.contact) == ContactStatus.UNSUBSCRIBED
    assert status_of(same_person_in_b) == ContactStatus.ACTIVE
    assert not ConsentRecord.objects.filter(workspace=workspace_b).exists()
    assert [payload["contact_id"] for payload in unsubscribed_events()] == [in_a.contact_id]
    assert "Beta" in Client().get(f"/u/{in_b.token}/").content.decode()


def test_the_unsubscribe_link_and_mailto_carry_the_token(settings):
    settings.EMAIL_PUBLIC_URL = "https://mail.siteflow.test"
    token = new_send_token()
    assert unsubscribe_url(token) == f"https://mail.siteflow.test/u/{token}/"
    settings.UNSUBSCRIBE_MAILTO = ""
    assert unsubscribe_mailto(token) == ""
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@mail.siteflow.test"
    assert unsubscribe_mailto(token) == f"mailto:unsubscribe+{token}@mail.siteflow.test?subject=unsubscribe"
    assert mailto_token(f"Unsubscribe+{token.upper()}@MAIL.siteflow.test") == token
    assert mailto_token(f"other+{token}@mail.siteflow.test") is None
    assert mailto_token(f"unsubscribe+{token}@elsewhere.test") is None


def inbound_mail(to: str, envelope_recipient: str | None = None):
    message = AnymailInboundMessage.construct(
        from_email="ada@example.com", to=to, subject="unsubscribe", text="Please stop."
    )
    message.envelope_recipient = envelope_recipient
    inbound.send(
        sender=object, event=AnymailInboundEvent(event_type=EventType.INBOUND, message=message), esp_name="Test"
    )


def test_mail_to_the_unsubscribe_address_unsubscribes(settings):
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@mail.siteflow.test"
    send = marketing_send()
    other = marketing_send(email="grace@example.com")

    inbound_mail(f"unsubscribe+{send.token}@mail.siteflow.test")
    assert status_of(send.contact) == ContactStatus.UNSUBSCRIBED
    assert status_of(other.contact) == ContactStatus.ACTIVE
    assert "mailto" in ConsentRecord.objects.get(contact=send.contact).text

    inbound_mail("hello@mail.siteflow.test", envelope_recipient=f"unsubscribe+{other.token}@mail.siteflow.test")
    assert status_of(other.contact) == ContactStatus.UNSUBSCRIBED


def test_mail_to_other_addresses_is_ignored(settings):
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@mail.siteflow.test"
    send = marketing_send()
    inbound_mail(f"support+{send.token}@mail.siteflow.test")
    inbound_mail(f"unsubscribe+{new_send_token()}@mail.siteflow.test")
    assert status_of(send.contact) == ContactStatus.ACTIVE
    assert not ConsentRecord.objects.exists()


def test_a_built_campaign_message_unsubscribes_from_its_header_and_its_footer(settings):
    """The delivery path's real message: its List-Unsubscribe URL takes the one-click POST, and the
    footer's unsubscribe link is the page itself, never rewritten into a tracked link."""
    settings.EMAIL_PUBLIC_URL = "https://mail.siteflow.test"
    send = marketing_send()
    campaign = send.campaign
    campaign.content = {"blocks": [{"type": "button", "label": "Shop", "url": "https://shop.example.com/?a=1&b=2"}]}
    campaign.save(update_fields=["content"])

    message = MessageBuilder(workspace_id=send.workspace_id, campaign=campaign).build(send)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_link = re.search(r"<(https://[^>]+)>", message.extra_headers["List-Unsubscribe"]).group(1)
    assert https_link == unsubscribe_url(send.token)
    html = message.alternatives[0][0]
    assert f'href="{https_link}"' in html
    tracked = re.search(r'href="(https://mail\.siteflow\.test/t/c/[^"]+)"', html).group(1)
    assert Client().get(unescape(tracked).removeprefix(settings.EMAIL_PUBLIC_URL))["Location"] == (
        "https://shop.example.com/?a=1&b=2"
    )

    response = Client(enforce_csrf_checks=True).post(
        https_link.removeprefix(settings.EMAIL_PUBLIC_URL), data=ONE_CLICK, content_type=FORM_ENCODED
    )
    assert response.status_code == 200
    assert status_of(send.contact) == ContactStatus.UNSUBSCRIBED


def test_mail_to_the_unsubscribe_address_through_an_inbound_webhook_unsubscribes(settings):
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@mail.siteflow.test"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "siteflow:webhook-secret"}
    send = marketing_send()
    body = json.loads((Path(__file__).parent / "payloads" / "postmark_inbound.json").read_text())
    address = unsubscribe_mailto(send.token).removeprefix("mailto:").partition("?")[0]
    body["ToFull"] = [{"Email": address, "Name": "", "MailboxHash": send.token}]
    body["OriginalRecipient"] = address
    auth = "Basic " + base64.b64encode(b"siteflow:webhook-secret").decode()

    url = "/webhooks/email/postmark/inbound/"
    response = Client().post(url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert status_of(send.contact) == ContactStatus.UNSUBSCRIBED
