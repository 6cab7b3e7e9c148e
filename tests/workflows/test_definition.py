"""definition_clean: a definition is checked in full, and every problem names the node and the field."""

import copy
import itertools

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import (
    CampaignFactory,
    ComponentFactory,
    CustomFieldFactory,
    SegmentFactory,
    SenderFactory,
    WorkflowFactory,
    WorkspaceFactory,
    simple_definition,
)
from workflows.definition import MAX_NODES, Graph, definition_clean


def errors_of(definition, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        definition_clean(definition, **kwargs)
    return caught.value.message_dict


def chain(*nodes, trigger=None) -> dict:
    """A trigger followed by `nodes` one after another."""
    ids = ["trigger", *(node["id"] for node in nodes)]
    return {
        "trigger": trigger or {"type": "manual", "config": {}},
        "nodes": list(nodes),
        "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
    }


def tag(node_id="tag", name="lead") -> dict:
    return {"id": node_id, "type": "add_tag", "config": {"tag": name}}


ISSUE_EXAMPLE = {
    "name": "Welcome new leads",
    "trigger": {"type": "form_submitted", "config": {"component": ""}},
    "nodes": [
        {"id": "tag", "type": "add_tag", "config": {"tag": "lead"}, "position": {"x": 300, "y": 100}},
        {
            "id": "has_phone",
            "type": "condition",
            "config": {"rules": {"all": [{"field": "contact.phone", "op": "is_set"}]}},
        },
        {
            "id": "welcome",
            "type": "send_email",
            "config": {"subject": "Welcome, {{ contact.first_name | default('there') }}", "content": "<p>Hi!</p>"},
        },
    ],
    "edges": [
        {"source": "trigger", "target": "tag"},
        {"source": "tag", "target": "has_phone"},
        {"source": "has_phone", "port": "false", "target": "welcome"},
    ],
}


# --- What passes, and how it comes back ------------------------------------------------------------------


def test_the_issues_example_passes_and_comes_back_normalised():
    clean = definition_clean(copy.deepcopy(ISSUE_EXAMPLE))
    assert clean["name"] == "Welcome new leads"
    welcome = next(node for node in clean["nodes"] if node["id"] == "welcome")
    # Defaults are filled in, so the stored version says exactly what runs.
    assert welcome["config"]["kind"] == "marketing"
    assert welcome["config"]["sender"] is None
    assert clean["nodes"][0]["position"] == {"x": 300, "y": 100}
    assert clean["edges"][2] == {"source": "has_phone", "port": "false", "target": "welcome"}
    # An edge by the only port is stored without one.
    assert clean["edges"][0] == {"source": "trigger", "target": "tag"}


def test_the_input_is_not_changed():
    definition = copy.deepcopy(ISSUE_EXAMPLE)
    definition_clean(definition)
    assert definition == ISSUE_EXAMPLE


def test_the_factories_simple_definition_passes():
    assert definition_clean(simple_definition())["nodes"][0]["config"] == {"tag": "lead"}


def test_a_trigger_without_nodes_passes():
    assert definition_clean({"trigger": {"type": "manual"}})["nodes"] == []


def test_the_cleaned_definition_builds_a_graph_the_engine_can_walk():
    graph = Graph(definition_clean(copy.deepcopy(ISSUE_EXAMPLE)))
    assert graph.targets("trigger") == ["tag"]
    assert graph.targets("has_phone", "false") == ["welcome"]
    assert graph.targets("has_phone", "true") == []
    assert graph.config("tag").tag == "lead"


def test_cleaning_twice_gives_the_same_definition():
    once = definition_clean(copy.deepcopy(ISSUE_EXAMPLE))
    assert definition_clean(copy.deepcopy(once)) == once


def test_fan_out_from_one_port_is_allowed():
    definition = chain(tag("a"))
    definition["nodes"] += [tag("b", "x"), tag("c", "y")]
    definition["edges"] += [{"source": "a", "target": "b"}, {"source": "a", "target": "c"}]
    assert len(definition_clean(definition)["edges"]) == 3


def test_two_branches_may_join_again():
    definition = {
        "trigger": {"type": "manual"},
        "nodes": [
            {
                "id": "check",
                "type": "condition",
                "config": {"rules": {"any": [{"field": "contact.score", "op": "gt", "value": 5}]}},
            },
            tag("hot", "hot"),
            tag("cold", "cold"),
            {"id": "end", "type": "exit"},
        ],
        "edges": [
            {"source": "trigger", "target": "check"},
            {"source": "check", "port": "true", "target": "hot"},
            {"source": "check", "port": "false", "target": "cold"},
            {"source": "hot", "target": "end"},
            {"source": "cold", "target": "end"},
        ],
    }
    assert len(definition_clean(definition)["nodes"]) == 4


# --- The shape --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("definition", [None, [], "text", 3])
def test_a_definition_that_is_not_an_object_is_refused(definition):
    assert "definition" in errors_of(definition)


def test_unknown_keys_are_named():
    definition = simple_definition()
    definition["colour"] = "red"
    definition["nodes"][0]["extra"] = 1
    definition["edges"][0]["label"] = "x"
    errors = errors_of(definition)
    assert {"colour", "nodes.tag.extra", "edges.0.label"} <= set(errors)


def test_a_missing_trigger_is_named():
    assert "trigger" in errors_of({"nodes": [], "edges": []})


@pytest.mark.parametrize("trigger", [{"type": "nope"}, {"type": "add_tag"}, {"type": None}, {}])
def test_an_unknown_trigger_type_is_named(trigger):
    errors = errors_of({"trigger": trigger})
    assert "Known triggers" in errors["trigger.type"][0]


def test_a_trigger_used_as_a_node_is_refused():
    errors = errors_of(chain({"id": "again", "type": "manual", "config": {}}))
    assert "nodes.again.type" in errors


def test_an_unknown_node_type_is_named_by_node():
    errors = errors_of(chain({"id": "mystery", "type": "teleport", "config": {}}))
    assert "Unknown node type 'teleport'" in errors["nodes.mystery.type"][0]


@pytest.mark.parametrize("node_id", ["", "has space", "dots.in.it", "x" * 65, 7, None, "trigger"])
def test_a_bad_node_id_is_named_by_position(node_id):
    errors = errors_of({"trigger": {"type": "manual"}, "nodes": [{"id": node_id, "type": "exit"}], "edges": []})
    assert "nodes.0.id" in errors


def test_duplicate_ids_are_named():
    definition = chain(tag("same"), tag("same", "other"))
    errors = errors_of(definition)
    assert any("already has the id" in message for message in errors["nodes.same"])


def test_too_many_nodes_are_refused():
    nodes = [{"id": f"n{index}", "type": "exit"} for index in range(MAX_NODES + 1)]
    edges = [{"source": "trigger", "target": f"n{index}"} for index in range(MAX_NODES + 1)]
    errors = errors_of({"trigger": {"type": "manual"}, "nodes": nodes, "edges": edges})
    assert f"At most {MAX_NODES}" in errors["nodes"][0]


def test_exactly_two_hundred_nodes_pass():
    nodes = [{"id": f"n{index}", "type": "exit"} for index in range(MAX_NODES)]
    edges = [{"source": "trigger", "target": f"n{index}"} for index in range(MAX_NODES)]
    assert len(definition_clean({"trigger": {"type": "manual"}, "nodes": nodes, "edges": edges})["nodes"]) == MAX_NODES


@pytest.mark.parametrize("position", [{"x": "left", "y": 1}, [1, 2], {"x": 1, "y": 2, "z": 3}, {"x": True, "y": 0}])
def test_a_bad_position_is_named(position):
    definition = simple_definition()
    definition["nodes"][0]["position"] = position
    assert any(key.startswith("nodes.tag.position") for key in errors_of(definition))


def test_nodes_and_edges_must_be_lists():
    errors = errors_of({"trigger": {"type": "manual"}, "nodes": {"a": 1}, "edges": "x"})
    assert {"nodes", "edges"} <= set(errors)


# --- Configs ------------------------------------------------------------------------------------------------


def test_a_missing_required_field_is_named_by_node_and_field():
    errors = errors_of(chain({"id": "welcome", "type": "send_email", "config": {"content": "<p>Hi</p>"}}))
    assert "nodes.welcome.config.subject" in errors


def test_a_wrong_type_is_named_by_node_and_field():
    errors = errors_of(chain({"id": "score", "type": "adjust_score", "config": {"points": "lots"}}))
    assert "nodes.score.config.points" in errors


def test_an_unknown_config_key_is_named():
    errors = errors_of(chain({"id": "tag", "type": "add_tag", "config": {"tag": "x", "colour": "red"}}))
    assert "nodes.tag.config.colour" in errors


def test_a_config_that_is_not_an_object_is_named():
    errors = errors_of(chain({"id": "tag", "type": "add_tag", "config": ["x"]}))
    assert "nodes.tag.config" in errors


def test_a_trigger_config_error_is_named():
    errors = errors_of({"trigger": {"type": "score_threshold", "config": {"threshold": -3}}})
    assert "trigger.config.threshold" in errors


def test_a_nested_config_error_has_its_full_path():
    node = {"id": "pause", "type": "wait", "config": {"mode": "duration", "duration": {"amount": 0, "unit": "days"}}}
    assert "nodes.pause.config.duration.amount" in errors_of(chain(node))


def test_a_cross_field_rule_is_named_by_its_field():
    node = {"id": "pause", "type": "wait", "config": {"mode": "until"}}
    assert "nodes.pause.config.until" in errors_of(chain(node))


def test_every_bad_node_is_reported_at_once():
    errors = errors_of(
        chain(
            {"id": "a", "type": "add_tag", "config": {}},
            {"id": "b", "type": "adjust_score", "config": {"points": 0}},
            {"id": "c", "type": "condition", "config": {"rules": {"all": [{"field": "contact.x", "op": "bogus"}]}}},
        )
    )
    assert {"nodes.a.config.tag", "nodes.b.config.points", "nodes.c.config.rules.all.0.op"} <= set(errors)


# --- Templates -----------------------------------------------------------------------------------------------


def test_a_template_that_does_not_parse_is_named_with_its_line():
    node = {
        "id": "welcome",
        "type": "send_email",
        "config": {"subject": "Hi {{ contact.first_name", "content": "<p>x</p>"},
    }
    errors = errors_of(chain(node))
    assert errors["nodes.welcome.config.subject"][0].startswith("Line 1")


def test_a_template_statement_outside_the_sandbox_is_refused_on_save():
    node = {"id": "note", "type": "add_note", "config": {"text": "{% set x = 1 %}{{ x }}"}}
    assert "nodes.note.config.text" in errors_of(chain(node))


def test_a_template_reaching_for_internals_is_refused_on_save():
    node = {"id": "tag", "type": "add_tag", "config": {"tag": "{{ contact.__class__ }}"}}
    assert "nodes.tag.config.tag" in errors_of(chain(node))


def test_a_broken_template_in_rich_content_is_named():
    node = {"id": "welcome", "type": "send_email", "config": {"subject": "Hi", "content": "<p>{% if %}</p>"}}
    assert "nodes.welcome.config.content" in errors_of(chain(node))


# --- Edges and the graph --------------------------------------------------------------------------------------


def test_an_edge_to_a_missing_node_is_named():
    definition = simple_definition()
    definition["edges"].append({"source": "tag", "target": "ghost"})
    assert "There is no node 'ghost'" in errors_of(definition)["edges.1.target"][0]


def test_an_edge_from_a_missing_node_is_named():
    definition = simple_definition()
    definition["edges"].append({"source": "ghost", "target": "tag"})
    assert "edges.1.source" in errors_of(definition)


def test_an_edge_into_the_trigger_is_refused():
    definition = simple_definition()
    definition["edges"].append({"source": "tag", "target": "trigger"})
    assert "edges.1.target" in errors_of(definition)


def test_a_port_the_node_does_not_have_is_named_with_the_ports_it_has():
    definition = chain(
        {"id": "check", "type": "condition", "config": {"rules": {"all": [{"field": "contact.email", "op": "is_set"}]}}}
    )
    definition["nodes"].append(tag())
    definition["edges"].append({"source": "check", "port": "maybe", "target": "tag"})
    message = errors_of(definition)["edges.1.port"][0]
    assert "'maybe'" in message and "true, false" in message


def test_an_edge_without_port_from_a_condition_is_refused():
    definition = chain(
        {"id": "check", "type": "condition", "config": {"rules": {"all": [{"field": "contact.email", "op": "is_set"}]}}}
    )
    definition["nodes"].append(tag())
    definition["edges"].append({"source": "check", "target": "tag"})
    assert "edges.1.port" in errors_of(definition)


def test_exit_has_no_ports():
    definition = chain({"id": "end", "type": "exit"}, tag())
    assert "ports: none" in errors_of(definition)["edges.1.port"][0]


def test_switch_ports_follow_its_branches():
    switch = {
        "id": "route",
        "type": "switch",
        "config": {
            "branches": [{"port": "vip", "rules": {"all": [{"field": "contact.score", "op": "gte", "value": 50}]}}]
        },
    }
    definition = chain(switch)
    definition["nodes"] += [tag("a"), tag("b", "other")]
    definition["edges"] += [
        {"source": "route", "port": "vip", "target": "a"},
        {"source": "route", "port": "default", "target": "b"},
    ]
    definition_clean(definition)
    definition["edges"].append({"source": "route", "port": "gold", "target": "a"})
    assert "edges.3.port" in errors_of(definition)


def test_a_repeated_edge_is_refused():
    definition = simple_definition()
    definition["edges"].append(dict(definition["edges"][0]))
    assert "edges.1" in errors_of(definition)


def test_an_unreachable_node_is_named():
    definition = simple_definition()
    definition["nodes"].append(tag("orphan", "x"))
    assert "Not connected" in errors_of(definition)["nodes.orphan"][0]


def test_a_cycle_is_named_on_each_of_its_nodes():
    definition = chain(tag("a"), tag("b", "x"), tag("c", "y"))
    definition["edges"].append({"source": "c", "target": "a"})
    errors = errors_of(definition)
    for node_id in ("a", "b", "c"):
        assert "cycle" in errors[f"nodes.{node_id}"][0]


def test_a_node_pointing_at_itself_is_a_cycle():
    definition = chain(tag("a"))
    definition["edges"].append({"source": "a", "target": "a"})
    assert "cycle" in errors_of(definition)["nodes.a"][0]


def test_a_long_chain_is_checked_without_recursion_limits():
    nodes = [
        {
            "id": f"n{index}",
            "type": "goal",
            "config": {"rules": {"all": [{"field": "contact.score", "op": "gt", "value": index}]}},
        }
        for index in range(MAX_NODES)
    ]
    assert len(definition_clean(chain(*nodes))["edges"]) == MAX_NODES


# --- Re-entry -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reentry", "expected"),
    [
        ({"policy": "always"}, {"policy": "always"}),
        ({"policy": "once"}, {"policy": "once"}),
        ({"policy": "interval", "days": 7}, {"policy": "interval", "days": 7}),
        ({"policy": "once", "days": 7}, {"policy": "once"}),
    ],
)
def test_reentry_policies(reentry, expected):
    definition = simple_definition()
    definition["reentry"] = reentry
    assert definition_clean(definition)["reentry"] == expected


@pytest.mark.parametrize(
    ("reentry", "field"),
    [
        ({"policy": "sometimes"}, "reentry.policy"),
        ({"policy": "interval"}, "reentry.days"),
        ({"policy": "interval", "days": 0}, "reentry.days"),
        ({"policy": "interval", "days": "7"}, "reentry.days"),
        ({"policy": "interval", "days": True}, "reentry.days"),
        ("once", "reentry"),
    ],
)
def test_a_bad_reentry_policy_is_named(reentry, field):
    definition = simple_definition()
    definition["reentry"] = reentry
    assert field in errors_of(definition)


# --- References to the workspace's objects --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_form_of_another_workspace_is_refused():
    workspace, other = WorkspaceFactory(), WorkspaceFactory()
    theirs = ComponentFactory(page__site__workspace=other, workspace=other)
    definition = {"trigger": {"type": "form_submitted", "config": {"component": str(theirs.pk)}}}
    assert "trigger.config.component" in errors_of(definition, workspace=workspace)
    assert definition_clean(definition, workspace=other)["trigger"]["config"]["component"] == str(theirs.pk)


@pytest.mark.django_db
def test_a_component_that_is_not_a_form_is_refused():
    component = ComponentFactory(type="heading")
    definition = {"trigger": {"type": "form_submitted", "config": {"component": str(component.pk)}}}
    assert "not a form" in errors_of(definition, workspace=component.workspace)["trigger.config.component"][0]


def test_a_component_id_that_is_not_an_id_is_refused():
    definition = {"trigger": {"type": "form_submitted", "config": {"component": "../etc"}}}
    assert "trigger.config.component" in errors_of(definition)


@pytest.mark.django_db
def test_a_sender_of_another_workspace_is_refused():
    workspace = WorkspaceFactory()
    theirs = SenderFactory()
    node = {"id": "mail", "type": "send_email", "config": {"subject": "Hi", "content": "<p>x</p>", "sender": theirs.pk}}
    assert "nodes.mail.config.sender" in errors_of(chain(node), workspace=workspace)
    ours = SenderFactory(workspace=workspace)
    node["config"]["sender"] = ours.pk
    definition_clean(chain(node), workspace=workspace)


@pytest.mark.django_db
def test_a_workflow_to_enroll_of_another_workspace_is_refused():
    workspace = WorkspaceFactory()
    theirs = WorkflowFactory()
    node = {"id": "enroll", "type": "enroll_workflow", "config": {"workflow": theirs.pk}}
    assert "nodes.enroll.config.workflow" in errors_of(chain(node), workspace=workspace)


@pytest.mark.django_db
def test_a_workflow_enrolling_into_itself_is_refused():
    workflow = WorkflowFactory()
    node = {"id": "enroll", "type": "enroll_workflow", "config": {"workflow": workflow.pk}}
    errors = errors_of(chain(node), workspace=workflow.workspace, workflow=workflow)
    assert "itself" in errors["nodes.enroll.config.workflow"][0]


@pytest.mark.django_db
def test_a_segment_of_another_workspace_is_refused():
    workspace = WorkspaceFactory()
    theirs = SegmentFactory()
    definition = {"trigger": {"type": "schedule", "config": {"cron": "0 9 * * 1", "segment": theirs.pk}}}
    assert "trigger.config.segment" in errors_of(definition, workspace=workspace)


@pytest.mark.django_db
def test_a_campaign_of_another_workspace_is_refused():
    workspace = WorkspaceFactory()
    theirs = CampaignFactory()
    definition = {"trigger": {"type": "email_opened", "config": {"campaign": theirs.pk}}}
    assert "trigger.config.campaign" in errors_of(definition, workspace=workspace)


@pytest.mark.django_db
def test_a_custom_field_must_exist_in_the_workspace():
    workspace = WorkspaceFactory()
    node = {"id": "set", "type": "update_field", "config": {"field": "plan", "value": "pro"}}
    assert "nodes.set.config.field" in errors_of(chain(node), workspace=workspace)
    CustomFieldFactory(workspace=workspace, key="plan")
    definition_clean(chain(node), workspace=workspace)


@pytest.mark.django_db
def test_notify_team_members_must_belong_to_the_workspace():
    from tests.factories import MembershipFactory

    workspace = WorkspaceFactory()
    stranger = MembershipFactory()
    node = {"id": "ping", "type": "notify_team", "config": {"members": [stranger.user_id], "subject": "New lead"}}
    assert "nodes.ping.config.members" in errors_of(chain(node), workspace=workspace)


def test_a_rule_naming_a_step_that_does_not_exist_is_refused():
    node = {
        "id": "check",
        "type": "condition",
        "config": {"rules": {"all": [{"field": "steps.ghost.output.status", "op": "equals", "value": "sent"}]}},
    }
    assert "nodes.check.config.rules.all.0.field" in errors_of(chain(node))


# --- Anything at all -----------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
TYPE_NAMES = st.sampled_from(
    ["manual", "form_submitted", "add_tag", "send_email", "condition", "switch", "split", "wait", "exit", "nope"]
)
NODE_IDS = st.sampled_from(["a", "b", "c", "trigger", "", "x y"])
NODE = st.fixed_dictionaries(
    {"id": NODE_IDS | JSON, "type": TYPE_NAMES | JSON},
    optional={"config": JSON, "position": JSON, "name": JSON},
)
EDGE = st.fixed_dictionaries(
    {"source": NODE_IDS | JSON, "target": NODE_IDS | JSON},
    optional={"port": st.sampled_from(["out", "true", "false", "a", "default"]) | JSON},
)
DEFINITION = st.fixed_dictionaries(
    {},
    optional={
        "trigger": st.fixed_dictionaries({"type": TYPE_NAMES | JSON}, optional={"config": JSON}) | JSON,
        "nodes": st.lists(NODE | JSON, max_size=5) | JSON,
        "edges": st.lists(EDGE | JSON, max_size=6) | JSON,
        "reentry": JSON,
        "name": JSON,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DEFINITION | JSON)
def test_any_input_is_cleaned_or_refused_with_named_errors_never_a_crash(definition):
    try:
        clean = definition_clean(definition)
    except ValidationError as exc:
        assert exc.message_dict
        assert all(isinstance(key, str) and key for key in exc.message_dict)
    else:
        assert definition_clean(copy.deepcopy(clean)) == clean


#: Fields that take any JSON by design: an HTTP request's body.
FREE_FIELDS = {("http_request", "body")}


def _every_config_field():
    from workflows.nodes import NODE_TYPES

    for type_name, node_type in sorted(NODE_TYPES.items()):
        for field in node_type.Config.model_fields:
            if (type_name, field) not in FREE_FIELDS:
                yield type_name, node_type.kind, field


@pytest.mark.parametrize("garbage", [[{"x": None}], {"x": [None]}, 10**30])
@pytest.mark.parametrize(("type_name", "kind", "field"), list(_every_config_field()))
def test_garbage_in_any_config_field_is_named_by_node_and_field(type_name, kind, field, garbage):
    if kind == "trigger":
        errors = errors_of({"trigger": {"type": type_name, "config": {field: garbage}}})
        prefix = "trigger.config"
    else:
        errors = errors_of(chain({"id": "step", "type": type_name, "config": {field: garbage}}))
        prefix = "nodes.step.config"
    assert any(key == f"{prefix}.{field}" or key.startswith(f"{prefix}.{field}.") for key in errors), errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("type_name", "config", "field"),
    [
        ("send_email", {"subject": "Hi", "content": "<p>Hi</p>", "sender": 2**63}, "sender"),
        ("notify_team", {"subject": "Hi", "members": [2**63]}, "members.0"),
        ("enroll_workflow", {"workflow": 2**63}, "workflow"),
    ],
)
def test_an_id_past_the_databases_keys_is_named_not_looked_up(type_name, config, field):
    errors = errors_of(chain({"id": "step", "type": type_name, "config": config}), workspace=WorkspaceFactory())
    assert f"nodes.step.config.{field}" in errors


@pytest.mark.django_db
@pytest.mark.parametrize("type_name", ["email_opened", "email_clicked"])
def test_a_trigger_id_past_the_databases_keys_is_named_not_looked_up(type_name):
    definition = {"trigger": {"type": type_name, "config": {"campaign": 2**63}}}
    assert "trigger.config.campaign" in errors_of(definition, workspace=WorkspaceFactory())
