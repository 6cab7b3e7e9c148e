"""Small node types and helpers for the engine's tests: the engine is tested on its own, with nodes
whose behaviour the test controls, registered for the test and removed after it."""

import datetime
import itertools
from contextlib import contextmanager

import pytest
from django.utils import timezone
from pydantic import Field

from core.events.registry import _HANDLERS
from crm.models import Contact
from workflows import engine, nodes
from workflows.models import Execution, Workflow, WorkflowStatus, WorkflowVersion
from workflows.nodes.base import NodeConfig, NodeType, Result, StepError, TransientStepError, TriggerType

#: (node id, execution id, signal) of every t_record run, in order.
CALLS: list[tuple[str, int | None, dict | None]] = []
#: Attempts so far at each t_flaky step, by (execution id, node id).
ATTEMPTS: dict[tuple, int] = {}


class RecordConfig(NodeConfig):
    value: str = ""


class Record(NodeType):
    type = "t_record"
    kind = "action"
    name = "Record"
    Config = RecordConfig
    side_effect = True

    def run(self, ctx, config):
        CALLS.append((ctx.node_id, ctx.execution.pk if ctx.execution else None, ctx.signal))
        return Result(output={"value": ctx.render(config.value), "node": ctx.node_id})


class BranchConfig(NodeConfig):
    port: str = "true"


class Branch(NodeType):
    type = "t_branch"
    kind = "logic"
    name = "Branch"
    Config = BranchConfig

    def ports(self, config):
        return ["true", "false"]

    def run(self, ctx, config):
        return Result(output={"went": config.port}, port=config.port)


class WaitConfig(NodeConfig):
    seconds: int = 60
    event: str = ""


class Wait(NodeType):
    """Waits `seconds`, or until `event` (ports event/timeout then)."""

    type = "t_wait"
    kind = "logic"
    name = "Wait"
    Config = WaitConfig

    def ports(self, config):
        return ["event", "timeout"] if config.event else ["out"]

    def run(self, ctx, config):
        if ctx.signal is None:
            return Result(
                output={"until": (ctx.now + datetime.timedelta(seconds=config.seconds)).isoformat()},
                wait_until=ctx.now + datetime.timedelta(seconds=config.seconds),
                wait_event=config.event,
            )
        CALLS.append((ctx.node_id, ctx.execution.pk if ctx.execution else None, ctx.signal))
        if not config.event:
            return Result(output={"resumed": ctx.signal["reason"]})
        port = "event" if ctx.signal["reason"] == "event" else "timeout"
        return Result(output={"resumed": ctx.signal["reason"], "event": ctx.signal.get("event")}, port=port)


class FailConfig(NodeConfig):
    message: str = "It broke."
    #: Rename the contact first, to show the step's writes are rolled back with it.
    rename: str = ""


class Fail(NodeType):
    type = "t_fail"
    kind = "action"
    name = "Fail"
    Config = FailConfig
    #: Tests flip this to let a retried step through.
    healed = False

    def run(self, ctx, config):
        if config.rename:
            Contact.objects.filter(pk=ctx.contact.pk).update(first_name=config.rename)
        if Fail.healed:
            return Result(output={"healed": True})
        if config.message == "crash":
            raise ValueError("not a step error")
        raise StepError(config.message)


class FlakyConfig(NodeConfig):
    failures: int = 1


class Flaky(NodeType):
    type = "t_flaky"
    kind = "action"
    name = "Flaky"
    Config = FlakyConfig

    def run(self, ctx, config):
        key = (ctx.execution.pk if ctx.execution else None, ctx.node_id)
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        if ATTEMPTS[key] <= config.failures:
            raise TransientStepError(f"Timed out (attempt {ATTEMPTS[key]}).")
        return Result(output={"attempts": ATTEMPTS[key]})


class Exit(NodeType):
    type = "t_exit"
    kind = "action"
    name = "Exit"

    def ports(self, config):
        return []

    def run(self, ctx, config):
        return Result(output={}, exit=True)


class BadPort(NodeType):
    type = "t_badport"
    kind = "logic"
    name = "Bad port"

    def run(self, ctx, config):
        return Result(output={}, port="nowhere")


class GoalConfig(NodeConfig):
    rules: dict = Field(default_factory=dict)


class Goal(NodeType):
    """Stands in for the goal node where the real one isn't registered."""

    type = "goal"
    kind = "logic"
    name = "Goal"
    Config = GoalConfig

    def run(self, ctx, config):
        return Result(output={"reached": True})


class FiredConfig(NodeConfig):
    key: str = ""
    min: int = 0


class Fired(TriggerType):
    """Trigger on "test.fired" events: {contact_id, key, n}."""

    type = "t_fired"
    name = "Fired"
    Config = FiredConfig
    events = ("test.fired",)

    def ref(self, config):
        return config.key.lower()

    def event_ref(self, event):
        return str(event.payload.get("key", "")).lower()

    def matches(self, config, event):
        return int(event.payload.get("n", 0)) >= config.min


class Start(TriggerType):
    type = "t_start"
    name = "Start"


TEST_TYPES = (Record, Branch, Wait, Fail, Flaky, Exit, BadPort, Fired, Start)


@contextmanager
def engine_node_types():
    saved = dict(nodes.NODE_TYPES)
    for cls in TEST_TYPES:
        nodes.register(cls)
    if "goal" not in nodes.NODE_TYPES:
        nodes.register(Goal)
    handlers = {event: dict(funcs) for event, funcs in _HANDLERS.items()}
    CALLS.clear()
    ATTEMPTS.clear()
    Fail.healed = False
    try:
        yield
    finally:
        nodes.NODE_TYPES.clear()
        nodes.NODE_TYPES.update(saved)
        _HANDLERS.clear()
        _HANDLERS.update(handlers)
        engine._GRAPHS.clear()


@pytest.fixture
def kit(db):
    with engine_node_types():
        yield


def node(node_id: str, type: str, **config) -> dict:
    return {"id": node_id, "type": type, "config": config}


def definition(nodes_: list[dict], edges: list[tuple], *, trigger: str = "t_start", trigger_config=None, reentry=None):
    """Edges as (source, target) or (source, port, target)."""
    out = {
        "trigger": {"type": trigger, "config": trigger_config or {}},
        "nodes": nodes_,
        "edges": [
            {"source": edge[0], "target": edge[-1], **({"port": edge[1]} if len(edge) == 3 else {})} for edge in edges
        ],
    }
    if reentry:
        out["reentry"] = reentry
    return out


def chain(*nodes_: dict, **kwargs) -> dict:
    """A definition running `nodes_` one after another."""
    ids = ["trigger"] + [n["id"] for n in nodes_]
    return definition(list(nodes_), list(itertools.pairwise(ids)), **kwargs)


def activate(workflow: Workflow, spec: dict, ref: str = "") -> WorkflowVersion:
    """What workflow activation does, minus its validation: a new version, made the active one."""
    number = (workflow.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = WorkflowVersion.objects.create(
        workspace=workflow.workspace, workflow=workflow, number=number, definition=spec
    )
    workflow.definition = spec
    workflow.active_version = version
    workflow.status = WorkflowStatus.ACTIVE
    workflow.trigger_type = spec["trigger"]["type"]
    workflow.trigger_ref = ref
    workflow.save()
    return version


def make_workflow(spec: dict, *, workspace=None, ref: str = "") -> Workflow:
    from tests.factories import WorkflowFactory

    workflow = WorkflowFactory(**({"workspace": workspace} if workspace else {}), definition=spec)
    activate(workflow, spec, ref=ref)
    return workflow


def run(execution: Execution) -> Execution:
    engine.execution_run(execution_id=execution.pk)
    execution.refresh_from_db()
    return execution


def later(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)
