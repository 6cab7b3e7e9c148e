"""Property: for random contacts and random rule trees, the compiled SQL selects exactly the contacts a
plain-Python reading of the same rules selects. Runs on SQLite and on PostgreSQL."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import Contact, ContactActivity, ContactTag, CustomFieldType
from crm.segments.rules import CUSTOM_OPS, FIELDS
from crm.selectors.segments import rules_contacts
from tests.factories import CustomFieldFactory, TagFactory

NOW = datetime.datetime(2026, 3, 29, 0, 30, tzinfo=datetime.UTC)  # 01:30 in Berlin, the night clocks change
ZONE = ZoneInfo("Europe/Berlin")
TODAY = NOW.astimezone(ZONE).date()

TEXTS = ["", "ab", "AB", "abc", "xab", "b%c", "b_c", "Acme", "acme inc"]
TEXT_VALUES = ["ab", "A", "c", "b%c", "b_c", "acme", "x", "inc"]
PHONES = ["", "+14155550100", "+493012345678"]
NUMBERS = [-3, 0, 1, 2.5, 10, 100]
DATES = ["2026-03-01", "2026-03-22", "2026-03-28", "2026-03-29", "2026-04-02"]
DAYS = [1, 7, 30]
HOURS = [0, 1, 23, 24, 25, 7 * 24, 7 * 24 + 1, 30 * 24, 400 * 24]
KINDS = ["email_clicked", "form_submitted", "page_visited"]
REFS = ["", "f1", "f2"]
OPTIONS = ["Red", "Green", "Blue"]
CUSTOM = {
    "t": CustomFieldType.TEXT,
    "n": CustomFieldType.NUMBER,
    "d": CustomFieldType.DATE,
    "b": CustomFieldType.BOOLEAN,
    "s": CustomFieldType.SELECT,
}
CUSTOM_VALUES = {"t": TEXTS[1:], "n": NUMBERS, "d": DATES, "b": [True, False], "s": OPTIONS}
NEGATED = {"neq": "eq", "not_contains": "contains", "not_in": "in"}
TAG_COUNT = 3


# --- Data ------------------------------------------------------------------------------------------------

ago = st.sampled_from(HOURS).map(lambda hours: NOW - datetime.timedelta(hours=hours))
custom_values = st.fixed_dictionaries(
    {},
    optional={key: st.one_of(st.none(), st.sampled_from(values)) for key, values in CUSTOM_VALUES.items()},
)
contacts = st.lists(
    st.fixed_dictionaries(
        {
            "first_name": st.sampled_from(TEXTS),
            "last_name": st.sampled_from(TEXTS),
            "company": st.sampled_from(TEXTS),
            "phone": st.sampled_from(PHONES),
            "email_name": st.sampled_from(["ab", "xab", "b_c", "acme"]),
            "score": st.sampled_from([0, 1, 10, 100]),
            "stage": st.sampled_from(FIELDS["stage"].choices).map(lambda choice: choice[0]),
            "status": st.sampled_from(["active", "unsubscribed"]),
            "source": st.sampled_from(["form", "import", "manual"]),
            "created_at": ago,
            "last_activity_at": st.one_of(st.none(), ago),
            "custom_fields": custom_values,
            "tags": st.sets(st.integers(0, TAG_COUNT - 1)),
            "activities": st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(REFS), ago), max_size=3),
        }
    ),
    max_size=8,
)


# --- Rules -----------------------------------------------------------------------------------------------


def value_for(field: str, op: str):
    """A strategy for a valid value of `op` on `field`."""
    if op in ("is_set", "is_not_set", "is_true", "is_false"):
        return st.none()
    if op in ("within_last_days", "more_than_days_ago"):
        return st.sampled_from(DAYS)
    if op in ("in", "not_in"):
        choices = OPTIONS if field == "custom.s" else [choice for choice, _ in FIELDS[field].choices]
        return st.lists(st.sampled_from(choices), min_size=1, max_size=3)
    if op in ("has", "has_not"):
        return st.integers(0, TAG_COUNT - 1)  # an index, swapped for the tag's id
    if op in ("performed", "not_performed"):
        return st.fixed_dictionaries(
            {"kind": st.sampled_from(KINDS)},
            optional={"ref": st.sampled_from(REFS[1:]), "within_days": st.sampled_from(DAYS)},
        )
    if field in ("score", "custom.n"):
        return st.sampled_from(NUMBERS)
    if field in ("custom.d", "created_at", "last_activity_at"):
        return st.sampled_from(DATES)
    return st.sampled_from(TEXT_VALUES)


FIELD_OPS = [(field, op) for field, spec in FIELDS.items() for op in spec.ops]
FIELD_OPS += [(f"custom.{key}", op) for key, type_ in CUSTOM.items() for op in CUSTOM_OPS[type_]]
conditions = st.sampled_from(FIELD_OPS).flatmap(
    lambda pair: value_for(*pair).map(lambda value: {"field": pair[0], "op": pair[1], "value": value})
)


def groups(depth: int = 1):
    child = conditions if depth >= 4 else st.one_of(conditions, conditions, groups(depth + 1))
    return st.fixed_dictionaries({"match": st.sampled_from(["all", "any"]), "rules": st.lists(child, max_size=4)})


# --- The reference: the same rules read in Python --------------------------------------------------------


def day_start(iso: str) -> datetime.datetime:
    return datetime.datetime.combine(datetime.date.fromisoformat(iso), datetime.time.min, tzinfo=ZONE)


def text_match(stored: str, op: str, value: str) -> bool:
    stored, value = stored.lower(), value.lower()
    return {
        "eq": stored == value,
        "contains": value in stored,
        "starts_with": stored.startswith(value),
        "ends_with": stored.endswith(value),
    }[op]


def compare(stored, op: str, value) -> bool:
    return {
        "eq": stored == value,
        "gt": stored > value,
        "gte": stored >= value,
        "lt": stored < value,
        "lte": stored <= value,
        "before": stored < value,
        "after": stored > value,
        "on": stored == value,
    }[op]


def custom_matches(contact: dict, key: str, op: str, value) -> bool:
    stored = contact["custom_fields"].get(key)
    unset = stored is None
    if op == "is_set":
        return not unset and stored != ""
    if op == "is_not_set":
        return unset or stored == ""
    if op in NEGATED:
        return unset or not custom_matches(contact, key, NEGATED[op], value)
    if op == "is_true":
        return stored is True
    if op == "is_false":
        return stored is not True
    if unset:
        return False
    if op == "in":
        return stored in value
    if op == "within_last_days":
        return (TODAY - datetime.timedelta(days=value)).isoformat() <= stored <= TODAY.isoformat()
    if CUSTOM[key] == CustomFieldType.TEXT:
        return text_match(stored, op, value)
    return compare(stored, op, value)


def timestamp_matches(stored, op: str, value) -> bool:
    if op == "is_set":
        return stored is not None
    if op == "is_not_set":
        return stored is None
    if stored is None:
        return False
    if op == "before":
        return stored.astimezone(ZONE).date().isoformat() < value
    if op == "after":
        return stored.astimezone(ZONE).date().isoformat() > value
    if op == "within_last_days":
        return stored >= NOW - datetime.timedelta(days=value)
    return stored < NOW - datetime.timedelta(days=value)


def matches(contact: dict, rule: dict) -> bool:
    if "rules" in rule:
        results = [matches(contact, child) for child in rule["rules"]]
        return any(results) if rule["match"] == "any" and results else all(results)
    field, op, value = rule["field"], rule["op"], rule["value"]
    if field.startswith("custom."):
        return custom_matches(contact, field.removeprefix("custom."), op, value)
    if field == "tag":
        return (value in contact["tags"]) == (op == "has")
    if field == "activity":
        since = NOW - datetime.timedelta(days=value["within_days"]) if "within_days" in value else None
        done = any(
            kind == value["kind"] and (not value.get("ref") or ref == value["ref"]) and (since is None or at >= since)
            for kind, ref, at in contact["activities"]
        )
        return done == (op == "performed")
    if field in ("stage", "status", "source"):
        return (contact[field] in value) == (op == "in")
    if field == "score":
        return not compare(contact["score"], "eq", value) if op == "neq" else compare(contact["score"], op, value)
    if field in ("created_at", "last_activity_at"):
        return timestamp_matches(contact[field], op, value)
    stored = contact["email"] if field == "email" else contact[field]
    if op == "is_set":
        return stored != ""
    if op == "is_not_set":
        return stored == ""
    if op in NEGATED:
        return not text_match(stored, NEGATED[op], value)
    return text_match(stored, op, value)


# --- The property ----------------------------------------------------------------------------------------


def with_tag_ids(rule: dict, tag_ids: list[int]) -> dict:
    if "rules" in rule:
        return {**rule, "rules": [with_tag_ids(child, tag_ids) for child in rule["rules"]]}
    return {**rule, "value": tag_ids[rule["value"]]} if rule["field"] == "tag" else rule


@pytest.fixture
def setup(workspace):
    workspace.timezone = "Europe/Berlin"
    workspace.save(update_fields=["timezone"])
    for key, type_ in CUSTOM.items():
        CustomFieldFactory(workspace=workspace, key=key, type=type_, options=OPTIONS if key == "s" else [])
    tags = [TagFactory(workspace=workspace) for _ in range(TAG_COUNT)]
    return workspace, [tag.pk for tag in tags]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=contacts, rules=groups())
def test_compiled_sql_selects_what_the_rules_say(setup, people, rules):
    workspace, tag_ids = setup
    for n, person in enumerate(people):
        person["email"] = f"{person['email_name']}{n}@example.com"
    with transaction.atomic():
        rows = Contact.objects.bulk_create(
            Contact(
                workspace=workspace,
                email=person["email"],
                **{
                    key: person[key]
                    for key in (
                        "first_name",
                        "last_name",
                        "company",
                        "phone",
                        "score",
                        "stage",
                        "status",
                        "source",
                        "created_at",
                        "last_activity_at",
                        "custom_fields",
                    )
                },
            )
            for person in people
        )
        ContactTag.objects.bulk_create(
            ContactTag(workspace=workspace, contact=row, tag_id=tag_ids[index])
            for row, person in zip(rows, people, strict=True)
            for index in person["tags"]
        )
        ContactActivity.objects.bulk_create(
            ContactActivity(workspace=workspace, contact=row, kind=kind, ref=ref, at=at)
            for row, person in zip(rows, people, strict=True)
            for kind, ref, at in person["activities"]
        )
        selected = set(
            rules_contacts(workspace=workspace, rules=with_tag_ids(rules, tag_ids), now=NOW).values_list(
                "email", flat=True
            )
        )
        expected = {person["email"] for person in people if matches(person, rules)}
        transaction.set_rollback(True)
    assert selected == expected, rules
