"""Reading segments: who is in one, how many, a preview of unsaved rules, and the catalog of fields
and operators the dashboard's segment builder renders from."""

import datetime

from django.db.models import QuerySet

from crm.models import ActivityKind, Contact, CustomField, Segment, Tag
from crm.segments import rules_q
from crm.segments.rules import CUSTOM_OPS, CUSTOM_PREFIX, FIELDS, OPS, value_kind
from crm.selectors.contacts import tags_prefetch

PREVIEW_SAMPLE = 10


def rules_contacts(*, workspace, rules: dict, now: datetime.datetime | None = None) -> QuerySet[Contact]:
    """The workspace's contacts matching `rules` (checked first: ValidationError naming a bad rule)."""
    return Contact.objects.for_workspace(workspace).filter(rules_q(workspace=workspace, rules=rules, now=now))


def segment_contacts(*, segment: Segment, now: datetime.datetime | None = None) -> QuerySet[Contact]:
    return rules_contacts(workspace=segment.workspace, rules=segment.rules, now=now)


def segment_count(*, segment: Segment, now: datetime.datetime | None = None) -> int:
    return segment_contacts(segment=segment, now=now).order_by().count()


def segment_preview(*, workspace, rules: dict, now: datetime.datetime | None = None) -> dict:
    """How many contacts unsaved rules match, and the first few of them (newest first)."""
    contacts = rules_contacts(workspace=workspace, rules=rules, now=now)
    sample = contacts.prefetch_related(tags_prefetch())[:PREVIEW_SAMPLE]
    return {"count": contacts.order_by().count(), "sample": list(sample)}


def _ops(field_type: str, ops) -> list[dict]:
    return [{"op": op, "label": OPS[op].label, "value": value_kind(field_type, op)} for op in ops]


def _choices(pairs) -> list[dict]:
    return [{"value": value, "label": label} for value, label in pairs]


def segment_rule_catalog(*, workspace) -> list[dict]:
    """Every field a rule can name in this workspace: its label, type, operators (each with its label
    and the kind of value it takes: none, text, number, date, days, choices, tag, activity) and, where
    the value is picked from a list, the choices (tags and activity kinds included)."""
    catalog = []
    tags = _choices(Tag.objects.for_workspace(workspace).order_by("name", "id").values_list("id", "name"))
    for name, spec in FIELDS.items():
        entry = {"field": name, "label": spec.label, "type": spec.type, "group": "contact", "ops": []}
        entry["ops"] = _ops(spec.type, spec.ops)
        if name == "tag":
            entry["choices"] = tags
        elif name == "activity":
            entry["choices"] = _choices(ActivityKind.choices)
        elif spec.choices:
            entry["choices"] = _choices(spec.choices)
        catalog.append(entry)
    for field in CustomField.objects.for_workspace(workspace):
        entry = {
            "field": f"{CUSTOM_PREFIX}{field.key}",
            "label": field.label,
            "type": field.type,
            "group": "custom",
            "ops": _ops(field.type, CUSTOM_OPS[field.type]),
        }
        if field.options:
            entry["choices"] = _choices((str(option), str(option)) for option in field.options)
        catalog.append(entry)
    return catalog
