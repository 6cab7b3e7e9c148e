"""Segment rules: what a rule may say, and checking a rule tree against a workspace.

A rule tree is JSON, stored on `Segment.rules` and sent by the dashboard's segment builder:

    group     = {"match": "all" | "any", "rules": [condition | group, …]}   (empty rules: everyone)
    condition = {"field": <field>, "op": <op>, "value": <value>}

The fields, their operators and the kind of value each operator takes are defined once here
(`FIELDS`, `OPS`); the validator, the compiler and the builder's catalog all read them. Errors are
reported by dotted path from the request body's `rules` key, e.g. `rules.rules.2.value`, the same
style as the builder's component trees.
"""

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from crm.models import ActivityKind, ContactSource, ContactStatus, CustomField, CustomFieldType, LifecycleStage, Tag

MAX_DEPTH = 5
MAX_CONDITIONS = 100
MAX_DAYS = 36_500
#: Beyond these, numbers overflow SQLite's integers and midnights fall off the calendar in UTC.
MAX_NUMBER = 10**15
DATE_RANGE = (datetime.date(1900, 1, 1), datetime.date(2999, 12, 31))
TEXT_MAX = 1000
CUSTOM_PREFIX = "custom."


# --- Operators and the values they take --------------------------------------------------------------


class Value:
    """Kinds of value an operator takes; the builder picks its input by these names."""

    NONE = "none"
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    DAYS = "days"
    CHOICES = "choices"
    TAG = "tag"
    ACTIVITY = "activity"


@dataclass(frozen=True)
class Op:
    label: str
    value: str


OPS: dict[str, Op] = {
    "eq": Op("is", Value.TEXT),
    "neq": Op("is not", Value.TEXT),
    "contains": Op("contains", Value.TEXT),
    "not_contains": Op("does not contain", Value.TEXT),
    "starts_with": Op("starts with", Value.TEXT),
    "ends_with": Op("ends with", Value.TEXT),
    "is_set": Op("is set", Value.NONE),
    "is_not_set": Op("is empty", Value.NONE),
    "gt": Op("is more than", Value.NUMBER),
    "gte": Op("is at least", Value.NUMBER),
    "lt": Op("is less than", Value.NUMBER),
    "lte": Op("is at most", Value.NUMBER),
    "before": Op("is before", Value.DATE),
    "after": Op("is after", Value.DATE),
    "on": Op("is on", Value.DATE),
    "within_last_days": Op("is within the last … days", Value.DAYS),
    "more_than_days_ago": Op("is more than … days ago", Value.DAYS),
    "is_true": Op("is yes", Value.NONE),
    "is_false": Op("is no or empty", Value.NONE),
    "in": Op("is any of", Value.CHOICES),
    "not_in": Op("is none of", Value.CHOICES),
    "has": Op("has", Value.TAG),
    "has_not": Op("does not have", Value.TAG),
    "performed": Op("did", Value.ACTIVITY),
    "not_performed": Op("did not do", Value.ACTIVITY),
}

TEXT_OPS = ("eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "is_set", "is_not_set")
NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "is_set", "is_not_set")
#: `eq` and `neq` on a number take a number, not text.
NUMBER_VALUE_OPS = {"eq", "neq", "gt", "gte", "lt", "lte"}
DATE_OPS = ("before", "after", "on", "within_last_days", "is_set", "is_not_set")
TIMESTAMP_OPS = ("before", "after", "within_last_days", "more_than_days_ago")
CHOICE_OPS = ("in", "not_in")

#: Ops per custom field type.
CUSTOM_OPS = {
    CustomFieldType.TEXT: TEXT_OPS,
    CustomFieldType.NUMBER: NUMBER_OPS,
    CustomFieldType.DATE: DATE_OPS,
    CustomFieldType.BOOLEAN: ("is_true", "is_false"),
    CustomFieldType.SELECT: CHOICE_OPS,
}


@dataclass(frozen=True)
class FieldSpec:
    label: str
    type: str
    ops: tuple[str, ...]
    choices: tuple[tuple[str, str], ...] = ()


#: The contact's own fields, then tags and activity; custom fields are added per workspace.
FIELDS: dict[str, FieldSpec] = {
    "email": FieldSpec("Email", "text", TEXT_OPS),
    "first_name": FieldSpec("First name", "text", TEXT_OPS),
    "last_name": FieldSpec("Last name", "text", TEXT_OPS),
    "company": FieldSpec("Company", "text", TEXT_OPS),
    "phone": FieldSpec("Phone", "text", TEXT_OPS),
    # A score is never empty, so it has no is_set / is_not_set.
    "score": FieldSpec("Lead score", "number", NUMBER_OPS[:6]),
    "stage": FieldSpec("Lifecycle stage", "select", CHOICE_OPS, tuple(LifecycleStage.choices)),
    "status": FieldSpec("Status", "select", CHOICE_OPS, tuple(ContactStatus.choices)),
    "source": FieldSpec("Source", "select", CHOICE_OPS, tuple(ContactSource.choices)),
    "created_at": FieldSpec("Created", "datetime", TIMESTAMP_OPS),
    # Never active is "is empty", not "more than N days ago": the two read differently to a marketer.
    "last_activity_at": FieldSpec("Last activity", "datetime", (*TIMESTAMP_OPS, "is_set", "is_not_set")),
    "tag": FieldSpec("Tag", "tag", ("has", "has_not")),
    "activity": FieldSpec("Activity", "activity", ("performed", "not_performed")),
}


def value_kind(field_type: str, op: str) -> str:
    """What `op` takes on a field of `field_type`: number fields compare to numbers."""
    if field_type == "number" and op in NUMBER_VALUE_OPS:
        return Value.NUMBER
    return OPS[op].value


# --- Values ----------------------------------------------------------------------------------------------

#: No NUL characters: PostgreSQL refuses them in any text.
_NO_NUL = r"^[^\x00]*$"
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX, pattern=_NO_NUL)]
_Days = Annotated[int, Field(strict=True, ge=1, le=MAX_DAYS)]


class ActivityValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    ref: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64, pattern=_NO_NUL)] = ""
    within_days: _Days | None = None


_TEXT = TypeAdapter(_Text)
_DAYS = TypeAdapter(_Days)
_TAG = TypeAdapter(Annotated[int, Field(strict=True, ge=1)])
_CHOICES = TypeAdapter(Annotated[list[str], Field(min_length=1, max_length=100)])
_ACTIVITY = TypeAdapter(ActivityValue)


def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("Expected a number.")
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"Expected a number between -{MAX_NUMBER:.0e} and {MAX_NUMBER:.0e}.")
    return value


def _date(value):
    if not isinstance(value, str):
        raise ValueError("Expected a date as YYYY-MM-DD.")
    try:
        day = datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD).") from None
    if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
        raise ValueError(f"Expected a date between {DATE_RANGE[0]} and {DATE_RANGE[1]}.")
    return day.isoformat()


def _adapter(adapter: TypeAdapter) -> Callable[[Any], Any]:
    def validate(value):
        try:
            return adapter.validate_python(value)
        except PydanticValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            raise ValueError(f"{where}: {message}" if where else message) from None

    return validate


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    Value.TEXT: _adapter(_TEXT),
    Value.NUMBER: _number,
    Value.DATE: _date,
    Value.DAYS: _adapter(_DAYS),
    Value.TAG: _adapter(_TAG),
    Value.CHOICES: _adapter(_CHOICES),
}


def _activity(value) -> dict:
    if not isinstance(value, dict):
        raise ValueError('Expected {"kind": …, "ref": …, "within_days": …}.')
    if value.get("kind") not in ActivityKind.values:
        raise ValueError(f"Unknown activity kind {value.get('kind')!r}; expected one of {', '.join(ActivityKind)}.")
    clean = _adapter(_ACTIVITY)(value)
    return clean.model_dump(mode="json", exclude_defaults=True)


_VALIDATORS[Value.ACTIVITY] = _activity


# --- The tree --------------------------------------------------------------------------------------------


class RulesContext:
    """What checking rules needs from the workspace: its custom fields, and which of the tags a rule
    names exist there (looked up once per tree)."""

    def __init__(self, *, workspace):
        self.workspace = workspace
        self.custom_fields: dict[str, CustomField] = {
            field.key: field for field in CustomField.objects.for_workspace(workspace)
        }

    def field_spec(self, name: str) -> FieldSpec | None:
        if name.startswith(CUSTOM_PREFIX):
            field = self.custom_fields.get(name.removeprefix(CUSTOM_PREFIX))
            if field is None:
                return None
            choices = tuple((str(option), str(option)) for option in field.options or ())
            return FieldSpec(field.label, field.type, CUSTOM_OPS[field.type], choices)
        return FIELDS.get(name)


def rules_clean(*, workspace, rules, context: RulesContext | None = None) -> dict:
    """The rule tree checked against the workspace and normalised (values stripped and typed, the
    `match` defaulted), ready to store; ValidationError with every bad rule's path otherwise."""
    context = context or RulesContext(workspace=workspace)
    errors: dict[str, list[str]] = {}
    conditions: list[tuple[str, dict]] = []

    def error(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    def clean_group(node, path: str, depth: int) -> dict | None:
        if not isinstance(node, dict):
            error(path, 'Must be a group: {"match": "all" or "any", "rules": […]}.')
            return None
        if depth > MAX_DEPTH:
            error(path, f"Groups nest at most {MAX_DEPTH} levels deep.")
            return None
        unknown = set(node) - {"match", "rules"}
        if unknown:
            error(path, f"Unknown keys: {', '.join(sorted(map(str, unknown)))}.")
        match = node.get("match", "all")
        if match not in ("all", "any"):
            error(f"{path}.match", 'Must be "all" or "any".')
        children = node.get("rules", [])
        if not isinstance(children, list):
            error(f"{path}.rules", "Must be a list of conditions and groups.")
            return None
        clean = []
        for index, child in enumerate(children):
            child_path = f"{path}.rules.{index}"
            if isinstance(child, dict) and "rules" in child:
                clean.append(clean_group(child, child_path, depth + 1))
            else:
                clean.append(clean_condition(child, child_path))
        return {"match": match, "rules": clean}

    def clean_condition(node, path: str) -> dict | None:
        if not isinstance(node, dict):
            error(path, 'Must be a condition {"field", "op", "value"} or a group {"match", "rules"}.')
            return None
        unknown = set(node) - {"field", "op", "value"}
        if unknown:
            error(path, f"Unknown keys: {', '.join(sorted(map(str, unknown)))}.")
        name, op = node.get("field"), node.get("op")
        spec = context.field_spec(name) if isinstance(name, str) else None
        if spec is None:
            if isinstance(name, str) and name.startswith(CUSTOM_PREFIX):
                error(f"{path}.field", f"No custom field {name.removeprefix(CUSTOM_PREFIX)!r} in this workspace.")
            else:
                error(f"{path}.field", f"Unknown field {name!r}.")
            return None
        if op not in spec.ops:
            error(f"{path}.op", f"{op!r} is not an operator for {name}; expected one of {', '.join(spec.ops)}.")
            return None
        kind = value_kind(spec.type, op)
        if kind == Value.NONE:
            # The builder may leave the previous operator's value behind; it means nothing here.
            value = None
        else:
            try:
                value = _VALIDATORS[kind](node.get("value"))
            except ValueError as exc:
                error(f"{path}.value", str(exc))
                return None
            if kind == Value.CHOICES:
                allowed = {choice for choice, _ in spec.choices}
                bad = [choice for choice in value if choice not in allowed]
                if bad:
                    error(f"{path}.value", f"Not a choice of {name}: {', '.join(map(repr, bad))}.")
                    return None
                value = list(dict.fromkeys(value))
        clean = {"field": name, "op": op, "value": value}
        conditions.append((path, clean))
        return clean

    if not isinstance(rules, dict):
        raise ValidationError({"rules": ['Must be a group: {"match": "all" or "any", "rules": […]}.']})
    tree = clean_group(rules, "rules", 1)
    if len(conditions) > MAX_CONDITIONS:
        error("rules", f"At most {MAX_CONDITIONS} conditions in a segment; this one has {len(conditions)}.")
    tag_ids = {clean["value"] for _, clean in conditions if clean["field"] == "tag"}
    if tag_ids:
        known = set(Tag.objects.for_workspace(workspace).filter(pk__in=tag_ids).values_list("pk", flat=True))
        for path, clean in conditions:
            if clean["field"] == "tag" and clean["value"] not in known:
                error(f"{path}.value", f"No tag {clean['value']} in this workspace.")
    if errors:
        raise ValidationError(errors)
    return tree
