"""A checked rule tree compiled into one Q over Contact: one SQL query, whatever the tree.

What empty and missing values mean, since negative operators must say what they do with them:

- The contact's text fields are never NULL, only blank. `neq`, `not_contains` include blank values;
  `is_not_set` is exactly "blank". Text matching ignores case.
- A custom field is "not set" when its key is missing or JSON null. Every negative operator on a
  custom field (`neq`, `not_contains`, `not_in`, `is_false`) includes contacts for which the field
  is not set; every positive one excludes them.
- `has_not` a tag and `not_performed` an activity are plain NOT EXISTS.
- A contact never active has no `last_activity_at`: it matches `is_not_set` and none of the date
  comparisons.
- Dates name whole days in the workspace's time zone: `before` D is before D starts, `after` D is
  from the day after D; `within_last_days` N on a timestamp is the last N x 24 hours before `now`,
  on a custom date field the dates from today - N to today.
"""

import datetime
import operator
from functools import reduce
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.models import ContactActivity, ContactTag, CustomFieldType
from crm.segments.rules import CUSTOM_PREFIX, RulesContext

_TEXT_LOOKUPS = {"eq": "iexact", "contains": "icontains", "starts_with": "istartswith", "ends_with": "iendswith"}
_NEGATED = {"neq": "eq", "not_contains": "contains", "not_in": "in"}
_NUMBER_LOOKUPS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


class Compiler:
    def __init__(self, context: RulesContext, now: datetime.datetime | None = None):
        self.context = context
        self.workspace = context.workspace
        self.now = now or timezone.now()
        self.zone = ZoneInfo(self.workspace.timezone or "UTC")
        self.today = self.now.astimezone(self.zone).date()

    def group(self, group: dict) -> Q | None:
        """The group's Q, or None for "everyone" (an empty group, or `any` holding an empty group)."""
        parts = [self.group(rule) if "rules" in rule else self.condition(rule) for rule in group["rules"]]
        if group["match"] == "any":
            if not parts or any(part is None for part in parts):
                return None
            return reduce(operator.or_, parts)
        parts = [part for part in parts if part is not None]
        return reduce(operator.and_, parts) if parts else None

    def condition(self, rule: dict) -> Q:
        field, op, value = rule["field"], rule["op"], rule["value"]
        if field.startswith(CUSTOM_PREFIX):
            return self.custom(field.removeprefix(CUSTOM_PREFIX), op, value)
        if field == "tag":
            exists = Exists(ContactTag.objects.filter(contact_id=OuterRef("pk"), tag_id=value))
            return Q(exists) if op == "has" else ~Q(exists)
        if field == "activity":
            return self.activity(op, value)
        if field in ("stage", "status", "source"):
            return Q(**{f"{field}__in": value}) if op == "in" else ~Q(**{f"{field}__in": value})
        if field == "score":
            return ~Q(score=value) if op == "neq" else Q(**{f"score__{_NUMBER_LOOKUPS[op]}": value})
        if field in ("created_at", "last_activity_at"):
            return self.timestamp(field, op, value)
        return self.text(field, op, value)

    def text(self, field: str, op: str, value) -> Q:
        if op == "is_set":
            return ~Q(**{field: ""})
        if op == "is_not_set":
            return Q(**{field: ""})
        if op in _NEGATED:
            return ~self.text(field, _NEGATED[op], value)
        return Q(**{f"{field}__{_TEXT_LOOKUPS[op]}": value})

    def day_start(self, day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=self.zone)

    def timestamp(self, field: str, op: str, value) -> Q:
        match op:
            case "before":
                return Q(**{f"{field}__lt": self.day_start(datetime.date.fromisoformat(value))})
            case "after":
                next_day = datetime.date.fromisoformat(value) + datetime.timedelta(days=1)
                return Q(**{f"{field}__gte": self.day_start(next_day)})
            case "within_last_days":
                return Q(**{f"{field}__gte": self.now - datetime.timedelta(days=value)})
            case "more_than_days_ago":
                return Q(**{f"{field}__lt": self.now - datetime.timedelta(days=value)})
            case "is_set":
                return Q(**{f"{field}__isnull": False})
        return Q(**{f"{field}__isnull": True})

    def custom(self, key: str, op: str, value) -> Q:
        path = f"custom_fields__{key}"
        not_set = Q(**{f"{path}__isnull": True}) | Q(**{path: None})
        if op == "is_set":
            return ~(not_set | Q(**{path: ""}))
        if op == "is_not_set":
            return not_set | Q(**{path: ""})
        if op in _NEGATED:
            return not_set | ~self.custom(key, _NEGATED[op], value)
        if op == "is_false":
            return not_set | ~Q(**{path: True})
        # Comparisons need the value there and not JSON null: SQLite reads null as the text 'null'
        # (greater than any number), PostgreSQL orders it below every number.
        return ~not_set & self.custom_compare(path, self.context.custom_fields[key].type, op, value)

    def custom_compare(self, path: str, field_type: str, op: str, value) -> Q:
        if op == "is_true":
            return Q(**{path: True})
        if op == "in":
            return Q(**{f"{path}__in": value})
        if field_type == CustomFieldType.TEXT:
            return Q(**{f"{path}__{_TEXT_LOOKUPS[op]}": value})
        if field_type == CustomFieldType.NUMBER:
            return Q(**{f"{path}__{_NUMBER_LOOKUPS[op]}": value})
        # Dates are stored as ISO strings, which sort as the dates do.
        match op:
            case "before":
                return Q(**{f"{path}__lt": value})
            case "after":
                return Q(**{f"{path}__gt": value})
            case "on":
                return Q(**{path: value})
        since = self.today - datetime.timedelta(days=value)
        return Q(**{f"{path}__gte": since.isoformat(), f"{path}__lte": self.today.isoformat()})

    def activity(self, op: str, value: dict) -> Q:
        activities = ContactActivity.objects.filter(
            workspace_id=self.workspace.pk, contact_id=OuterRef("pk"), kind=value["kind"]
        )
        if value.get("ref"):
            activities = activities.filter(ref=value["ref"])
        if value.get("within_days"):
            activities = activities.filter(at__gte=self.now - datetime.timedelta(days=value["within_days"]))
        exists = Exists(activities)
        return Q(exists) if op == "performed" else ~Q(exists)
