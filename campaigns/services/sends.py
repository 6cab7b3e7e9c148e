"""Sending one email through the ledger, and setting a campaign's workers going.

Every message Siteflow sends is an EmailSend row first (see campaigns.models); the workers in
campaigns.delivery hand rows to the backend.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts.models import Workspace
from campaigns.delivery.messages import sender_address
from campaigns.delivery.sending import SUBJECT_MAX, UNSENDABLE
from campaigns.models import MARKETING_KINDS, Campaign, CampaignStatus, EmailSend, Sender, SendKind, SendStatus
from campaigns.tracking import new_send_token
from core.enqueue import enqueue
from crm.models import Contact

KEY_MAX = EmailSend._meta.get_field("idempotency_key").max_length
REF_MAX = EmailSend._meta.get_field("ref").max_length


def _recipient(*, workspace: Workspace, kind: str, contact: Contact | None, to_email: str | None) -> str:
    errors: dict[str, list[str]] = {}
    if kind not in SendKind.values:
        errors["kind"] = [f"Must be one of: {', '.join(SendKind.values)}."]
    if contact is not None and contact.workspace_id != workspace.pk:
        errors["contact"] = ["Not a contact of this workspace."]
    elif contact is None and kind in MARKETING_KINDS:
        errors["contact"] = ["Marketing email goes to a contact, whose consent is checked."]
    address = (to_email or (contact.email if contact is not None else "") or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        errors["to_email"] = ["Enter a valid email address."]
    else:
        # Consent and suppression belong to the contact's address: marketing mail goes nowhere else.
        if kind in MARKETING_KINDS and contact is not None and address.lower() != contact.email.strip().lower():
            errors["to_email"] = ["Marketing email goes to the contact's own address."]
    if errors:
        raise ValidationError(errors)
    return address


def _existing(key: str, *, workspace: Workspace) -> EmailSend | None:
    """The row already made for `key`; a key another workspace used is refused, its row untouched."""
    existing = EmailSend.objects.filter(idempotency_key=key).first()
    if existing is not None and existing.workspace_id != workspace.pk:
        raise ValidationError({"idempotency_key": ["Already used by another workspace."]})
    return existing


@transaction.atomic
def email_send_create(
    *,
    workspace: Workspace,
    kind: str,
    idempotency_key: str,
    subject: str,
    html: str,
    text: str,
    contact: Contact | None = None,
    to_email: str | None = None,
    sender: Sender | None = None,
    ref: str = "",
) -> tuple[EmailSend, bool]:
    """The ledger row for this key, made on first call and delivered by a task after commit.

    Returns (row, created). A second call with the same key returns the first row and sends
    nothing, whatever else it passes. A marketing kind to a contact who can't receive marketing mail
    is recorded as skipped and never sent. Without `sender` the message comes from DEFAULT_FROM_EMAIL.
    """
    key = str(idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationError({"idempotency_key": [f"Required, at most {KEY_MAX} characters."]})
    existing = _existing(key, workspace=workspace)
    if existing is not None:
        return existing, False
    address = _recipient(workspace=workspace, kind=kind, contact=contact, to_email=to_email)
    for field, value in (("subject", subject), ("html", html), ("text", text)):
        if not isinstance(value, str):
            raise ValidationError({field: ["Must be text."]})
    if len(subject) > SUBJECT_MAX or "\n" in subject or "\r" in subject:
        raise ValidationError({"subject": [f"One line of at most {SUBJECT_MAX} characters."]})
    if sender is not None and (sender.workspace_id != workspace.pk or not sender.is_verified):
        raise ValidationError({"sender": ["Not a verified sender of this workspace."]})

    status, error = SendStatus.QUEUED, ""
    # The stored status, not the caller's copy: an unsubscribe may have landed since it was read.
    if kind in MARKETING_KINDS and not Contact.objects.filter(pk=contact.pk).sendable().exists():
        status, error = SendStatus.SKIPPED, UNSENDABLE
    body = {"html": html, "text": text}
    if sender is not None and sender.reply_to:
        body["reply_to"] = sender.reply_to
    try:
        with transaction.atomic():  # a savepoint: a concurrent call with the same key wins the insert
            send = EmailSend.objects.create(
                workspace=workspace,
                contact=contact,
                kind=kind,
                ref=str(ref)[:REF_MAX],
                idempotency_key=key,
                token=new_send_token(),
                from_email=sender_address(sender),
                to_email=address,
                subject=subject,
                body=body,
                status=status,
                error=error,
            )
    except IntegrityError:
        existing = _existing(key, workspace=workspace)
        if existing is None:
            raise
        return existing, False
    if status == SendStatus.QUEUED:
        from campaigns.tasks.delivery import deliver_send

        transaction.on_commit(lambda: enqueue(deliver_send, send.pk))
    return send, True


def campaign_dispatch(*, campaign: Campaign) -> None:
    """Start SENDING_PARALLELISM batch tasks for a sending campaign, once the caller's transaction
    commits. Safe to call again: extra tasks find nothing to claim and stop."""
    from django.conf import settings

    from campaigns.tasks.delivery import email_send_batch

    if campaign.status != CampaignStatus.SENDING:
        return
    campaign_id = campaign.pk

    def start() -> None:
        for _ in range(settings.SENDING_PARALLELISM):
            enqueue(email_send_batch, campaign_id)

    transaction.on_commit(start)
