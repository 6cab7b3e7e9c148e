"""Double opt-in: a form that asks for confirmation mails a signed, single-use link; until it is followed
the contact gets no marketing mail, and following it records the consent with the form's words."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from accounts.authentication import hash_secret
from builder.services.submissions import form_submission_create
from campaigns.models import EmailSend, OptInRequest, Sender, SenderStatus, SendKind
from campaigns.selectors import campaign_audience
from campaigns.services.optin import optin_confirm_url
from core.events import dispatch
from core.models import Event
from crm.events import CONTACT_CONFIRMED, CONTACT_OPTIN_REQUESTED
from crm.models import ConsentRecord, Contact, ContactStatus
from tests.factories import (
    ComponentFactory,
    ContactFactory,
    PageFactory,
    SenderFactory,
    SiteFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

CONSENT = "Yes, send me the monthly newsletter."
_LINK = re.compile(r"https?://[^\s\"']+/c/([^/\s\"']+)/")


@pytest.fixture
def workspace():
    return WorkspaceFactory(name="Northwind")


@pytest.fixture
def form(workspace):
    component = ComponentFactory(page=PageFactory(site=SiteFactory(workspace=workspace)), type="contact_form")
    component.config = {**component.config, "double_opt_in": True, "consent": {"enabled": True, "text": CONSENT}}
    component.save(update_fields=["config"])
    return component


def process(type_: str) -> None:
    for event in Event.objects.filter(type=type_, dispatched_at__isnull=True):
        dispatch.process_event(event.pk)


def sign_up(form, email: str = "ada@example.com"):
    """A visitor submits the form; the CRM and the email app handle what follows."""
    form_submission_create(component=form, data={"email": email}, consent_given=True, ip="203.0.113.9", user_agent="T")
    process("form.submitted")
    process(CONTACT_OPTIN_REQUESTED)


def confirmation_link(contact) -> str:
    """The path of the link in the confirmation email the contact was sent."""
    sent = EmailSend.objects.get(contact=contact, ref__startswith="optin:")
    signed = _LINK.search(sent.body["text"]).group(1)
    assert f"/c/{signed}/" in sent.body["html"]
    return f"/c/{signed}/"


def test_signing_up_sends_a_confirmation_and_keeps_the_contact_out_of_marketing(form, workspace):
    sign_up(form)

    contact = Contact.objects.get(workspace=workspace)
    assert contact.status == ContactStatus.UNCONFIRMED
    assert contact not in Contact.objects.sendable()
    assert not ConsentRecord.objects.exists()
    requested = Event.objects.get(type=CONTACT_OPTIN_REQUESTED)
    assert requested.payload["contact_id"] == contact.pk
    assert requested.payload["component_id"] == str(form.pk)
    optin = OptInRequest.objects.get(contact=contact)
    assert optin.consent_text == CONSENT and optin.confirmed_at is None
    assert len(optin.token_hash) == 64
    sent = EmailSend.objects.get(contact=contact)
    assert (sent.kind, sent.idempotency_key) == (SendKind.TRANSACTIONAL, f"optin:{optin.pk}")
    assert "Northwind" in sent.subject
    assert CONSENT in sent.body["text"]


def test_unconfirmed_contacts_are_left_out_of_a_campaigns_audience(form, workspace):
    confirmed = ContactFactory(workspace=workspace)
    sign_up(form)
    waiting = Contact.objects.get(workspace=workspace, email="ada@example.com")
    everyone = set(campaign_audience(workspace, {}))
    assert confirmed in everyone and waiting not in everyone
    Client().post(confirmation_link(waiting))
    assert waiting in set(campaign_audience(workspace, {}))


def test_opening_the_link_only_asks_and_the_button_confirms(form, workspace):
    sign_up(form)
    contact = Contact.objects.get(workspace=workspace)
    link = confirmation_link(contact)
    client = Client(enforce_csrf_checks=True)

    page = client.get(link)  # what a mail scanner following links does
    assert page.status_code == 200
    assert f'<form method="post" action="{link}">' in page.content.decode()
    assert Contact.objects.get(pk=contact.pk).status == ContactStatus.UNCONFIRMED

    response = client.post(link)
    assert response.status_code == 200
    assert "Subscription confirmed" in response.content.decode()
    contact.refresh_from_db()
    assert contact.status == ContactStatus.ACTIVE
    assert contact in Contact.objects.sendable()
    consent = ConsentRecord.objects.get(contact=contact)
    assert (consent.granted, consent.text, consent.source) == (True, CONSENT, "double_opt_in")
    assert OptInRequest.objects.get(contact=contact).confirmed_at is not None
    assert Event.objects.get(type=CONTACT_CONFIRMED).payload == {"contact_id": contact.pk, "component_id": str(form.pk)}


def test_the_link_works_once(form, workspace):
    sign_up(form)
    link = confirmation_link(Contact.objects.get(workspace=workspace))
    Client().post(link)
    again = Client().post(link)
    assert again.status_code == 200
    assert "Already confirmed" in again.content.decode()
    assert "Already confirmed" in Client().get(link).content.decode()
    assert ConsentRecord.objects.count() == 1
    assert Event.objects.filter(type=CONTACT_CONFIRMED).count() == 1


def test_a_tampered_or_unsigned_link_is_a_404_and_confirms_nothing(form, workspace):
    sign_up(form)
    contact = Contact.objects.get(workspace=workspace)
    signed = confirmation_link(contact).split("/")[2]
    token, timestamp, signature = signed.split(":")
    forged = [
        f"/c/{token}/",
        f"/c/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}:{timestamp}:{signature}/",
        f"/c/{token}:{timestamp}:{signature[:-2]}/",
        f"/c/{optin_confirm_url('made-up-token').split('/c/')[1]}",  # genuinely signed, but no such request
    ]
    for path in forged:
        assert Client().post(path).status_code == 404, path
        assert Client().get(path).status_code == 404, path
    assert Contact.objects.get(pk=contact.pk).status == ContactStatus.UNCONFIRMED
    assert not ConsentRecord.objects.exists()


def test_an_expired_link_is_refused_clearly(form, workspace, settings):
    with freeze_time("2026-03-01 12:00:00"):
        sign_up(form)
    link = confirmation_link(Contact.objects.get(workspace=workspace))
    later = datetime.datetime(2026, 3, 1, 12) + datetime.timedelta(seconds=settings.OPTIN_MAX_AGE + 60)
    with freeze_time(later):
        response = Client().post(link)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_an_active_contact_signing_up_again_is_not_asked_to_confirm(form, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com")
    sign_up(form)
    contact = Contact.objects.get(workspace=workspace)
    assert contact.status == ContactStatus.ACTIVE
    assert ConsentRecord.objects.get(contact=contact).text == CONSENT
    assert not Event.objects.filter(type=CONTACT_OPTIN_REQUESTED).exists()
    assert not OptInRequest.objects.exists()


def test_an_unsubscribed_contact_stays_unsubscribed_until_they_confirm(form, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com", status=ContactStatus.UNSUBSCRIBED)
    sign_up(form)
    contact = Contact.objects.get(workspace=workspace)
    assert contact.status == ContactStatus.UNSUBSCRIBED
    Client().post(confirmation_link(contact))
    contact.refresh_from_db()
    assert contact.status == ContactStatus.ACTIVE


# --- The same two steps confirm a sender's address ---------------------------------------------------


def test_a_sender_link_asks_first_and_the_button_verifies_once(workspace):
    token = "sender-verification-token"
    sender = SenderFactory(
        workspace=workspace,
        status=SenderStatus.PENDING,
        verified_at=None,
        verification_token_hash=hash_secret(token),
        verification_sent_at=timezone.now(),
    )
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/senders/verify/{token}/")
    assert page.status_code == 200 and 'method="post"' in page.content.decode()
    assert Sender.objects.get(pk=sender.pk).status == SenderStatus.PENDING

    response = client.post(f"/senders/verify/{token}/")
    assert response.status_code == 200
    assert sender.from_email in response.content.decode()
    assert Sender.objects.get(pk=sender.pk).status == SenderStatus.VERIFIED

    again = client.post(f"/senders/verify/{token}/")
    assert again.status_code == 400
    assert "not valid, or was already used" in again.content.decode()
