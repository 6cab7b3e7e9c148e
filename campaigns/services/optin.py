"""Double opt-in: a form that asks for confirmation mails a link; following it records the consent.

The link is `/c/<signed>/`: a random token, signed with a timestamp (TimestampSigner) so a link older
than OPTIN_MAX_AGE or altered in any way is refused before the database is read. Only the token's
SHA-256 is stored. A request confirms once; the contact stays out of marketing mail (status
unconfirmed, see `Contact.objects.sendable()`) until it does.
"""

import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.authentication import hash_secret
from builder.models import FormSubmission
from campaigns.models import OptInRequest, SendKind
from campaigns.services.sends import email_send_create
from core.events import emit
from crm.events import CONTACT_CONFIRMED
from crm.models import Contact
from crm.services.consent import consent_record

OPTIN_SALT = "campaigns.optin"
OPTIN_SOURCE = "double_opt_in"


class OptInLinkInvalid(Exception):
    """The link was altered, or names no request: nothing to confirm here."""


class OptInLinkExpired(Exception):
    """The link is genuine but older than OPTIN_MAX_AGE."""


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=OPTIN_SALT)


def optin_confirm_url(token: str) -> str:
    return f"{settings.EMAIL_PUBLIC_URL}/c/{_signer().sign(token)}/"


@transaction.atomic
def optin_request_create(*, contact: Contact, component_id: str = "", submission_id: int | None = None) -> OptInRequest:
    """Record the request and mail the confirmation link (a transactional email: the contact isn't
    sendable for marketing yet). The consent words are the form's, so the confirmation records
    exactly what the person agreed to."""
    consent_text = ""
    if submission_id is not None:
        consent_text = (
            FormSubmission.objects.filter(pk=submission_id, workspace_id=contact.workspace_id)
            .values_list("consent_text", flat=True)
            .first()
            or ""
        )
    token = secrets.token_urlsafe(32)
    request = OptInRequest.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        token_hash=hash_secret(token),
        component_id=str(component_id or "")[:64],
        submission_id=submission_id,
        consent_text=consent_text,
    )
    workspace_name = contact.workspace.name
    context = {
        "workspace_name": workspace_name,
        "confirm_url": optin_confirm_url(token),
        "days": max(1, settings.OPTIN_MAX_AGE // 86400),
        "consent_text": consent_text,
    }
    email_send_create(
        workspace=contact.workspace,
        kind=SendKind.TRANSACTIONAL,
        idempotency_key=f"optin:{request.pk}",
        subject=f"Please confirm your subscription to {workspace_name}",
        html=render_to_string("campaigns/public/optin_email.html", context),
        text=render_to_string("campaigns/public/optin_email.txt", context),
        contact=contact,
        ref=f"optin:{request.pk}",
    )
    return request


def optin_request_for_link(signed: str, *, lock: bool = False) -> OptInRequest:
    """The request a confirmation link names; OptInLinkInvalid or OptInLinkExpired otherwise."""
    try:
        token = _signer().unsign(signed, max_age=settings.OPTIN_MAX_AGE)
    except signing.SignatureExpired:
        raise OptInLinkExpired from None
    except signing.BadSignature:
        raise OptInLinkInvalid from None
    requests = OptInRequest.objects.select_related("contact", "workspace")
    if lock:
        requests = requests.select_for_update(of=("self",))
    request = requests.filter(token_hash=hash_secret(token)).first()
    if request is None:
        raise OptInLinkInvalid
    return request


@transaction.atomic
def optin_confirm(*, signed: str) -> tuple[OptInRequest, bool]:
    """Confirm the request the link names: consent granted with the form's words (which makes an
    unconfirmed or unsubscribed contact sendable) and `contact.confirmed` emitted. Returns the request
    and whether this call confirmed it; a second use records nothing."""
    request = optin_request_for_link(signed, lock=True)
    if request.confirmed_at is not None:
        return request, False
    consent_record(
        contact=request.contact,
        granted=True,
        text=request.consent_text,
        source=OPTIN_SOURCE,
        source_ref=request.component_id,
    )
    request.confirmed_at = timezone.now()
    request.save(update_fields=["confirmed_at"])
    emit(
        workspace=request.workspace_id,
        type=CONTACT_CONFIRMED,
        payload={"contact_id": request.contact_id, "component_id": request.component_id},
        subject=request.contact,
    )
    return request, True
