"""Segments: saved rule trees. Names are unique per workspace whatever their case; rules are checked
against the workspace (crm.segments) before they are stored."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from crm.models import Segment
from crm.segments import rules_clean

NAME_MAX = Segment._meta.get_field("name").max_length


def _name_clean(*, workspace, name, exclude_pk: int | None = None) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise ValidationError({"name": ["A segment needs a name."]})
    if len(text) > NAME_MAX:
        raise ValidationError({"name": [f"A segment name has at most {NAME_MAX} characters."]})
    taken = Segment.objects.for_workspace(workspace).filter(name__iexact=text)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"name": [f"There is already a segment named {text!r}."]})
    return text


def _save(segment: Segment) -> Segment:
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:  # a concurrent request took the name since we looked
        raise ValidationError({"name": [f"There is already a segment named {segment.name!r}."]}) from None
    return segment


@transaction.atomic
def segment_create(*, workspace, name: str, rules: dict, description: str = "", actor=None) -> Segment:
    segment = Segment(
        workspace=workspace,
        name=_name_clean(workspace=workspace, name=name),
        description=str(description or "").strip(),
        rules=rules_clean(workspace=workspace, rules=rules),
        created_by=actor if isinstance(actor, User) else None,
    )
    return _save(segment)


@transaction.atomic
def segment_update(
    *, segment: Segment, name: str | None = None, rules: dict | None = None, description: str | None = None
) -> Segment:
    if name is not None:
        segment.name = _name_clean(workspace=segment.workspace, name=name, exclude_pk=segment.pk)
    if rules is not None:
        segment.rules = rules_clean(workspace=segment.workspace, rules=rules)
    if description is not None:
        segment.description = str(description).strip()
    return _save(segment)


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    segment.delete()
