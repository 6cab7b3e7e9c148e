"""The node type catalog the editor builds its palette and config forms from."""

import json

import pytest

from workflows.catalog import node_type_catalog
from workflows.nodes import NODE_TYPES

TRIGGERS = {
    "form_submitted",
    "contact_created",
    "tag_added",
    "tag_removed",
    "field_changed",
    "score_threshold",
    "email_opened",
    "email_clicked",
    "contact_unsubscribed",
    "manual",
}
ACTIONS = {
    "send_email",
    "add_tag",
    "remove_tag",
    "update_field",
    "adjust_score",
    "add_note",
    "notify_team",
    "enroll_workflow",
    "exit",
}
LOGIC = {"condition", "switch", "split", "wait", "wait_for_event", "goal"}


def by_type() -> dict[str, dict]:
    return {row["type"]: row for row in node_type_catalog()}


def test_the_issues_node_types_are_all_in_the_catalog():
    rows = by_type()
    assert set(rows) >= TRIGGERS | ACTIONS | LOGIC
    assert {rows[name]["kind"] for name in TRIGGERS} == {"trigger"}
    assert {rows[name]["kind"] for name in ACTIONS} == {"action"}
    assert {rows[name]["kind"] for name in LOGIC} == {"logic"}
    assert set(rows) == set(NODE_TYPES)


def test_rows_have_the_contracts_keys_and_are_json():
    for row in node_type_catalog():
        assert {"type", "kind", "name", "description", "schema", "ports", "dynamic_ports"} <= set(row)
        assert row["name"] and row["description"]
        assert row["schema"]["type"] == "object"
    json.dumps(node_type_catalog())


def test_triggers_come_first_then_actions_then_logic():
    kinds = [row["kind"] for row in node_type_catalog()]
    assert kinds == sorted(kinds, key=["trigger", "action", "logic"].index)


@pytest.mark.parametrize(
    ("type_name", "ports", "dynamic"),
    [
        ("manual", ["out"], False),
        ("send_email", ["out"], False),
        ("exit", [], False),
        ("condition", ["true", "false"], False),
        ("wait_for_event", ["event", "timeout"], False),
        ("switch", ["branch_1", "default"], True),
        ("split", ["a", "b"], True),
        ("goal", ["out"], False),
    ],
)
def test_ports_are_those_of_the_default_config(type_name, ports, dynamic):
    row = by_type()[type_name]
    assert row["ports"] == ports and row["dynamic_ports"] is dynamic


def test_schemas_describe_the_fields_the_form_needs():
    rows = by_type()
    email = rows["send_email"]["schema"]
    assert {"subject", "content", "sender", "kind"} <= set(email["properties"])
    assert "subject" in email["required"]
    assert email["properties"]["content"]["format"] == "richtext"
    assert rows["condition"]["schema"]["properties"]["rules"]["format"] == "rules"
    assert rows["form_submitted"]["schema"]["properties"]["component"]["format"] == "component"
    assert rows["wait"]["schema"]["properties"]["mode"]["enum"] == ["duration", "until", "weekday"]


def test_side_effect_nodes_are_marked():
    rows = by_type()
    assert rows["send_email"]["side_effect"] and not rows["condition"]["side_effect"]


def test_a_caller_changing_the_catalog_does_not_change_it_for_the_next():
    node_type_catalog()[0]["schema"]["properties"] = {}
    node_type_catalog().clear()
    assert node_type_catalog()[0]["schema"]["properties"]


def test_every_schema_is_valid_json_schema_and_accepts_the_default_config():
    import jsonschema

    from workflows.nodes import get_node_type

    for row in node_type_catalog():
        jsonschema.Draft202012Validator.check_schema(row["schema"])
        node_type = get_node_type(row["type"])
        try:
            default = node_type.Config().model_dump(mode="json")
        except ValueError:
            continue  # required fields: there is no default config to check
        jsonschema.validate(default, row["schema"], cls=jsonschema.Draft202012Validator)
