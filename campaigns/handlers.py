"""Event handlers owned by the email app, and its receivers of anymail's webhook signals (the library's
integration point: it calls them from its webhook views once a request's auth and signature pass)."""

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, inbound, tracking
from django.dispatch import receiver

from campaigns.services.engagement import email_unsubscribe, send_by_token, tracking_event_apply
from campaigns.services.optin import optin_request_create
from campaigns.tracking import mailto_token
from core.events import on
from core.logging import get_logger
from core.models import Event
from crm.events import CONTACT_OPTIN_REQUESTED
from crm.models import Contact

log = get_logger(__name__)


@on(CONTACT_OPTIN_REQUESTED)
def optin_confirmation_mail(event: Event) -> None:
    payload = event.payload
    contact = Contact.objects.filter(pk=payload.get("contact_id"), workspace_id=event.workspace_id).first()
    if contact is None:
        return  # erased since: nobody to ask
    optin_request_create(
        contact=contact, component_id=payload.get("component_id", ""), submission_id=payload.get("submission_id")
    )


@receiver(tracking, dispatch_uid="campaigns.esp_tracking")
def esp_tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    tracking_event_apply(event=event, esp_name=esp_name)


@receiver(inbound, dispatch_uid="campaigns.esp_inbound")
def esp_inbound_received(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """Mail to `unsubscribe+<token>@…` (the List-Unsubscribe mailto:) unsubscribes that message's
    recipient; other inbound mail is not ours to read."""
    message = event.message
    if message is None:
        return
    addresses = [address.addr_spec for address in message.to] + [message.envelope_recipient or ""]
    for token in {mailto_token(address) for address in addresses} - {None}:
        send = send_by_token(token)
        if send is not None:
            email_unsubscribe(send=send, reason="Unsubscribed by email (List-Unsubscribe mailto).")
            log.info("unsubscribed_by_mail", send_id=send.pk)
