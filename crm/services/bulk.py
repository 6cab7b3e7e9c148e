"""Bulk actions on many contacts at once: tag, untag, delete.

Set-based: the tag links are written and read back a chunk of contacts at a time, and only the
contacts whose tags really changed get a timeline entry and an event, exactly as one-by-one tagging
would record them.
"""

from collections.abc import Iterator
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from core.events import emit_many
from crm.events import TAG_ADDED, TAG_REMOVED
from crm.models import ActivityKind, Contact, ContactActivity, ContactSource, ContactTag, Tag
from crm.selectors.contacts import SEARCH_PARAM, contact_list, list_params_check
from crm.selectors.scoring import scoring_rules_for
from crm.services.scoring import score_activity
from crm.services.tags import tag_name_clean, tags_resolve

#: Contacts per statement: well under SQLite's limit on query parameters.
CHUNK = 500
BULK_ACTIONS = ("tag", "untag", "delete")
#: Each changed contact gets a timeline entry and an event in the request; more is a job for an import.
BULK_MAX = 1000


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _record(workspace, contacts: list[Contact], tag: Tag, *, added: bool, source: str, actor) -> None:
    """What activity_record() and emit() do for each contact, in one insert each. Tag activities are
    not engagement (they leave last_activity_at alone); scoring rules for them still apply."""
    if not contacts:
        return
    kind, event = (ActivityKind.TAG_ADDED, TAG_ADDED) if added else (ActivityKind.TAG_REMOVED, TAG_REMOVED)
    at = timezone.now()
    activities = ContactActivity.objects.bulk_create(
        ContactActivity(
            workspace=workspace,
            contact=contact,
            kind=kind,
            ref=str(tag.pk),
            data={"tag": tag.name},
            source=source,
            actor=actor if isinstance(actor, User) else None,
            at=at,
        )
        for contact in contacts
    )
    emit_many(
        workspace=workspace,
        events=[(event, {"contact_id": c.pk, "tag_id": tag.pk, "tag": tag.name}, c) for c in contacts],
    )
    if scoring_rules_for(workspace_id=workspace.pk, kind=kind):
        for activity in activities:
            score_activity(activity=activity)


@transaction.atomic
def contacts_tag(
    *, workspace, contact_ids: list[int], names: list[str], source: str = ContactSource.MANUAL, actor=None
) -> int:
    """Add the tags (created if missing) to the workspace's contacts among `contact_ids`; returns how
    many contacts gained at least one tag. Ids of other workspaces' contacts are ignored."""
    tags = tags_resolve(workspace=workspace, names=names)
    changed: set[int] = set()
    for chunk in _chunks(contact_ids):
        contacts = {contact.pk: contact for contact in Contact.objects.for_workspace(workspace).filter(pk__in=chunk)}
        for tag in tags:
            had = set(ContactTag.objects.filter(tag=tag, contact_id__in=contacts).values_list("contact_id", flat=True))
            # Our rows carry this exact timestamp: reading them back tells the links we created from
            # any a concurrent request added between our read and our write (those it records itself).
            stamp = timezone.now()
            ContactTag.objects.bulk_create(
                [
                    ContactTag(workspace=workspace, contact_id=pk, tag=tag, added_at=stamp)
                    for pk in contacts
                    if pk not in had
                ],
                ignore_conflicts=True,
            )
            created = ContactTag.objects.filter(tag=tag, contact_id__in=contacts, added_at=stamp).values_list(
                "contact_id", flat=True
            )
            created = sorted(created)
            _record(workspace, [contacts[pk] for pk in created], tag, added=True, source=source, actor=actor)
            changed.update(created)
    return len(changed)


@transaction.atomic
def contacts_untag(
    *, workspace, contact_ids: list[int], names: list[str], source: str = ContactSource.MANUAL, actor=None
) -> int:
    """Remove the tags from the workspace's contacts among `contact_ids`; returns how many contacts
    lost at least one. A name no tag has removes nothing."""
    names = [tag_name_clean(name) for name in names]
    tags = list(Tag.objects.for_workspace(workspace).filter(reduce(or_, (Q(name__iexact=name) for name in names))))
    changed: set[int] = set()
    for chunk in _chunks(contact_ids):
        contacts = {contact.pk: contact for contact in Contact.objects.for_workspace(workspace).filter(pk__in=chunk)}
        for tag in tags:
            # Locked, so of two concurrent removals only one finds (and records) each link.
            links = dict(
                ContactTag.objects.select_for_update()
                .filter(tag=tag, contact_id__in=contacts)
                .order_by("contact_id")
                .values_list("pk", "contact_id")
            )
            ContactTag.objects.filter(pk__in=links).delete()
            _record(workspace, [contacts[pk] for pk in links.values()], tag, added=False, source=source, actor=actor)
            changed.update(links.values())
    return len(changed)


@transaction.atomic
def contacts_delete(*, workspace, contact_ids: list[int]) -> int:
    """Delete the workspace's contacts among `contact_ids` (their timelines cascade); returns how many."""
    deleted = 0
    for chunk in _chunks(contact_ids):
        _, per_model = Contact.objects.for_workspace(workspace).filter(pk__in=chunk).delete()
        deleted += per_model.get(Contact._meta.label, 0)
    return deleted


def contacts_bulk(
    *,
    workspace,
    action: str,
    ids: list[int] | None = None,
    filters: dict | None = None,
    names: list[str] = (),
    source: str = ContactSource.MANUAL,
    actor=None,
) -> int:
    """One of BULK_ACTIONS on the contacts named by `ids`, or on those the list's `filters` (plus an
    optional "search" key) match, at most BULK_MAX either way; returns how many contacts it changed."""
    if action not in BULK_ACTIONS:
        raise ValidationError({"action": [f"{action!r} is not one of: {', '.join(BULK_ACTIONS)}."]})
    if (ids is None) == (filters is None):
        raise ValidationError({"ids": ["Give either ids or filter, not both or neither."]})
    if action != "delete" and not names:
        raise ValidationError({"tags": ["Name at least one tag."]})
    if ids is not None:
        field, contact_ids = "ids", list(dict.fromkeys(ids))
    else:
        field, contact_ids = "filter", _matching_ids(workspace, filters)
    if len(contact_ids) > BULK_MAX:
        raise ValidationError(
            {field: [f"At most {BULK_MAX:,} contacts at a time; this names {len(contact_ids):,}. Narrow it down."]}
        )
    if action == "delete":
        return contacts_delete(workspace=workspace, contact_ids=contact_ids)
    change = contacts_tag if action == "tag" else contacts_untag
    return change(workspace=workspace, contact_ids=contact_ids, names=names, source=source, actor=actor)


def _matching_ids(workspace, filters: dict) -> list[int]:
    """The ids the contact list would show for these parameters (one more than BULK_MAX at most)."""
    list_params_check(filters, field="filter")
    params = dict(filters)
    search = params.pop(SEARCH_PARAM, "")
    if not isinstance(search, str):
        raise ValidationError({"filter.search": ["Expected text."]})
    try:
        contacts = contact_list(workspace=workspace, filters=params, search=search)
        return list(contacts.prefetch_related(None).values_list("pk", flat=True)[: BULK_MAX + 1])
    except ValidationError as exc:
        raise ValidationError({f"filter.{key}": messages for key, messages in exc.message_dict.items()}) from None
