"""The suppression list: contacts no marketing mail may reach (unsubscribed, bounced, complained), as
the API manages them. The contact's status is the list; the CRM's services change it, so every
change lands on the timeline and is announced."""

from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import Contact, ContactSource, ContactStatus
from crm.services.contacts import contact_update, contact_upsert
from crm.services.gdpr import SUPPRESSED, contact_suppress


@transaction.atomic
def suppression_add(
    *, workspace, email: str, reason: str = ContactStatus.UNSUBSCRIBED, note: str = "", actor=None
) -> Contact:
    """Suppress the address for `reason` (unsubscribed, bounced or complained), creating its contact
    when the workspace doesn't know it yet, so the address stays blocked if it signs up later."""
    if reason not in SUPPRESSED:
        raise ValidationError({"reason": [f"{reason!r} is not one of: {', '.join(SUPPRESSED)}."]})
    contact, _ = contact_upsert(workspace=workspace, email=email, source=ContactSource.API, actor=actor)
    return contact_suppress(contact=contact, status=reason, reason=note, source=ContactSource.API, actor=actor)


@transaction.atomic
def suppression_lift(*, contact: Contact, actor=None) -> Contact:
    """Make a bounced or complained address sendable again (after the mailbox was fixed, say). An
    unsubscribe is the person's wish: only they undo it, by resubscribing or signing up again."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.status == ContactStatus.UNSUBSCRIBED:
        raise ValidationError(
            {
                "reason": [
                    "This contact unsubscribed; only they can resubscribe, from the link in any email or by "
                    "signing up again with consent."
                ]
            }
        )
    if contact.status not in SUPPRESSED:
        raise ValidationError({"reason": [f"This contact is not suppressed (its status is {contact.status})."]})
    return contact_update(contact=contact, data={"status": ContactStatus.ACTIVE}, source=ContactSource.API, actor=actor)
