"""Contacts written by a person (the dashboard) or a program (the API) on purpose, as opposed to merged
in from a form or an import: creating refuses an email that is taken instead of merging into it."""

from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import Contact, ContactSource, ContactTag, Tag
from crm.services.contacts import contact_update, contact_upsert
from crm.services.fields import email_normalize
from crm.services.tags import contact_tags_add, contact_tags_remove, tags_resolve


def _email_taken(contact_id: int) -> ValidationError:
    return ValidationError({"email": [f"A contact with this email already exists (id {contact_id})."]})


@transaction.atomic
def contact_create(*, workspace, data: dict, source: str = ContactSource.MANUAL, actor=None) -> Contact:
    """A new contact from `data` (email, first_name, last_name, phone, company, custom_fields, stage,
    tags: a list of names). An email that already has a contact is a 400 naming `email` with its id."""
    try:
        email = email_normalize(data.get("email"))
    except ValidationError:
        # Let the upsert's validation refuse it, naming every other bad field along with the email.
        contact_upsert(workspace=workspace, **data, source=source, actor=actor)
        raise
    existing = Contact.objects.for_workspace(workspace).filter(email=email).values_list("pk", flat=True).first()
    if existing is not None:
        raise _email_taken(existing)
    contact, created = contact_upsert(workspace=workspace, **{**data, "email": email}, source=source, actor=actor)
    if not created:
        # Created by a concurrent request since we looked: raising rolls back the merge upsert made.
        raise _email_taken(contact.pk)
    return contact


@transaction.atomic
def contact_tags_set(*, contact: Contact, names: list[str], source: str = ContactSource.MANUAL, actor=None) -> None:
    """Make the contact's tags exactly `names` (created if missing): each tag added or removed is
    recorded and announced as usual, tags it keeps are left alone."""
    wanted = tags_resolve(workspace=contact.workspace, names=names)
    wanted_ids = {tag.pk for tag in wanted}
    current = Tag.objects.filter(pk__in=ContactTag.objects.filter(contact=contact).values("tag_id"))
    contact_tags_remove(
        contact=contact, tags=[tag for tag in current if tag.pk not in wanted_ids], source=source, actor=actor
    )
    contact_tags_add(contact=contact, tags=wanted, source=source, actor=actor)


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    """Gone for good, with its timeline, consents and score history (they cascade)."""
    contact.delete()


@transaction.atomic
def contact_edit(*, contact: Contact, data: dict, source: str = ContactSource.MANUAL, actor=None) -> Contact:
    """crm.services.contacts.contact_update, and `tags` (a list of names), when given, as the whole set."""
    data = dict(data)
    names = data.pop("tags", None)
    contact = contact_update(contact=contact, data=data, source=source, actor=actor)
    if names is not None:
        contact_tags_set(contact=contact, names=names, source=source, actor=actor)
    return contact
