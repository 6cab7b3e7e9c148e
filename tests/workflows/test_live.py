"""Live updates: what the engine announces after a step (ids and a step summary, never a query),
what the monitor is then sent (rows of its own workspace only), the polling fallback's cursor, and
the publisher that sends for a process over a network channel layer without the caller waiting;
an announcement never fails the step that made it."""

import datetime
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ExecutionFactory, StepRunFactory, WorkspaceFactory
from workflows import live
from workflows.models import Execution

pytestmark = pytest.mark.django_db


class RecordingLayer:
    """A network-like channel layer (not the in-memory one) that records what it is sent."""

    def __init__(self, delay: float = 0.0):
        self.sent: list[tuple[str, dict]] = []
        self.delay = delay
        self.threads: set[str] = set()
        self.done = threading.Event()

    async def group_send(self, group, message):
        import asyncio

        self.threads.add(threading.current_thread().name)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent.append((group, message))
        self.done.set()


@pytest.fixture
def publisher(monkeypatch):
    """A fresh publisher for the test (its own loop thread)."""
    fresh = live._Publisher()
    monkeypatch.setattr(live, "_publisher", fresh)
    return fresh


def test_the_announcement_names_the_execution_and_summarises_the_step_without_queries(publisher, monkeypatch):
    layer = RecordingLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    execution = ExecutionFactory()
    step = StepRunFactory(execution=execution, node_id="tag", port="out", input={"big": "x" * 1000})
    with CaptureQueriesContext(connection) as captured:
        live.execution_changed(execution, step)
    assert len(captured) == 0
    assert layer.done.wait(3)
    group, message = layer.sent[0]
    assert group == f"workflow-executions-{execution.workspace_id}"
    assert message["type"] == "execution.changed" and message["execution"] == execution.pk
    assert message["step"]["id"] == step.pk and message["step"]["port"] == "out"
    assert "input" not in message["step"] and "output" not in message["step"]
    assert message["step"]["started_at"] == step.started_at.isoformat()


def test_a_slow_layer_never_holds_up_the_engine(publisher, monkeypatch):
    layer = RecordingLayer(delay=0.5)
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    execution = ExecutionFactory()
    started = time.monotonic()
    for _ in range(20):
        live.execution_changed(execution)
    assert time.monotonic() - started < 0.3
    assert layer.done.wait(3)
    assert layer.threads == {"workflow-live"}


def test_past_the_backlog_announcements_are_dropped_not_queued_forever(publisher, monkeypatch):
    monkeypatch.setattr(live, "BACKLOG_MAX", 3)
    layer = RecordingLayer(delay=0.3)
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    execution = ExecutionFactory()
    for _ in range(10):
        live.execution_changed(execution)
    deadline = time.monotonic() + 3
    while len(layer.sent) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)
    assert len(layer.sent) == 3
    # Once drained, announcements flow again.
    live.execution_changed(execution)
    deadline = time.monotonic() + 3
    while len(layer.sent) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(layer.sent) == 4


def test_a_new_process_gets_its_own_publisher_loop(publisher, monkeypatch):
    layer = RecordingLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    live.execution_changed(ExecutionFactory())
    first = publisher._loop
    monkeypatch.setattr(live.os, "getpid", lambda: -1)  # as in a forked worker
    live.execution_changed(ExecutionFactory())
    assert publisher._loop is not first and publisher._loop.is_running()


@pytest.mark.parametrize("failure", ["layer", "send"])
def test_an_announcement_never_raises(monkeypatch, failure):
    def broken_layer():
        raise RuntimeError("no layer configured")

    class BrokenLayer(RecordingLayer):
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    if failure == "layer":
        monkeypatch.setattr(live, "get_channel_layer", broken_layer)
    else:
        monkeypatch.setattr(live, "is_in_memory", lambda layer: True)  # sent inline: its error surfaces here
        monkeypatch.setattr(live, "get_channel_layer", lambda: BrokenLayer())
    live.execution_changed(ExecutionFactory())


def test_without_a_channel_layer_nothing_is_sent(monkeypatch):
    monkeypatch.setattr(live, "get_channel_layer", lambda: None)
    live.execution_changed(ExecutionFactory())


def test_the_in_memory_layer_delivers_to_its_group(settings):
    from channels.layers import get_channel_layer

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    assert live.is_in_memory(layer)
    execution = ExecutionFactory()

    async def listen_then_announce():
        channel = await layer.new_channel()
        await layer.group_add(live.group_name(execution.workspace_id), channel)
        from asgiref.sync import sync_to_async

        await sync_to_async(live.execution_changed)(execution)
        message = await layer.receive(channel)
        await layer.group_discard(live.group_name(execution.workspace_id), channel)
        return message

    message = async_to_sync(listen_then_announce)()
    assert message == {"type": "execution.changed", "execution": execution.pk, "step": None}


# --- what the monitor is sent -------------------------------------------------------------------------------


def test_messages_are_list_rows_of_the_workspace_s_executions_only():
    execution = ExecutionFactory(status="running", current_node="tag")
    foreign = ExecutionFactory()
    steps = [{"id": 1, "node_id": "a"}, {"id": 2, "node_id": "b"}]
    messages = live.execution_messages(
        workspace_id=execution.workspace_id, changes={execution.pk: steps, foreign.pk: [], 999999: []}
    )
    assert [(m["execution"]["id"], m["step"]) for m in messages] == [(execution.pk, steps[0]), (execution.pk, steps[1])]
    row = messages[0]["execution"]
    assert row["workflow"]["name"] == execution.workflow.name and row["current_node"] == "tag"
    assert messages[0]["type"] == "execution"


def test_an_execution_announced_without_a_step_is_sent_once_with_none():
    execution = ExecutionFactory()
    messages = live.execution_messages(workspace_id=execution.workspace_id, changes={execution.pk: []})
    assert [m["step"] for m in messages] == [None]


def test_messages_for_many_executions_cost_one_query():
    workspace = WorkspaceFactory()
    executions = [ExecutionFactory(version__workflow__workspace=workspace) for _ in range(10)]
    with CaptureQueriesContext(connection) as captured:
        messages = live.execution_messages(workspace_id=workspace.pk, changes={e.pk: [] for e in executions})
    assert len(messages) == 10 and len(captured) == 1


def test_a_burst_of_more_executions_than_a_page_announces_every_one():
    version = ExecutionFactory().version
    executions = [ExecutionFactory(version=version) for _ in range(250)]
    messages = live.execution_messages(workspace_id=version.workspace_id, changes={e.pk: [] for e in executions})
    assert sorted(m["execution"]["id"] for m in messages) == sorted(e.pk for e in executions)


def test_the_polling_cursor_follows_changes_in_order_and_breaks_ties_by_id():
    workspace = WorkspaceFactory()
    start = timezone.now()
    same = start + datetime.timedelta(seconds=1)
    first, second, third = (ExecutionFactory(version__workflow__workspace=workspace) for _ in range(3))
    ExecutionFactory()  # another workspace's, changed too
    Execution.objects.filter(pk__in=[first.pk, second.pk]).update(updated_at=same)
    Execution.objects.filter(pk=third.pk).update(updated_at=start - datetime.timedelta(seconds=5))
    Execution.objects.exclude(workspace=workspace).update(updated_at=same)

    messages, cursor = live.execution_messages_since(workspace_id=workspace.pk, cursor=(start, 0))
    assert [m["execution"]["id"] for m in messages] == [first.pk, second.pk]
    assert cursor == (same, second.pk)
    assert live.execution_messages_since(workspace_id=workspace.pk, cursor=cursor) == ([], cursor)

    # A later change to one already sent is sent again.
    Execution.objects.filter(pk=first.pk).update(updated_at=same + datetime.timedelta(seconds=1))
    messages, cursor = live.execution_messages_since(workspace_id=workspace.pk, cursor=cursor)
    assert [m["execution"]["id"] for m in messages] == [first.pk]
