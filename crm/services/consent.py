"""Consent: each grant and withdrawal kept with the words shown, and the contact's status to match."""

import datetime

from django.db import transaction
from django.utils import timezone

from crm.models import ActivityKind, ConsentRecord, Contact, ContactStatus
from crm.services.activities import activity_record

MARKETING_EMAIL = "marketing_email"


@transaction.atomic
def consent_record(
    *,
    contact: Contact,
    granted: bool,
    purpose: str = MARKETING_EMAIL,
    text: str = "",
    source: str = "",
    source_ref: str = "",
    ip_hash: str = "",
    actor=None,
    at: datetime.datetime | None = None,
) -> ConsentRecord:
    at = at or timezone.now()
    record = ConsentRecord.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        purpose=purpose,
        granted=granted,
        text=text,
        source=source,
        source_ref=str(source_ref)[:64],
        ip_hash=ip_hash,
        at=at,
    )
    activity_record(
        contact=contact,
        kind=ActivityKind.CONSENT_GIVEN if granted else ActivityKind.CONSENT_WITHDRAWN,
        ref=purpose,
        data={"purpose": purpose, "text": text},
        source=source,
        actor=actor,
        at=at,
    )
    if purpose == MARKETING_EMAIL:
        # A fresh opt-in brings back someone who had unsubscribed, or confirms someone awaiting a
        # double opt-in; a bounce or complaint is about the address, not the person's wishes, so it stays.
        if granted and contact.status in (ContactStatus.UNSUBSCRIBED, ContactStatus.UNCONFIRMED):
            contact.status = ContactStatus.ACTIVE
            contact.save(update_fields=["status", "updated_at"])
        elif not granted and contact.status == ContactStatus.ACTIVE:
            contact.status = ContactStatus.UNSUBSCRIBED
            contact.save(update_fields=["status", "updated_at"])
    return record
