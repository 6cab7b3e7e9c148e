"""Logic node types: condition, switch, split, wait, wait_for_event and goal: their ports (fixed or
from the config), where they lead, how waits compute their end in the workspace's time zone, and
how they answer when resumed."""

import datetime
from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Workspace
from tests.workflows.steps import ports_of, run_node, step_context, utc
from workflows.definition import definition_clean
from workflows.nodes import get_node_type


class Contact:
    custom_fields = {}
    email = "ada@example.com"
    first_name = "Ada"
    last_name = ""
    name = "Ada"
    company = ""
    phone = ""
    stage = "lead"

    def __init__(self, pk=None, score=0):
        self.pk = pk
        self.score = score


class Execution:
    def __init__(self, pk=1, workflow_id=10):
        self.pk = pk
        self.workflow_id = workflow_id


def ctx(timezone="UTC", *, contact=None, execution=None, now=None, signal=None, dry_run=False, trigger=None):
    return step_context(
        Workspace(pk=1, name="Northwind", timezone=timezone),  # unsaved: these steps read no rows
        contact=contact or Contact(),
        execution=execution,
        now=now,
        signal=signal,
        dry_run=dry_run,
        trigger=trigger,
    )


def errors_for(node: dict) -> dict:
    definition = {
        "trigger": {"type": "manual"},
        "nodes": [node],
        "edges": [{"source": "trigger", "target": node["id"]}],
    }
    with pytest.raises(ValidationError) as caught:
        definition_clean(definition)
    return caught.value.message_dict


SCORE_50 = {"all": [{"field": "contact.score", "op": "gte", "value": 50}]}


@pytest.mark.parametrize("type_name", ["condition", "switch", "split", "wait", "wait_for_event", "goal"])
def test_logic_types_are_registered_and_have_no_outside_effects(type_name):
    node_type = get_node_type(type_name)
    assert node_type.kind == "logic" and node_type.side_effect is False


# --- condition ------------------------------------------------------------------------------------------------


def test_condition_ports_are_true_and_false():
    assert ports_of("condition", {"rules": SCORE_50}) == ["true", "false"]


@pytest.mark.parametrize(("score", "port"), [(50, "true"), (49, "false")])
def test_condition_leaves_by_the_rules_verdict(score, port):
    result = run_node("condition", {"rules": SCORE_50}, ctx(contact=Contact(score=score)))
    assert result.port == port and result.output == {"result": port == "true"}


def test_condition_runs_the_same_in_a_dry_run():
    assert run_node("condition", {"rules": SCORE_50}, ctx(contact=Contact(score=80), dry_run=True)).port == "true"


def test_condition_needs_rules():
    assert "nodes.check.config.rules.all" in errors_for({"id": "check", "type": "condition", "config": {}})
    assert "nodes.check.config.rules" in errors_for({"id": "check", "type": "condition", "config": {"rules": []}})


# --- switch ---------------------------------------------------------------------------------------------------


SWITCH = {
    "branches": [
        {"port": "vip", "rules": {"all": [{"field": "contact.score", "op": "gte", "value": 100}]}},
        {"port": "warm", "rules": {"all": [{"field": "contact.score", "op": "gte", "value": 20}]}},
    ]
}


def test_switch_ports_are_its_branches_then_default():
    assert get_node_type("switch").dynamic_ports is True
    assert ports_of("switch", SWITCH) == ["vip", "warm", "default"]


@pytest.mark.parametrize(("score", "port"), [(150, "vip"), (100, "vip"), (30, "warm"), (5, "default")])
def test_switch_takes_the_first_branch_that_holds(score, port):
    result = run_node("switch", SWITCH, ctx(contact=Contact(score=score)))
    assert result.port == port == result.output["branch"]


@pytest.mark.parametrize(
    ("branches", "field"),
    [
        ([], "branches"),
        ([{"port": "default", "rules": SCORE_50}], "branches.0.port"),
        ([{"port": "a", "rules": SCORE_50}, {"port": "a", "rules": SCORE_50}], "branches.1.port"),
        ([{"port": "has space", "rules": SCORE_50}], "branches.0.port"),
        ([{"port": "a", "rules": {"all": [{"field": "contact.x", "op": "??"}]}}], "branches.0.rules.all.0.op"),
        ([{"port": "a"}], "branches.0.rules.all"),
        ([{"port": "a", "rules": SCORE_50, "colour": "red"}], "branches.0.colour"),
    ],
)
def test_switch_config_errors_name_the_branch(branches, field):
    errors = errors_for({"id": "route", "type": "switch", "config": {"branches": branches}})
    assert f"nodes.route.config.{field}" in errors, errors


# --- split ----------------------------------------------------------------------------------------------------


def test_split_ports_are_its_variants():
    assert get_node_type("split").dynamic_ports is True
    assert ports_of("split", {}) == ["a", "b"]
    assert ports_of("split", {"variants": [{"port": "x", "weight": 1}, {"port": "y", "weight": 2}]}) == ["x", "y"]


def test_split_is_stable_per_contact():
    for contact_id in range(1, 50):
        ports = {
            run_node("split", {}, ctx(contact=Contact(pk=contact_id), execution=Execution(pk=run))).port
            for run in range(5)
        }
        assert len(ports) == 1


def test_split_follows_the_weights():
    config = {"variants": [{"port": "a", "weight": 80}, {"port": "b", "weight": 20}]}
    counts = Counter(
        run_node("split", config, ctx(contact=Contact(pk=pk), execution=Execution())).port for pk in range(1, 2001)
    )
    assert 1500 < counts["a"] < 1700 and 300 < counts["b"] < 500


def test_split_differs_between_workflows():
    ports = [
        tuple(
            run_node("split", {}, ctx(contact=Contact(pk=pk), execution=Execution(workflow_id=workflow))).port
            for pk in range(1, 40)
        )
        for workflow in (1, 2)
    ]
    assert ports[0] != ports[1]


def test_a_zero_weight_variant_is_never_taken():
    config = {"variants": [{"port": "a", "weight": 0}, {"port": "b", "weight": 1}]}
    assert {run_node("split", config, ctx(contact=Contact(pk=pk))).port for pk in range(1, 200)} == {"b"}


def test_a_split_with_no_weight_that_got_past_the_checks_fails_the_step():
    from workflows.nodes.base import StepError

    config = {"variants": [{"port": "a", "weight": 0}, {"port": "b", "weight": 0}]}
    with pytest.raises(StepError, match="weight"):
        run_node("split", config, ctx(contact=Contact(pk=1)))


def test_split_without_a_contact_or_execution_still_chooses():
    assert run_node("split", {}, ctx(contact=None, dry_run=True)).port in ("a", "b")


@pytest.mark.parametrize(
    ("variants", "field"),
    [
        ([{"port": "a", "weight": 1}], "variants"),
        ([{"port": "a", "weight": 0}, {"port": "b", "weight": 0}], "variants"),
        ([{"port": "a", "weight": 1}, {"port": "a", "weight": 1}], "variants.1.port"),
        ([{"port": "a", "weight": -1}, {"port": "b", "weight": 1}], "variants.0.weight"),
    ],
)
def test_split_config_errors(variants, field):
    errors = errors_for({"id": "ab", "type": "split", "config": {"variants": variants}})
    assert f"nodes.ab.config.{field}" in errors, errors


# --- wait -----------------------------------------------------------------------------------------------------


def test_wait_has_one_port_and_suspends_for_a_duration():
    now = utc(2026, 3, 2, 10, 0)
    assert ports_of("wait", {}) == ["out"]
    result = run_node("wait", {"duration": {"amount": 90, "unit": "minutes"}}, ctx(now=now))
    assert result.wait_until == now + datetime.timedelta(minutes=90)
    assert result.wait_event == "" and result.port is None
    assert run_node("wait", {"duration": {"amount": 3, "unit": "hours"}}, ctx(now=now)).wait_until == utc(
        2026, 3, 2, 13
    )


def test_a_wait_in_days_keeps_the_local_time_across_a_daylight_saving_change():
    # 09:00 in Paris the day before the clocks go forward (29 March 2026) is 08:00 UTC...
    now = utc(2026, 3, 28, 8, 0)
    result = run_node("wait", {"duration": {"amount": 2, "unit": "days"}}, ctx("Europe/Paris", now=now))
    # ...and 09:00 in Paris two days later is 07:00 UTC.
    assert result.wait_until == utc(2026, 3, 30, 7, 0)


def test_a_wait_in_hours_is_elapsed_time_across_a_daylight_saving_change():
    now = utc(2026, 3, 28, 8, 0)
    result = run_node("wait", {"duration": {"amount": 48, "unit": "hours"}}, ctx("Europe/Paris", now=now))
    assert result.wait_until == utc(2026, 3, 30, 8, 0)


def test_wait_until_a_local_date_and_time():
    now = utc(2026, 12, 1)
    result = run_node("wait", {"mode": "until", "until": "2026-12-24T09:00"}, ctx("America/New_York", now=now))
    assert result.wait_until == utc(2026, 12, 24, 14, 0)
    with_offset = run_node(
        "wait", {"mode": "until", "until": "2026-12-24T09:00:00+00:00"}, ctx("America/New_York", now=now)
    )
    assert with_offset.wait_until == utc(2026, 12, 24, 9, 0)


def test_wait_until_a_moment_already_past_goes_straight_on():
    result = run_node("wait", {"mode": "until", "until": "2020-01-01T00:00:00Z"}, ctx(now=utc(2026, 1, 1)))
    assert result.wait_until is None and result.output["waited"] is False


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 1 June 2026, 06:00 in Tokyo (21:00 UTC on Sunday): Tuesday 09:00 Tokyo is Tuesday 00:00 UTC.
        (utc(2026, 5, 31, 21, 0), utc(2026, 6, 2, 0, 0)),
        # Tuesday 08:59 Tokyo: the same morning.
        (utc(2026, 5, 31, 23, 59), utc(2026, 6, 2, 0, 0)),
        # Tuesday 09:00 Tokyo exactly: the next chosen day, Thursday.
        (utc(2026, 6, 2, 0, 0), utc(2026, 6, 4, 0, 0)),
        # Thursday 10:00 Tokyo: next Tuesday.
        (utc(2026, 6, 4, 1, 0), utc(2026, 6, 9, 0, 0)),
    ],
)
def test_wait_until_a_weekday_and_hour_in_the_workspaces_time_zone(now, expected):
    config = {"mode": "weekday", "weekdays": ["tue", "thu"], "hour": 9, "minute": 0}
    assert run_node("wait", config, ctx("Asia/Tokyo", now=now)).wait_until == expected


def test_wait_until_a_weekday_across_a_daylight_saving_change():
    # Friday 27 March 2026 in Paris (UTC+1); Monday 30 March is already UTC+2.
    config = {"mode": "weekday", "weekdays": ["mon"], "hour": 9, "minute": 30}
    result = run_node("wait", config, ctx("Europe/Paris", now=utc(2026, 3, 27, 12)))
    assert result.wait_until == utc(2026, 3, 30, 7, 30)


def test_a_workspace_with_an_unknown_time_zone_waits_in_utc():
    config = {"mode": "weekday", "weekdays": ["mon"], "hour": 9}
    assert run_node("wait", config, ctx("Mars/Olympus", now=utc(2026, 6, 2))).wait_until == utc(2026, 6, 8, 9)


@pytest.mark.parametrize("config", [{"mode": "until"}, {"mode": "weekday"}])
def test_a_wait_config_that_got_past_the_checks_fails_the_step(config):
    from workflows.nodes.base import StepError

    with pytest.raises(StepError, match="Choose"):
        run_node("wait", config, ctx())


@pytest.mark.parametrize("reason", ["time", "event"])
def test_a_resumed_wait_leaves_by_its_port(reason):
    result = run_node("wait", {}, ctx(signal={"reason": reason}))
    assert result.wait_until is None and result.port is None and result.output["waited"] is True


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"mode": "until"}, "until"),
        ({"mode": "until", "until": "next tuesday"}, "until"),
        ({"mode": "until", "until": "9999-12-31T23:59:00"}, "until"),
        ({"mode": "until", "until": "0001-01-01T00:00:00+14:00"}, "until"),
        ({"mode": "weekday"}, "weekdays"),
        ({"mode": "weekday", "weekdays": ["funday"]}, "weekdays.0"),
        ({"mode": "weekday", "weekdays": ["mon"], "hour": 24}, "hour"),
        ({"mode": "weekday", "weekdays": ["mon"], "minute": 60}, "minute"),
        ({"mode": "sometime"}, "mode"),
        ({"duration": {"amount": 0, "unit": "days"}}, "duration.amount"),
        ({"duration": {"amount": 2, "unit": "weeks"}}, "duration.unit"),
        ({"duration": {"amount": 400, "unit": "days"}}, "duration.amount"),
        ({"duration": {"amount": 1, "unit": "days", "extra": 1}}, "duration.extra"),
    ],
)
def test_wait_config_errors_name_the_field(config, field):
    errors = errors_for({"id": "pause", "type": "wait", "config": config})
    assert f"nodes.pause.config.{field}" in errors, errors


# --- wait_for_event -------------------------------------------------------------------------------------------


def test_wait_for_event_ports_are_event_and_timeout():
    assert ports_of("wait_for_event", {}) == ["event", "timeout"]


@pytest.mark.parametrize(
    ("event", "wait_event"), [("email_opened", "email.opened"), ("email_clicked", "email.clicked")]
)
def test_wait_for_event_suspends_until_the_event_or_the_timeout(event, wait_event):
    now = utc(2026, 5, 4, 12)
    result = run_node("wait_for_event", {"event": event, "timeout": {"amount": 2, "unit": "days"}}, ctx(now=now))
    assert result.wait_until == utc(2026, 5, 6, 12) and result.wait_event == wait_event


def test_wait_for_event_defaults_to_an_open_within_two_days():
    result = run_node("wait_for_event", {}, ctx(now=utc(2026, 5, 4)))
    assert (result.wait_event, result.wait_until) == ("email.opened", utc(2026, 5, 6))


def test_wait_for_event_resumed_by_the_event_leaves_by_event_with_it():
    opened = {"send_id": 3, "contact_id": 1, "campaign_id": None}
    result = run_node("wait_for_event", {}, ctx(signal={"reason": "event", "event": opened}))
    assert result.port == "event" and result.output == {"event": opened} and result.wait_until is None


def test_wait_for_event_resumed_by_time_leaves_by_timeout():
    result = run_node("wait_for_event", {}, ctx(signal={"reason": "time"}))
    assert result.port == "timeout" and result.wait_until is None


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"event": "form_submitted"}, "event"),
        ({"timeout": {"amount": 9000, "unit": "hours"}}, "timeout.amount"),
        ({"timeout": {"amount": -1, "unit": "hours"}}, "timeout.amount"),
    ],
)
def test_wait_for_event_config_errors(config, field):
    errors = errors_for({"id": "opened", "type": "wait_for_event", "config": config})
    assert f"nodes.opened.config.{field}" in errors, errors


# --- goal -----------------------------------------------------------------------------------------------------


def test_goal_has_one_port_and_passes_when_reached_in_order():
    config = {"rules": {"any": [{"op": "has_tag", "value": "customer"}]}}
    assert ports_of("goal", config) == ["out"]
    result = run_node("goal", config, ctx())
    assert result.port is None and result.output == {"reached": True}


def test_goal_rules_are_what_the_engine_checks():
    from workflows.conditions import evaluate
    from workflows.definition import Graph

    definition = definition_clean(
        {
            "trigger": {"type": "manual"},
            "nodes": [{"id": "won", "type": "goal", "config": {"rules": SCORE_50}}],
            "edges": [{"source": "trigger", "target": "won"}],
        }
    )
    graph = Graph(definition)
    assert graph.goals == ["won"]
    assert evaluate(graph.config("won").rules, ctx(contact=Contact(score=60)))
    assert not evaluate(graph.config("won").rules, ctx(contact=Contact(score=10)))


def test_goal_needs_rules():
    assert "nodes.won.config.rules.all" in errors_for({"id": "won", "type": "goal", "config": {}})
