"""Tags: finding or creating them by name, and putting them on and off contacts."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.events import emit
from crm.events import TAG_ADDED, TAG_REMOVED
from crm.models import ActivityKind, Contact, ContactTag, Tag
from crm.services.activities import activity_record

TAG_NAME_MAX = Tag._meta.get_field("name").max_length


def tag_name_clean(name) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise ValidationError({"tags": ["A tag needs a name."]})
    if len(text) > TAG_NAME_MAX:
        raise ValidationError({"tags": [f"A tag name has at most {TAG_NAME_MAX} characters: {text[:20]!r}…"]})
    return text


def tags_resolve(*, workspace, names: Iterable[str]) -> list[Tag]:
    """The workspace's tags by name, case-insensitively, creating the missing ones; in the order
    given, without repeats."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = tag_name_clean(name)
        wanted.setdefault(clean.lower(), clean)
    if not wanted:
        return []
    found = {tag.name.lower(): tag for tag in Tag.objects.for_workspace(workspace).filter(name__in=wanted.values())}
    # name__in is case-sensitive on PostgreSQL; look up the rest one by one, case-insensitively.
    for key, name in wanted.items():
        if key in found:
            continue
        tag = Tag.objects.for_workspace(workspace).filter(name__iexact=name).first()
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(workspace=workspace, name=name)
            except IntegrityError:  # created by a concurrent request since we looked
                tag = Tag.objects.for_workspace(workspace).get(name__iexact=name)
        found[key] = tag
    return [found[key] for key in wanted]


def _announce(contact: Contact, tag: Tag, *, added: bool, source: str, actor) -> None:
    activity_record(
        contact=contact,
        kind=ActivityKind.TAG_ADDED if added else ActivityKind.TAG_REMOVED,
        ref=str(tag.pk),
        data={"tag": tag.name},
        source=source,
        actor=actor,
    )
    emit(
        workspace=contact.workspace_id,
        type=TAG_ADDED if added else TAG_REMOVED,
        payload={"contact_id": contact.pk, "tag_id": tag.pk, "tag": tag.name},
        subject=contact,
    )


@transaction.atomic
def contact_tags_add(*, contact: Contact, tags: Iterable[Tag], source: str = "", actor=None) -> list[Tag]:
    """Tag the contact; returns the tags that were new to it (each recorded and announced once)."""
    tags = list(tags)
    have = set(ContactTag.objects.filter(contact=contact, tag__in=tags).values_list("tag_id", flat=True))
    added = []
    for tag in tags:
        if tag.pk in have:
            continue
        _, created = ContactTag.objects.get_or_create(workspace_id=contact.workspace_id, contact=contact, tag=tag)
        if created:
            added.append(tag)
            _announce(contact, tag, added=True, source=source, actor=actor)
    return added


@transaction.atomic
def contact_tags_remove(*, contact: Contact, tags: Iterable[Tag], source: str = "", actor=None) -> list[Tag]:
    """Untag the contact; returns the tags it had."""
    tags = list(tags)
    links = ContactTag.objects.filter(contact=contact, tag__in=tags).select_related("tag")
    removed = [link.tag for link in links]
    links.delete()
    for tag in removed:
        _announce(contact, tag, added=False, source=source, actor=actor)
    return removed
