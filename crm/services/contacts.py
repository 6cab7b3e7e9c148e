"""Creating and changing contacts. Every path that writes a contact's fields goes through here, so
each change lands on the timeline and is announced to workflows."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.events import emit
from crm.events import CONTACT_CREATED, CONTACT_UPDATED
from crm.models import (
    ActivityKind,
    Contact,
    ContactSource,
    ContactStatus,
    CustomField,
    LifecycleStage,
)
from crm.services.activities import activity_record
from crm.services.fields import (
    all_or_errors,
    custom_fields_clean,
    custom_fields_for,
    email_normalize,
    profile_clean,
)
from crm.services.tags import contact_tags_add, tags_resolve


def _choice(name: str, value, choices) -> str:
    if value not in choices.values:
        raise ValidationError({name: [f"{value!r} is not one of: {', '.join(choices.values)}."]})
    return value


def contact_changes_apply(contact: Contact, profile: dict, custom: dict, extra: dict) -> dict[str, tuple]:
    """Set the values on the instance; returns field → (old, new) for those that changed."""
    changes = {}
    for name, value in {**profile, **extra}.items():
        old = getattr(contact, name)
        if old != value:
            changes[name] = (old, value)
            setattr(contact, name, value)
    if custom:
        values = dict(contact.custom_fields)
        for key, value in custom.items():
            old = values.get(key)
            if old == value:
                continue
            changes[f"custom_fields.{key}"] = (old, value)
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        contact.custom_fields = values
    return changes


def _record_changes(contact: Contact, changes: dict[str, tuple], *, source: str, actor) -> None:
    if not changes:
        return
    for name, (old, new) in changes.items():
        activity_record(
            contact=contact,
            kind=ActivityKind.FIELD_CHANGED,
            ref=name,
            data={"field": name, "from": old, "to": new},
            source=source,
            actor=actor,
        )
    emit(
        workspace=contact.workspace_id,
        type=CONTACT_UPDATED,
        payload={"contact_id": contact.pk, "changed": sorted(changes)},
        subject=contact,
    )


def _lock_by_email(workspace, email: str) -> Contact | None:
    return Contact.objects.select_for_update().filter(workspace=workspace, email=email).first()


@transaction.atomic
def contact_upsert(
    *,
    workspace,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    company: str = "",
    custom_fields: dict | None = None,
    tags: list[str] | tuple[str, ...] = (),
    stage: str | None = None,
    source: str = ContactSource.API,
    source_ref: str = "",
    actor=None,
    fields: dict[str, CustomField] | None = None,
    at: datetime.datetime | None = None,
) -> tuple[Contact, bool]:
    """The contact with this email, created or merged into: a value given replaces the stored one, an
    empty value never does. Returns (contact, created).

    Safe under concurrency: the unique (workspace, email) index decides the race, the loser of an
    insert retries as an update of the winner's row.
    """
    email, profile, custom, extra = all_or_errors(
        lambda: email_normalize(email),
        lambda: profile_clean(
            {"first_name": first_name, "last_name": last_name, "phone": phone, "company": company}, keep_empty=False
        ),
        # No custom values, no need to read the workspace's definitions.
        lambda: (
            custom_fields_clean(
                fields=fields if fields is not None else custom_fields_for(workspace), values=custom_fields
            )
            if custom_fields
            else {}
        ),
        lambda: {"stage": _choice("stage", stage, LifecycleStage)} if stage else {},
    )
    _choice("source", source, ContactSource)

    contact = _lock_by_email(workspace, email)
    created = False
    if contact is None:
        try:
            with transaction.atomic():
                contact = Contact.objects.create(
                    workspace=workspace,
                    email=email,
                    custom_fields=custom,
                    source=source,
                    source_ref=str(source_ref)[:64],
                    created_at=at or timezone.now(),
                    **profile,
                    **extra,
                )
            created = True
        except IntegrityError:
            contact = _lock_by_email(workspace, email)
            if contact is None:  # not a duplicate email after all: let the real error out
                raise
    if created:
        activity_record(
            contact=contact,
            kind=ActivityKind.CONTACT_CREATED,
            ref=str(source_ref)[:64],
            data={"source": source},
            source=source,
            actor=actor,
            at=at,
        )
        emit(
            workspace=contact.workspace_id,
            type=CONTACT_CREATED,
            payload={"contact_id": contact.pk, "source": source, "source_ref": str(source_ref)},
            subject=contact,
        )
    else:
        changes = contact_changes_apply(contact, profile, custom, extra)
        if changes:
            contact.save()
        _record_changes(contact, changes, source=source, actor=actor)
    if tags:
        contact_tags_add(
            contact=contact, tags=tags_resolve(workspace=workspace, names=tags), source=source, actor=actor
        )
    return contact, created


@transaction.atomic
def contact_update(*, contact: Contact, data: dict, source: str = ContactSource.MANUAL, actor=None) -> Contact:
    """An explicit edit (the API, the dashboard): what is given is set, an empty value clears it.
    `data` may hold the profile fields, `email`, `stage`, `status` and `custom_fields`."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)

    def email_free() -> dict:
        if "email" not in data:
            return {}
        email = email_normalize(data["email"])
        taken = Contact.objects.filter(workspace_id=contact.workspace_id, email=email).exclude(pk=contact.pk)
        if taken.exists():
            raise ValidationError({"email": ["Another contact already has this email address."]})
        return {"email": email}

    def choices() -> dict:
        return {
            name: _choice(name, data[name], options)
            for name, options in (("stage", LifecycleStage), ("status", ContactStatus))
            if name in data
        }

    def custom_values() -> dict:
        if "custom_fields" not in data:
            return {}
        return custom_fields_clean(
            fields=custom_fields_for(contact.workspace_id), values=data["custom_fields"], keep_empty=True
        )

    profile, address, states, custom = all_or_errors(
        lambda: profile_clean(data, keep_empty=True), email_free, choices, custom_values
    )
    extra = {**address, **states}
    changes = contact_changes_apply(contact, profile, custom, extra)
    if changes:
        contact.save()
    _record_changes(contact, changes, source=source, actor=actor)
    return contact


def contact_note_add(*, contact: Contact, text: str, actor=None):
    text = str(text or "").strip()
    if not text:
        raise ValidationError({"text": ["A note needs some text."]})
    if len(text) > 10_000:
        raise ValidationError({"text": ["A note has at most 10,000 characters."]})
    return activity_record(contact=contact, kind=ActivityKind.NOTE, data={"text": text}, source="manual", actor=actor)
