"""Live updates of executions for the dashboard's monitor, over the channel layer.

The engine calls `execution_changed()` after each step commits. It sends only ids and the step's
summary to the workspace's group; the monitor's consumer (workflows.consumers) reads the rows it
shows itself, a batch at a time, so the engine's hot path never queries for display fields.

From synchronous code a network channel layer costs an event loop and a connection per call
(about 3 ms with Redis); a process's sends therefore go through one long-lived loop in a daemon
thread and the caller never waits. The in-memory layer only reaches consumers in this process, so
it is sent to directly, on their loop.
"""

import asyncio
import atexit
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from core.logging import get_logger

log = get_logger(__name__)

#: Sends queued in the publisher beyond this are dropped: updates are advisory, the rows are stored.
BACKLOG_MAX = 10_000
MESSAGE_TYPE = "execution.changed"
#: A step as the monitor gets it live; its input and output are read from the execution's detail.
STEP_FIELDS = ("id", "node_id", "node_type", "status", "port", "error", "attempt", "duration_ms")


def group_name(workspace_id: int) -> str:
    return f"workflow-executions-{workspace_id}"


def is_in_memory(layer) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def step_brief(step) -> dict | None:
    if step is None:
        return None
    brief = {field: getattr(step, field) for field in STEP_FIELDS}
    for field in ("started_at", "finished_at"):
        value = getattr(step, field)
        brief[field] = value.isoformat() if value is not None else None
    return brief


class _Publisher:
    """One event loop in a daemon thread per process (started on first use, again after a fork),
    sending one message at a time so a monitor sees an execution's steps in the order they ran."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._loop = None
        self._queue = None
        self._backlog = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._pid != os.getpid():
                loop, queue = asyncio.new_event_loop(), asyncio.Queue()
                thread = threading.Thread(
                    target=loop.run_until_complete, args=(self._drain(queue),), name="workflow-live", daemon=True
                )
                thread.start()
                atexit.register(self._stop, loop, queue, thread)
                self._loop, self._queue, self._pid, self._backlog = loop, queue, os.getpid(), 0
            return self._loop

    @staticmethod
    def _stop(loop, queue, thread) -> None:
        """At exit: send what is queued (briefly), then end the loop instead of leaving it pending."""
        if thread.is_alive():
            loop.call_soon_threadsafe(queue.put_nowait, None)
            thread.join(timeout=1)

    def submit(self, layer, group: str, message: dict) -> None:
        loop = self._running_loop()
        with self._lock:
            if self._backlog >= BACKLOG_MAX:
                log.warning("workflow_live_backlog_full", group=group)
                return
            self._backlog += 1
        loop.call_soon_threadsafe(self._queue.put_nowait, (layer, group, message))

    async def _drain(self, queue: asyncio.Queue) -> None:
        while (item := await queue.get()) is not None:
            layer, group, message = item
            try:
                await layer.group_send(group, message)
            except Exception as exc:  # noqa: BLE001 — the next message may well get through
                log.warning("workflow_live_send_failed", error=str(exc))
            finally:
                with self._lock:
                    self._backlog -= 1


_publisher = _Publisher()


def execution_changed(execution, step=None) -> None:
    """Tell the workspace's monitors that `execution` (and `step`, if given) changed. Called after
    commit; never raises."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        group = group_name(execution.workspace_id)
        message = {"type": MESSAGE_TYPE, "execution": execution.pk, "step": step_brief(step)}
        if is_in_memory(layer):
            async_to_sync(layer.group_send)(group, message)
        else:
            _publisher.submit(layer, group, message)
    except Exception as exc:  # noqa: BLE001 — a monitor's update is never worth failing a step over
        log.warning("workflow_live_failed", error=str(exc))


def execution_messages(*, workspace_id: int, changes: dict[int, list]) -> list[dict]:
    """What the monitor is sent for these changes: for each execution still in the workspace, its
    list row with each step that changed (or with no step)."""
    from workflows.selectors import execution_rows
    from workflows.serializers import ExecutionSerializer

    # Every execution of the burst, however many: the rows' default page would drop the rest unsent.
    rows = {row.pk: row for row in execution_rows(workspace_id=workspace_id, ids=changes, limit=len(changes))}
    messages = []
    for execution_id, steps in changes.items():
        if execution_id not in rows:
            continue
        data = ExecutionSerializer(rows[execution_id]).data
        for step in steps or [None]:
            messages.append({"type": "execution", "execution": data, "step": step})
    return messages


def execution_messages_since(*, workspace_id: int, cursor: tuple) -> tuple[list[dict], tuple]:
    """The polling fallback's read: rows changed after `cursor` (updated_at, id), oldest first, and
    the cursor to pass next time."""
    from workflows.selectors import execution_rows
    from workflows.serializers import ExecutionSerializer

    rows = execution_rows(workspace_id=workspace_id, after=cursor)
    if rows:
        cursor = (rows[-1].updated_at, rows[-1].pk)
    return [{"type": "execution", "execution": ExecutionSerializer(row).data, "step": None} for row in rows], cursor
