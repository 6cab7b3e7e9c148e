"""Segment rules compiled to SQL: every operator with contacts it must and must not match, nested
groups, how empty and missing values behave, and one query per segment."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import ActivityKind, ContactTag, CustomFieldType
from crm.selectors.segments import rules_contacts
from tests.factories import ContactActivityFactory, ContactFactory, CustomFieldFactory, TagFactory

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)
FORM = "7f1c1f5e-3c1a-4a43-9d0f-6c6c2a1d0b11"


def days_ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


@pytest.fixture
def crm(workspace):
    """Four contacts: ann and bob have most things set, cat has little, dan has nothing."""
    for key, type_, options in (
        ("city", CustomFieldType.TEXT, []),
        ("seats", CustomFieldType.NUMBER, []),
        ("renewal", CustomFieldType.DATE, []),
        ("vip", CustomFieldType.BOOLEAN, []),
        ("plan", CustomFieldType.SELECT, ["Free", "Pro", "Team"]),
    ):
        CustomFieldFactory(workspace=workspace, key=key, type=type_, options=options)
    make = ContactFactory
    ann = make(
        workspace=workspace,
        email="ann@acme.example",
        first_name="Ann",
        last_name="Archer",
        company="Acme",
        phone="+14155550100",
        score=40,
        stage="lead",
        status="active",
        source="form",
        created_at=days_ago(3),
        last_activity_at=days_ago(1),
        custom_fields={"city": "Berlin", "seats": 12, "renewal": "2026-06-10", "vip": True, "plan": "Pro"},
    )
    bob = make(
        workspace=workspace,
        email="bob@globex.example",
        first_name="Bob",
        last_name="Baker",
        company="Globex",
        score=5,
        stage="customer",
        status="unsubscribed",
        source="import",
        created_at=days_ago(40),
        last_activity_at=days_ago(35),
        custom_fields={"city": "Bern", "seats": 2.5, "renewal": "2025-12-31", "vip": False, "plan": "Free"},
    )
    cat = make(
        workspace=workspace,
        email="cat@initech.example",
        first_name="Cat",
        last_name="",
        company="",
        score=0,
        created_at=days_ago(400),
        custom_fields={"city": None, "seats": None, "renewal": None, "vip": None, "plan": None},
    )
    make(workspace=workspace, email="dan@example.com", first_name="", last_name="", created_at=days_ago(10))
    vip, cold = TagFactory(workspace=workspace, name="VIP"), TagFactory(workspace=workspace, name="Cold")
    ContactTag.objects.create(workspace=workspace, contact=ann, tag=vip)
    ContactTag.objects.create(workspace=workspace, contact=bob, tag=vip)
    ContactTag.objects.create(workspace=workspace, contact=bob, tag=cold)
    ContactActivityFactory(contact=ann, kind=ActivityKind.EMAIL_CLICKED, ref="c1", at=days_ago(2))
    ContactActivityFactory(contact=bob, kind=ActivityKind.EMAIL_CLICKED, ref="c1", at=days_ago(20))
    ContactActivityFactory(contact=bob, kind=ActivityKind.FORM_SUBMITTED, ref=FORM, at=days_ago(30))
    ContactActivityFactory(contact=cat, kind=ActivityKind.FORM_SUBMITTED, ref="other-form", at=days_ago(1))
    # Another workspace's contact matches nothing here, whatever the rule.
    other = ContactFactory(email="ann@acme.example", company="Acme")
    ContactActivityFactory(contact=other, kind=ActivityKind.EMAIL_CLICKED, at=days_ago(1))
    return {"workspace": workspace, "vip": vip.pk, "cold": cold.pk}


def names(crm, rules) -> set[str]:
    contacts = rules_contacts(workspace=crm["workspace"], rules=rules, now=NOW)
    return {email.split("@")[0] for email in contacts.values_list("email", flat=True)}


def cond(field, op, value=None) -> dict:
    return {"match": "all", "rules": [{"field": field, "op": op, "value": value}]}


ALL = {"ann", "bob", "cat", "dan"}

CASES = [
    # Text: case-insensitive; negatives include blanks.
    ("company", "eq", "ACME", {"ann"}),
    ("company", "neq", "acme", {"bob", "cat", "dan"}),
    ("company", "contains", "lob", {"bob"}),
    ("company", "not_contains", "lob", {"ann", "cat", "dan"}),
    ("first_name", "starts_with", "a", {"ann"}),
    ("last_name", "ends_with", "ER", {"ann", "bob"}),
    ("company", "is_set", None, {"ann", "bob"}),
    ("company", "is_not_set", None, {"cat", "dan"}),
    ("email", "ends_with", ".example", {"ann", "bob", "cat"}),
    ("phone", "contains", "555", {"ann"}),
    ("email", "contains", "%", set()),  # a LIKE wildcard is matched literally
    ("first_name", "contains", "_", set()),
    # Score.
    ("score", "eq", 40, {"ann"}),
    ("score", "neq", 40, {"bob", "cat", "dan"}),
    ("score", "gt", 5, {"ann"}),
    ("score", "gte", 5, {"ann", "bob"}),
    ("score", "lt", 5, {"cat", "dan"}),
    ("score", "lte", 5, {"bob", "cat", "dan"}),
    # Choices.
    ("stage", "in", ["lead", "customer"], {"ann", "bob"}),
    ("stage", "not_in", ["lead"], {"bob", "cat", "dan"}),
    ("status", "in", ["unsubscribed"], {"bob"}),
    ("source", "not_in", ["manual"], {"ann", "bob"}),
    # Timestamps: whole days in the workspace's zone, or N x 24 h before now.
    ("created_at", "within_last_days", 7, {"ann"}),
    ("created_at", "more_than_days_ago", 30, {"bob", "cat"}),
    ("created_at", "before", NOW.date().isoformat(), ALL),
    ("created_at", "before", days_ago(10).date().isoformat(), {"bob", "cat"}),
    ("created_at", "after", days_ago(10).date().isoformat(), {"ann"}),
    ("last_activity_at", "within_last_days", 7, {"ann"}),
    ("last_activity_at", "more_than_days_ago", 30, {"bob"}),
    ("last_activity_at", "is_set", None, {"ann", "bob"}),
    ("last_activity_at", "is_not_set", None, {"cat", "dan"}),
    # Custom text: a missing key or JSON null is "not set", and negatives include it.
    ("custom.city", "eq", "berlin", {"ann"}),
    ("custom.city", "neq", "Berlin", {"bob", "cat", "dan"}),
    ("custom.city", "contains", "er", {"ann", "bob"}),
    ("custom.city", "not_contains", "lin", {"bob", "cat", "dan"}),
    ("custom.city", "starts_with", "BE", {"ann", "bob"}),
    ("custom.city", "ends_with", "rn", {"bob"}),
    ("custom.city", "is_set", None, {"ann", "bob"}),
    ("custom.city", "is_not_set", None, {"cat", "dan"}),
    # Custom numbers compare as numbers (12 > 2.5, which text would not say).
    ("custom.seats", "gt", 3, {"ann"}),
    ("custom.seats", "gte", 2.5, {"ann", "bob"}),
    ("custom.seats", "lt", 10, {"bob"}),
    ("custom.seats", "lte", 12, {"ann", "bob"}),
    ("custom.seats", "eq", 12, {"ann"}),
    ("custom.seats", "eq", 12.0, {"ann"}),
    ("custom.seats", "neq", 12, {"bob", "cat", "dan"}),
    ("custom.seats", "is_set", None, {"ann", "bob"}),
    ("custom.seats", "is_not_set", None, {"cat", "dan"}),
    # Custom dates.
    ("custom.renewal", "before", "2026-01-01", {"bob"}),
    ("custom.renewal", "after", "2026-01-01", {"ann"}),
    ("custom.renewal", "on", "2026-06-10", {"ann"}),
    ("custom.renewal", "within_last_days", 7, {"ann"}),
    ("custom.renewal", "within_last_days", 3, set()),
    ("custom.renewal", "is_set", None, {"ann", "bob"}),
    ("custom.renewal", "is_not_set", None, {"cat", "dan"}),
    # Custom booleans: "no" includes never answered.
    ("custom.vip", "is_true", None, {"ann"}),
    ("custom.vip", "is_false", None, {"bob", "cat", "dan"}),
    # Custom selects.
    ("custom.plan", "in", ["Pro", "Team"], {"ann"}),
    ("custom.plan", "not_in", ["Pro"], {"bob", "cat", "dan"}),
    # Activity.
    ("activity", "performed", {"kind": "email_clicked"}, {"ann", "bob"}),
    ("activity", "performed", {"kind": "email_clicked", "within_days": 7}, {"ann"}),
    ("activity", "not_performed", {"kind": "email_clicked", "within_days": 7}, {"bob", "cat", "dan"}),
    ("activity", "performed", {"kind": "form_submitted", "ref": FORM}, {"bob"}),
    ("activity", "not_performed", {"kind": "form_submitted", "ref": FORM}, {"ann", "cat", "dan"}),
    ("activity", "performed", {"kind": "email_clicked", "ref": "c1", "within_days": 21}, {"ann", "bob"}),
    ("activity", "performed", {"kind": "page_visited"}, set()),
]


def _case_id(value) -> str:
    # A set prints in hash order, which differs between test processes; ids must not.
    return str(sorted(value) if isinstance(value, set) else value)[:30]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES, ids=_case_id)
def test_each_operator_matches_exactly_the_contacts_it_describes(crm, field, op, value, expected):
    assert names(crm, cond(field, op, value)) == expected


@pytest.mark.parametrize(("op", "expected"), [("has", {"ann", "bob"}), ("has_not", {"cat", "dan"})])
def test_tag_operators(crm, op, expected):
    assert names(crm, cond("tag", op, crm["vip"])) == expected


def test_empty_rules_are_everyone_in_the_workspace(crm):
    assert names(crm, {"match": "all", "rules": []}) == ALL
    assert names(crm, {"match": "any", "rules": []}) == ALL


def test_nested_groups_combine_with_all_and_any(crm):
    rules = {
        "match": "any",
        "rules": [
            {
                "match": "all",
                "rules": [
                    {"field": "tag", "op": "has", "value": crm["vip"]},
                    {"field": "tag", "op": "has_not", "value": crm["cold"]},
                ],
            },
            {
                "match": "all",
                "rules": [
                    {"field": "score", "op": "lt", "value": 1},
                    {"match": "any", "rules": [{"field": "first_name", "op": "eq", "value": "dan"}]},
                ],
            },
        ],
    }
    assert names(crm, rules) == {"ann"}
    rules["rules"][1]["rules"][1]["rules"].append({"field": "company", "op": "is_not_set"})
    assert names(crm, rules) == {"ann", "cat", "dan"}


def test_an_empty_group_inside_any_matches_everyone_and_inside_all_changes_nothing(crm):
    company = {"field": "company", "op": "eq", "value": "acme"}
    assert names(crm, {"match": "any", "rules": [company, {"match": "all", "rules": []}]}) == ALL
    assert names(crm, {"match": "all", "rules": [company, {"match": "any", "rules": []}]}) == {"ann"}


def test_dates_are_whole_days_in_the_workspace_time_zone(crm):
    workspace = crm["workspace"]
    workspace.timezone = "America/Los_Angeles"
    workspace.save(update_fields=["timezone"])
    # ann was created 2026-06-12 12:00 UTC, 05:00 in Los Angeles: on the 12th there and in UTC.
    ContactFactory(
        workspace=workspace,
        email="eve@example.com",
        created_at=datetime.datetime(2026, 6, 12, 3, 0, tzinfo=datetime.UTC),
    )
    # eve's 03:00 UTC is still the 11th in Los Angeles.
    assert names(crm, cond("created_at", "before", "2026-06-12")) >= {"eve"}
    assert "eve" not in names(crm, cond("created_at", "after", "2026-06-11"))
    assert "ann" in names(crm, cond("created_at", "after", "2026-06-11"))


def test_three_conditions_with_a_tag_and_an_activity_are_one_query(crm):
    rules = {
        "match": "all",
        "rules": [
            {"field": "tag", "op": "has", "value": crm["vip"]},
            {"field": "activity", "op": "performed", "value": {"kind": "email_clicked", "within_days": 7}},
            {"field": "score", "op": "gte", "value": 10},
        ],
    }
    contacts = rules_contacts(workspace=crm["workspace"], rules=rules, now=NOW)
    with CaptureQueriesContext(connection) as queries:
        assert contacts.count() == 1
    assert len(queries) == 1
