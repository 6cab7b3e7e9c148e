"""workflows.conditions: rules over contact fields, tags, score, trigger data and earlier steps' output."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.models import ContactTag
from tests.factories import ContactFactory, TagFactory, WorkspaceFactory
from tests.workflows.steps import step_context
from workflows.conditions import MAX_DEPTH, OPS, evaluate, rules_errors


class FakeContact:
    """Enough of a contact for rules that don't read tags, without the database."""

    pk = None

    def __init__(self, **fields):
        self.custom_fields = fields.pop("custom_fields", {})
        self.email = fields.pop("email", "ada@example.com")
        self.first_name = fields.pop("first_name", "Ada")
        self.last_name = fields.pop("last_name", "Lovelace")
        self.company = fields.pop("company", "")
        self.phone = fields.pop("phone", "")
        self.score = fields.pop("score", 0)
        self.stage = fields.pop("stage", "lead")
        self.name = f"{self.first_name} {self.last_name}".strip()


class FakeWorkspace:
    pk = 1
    name = "Northwind"
    timezone = "Europe/Paris"


def holds(rule_or_group, *, contact=None, trigger=None, steps=None) -> bool:
    rules = rule_or_group if ("all" in rule_or_group or "any" in rule_or_group) else {"all": [rule_or_group]}
    ctx = step_context(
        FakeWorkspace(), contact=contact if contact is not None else FakeContact(), trigger=trigger, steps=steps
    )
    return evaluate(rules, ctx)


def rule(field, op, value=None):
    item = {"field": field, "op": op}
    if value is not None:
        item["value"] = value
    return item


# --- Operators ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("contact.first_name", "equals", "Ada", True),
        ("contact.first_name", "equals", "  ada ", True),
        ("contact.first_name", "equals", "Grace", False),
        ("contact.first_name", "not_equals", "Grace", True),
        ("contact.first_name", "not_equals", "ADA", False),
        ("contact.email", "contains", "EXAMPLE", True),
        ("contact.email", "not_contains", "example", False),
        ("contact.email", "starts_with", "ada@", True),
        ("contact.email", "starts_with", "bob", False),
        ("contact.email", "ends_with", ".com", True),
        ("contact.email", "ends_with", ".org", False),
        ("contact.score", "gt", 10, True),
        ("contact.score", "gt", 42, False),
        ("contact.score", "gte", 42, True),
        ("contact.score", "lt", "100", True),
        ("contact.score", "lte", 41.5, False),
        ("contact.score", "equals", "42", True),
        ("contact.score", "equals", 42.0, True),
        ("contact.stage", "in", ["lead", "customer"], True),
        ("contact.stage", "in", ["customer"], False),
        ("contact.stage", "not_in", ["customer"], True),
        ("contact.stage", "not_in", ["LEAD"], False),
        ("contact.phone", "is_set", None, False),
        ("contact.phone", "is_not_set", None, True),
        ("contact.first_name", "is_set", None, True),
    ],
)
def test_operators_on_contact_fields(field, op, value, expected):
    assert holds(rule(field, op, value), contact=FakeContact(score=42)) is expected


def test_every_operator_is_covered_by_a_test_here():
    tested = {"equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "gt", "gte", "lt", "lte"}
    tested |= {"is_set", "is_not_set", "in", "not_in", "has_tag", "not_has_tag"}
    assert tested == set(OPS)


def test_custom_fields_are_read_by_key():
    contact = FakeContact(custom_fields={"plan": "Pro", "seats": 12, "trial_ends": "2026-12-24"})
    assert holds(rule("contact.plan", "equals", "pro"), contact=contact)
    assert holds(rule("contact.seats", "gte", "10"), contact=contact)
    assert holds(rule("contact.trial_ends", "lt", "2027-01-01"), contact=contact)
    assert not holds(rule("contact.trial_ends", "gt", "2027-01-01T00:00:00Z"), contact=contact)


def test_a_missing_field_is_not_set_equals_nothing_and_satisfies_the_negative_operators():
    assert not holds(rule("contact.nothing", "equals", ""))
    assert not holds(rule("contact.nothing", "is_set"))
    assert holds(rule("contact.nothing", "is_not_set"))
    assert holds(rule("contact.nothing", "not_equals", "x"))
    assert holds(rule("contact.nothing", "not_contains", "x"))
    assert holds(rule("contact.nothing", "not_in", ["x"]))
    assert not holds(rule("contact.nothing", "gt", 0))
    assert not holds(rule("contact.nothing.deeper.still", "equals", "x"))


def test_without_a_contact_contact_fields_are_missing():
    ctx = step_context(FakeWorkspace(), contact=None)
    assert evaluate({"all": [rule("contact.email", "is_not_set")]}, ctx)
    assert not evaluate({"all": [{"op": "has_tag", "value": "vip"}]}, ctx)


def test_trigger_data_by_path():
    trigger = {"data": {"budget": "5000", "interests": ["seo", "Ads"], "consent": True}, "form_name": "Quote"}
    assert holds(rule("trigger.data.budget", "gt", 1000), trigger=trigger)
    assert holds(rule("trigger.data.interests", "contains", "ads"), trigger=trigger)
    assert not holds(rule("trigger.data.interests", "contains", "email"), trigger=trigger)
    assert holds(rule("trigger.data.interests.0", "equals", "SEO"), trigger=trigger)
    assert not holds(rule("trigger.data.interests.5", "is_set"), trigger=trigger)
    assert holds(rule("trigger.data.consent", "equals", "true"), trigger=trigger)
    assert holds(rule("trigger.data.consent", "equals", True), trigger=trigger)
    assert not holds(rule("trigger.data.consent", "equals", "no"), trigger=trigger)
    assert holds(rule("trigger.form_name", "equals", "quote"), trigger=trigger)


def test_earlier_steps_output_by_path():
    steps = {"call": {"status": 200, "body": {"plan": "gold"}}}
    assert holds(rule("steps.call.output.status", "equals", 200), steps=steps)
    assert holds(rule("steps.call.output.body.plan", "in", ["gold", "platinum"]), steps=steps)
    assert not holds(rule("steps.other.output.status", "is_set"), steps=steps)


def test_numbers_and_text_that_are_not_numbers_do_not_compare():
    assert not holds(rule("contact.first_name", "gt", 3))
    assert not holds(rule("contact.score", "gt", "lots"), contact=FakeContact(score=9))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "NaN", "-Infinity"])
@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte", "equals"])
def test_not_a_number_compares_false_rather_than_failing(op, value):
    assert holds(rule("trigger.x", op, 1), trigger={"x": value}) is False
    assert holds(rule("contact.score", op, value), contact=FakeContact(score=3)) is False


def test_booleans_are_not_numbers():
    assert holds(rule("trigger.flag", "equals", 1), trigger={"flag": True})  # 1 reads as true, as "yes" does
    assert not holds(rule("trigger.flag", "equals", 0), trigger={"flag": True})
    assert not holds(rule("trigger.flag", "gt", 0), trigger={"flag": True})


def test_a_list_equals_nothing_but_contains_its_items():
    trigger = {"tags": ["a", "b"]}
    assert not holds(rule("trigger.tags", "equals", "a"), trigger=trigger)
    assert holds(rule("trigger.tags", "contains", "B"), trigger=trigger)


# --- Groups ---------------------------------------------------------------------------------------------------


def test_all_needs_every_rule_and_any_needs_one():
    yes, no = rule("contact.first_name", "equals", "Ada"), rule("contact.first_name", "equals", "Bob")
    assert holds({"all": [yes, yes]})
    assert not holds({"all": [yes, no]})
    assert holds({"any": [no, yes]})
    assert not holds({"any": [no, no]})


def test_groups_nest():
    yes, no = rule("contact.first_name", "equals", "Ada"), rule("contact.first_name", "equals", "Bob")
    assert holds({"all": [yes, {"any": [no, {"all": [yes, yes]}]}]})
    assert not holds({"any": [no, {"all": [yes, {"any": [no]}]}]})


def test_empty_groups():
    assert holds({"all": []})
    assert not holds({"any": []})


@pytest.mark.parametrize(
    "rules", [None, [], "x", {"neither": []}, {"all": "x"}, {"all": [5]}, {"all": [{"op": "nope"}]}]
)
def test_malformed_rules_evaluate_false_rather_than_failing(rules):
    ctx = step_context(FakeWorkspace(), contact=FakeContact())
    assert evaluate(rules, ctx) is False


# --- Tags (database) ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_has_tag_reads_the_contacts_tags_case_insensitively():
    workspace = WorkspaceFactory()
    contact = ContactFactory(workspace=workspace)
    ContactTag.objects.create(workspace=workspace, contact=contact, tag=TagFactory(workspace=workspace, name="VIP"))
    ctx = step_context(workspace, contact=contact)
    assert evaluate({"all": [{"op": "has_tag", "value": "vip"}]}, ctx)
    assert not evaluate({"all": [{"op": "not_has_tag", "value": "Vip"}]}, ctx)
    assert evaluate({"all": [{"op": "not_has_tag", "value": "customer"}]}, ctx)
    assert evaluate({"all": [{"field": "contact.tags", "op": "contains", "value": "vip"}]}, ctx)


@pytest.mark.django_db
def test_has_tag_compares_names_as_the_tag_triggers_do():
    workspace = WorkspaceFactory()
    contact = ContactFactory(workspace=workspace)
    ContactTag.objects.create(
        workspace=workspace, contact=contact, tag=TagFactory(workspace=workspace, name="Hot lead")
    )
    ctx = step_context(workspace, contact=contact)
    assert evaluate({"all": [{"op": "has_tag", "value": "  hot   LEAD "}]}, ctx)


@pytest.mark.django_db
def test_tags_are_read_once_per_evaluation(django_assert_num_queries):
    workspace = WorkspaceFactory()
    contact = ContactFactory(workspace=workspace)
    ctx = step_context(workspace, contact=contact)
    rules = {"any": [{"op": "has_tag", "value": tag} for tag in ("a", "b", "c", "d")]}
    with django_assert_num_queries(1):
        assert evaluate(rules, ctx) is False


@pytest.mark.django_db
def test_rules_without_tags_read_nothing(django_assert_num_queries):
    workspace = WorkspaceFactory()
    ctx = step_context(workspace, contact=ContactFactory(workspace=workspace, first_name="Ada"))
    with django_assert_num_queries(0):
        assert evaluate({"all": [rule("contact.first_name", "equals", "ada")]}, ctx)


# --- Checking rules -------------------------------------------------------------------------------------------


def test_good_rules_have_no_errors():
    rules = {
        "all": [
            rule("contact.score", "gte", 10),
            {"any": [{"op": "has_tag", "value": "vip"}, rule("trigger.data.plan", "in", ["pro"])]},
            rule("contact.phone", "is_set"),
        ]
    }
    assert rules_errors(rules) == {}


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        (None, "rules"),
        ({"all": [], "any": []}, "rules"),
        ({"every": []}, "rules"),
        ({"all": "x"}, "rules.all"),
        ({"all": []}, "rules.all"),
        ({"all": [7]}, "rules.all.0"),
        ({"all": [{"field": "contact.x", "op": "resembles", "value": 1}]}, "rules.all.0.op"),
        ({"all": [{"field": "contact", "op": "is_set"}]}, "rules.all.0.field"),
        ({"all": [{"field": "password", "op": "is_set"}]}, "rules.all.0.field"),
        ({"all": [{"field": "contact.__class__", "op": "is_set"}]}, "rules.all.0.field"),
        ({"all": [{"field": "trigger._private", "op": "is_set"}]}, "rules.all.0.field"),
        ({"all": [{"field": "steps.a.status", "op": "is_set"}]}, "rules.all.0.field"),
        ({"all": [{"field": "contact.x", "op": "equals"}]}, "rules.all.0.value"),
        ({"all": [{"field": "contact.x", "op": "equals", "value": {"a": 1}}]}, "rules.all.0.value"),
        ({"all": [{"field": "contact.x", "op": "in", "value": "a"}]}, "rules.all.0.value"),
        ({"all": [{"field": "contact.x", "op": "in", "value": [[1]]}]}, "rules.all.0.value"),
        ({"all": [{"op": "has_tag", "value": " "}]}, "rules.all.0.value"),
        ({"all": [{"field": "contact.x", "op": "is_set", "colour": 1}]}, "rules.all.0"),
        ({"any": [rule("contact.a", "is_set"), {"all": [{"op": "nope"}]}]}, "rules.any.1.all.0.op"),
    ],
)
def test_bad_rules_are_named_by_path(rules, path):
    errors = rules_errors(rules)
    assert errors
    assert path in errors, errors


def test_a_dunder_field_reads_data_only_even_if_it_got_past_the_check():
    ctx = step_context(FakeWorkspace(), contact=FakeContact())
    assert evaluate({"all": [{"field": "contact.__class__", "op": "is_set"}]}, ctx) is False


def test_groups_nest_only_so_deep():
    rules = {"all": [rule("contact.a", "is_set")]}
    for _ in range(MAX_DEPTH):
        rules = {"all": [rules]}
    assert any("nest" in message for messages in rules_errors(rules).values() for message in messages)


def test_too_many_rules_are_refused():
    rules = {"any": [rule("contact.a", "equals", str(index)) for index in range(101)]}
    assert "rules" in rules_errors(rules)


def test_a_step_reference_is_checked_against_the_definitions_nodes():
    rules = {"all": [rule("steps.send.output.status", "equals", "sent")]}
    assert rules_errors(rules, node_ids={"send"}) == {}
    assert "rules.all.0.field" in rules_errors(rules, node_ids={"other"})


# --- Anything at all ----------------------------------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
FIELDS = st.sampled_from(["contact.score", "contact.first_name", "trigger.a", "trigger.a.0", "steps.s.output.x", "x"])
RULE = st.fixed_dictionaries(
    {"field": FIELDS | SCALARS, "op": st.sampled_from(OPS) | SCALARS},
    optional={"value": SCALARS | st.lists(SCALARS, max_size=3)},
)
RULES = st.recursive(
    RULE | SCALARS,
    lambda children: st.dictionaries(
        st.sampled_from(["all", "any", "other"]), st.lists(children, max_size=4) | children, max_size=2
    ),
    max_leaves=20,
)
DATA = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(RULES, DATA)
def test_any_rules_over_any_data_evaluate_to_a_bool_and_check_without_crashing(rules, data):
    ctx = step_context(FakeWorkspace(), contact=FakeContact(score=5), trigger={"a": data}, steps={"s": {"x": data}})
    assert evaluate(rules, ctx) in (True, False)
    errors = rules_errors(rules)
    assert all(isinstance(key, str) and key for key in errors)
