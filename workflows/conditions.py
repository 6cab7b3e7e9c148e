"""Rules over a step's data, as used by the condition, switch and goal nodes.

    {"all": [rule or group, …]} | {"any": [rule or group, …]}
    rule: {"field": "contact.first_name", "op": "equals", "value": "Ada"}

Fields name what a template sees: `contact.<field>` (custom fields by key), `contact.tags`,
`contact.score`, `trigger.<path>`, `steps.<node id>.output.<path>`, `workspace.<field>`. A field the
data doesn't have is missing: it equals nothing, is not set, and the negative operators (not_equals,
not_contains, not_in, not_has_tag) hold for it, so a rule over an absent custom field reads as a
marketer expects rather than failing the step.

Text compares case-insensitively; a number given as text compares as a number, and an ISO date
as a date, so `{"op": "gt", "value": "10"}` works on a score and on a custom number field alike.
"""

import datetime
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

OPS = (
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_set",
    "is_not_set",
    "in",
    "not_in",
    "has_tag",
    "not_has_tag",
)
#: Operators that take no value.
UNARY = frozenset({"is_set", "is_not_set"})
#: Operators whose value is a list.
LIST_OPS = frozenset({"in", "not_in"})
TAG_OPS = frozenset({"has_tag", "not_has_tag"})
ROOTS = ("contact", "trigger", "steps", "workspace")
MAX_DEPTH = 5
MAX_RULES = 100
# Segments never start with "_": data is read from plain mappings anyway, but a rule naming
# `__class__` is a mistake or a probe, and is refused as the templates refuse it.
FIELD_RE = re.compile(r"^(contact|trigger|steps|workspace)(\.[A-Za-z0-9-][A-Za-z0-9_-]{0,63}){0,8}$")

_ITEM_SCHEMA: dict = {
    "type": "object",
    "description": "A rule {field, op, value}, or a nested group {all: [...]} / {any: [...]}.",
    "properties": {
        "field": {
            "type": "string",
            "description": "contact.<field>, contact.tags, trigger.<path>, steps.<id>.output.<path>",
        },
        "op": {"type": "string", "enum": list(OPS)},
        "value": {},
        "all": {"type": "array", "items": {"type": "object"}},
        "any": {"type": "array", "items": {"type": "object"}},
    },
}
#: JSON Schema of a rule group, for the editor (config models declare their rules with it).
RULE_SCHEMA: dict = {
    "type": "object",
    "format": "rules",
    "description": 'Rules: {"all": [...]} or {"any": [...]}, each item a rule {field, op, value} or a nested group.',
    "properties": {"all": {"type": "array", "items": _ITEM_SCHEMA}, "any": {"type": "array", "items": _ITEM_SCHEMA}},
    "default": {"all": []},
}


# --- Checking -----------------------------------------------------------------------------------------


def rules_errors(rules: Any, *, path: str = "rules", node_ids=None) -> dict[str, list[str]]:
    """Each problem under its path ("rules.all.2.op"); empty when the rules are fine. With `node_ids`,
    a `steps.<id>` field must name one of them."""
    errors: dict[str, list[str]] = {}
    count = [0]
    _group_errors(rules, path, 1, errors, count, node_ids, top=True)
    if count[0] > MAX_RULES:
        errors.setdefault(path, []).append(f"At most {MAX_RULES} rules.")
    return errors


def _add(errors: dict, path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def _group_errors(group, path: str, depth: int, errors: dict, count: list, node_ids, *, top=False) -> None:
    if not isinstance(group, dict):
        _add(errors, path, 'Must be a group: {"all": [...]} or {"any": [...]}.')
        return
    keys = set(group)
    if len(keys) != 1 or not keys <= {"all", "any"}:
        _add(errors, path, 'A group has exactly one key, "all" or "any".')
        return
    if depth > MAX_DEPTH:
        _add(errors, path, f"Groups nest at most {MAX_DEPTH} deep.")
        return
    (key,) = keys
    items = group[key]
    if not isinstance(items, list):
        _add(errors, f"{path}.{key}", "Must be a list of rules.")
        return
    if top and not items:
        _add(errors, f"{path}.{key}", "Add at least one rule.")
    for index, item in enumerate(items):
        item_path = f"{path}.{key}.{index}"
        if isinstance(item, dict) and ("all" in item or "any" in item):
            _group_errors(item, item_path, depth + 1, errors, count, node_ids)
        else:
            count[0] += 1
            _rule_errors(item, item_path, errors, node_ids)


def _rule_errors(rule, path: str, errors: dict, node_ids) -> None:
    if not isinstance(rule, dict):
        _add(errors, path, "A rule is an object: {field, op, value}.")
        return
    unknown = set(rule) - {"field", "op", "value"}
    if unknown:
        _add(errors, path, f"Unknown keys: {', '.join(sorted(map(str, unknown)))}.")
    op = rule.get("op")
    if op not in OPS:
        _add(errors, f"{path}.op", f"Unknown operator {op!r}. Known: {', '.join(OPS)}.")
        return
    field = rule.get("field", "contact.tags" if op in TAG_OPS else None)
    if not isinstance(field, str) or not FIELD_RE.match(field):
        _add(
            errors,
            f"{path}.field",
            "A field like contact.first_name, contact.tags, trigger.data.email or steps.<node id>.output.status.",
        )
    elif field.startswith("steps."):
        parts = field.split(".")
        if len(parts) < 3 or parts[2] != "output":
            _add(errors, f"{path}.field", "A step's field reads its output: steps.<node id>.output.<path>.")
        elif node_ids is not None and parts[1] not in node_ids:
            _add(errors, f"{path}.field", f"There is no node {parts[1]!r}.")
    elif field in ("contact", "trigger", "workspace"):
        _add(errors, f"{path}.field", f"Name a field of {field}, like {field}.<name>.")
    value = rule.get("value")
    if op in UNARY:
        return
    if "value" not in rule or value is None:
        _add(errors, f"{path}.value", "This operator needs a value.")
    elif op in LIST_OPS:
        if not isinstance(value, list) or not all(_is_scalar(item) for item in value):
            _add(errors, f"{path}.value", "A list of values.")
        elif len(value) > 500:
            _add(errors, f"{path}.value", "At most 500 values.")
    elif not _is_scalar(value):
        _add(errors, f"{path}.value", "A single value: text, a number or true/false.")
    elif op in TAG_OPS and not str(value).strip():
        _add(errors, f"{path}.value", "Name a tag.")
    elif isinstance(value, str) and len(value) > 1000:
        _add(errors, f"{path}.value", "At most 1000 characters.")


def tag_key(name) -> str:
    """A tag's name as the CRM compares it: spaces collapsed, case ignored."""
    return " ".join(str(name or "").split()).lower()


def _is_scalar(value) -> bool:
    return isinstance(value, str | int | float | bool)


# --- Evaluating ----------------------------------------------------------------------------------------

_MISSING = object()


class _Data:
    """What rules read, built once per evaluation; the contact's tags are read only if a rule asks."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.context = ctx.template_context()
        self._tags: set[str] | None = None

    @property
    def tags(self) -> set[str]:
        if self._tags is None:
            contact = self.ctx.contact
            if contact is None or contact.pk is None:
                self._tags = set()
            else:
                names = contact.tags.values_list("name", flat=True)
                self._tags = {tag_key(name) for name in names}
        return self._tags

    def get(self, field: str):
        if field == "contact.tags":
            return sorted(self.tags) if self.ctx.contact is not None else _MISSING
        value = self.context
        for part in field.split("."):
            if isinstance(value, dict):
                value = value.get(part, _MISSING)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return _MISSING
            if value is _MISSING:
                return _MISSING
        return value


def evaluate(rules: dict, ctx) -> bool:
    """Whether the rules hold for this step's data. Rules are checked when the definition is saved;
    anything malformed that got here anyway evaluates to False rather than failing the step."""
    return _group(rules, _Data(ctx))


def _group(group, data: _Data) -> bool:
    if not isinstance(group, dict):
        return False
    if "all" in group:
        items = group["all"]
        return isinstance(items, list) and all(_item(item, data) for item in items)
    if "any" in group:
        items = group["any"]
        return isinstance(items, list) and any(_item(item, data) for item in items)
    return False


def _item(item, data: _Data) -> bool:
    if isinstance(item, dict) and ("all" in item or "any" in item):
        return _group(item, data)
    if not isinstance(item, dict):
        return False
    return rule_holds(item, data)


def rule_holds(rule: dict, data: _Data) -> bool:
    op = rule.get("op")
    value = rule.get("value")
    if op in TAG_OPS:
        has = tag_key(value) in data.tags
        return has if op == "has_tag" else not has
    found = data.get(str(rule.get("field", "")))
    match op:
        case "is_set":
            return _is_set(found)
        case "is_not_set":
            return not _is_set(found)
        case "equals":
            return _equals(found, value)
        case "not_equals":
            return not _equals(found, value)
        case "contains":
            return _contains(found, value)
        case "not_contains":
            return not _contains(found, value)
        case "starts_with":
            return _is_text(found) and _fold(found).startswith(_fold(value))
        case "ends_with":
            return _is_text(found) and _fold(found).endswith(_fold(value))
        case "gt" | "gte" | "lt" | "lte":
            return _compare(found, value, op)
        case "in":
            return isinstance(value, list) and any(_equals(found, item) for item in value)
        case "not_in":
            return not (isinstance(value, list) and any(_equals(found, item) for item in value))
    return False


def _is_set(value) -> bool:
    return value is not _MISSING and value is not None and value != "" and value != [] and value != {}


def _is_text(value) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _fold(value) -> str:
    return str(value).strip().casefold()


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None or value is _MISSING:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _date(value) -> datetime.datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _equals(found, value) -> bool:
    if found is _MISSING or found is None:
        return value is None
    if isinstance(found, bool) or isinstance(value, bool):
        left = found if isinstance(found, bool) else _BOOLEANS.get(_fold(found))
        right = value if isinstance(value, bool) else _BOOLEANS.get(_fold(value))
        return left is not None and left == right
    if isinstance(found, list):
        return False
    left, right = _number(found), _number(value)
    if left is not None and right is not None:
        return left == right
    return _is_text(found) and _fold(found) == _fold(value)


def _contains(found, value) -> bool:
    if isinstance(found, list):
        return any(_equals(item, value) for item in found)
    if isinstance(found, dict):
        return str(value) in found
    return _is_text(found) and _fold(value) in _fold(found)


def _compare(found, value, op: str) -> bool:
    left, right = _number(found), _number(value)
    if left is None or right is None:
        left, right = _date(found), _date(value)
        if left is None or right is None:
            return False
    match op:
        case "gt":
            return left > right
        case "gte":
            return left >= right
        case "lt":
            return left < right
        case _:
            return left <= right
