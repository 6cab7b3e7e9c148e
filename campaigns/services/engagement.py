"""What recipients do with a message: opens, clicks, unsubscribes; and what the ESPs report back about
it (deliveries, bounces, complaints).

Each writer locks the message's ledger row first, so two pixel fetches or two webhook retries racing
each other still record one first open, one bounce, one event.
"""

import datetime
import re

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.events import EMAIL_BOUNCED, EMAIL_CLICKED, EMAIL_COMPLAINED, EMAIL_OPENED
from campaigns.models import EmailEngagement, EmailSend, EngagementKind, SendingSettings, SendStatus
from core.events import emit
from core.logging import get_logger
from crm.models import ActivityKind, Contact, ContactStatus
from crm.services.activities import activity_record
from crm.services.consent import consent_record
from crm.services.gdpr import contact_suppress

log = get_logger(__name__)

#: An open this soon after sending is a scanner or proxy fetching the message as it arrives.
MACHINE_OPEN_SECONDS = 5
# Fetchers that are not a person reading: Apple Mail Privacy Protection (a bare "Mozilla/5.0"), image
# proxies that prefetch (Google's, Yahoo's), corporate mail security scanners and scripts.
_MACHINE_AGENTS = re.compile(
    r"GoogleImageProxy|ggpht\.com|YahooMailProxy|Barracuda|Mimecast|Proofpoint|MessageLabs|Symantec|"
    r"Trend ?Micro|IronPort|Forcepoint|Zscaler|SafeLinks|bot\b|crawler|spider|python-|curl/|wget/|"
    r"Go-http-client|okhttp|Java/|HeadlessChrome",
    re.IGNORECASE,
)
_APPLE_PRIVACY_PROXY = "Mozilla/5.0"
UNSUBSCRIBE_SOURCE = "email"
RESUBSCRIBE_TEXT = "Resubscribed from the unsubscribe page of an email."
# Postmark reports a soft bounce as a bounce; only its type says the address may work tomorrow.
_SOFT_BOUNCE_TYPES = frozenset({"SoftBounce", "Transient", "DnsError"})
# Statuses a delivery report may move on from; a bounce or complaint reported first stands.
_DELIVERABLE = frozenset({SendStatus.SENDING, SendStatus.SENT})
_FINAL = frozenset({SendStatus.BOUNCED, SendStatus.COMPLAINED})


def send_by_token(token: str, *, lock: bool = False) -> EmailSend | None:
    sends = EmailSend.objects.select_related("contact", "workspace")
    if lock:
        sends = sends.select_for_update(of=("self",))
    return sends.filter(token=token).first()


def is_machine_open(*, user_agent: str, send: EmailSend, at: datetime.datetime) -> bool:
    agent = (user_agent or "").strip()
    if not agent or agent == _APPLE_PRIVACY_PROXY or _MACHINE_AGENTS.search(agent):
        return True
    return send.sent_at is not None and at - send.sent_at < datetime.timedelta(seconds=MACHINE_OPEN_SECONDS)


def _tracking_settings(workspace_id: int) -> tuple[bool, bool]:
    """(track_opens, track_clicks); a workspace that never saved its settings has the defaults."""
    row = SendingSettings.objects.filter(workspace_id=workspace_id).values_list("track_opens", "track_clicks").first()
    return row or (True, True)


def _payload(send: EmailSend, **extra) -> dict:
    return {"send_id": send.pk, "contact_id": send.contact_id, "campaign_id": send.campaign_id, **extra}


def _timeline(send: EmailSend, kind: str, at: datetime.datetime, **data) -> None:
    activity_record(
        contact=send.contact,
        kind=kind,
        ref=str(send.campaign_id) if send.campaign_id else send.ref,
        data={"send_id": send.pk, "campaign_id": send.campaign_id, "subject": send.subject, **data},
        source="email",
        at=at,
    )


def _engagement(send: EmailSend, kind: str, at: datetime.datetime, *, url: str = "", machine: bool = False) -> None:
    EmailEngagement.objects.create(
        workspace_id=send.workspace_id,
        send=send,
        campaign_id=send.campaign_id,
        kind=kind,
        url=url,
        machine=machine,
        at=at,
    )


def _first_open(send: EmailSend, at: datetime.datetime) -> None:
    """A person's first open: counted, on the report, the timeline and the event stream."""
    EmailSend.objects.filter(pk=send.pk).update(first_opened_at=at, open_count=F("open_count") + 1)
    send.first_opened_at = at
    _engagement(send, EngagementKind.OPEN, at)
    if send.contact is not None:
        _timeline(send, ActivityKind.EMAIL_OPENED, at)
        emit(workspace=send.workspace_id, type=EMAIL_OPENED, payload=_payload(send), subject=send)


@transaction.atomic
def open_record(*, token: str, user_agent: str = "", at: datetime.datetime | None = None) -> EmailSend | None:
    """The open pixel was fetched. Returns the send it recorded on, None when nothing was recorded
    (an unknown token, or a workspace that tracks no opens)."""
    at = at or timezone.now()
    send = send_by_token(token, lock=True)
    if send is None or not _tracking_settings(send.workspace_id)[0]:
        return None
    machine = is_machine_open(user_agent=user_agent, send=send, at=at)
    if not machine and send.first_opened_at is None:
        _first_open(send, at)
        return send
    counter = "machine_open_count" if machine else "open_count"
    EmailSend.objects.filter(pk=send.pk).update(**{counter: F(counter) + 1})
    _engagement(send, EngagementKind.OPEN, at, machine=machine)
    return send


@transaction.atomic
def click_record(*, send: EmailSend, url: str, at: datetime.datetime | None = None) -> None:
    """A tracked link was followed (its URL already verified against the send's token). The first
    click on each link goes on the timeline and the event stream; a click is an open too."""
    at = at or timezone.now()
    send = EmailSend.objects.select_for_update(of=("self",)).select_related("contact").get(pk=send.pk)
    track_opens, track_clicks = _tracking_settings(send.workspace_id)
    if not track_clicks:
        return
    if track_opens and send.first_opened_at is None:
        _first_open(send, at)
    first_on_link = not send.engagements.filter(kind=EngagementKind.CLICK, url=url).exists()
    changes = {"click_count": F("click_count") + 1}
    if send.first_clicked_at is None:
        changes["first_clicked_at"] = at
    EmailSend.objects.filter(pk=send.pk).update(**changes)
    _engagement(send, EngagementKind.CLICK, at, url=url)
    if first_on_link and send.contact is not None:
        _timeline(send, ActivityKind.EMAIL_CLICKED, at, url=url)
        emit(workspace=send.workspace_id, type=EMAIL_CLICKED, payload=_payload(send, url=url), subject=send)


@transaction.atomic
def email_unsubscribe(*, send: EmailSend, reason: str, source: str = UNSUBSCRIBE_SOURCE) -> Contact | None:
    """The recipient of this message asked for no more marketing mail: the contact is flagged
    unsubscribed and its consent withdrawn (by `contact_suppress`, which emits `contact.unsubscribed`).
    Asking again changes nothing. None when the contact has since been erased."""
    if send.contact_id is None:
        return None
    return contact_suppress(
        contact=send.contact,
        status=ContactStatus.UNSUBSCRIBED,
        reason=reason,
        source=source,
        details={"send_id": send.pk},
    )


@transaction.atomic
def email_resubscribe(*, send: EmailSend) -> Contact | None:
    """Undo an unsubscribe from the same page: consent granted again makes the contact sendable.
    Only an unsubscribed contact is changed (a bounce or complaint is about the address)."""
    if send.contact_id is None:
        return None
    contact = Contact.objects.select_for_update().get(pk=send.contact_id)
    if contact.status == ContactStatus.UNSUBSCRIBED:
        consent_record(
            contact=contact, granted=True, text=RESUBSCRIBE_TEXT, source=UNSUBSCRIBE_SOURCE, source_ref=send.pk
        )
        contact.refresh_from_db(fields=["status"])
    return contact


# --- ESP reports --------------------------------------------------------------------------------------


def _send_for_event(event: AnymailTrackingEvent) -> EmailSend | None:
    """The ledger row an ESP event is about: by the send id we put in its metadata, else by message id."""
    send_id = str((event.metadata or {}).get("send_id", "")).strip()
    sends = EmailSend.objects.select_for_update(of=("self",)).select_related("contact")
    if send_id.isdigit():
        return sends.filter(pk=int(send_id)).first()
    message_id = (event.message_id or "").strip()
    if not message_id:
        return None
    bare = message_id.strip("<>")
    return sends.filter(message_id__in={message_id, bare, f"<{bare}>"}).first()


def _is_soft_bounce(event: AnymailTrackingEvent) -> bool:
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    return esp_event.get("Type") in _SOFT_BOUNCE_TYPES


def _esp_detail(event: AnymailTrackingEvent) -> str:
    return " ".join(part for part in (event.description, event.mta_response) if part).strip()[:2000]


def _suppress(send: EmailSend, status: str, reason: str) -> None:
    if send.contact is not None:
        contact_suppress(contact=send.contact, status=status, reason=reason[:500], source="email")


@transaction.atomic
def tracking_event_apply(*, event: AnymailTrackingEvent, esp_name: str) -> EmailSend | None:
    """Apply an ESP's delivery report to the ledger. Hard bounces and complaints suppress the contact;
    deferrals and soft bounces are noted and wait for the final word. A report about a message that
    is not ours is ignored (None). Reports repeat and arrive out of order, so each is applied once and
    never undoes a bounce or complaint."""
    send = _send_for_event(event)
    if send is None:
        log.info("esp_event_unmatched", esp=esp_name, event_type=event.event_type)
        return None
    at = event.timestamp or timezone.now()
    detail = _esp_detail(event)
    kind = event.event_type
    if kind == EventType.BOUNCED and _is_soft_bounce(event):
        kind = EventType.DEFERRED

    if kind == EventType.DELIVERED:
        if send.status in _DELIVERABLE:
            send.status = SendStatus.DELIVERED
        send.delivered_at = send.delivered_at or at
        send.save(update_fields=["status", "delivered_at"])
    elif kind == EventType.BOUNCED and send.status not in _FINAL:
        send.status, send.error = SendStatus.BOUNCED, detail or "Bounced."
        send.save(update_fields=["status", "error"])
        _suppress(send, ContactStatus.BOUNCED, f"Hard bounce reported by {esp_name}: {detail}")
        if send.contact is not None:
            _timeline(send, ActivityKind.EMAIL_BOUNCED, at, hard=True, detail=detail, esp=esp_name)
        emit(workspace=send.workspace_id, type=EMAIL_BOUNCED, payload=_payload(send, hard=True), subject=send)
    elif kind == EventType.COMPLAINED and send.status != SendStatus.COMPLAINED:
        send.status = SendStatus.COMPLAINED
        send.save(update_fields=["status"])
        _suppress(send, ContactStatus.COMPLAINED, f"Spam complaint reported by {esp_name}.")
        emit(workspace=send.workspace_id, type=EMAIL_COMPLAINED, payload=_payload(send), subject=send)
    elif kind == EventType.DEFERRED:
        send.error = f"Delayed ({esp_name}): {detail or 'no reason given'}"
        send.save(update_fields=["error"])
    elif kind in (EventType.REJECTED, EventType.FAILED) and send.status in _DELIVERABLE:
        send.status, send.error = SendStatus.FAILED, f"Refused by {esp_name}: {detail or event.reject_reason or ''}"
        send.save(update_fields=["status", "error"])
    elif kind == EventType.UNSUBSCRIBED:
        email_unsubscribe(send=send, reason=f"Unsubscribed through {esp_name}.", source="esp")
    return send
