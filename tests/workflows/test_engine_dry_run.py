"""Dry runs (the editor's test button) write nothing and show every step; and the hot path of a real
workflow (condition → add_tag → send_email) costs few queries per step."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import EmailSend
from core.models import Event
from crm.models import ContactTag
from tests.factories import ContactFactory
from tests.workflows.engine_kit import definition, engine_node_types, make_workflow, node
from workflows import engine
from workflows.models import Execution, ExecutionStatus, StepRun
from workflows.services.executions import execution_start, workflow_dry_run

HAS_PHONE = {"all": [{"field": "contact.phone", "op": "is_set"}]}


def welcome(opened: bool = False) -> dict:
    nodes = [
        node("has_phone", "condition", rules=HAS_PHONE),
        node("tag", "add_tag", tag="lead"),
        node("welcome", "send_email", subject="Welcome, {{ contact.first_name }}", content="Hello {{ trigger.x }}"),
    ]
    edges = [("trigger", "has_phone"), ("has_phone", "false", "tag"), ("has_phone", "true", "tag"), ("tag", "welcome")]
    if opened:
        nodes.append(node("opened", "wait_for_event", event="email_opened", timeout={"amount": 2, "unit": "days"}))
        nodes.append(node("again", "add_tag", tag="engaged"))
        edges += [("welcome", "opened"), ("opened", "event", "again")]
    return definition(nodes, edges, trigger="manual")


@pytest.mark.django_db
def test_a_dry_run_shows_every_step_and_writes_nothing():
    contact = ContactFactory(first_name="Ada", phone="")
    result = workflow_dry_run(
        workspace=contact.workspace, definition=welcome(), trigger_data={"x": 42}, contact=contact
    )
    assert result["status"] == "succeeded"
    assert [(s["node_id"], s["status"], s["port"]) for s in result["steps"]] == [
        ("has_phone", "succeeded", "false"),
        ("tag", "succeeded", "out"),
        ("welcome", "succeeded", "out"),
    ]
    email = result["steps"][2]
    assert email["node_type"] == "send_email" and email["output"]["simulated"] is True
    assert email["output"]["subject"] == "Welcome, Ada" and "Hello 42" in email["output"]["text"]
    assert set(email) == {"node_id", "node_type", "status", "port", "input", "output", "error", "duration_ms"}
    assert not ContactTag.objects.exists() and not EmailSend.objects.exists()
    assert not Execution.objects.exists() and not StepRun.objects.exists()


@pytest.mark.django_db
def test_a_dry_runs_wait_for_event_times_out_unless_told_the_event_happened():
    contact = ContactFactory()
    spec = welcome(opened=True)
    timed_out = workflow_dry_run(workspace=contact.workspace, definition=spec, trigger_data={}, contact=contact)
    assert [s["node_id"] for s in timed_out["steps"]][-1] == "opened"
    assert timed_out["steps"][-1]["port"] == "timeout" and timed_out["status"] == "succeeded"
    opened = workflow_dry_run(
        workspace=contact.workspace,
        definition=spec,
        trigger_data={},
        contact=contact,
        events={"opened": {"send_id": 1}},
    )
    assert [(s["node_id"], s["port"]) for s in opened["steps"]][-2:] == [("opened", "event"), ("again", "out")]
    assert not ContactTag.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_stops_at_a_failing_step_with_its_error():
    contact = ContactFactory()
    spec = definition(
        [node("note", "add_note", text="{{ trigger.items | undefined_filter }}")],
        [("trigger", "note")],
        trigger="manual",
    )
    with pytest.raises(ValidationError):  # an unknown filter doesn't even validate
        workflow_dry_run(workspace=contact.workspace, definition=spec, trigger_data={}, contact=contact)
    with engine_node_types():
        spec = definition(
            [node("tag", "add_tag", tag="x"), node("boom", "t_fail", message="No luck."), node("after", "t_record")],
            [("trigger", "tag"), ("tag", "boom"), ("boom", "after")],
            trigger="manual",
        )
        result = workflow_dry_run(workspace=contact.workspace, definition=spec, trigger_data={}, contact=contact)
    assert result["status"] == "failed"
    assert [(s["node_id"], s["status"], s["error"]) for s in result["steps"]] == [
        ("tag", "succeeded", ""),
        ("boom", "failed", "No luck."),
    ]
    assert not ContactTag.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [[], "text", None, 5])
def test_a_dry_run_refuses_trigger_data_that_is_not_an_object(bad):
    contact = ContactFactory()
    with pytest.raises(ValidationError) as error:
        workflow_dry_run(workspace=contact.workspace, definition=welcome(), trigger_data=bad, contact=contact)
    assert "trigger_data" in error.value.message_dict


@pytest.mark.django_db
def test_a_dry_run_refuses_an_invalid_definition_naming_the_node():
    contact = ContactFactory()
    spec = welcome()
    spec["nodes"][1]["config"] = {"tag": ""}
    with pytest.raises(ValidationError) as error:
        workflow_dry_run(workspace=contact.workspace, definition=spec, trigger_data={}, contact=contact)
    assert any(key.startswith("nodes.tag") for key in error.value.message_dict), error.value.message_dict


@pytest.mark.django_db
def test_the_hot_path_costs_few_queries_per_step():
    """condition → add_tag → send_email for a new contact: the benchmark's workflow."""
    engine._GRAPHS.clear()
    contact = ContactFactory(first_name="Ada", phone="+1 555 0100")
    workflow = make_workflow(welcome(), workspace=contact.workspace)
    warm = execution_start(workflow=workflow, contact=ContactFactory(workspace=contact.workspace), trigger_data={})
    engine.execution_run(execution_id=warm.pk)  # per-process caches (graph, compiled email) warm up once
    with CaptureQueriesContext(connection) as start_queries:
        execution = execution_start(workflow=workflow, contact=contact, trigger_data={"x": 1})
    with CaptureQueriesContext(connection) as run_queries:
        engine.execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert EmailSend.objects.filter(contact=contact).count() == 1
    sql = [q["sql"] for q in run_queries.captured_queries]
    print(f"start: {len(start_queries)} queries; run: {len(sql)} queries for 3 steps")
    for statement in sql:
        print("   ", statement[:150])
    # Starting: no re-entry check for "always", and one INSERT (a keyed one too: ON CONFLICT DO NOTHING).
    assert len(start_queries) == 1
    # The engine's own statements: the claim, one read of the execution with its workspace and contact,
    # and per step one StepRun INSERT and one UPDATE of the execution (on PostgreSQL, the two in one
    # statement), the condition's recorded with the step after it. The rest are the nodes' own, and
    # the two reads with which the workflows' handler declines add_tag's `tag.added` event when it is
    # emitted (no workflow starts on it, no run of the contact's has a goal), sparing it a dispatch.
    engine_sql = [statement for statement in sql if '"workflows_' in statement.split(" WHERE ")[0]]
    per_step = 1 if connection.vendor == "postgresql" else 2
    assert len(engine_sql) == 2 + per_step * 2 + 2, engine_sql
    assert Event.objects.get(type="tag.added", payload__contact_id=contact.pk).dispatched_at is not None
    assert list(StepRun.objects.filter(execution=execution).order_by("id").values_list("node_id", "port")) == [
        ("has_phone", "true"),
        ("tag", "out"),
        ("welcome", "out"),
    ]
    assert len(sql) <= 36
