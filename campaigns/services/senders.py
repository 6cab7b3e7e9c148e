"""Senders (From identities) and the workspace's sending settings.

A sender is verified by a link mailed to its address: clicking it proves the workspace receives mail
there, so nobody can send as an address they don't hold. The link's token travels once, by email;
only its SHA-256 is stored, and using it clears it.
"""

import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.authentication import hash_secret
from campaigns.models import Campaign, CampaignStatus, Sender, SenderStatus, SendingSettings, SendKind
from campaigns.services.sends import email_send_create
from crm.services.fields import all_or_errors, email_normalize

NAME_MAX = Sender._meta.get_field("from_name").max_length
#: A verification link older than this is refused; ask for another.
VERIFICATION_MAX_AGE = datetime.timedelta(days=7)
POSTAL_ADDRESS_MAX = 500
RATE_MIN, RATE_MAX = 1, 1_000_000


def _address_clean(field: str, value, *, required: bool) -> str:
    """Trimmed and lower-cased, as a contact's address is; blank allowed only when not required."""
    if not required and not str(value or "").strip():
        return ""
    try:
        return email_normalize(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.message_dict["email"]}) from None


def _name_clean(value) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise ValidationError({"from_name": ["A sender needs a name, shown in the inbox before the subject."]})
    if len(name) > NAME_MAX:
        raise ValidationError({"from_name": [f"At most {NAME_MAX} characters."]})
    return name


def _email_free(*, workspace, email: str, exclude_pk: int | None = None) -> None:
    taken = Sender.objects.for_workspace(workspace).filter(from_email__iexact=email)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"from_email": [f"There is already a sender with the address {email}."]})


def _save(sender: Sender) -> Sender:
    try:
        with transaction.atomic():
            sender.save()
    except IntegrityError:  # a concurrent request took the address since we looked
        raise ValidationError(
            {"from_email": [f"There is already a sender with the address {sender.from_email}."]}
        ) from None
    return sender


def _verification_send(sender: Sender) -> None:
    """A new token (the previous link stops working) and the email carrying it."""
    token = secrets.token_urlsafe(32)
    sender.verification_token_hash = hash_secret(token)
    sender.verification_sent_at = timezone.now()
    sender.save(update_fields=["verification_token_hash", "verification_sent_at"])
    context = {
        "sender": sender,
        "workspace_name": sender.workspace.name,
        "verify_url": f"{settings.EMAIL_PUBLIC_URL}/senders/verify/{token}/",
        "days": VERIFICATION_MAX_AGE.days,
    }
    email_send_create(
        workspace=sender.workspace,
        kind=SendKind.TRANSACTIONAL,
        # One message per token: a resend makes a new token, hence a new message.
        idempotency_key=f"sender-verification:{sender.pk}:{sender.verification_token_hash[:32]}",
        subject=f"Confirm {sender.from_email} as a sender on Siteflow",
        html=render_to_string("emails/sender_verification.html", context),
        text=render_to_string("emails/sender_verification.txt", context),
        to_email=sender.from_email,
        ref=f"sender:{sender.pk}",
    )


@transaction.atomic
def sender_create(*, workspace, from_name: str, from_email: str, reply_to: str = "") -> Sender:
    """A pending sender, and the verification email to its address."""
    name, email, reply = all_or_errors(
        lambda: _name_clean(from_name),
        lambda: _address_clean("from_email", from_email, required=True),
        lambda: _address_clean("reply_to", reply_to, required=False),
    )
    _email_free(workspace=workspace, email=email)
    sender = _save(Sender(workspace=workspace, from_name=name, from_email=email, reply_to=reply))
    _verification_send(sender)
    return sender


@transaction.atomic
def sender_update(
    *, sender: Sender, from_name: str | None = None, from_email: str | None = None, reply_to: str | None = None
) -> Sender:
    """Change what is given. A new address needs verifying again: the sender is pending until then."""
    sender = Sender.objects.select_for_update().select_related("workspace").get(pk=sender.pk)
    name, email, reply = all_or_errors(
        lambda: sender.from_name if from_name is None else _name_clean(from_name),
        lambda: sender.from_email if from_email is None else _address_clean("from_email", from_email, required=True),
        lambda: sender.reply_to if reply_to is None else _address_clean("reply_to", reply_to, required=False),
    )
    address_changed = email != sender.from_email
    if address_changed:
        _email_free(workspace=sender.workspace, email=email, exclude_pk=sender.pk)
        sender.status, sender.verified_at = SenderStatus.PENDING, None
    sender.from_name, sender.from_email, sender.reply_to = name, email, reply
    _save(sender)
    if address_changed:
        _verification_send(sender)
    return sender


@transaction.atomic
def sender_verification_resend(*, sender: Sender) -> Sender:
    sender = Sender.objects.select_for_update().select_related("workspace").get(pk=sender.pk)
    if sender.is_verified:
        raise ValidationError({"status": [f"{sender.from_email} is already verified."]})
    _verification_send(sender)
    return sender


@transaction.atomic
def sender_verify(*, token: str) -> Sender:
    """The sender whose verification link carries `token`, now verified. The link works once, and
    not after VERIFICATION_MAX_AGE; a bad, used or stale one is a ValidationError on `token`."""
    token = str(token or "")
    sender = (
        Sender.objects.select_for_update()
        .filter(verification_token_hash=hash_secret(token), status=SenderStatus.PENDING)
        .exclude(verification_token_hash="")
        .first()
        if 0 < len(token) <= 100
        else None
    )
    if sender is None:
        raise ValidationError({"token": ["This verification link is not valid, or was already used."]})
    if sender.verification_sent_at is None or sender.verification_sent_at < timezone.now() - VERIFICATION_MAX_AGE:
        raise ValidationError({"token": ["This verification link has expired; ask for a new one."]})
    sender.status = SenderStatus.VERIFIED
    sender.verified_at = timezone.now()
    sender.verification_token_hash = ""
    sender.save(update_fields=["status", "verified_at", "verification_token_hash"])
    return sender


@transaction.atomic
def sender_delete(*, sender: Sender) -> None:
    """Refused while a campaign that went out (or is going) names it; drafts and scheduled campaigns
    just lose their sender."""
    used = (
        Campaign.objects.filter(sender=sender)
        .exclude(status__in=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED))
        .values_list("name", flat=True)[:3]
    )
    if used:
        names = ", ".join(repr(name) for name in used)
        raise ValidationError(
            {"sender": [f"Campaigns were sent from this sender ({names}); it stays for their record."]}
        )
    # A scheduled campaign without a sender can't start: back to draft, so nothing tries.
    Campaign.objects.filter(sender=sender, status=CampaignStatus.SCHEDULED).update(
        status=CampaignStatus.DRAFT, updated_at=timezone.now()
    )
    Campaign.objects.filter(sender=sender).update(sender=None, updated_at=timezone.now())
    sender.delete()


def sending_settings_get(*, workspace) -> SendingSettings:
    """The workspace's settings, made with the defaults the first time."""
    settings_row, _ = SendingSettings.objects.get_or_create(workspace=workspace)
    return settings_row


@transaction.atomic
def sending_settings_update(
    *,
    workspace,
    postal_address: str | None = None,
    track_opens: bool | None = None,
    track_clicks: bool | None = None,
    rate_per_minute: int | None = None,
) -> SendingSettings:
    """Change what is given. A blank postal address may be saved, but no campaign goes out without one."""
    errors = {}
    if postal_address is not None:
        postal_address = "\n".join(line.strip() for line in str(postal_address).strip().splitlines() if line.strip())
        if len(postal_address) > POSTAL_ADDRESS_MAX:
            errors["postal_address"] = [f"At most {POSTAL_ADDRESS_MAX} characters."]
    if rate_per_minute is not None and (
        isinstance(rate_per_minute, bool)
        or not isinstance(rate_per_minute, int)
        or not RATE_MIN <= rate_per_minute <= RATE_MAX
    ):
        errors["rate_per_minute"] = [f"A whole number of messages per minute, from {RATE_MIN} to {RATE_MAX:,}."]
    for name, value in (("track_opens", track_opens), ("track_clicks", track_clicks)):
        if value is not None and not isinstance(value, bool):
            errors[name] = ["True or false."]
    if errors:
        raise ValidationError(errors)
    sending_settings_get(workspace=workspace)
    settings_row = SendingSettings.objects.select_for_update().get(workspace=workspace)
    changes = {
        "postal_address": postal_address,
        "track_opens": track_opens,
        "track_clicks": track_clicks,
        "rate_per_minute": rate_per_minute,
    }
    for name, value in changes.items():
        if value is not None:
            setattr(settings_row, name, value)
    settings_row.save()
    return settings_row
