"""The engine: runs an execution's steps in one worker until it finishes or reaches a wait.

A worker takes an execution with one conditional UPDATE (pending, or running under a lapsed lease),
which gives it a fresh lease token. Each step is one transaction: the node's `run()` and its
database writes, one StepRun INSERT, and one UPDATE of the execution that advances its `state` and
renews the lease, conditioned on the token still being ours. A worker that lost its lease (killed,
stalled past it, or the execution was cancelled) has its step rolled back at that UPDATE, so the
outcome of every step is committed exactly once, by the holder of the lease.

`state` is {"queue": [node ids still to run, the head next], "steps": {node id: output},
"attempt": n (the head's attempt), "wait": {"node", "until", "step", "started"} while suspended
at the head, "signal": {…} an event that woke it}. Fan-out targets go to the front of the queue in
the definition's order, so a branch runs to its end before its sibling starts; a node reached twice
(two branches merging) runs once.

The sweeper (`executions_sweep`) hands due waits and lapsed leases back to the workers with
`SELECT … FOR UPDATE SKIP LOCKED`, so two sweepers never hand out the same execution.
"""

import datetime
import time
import uuid
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.enqueue import enqueue
from core.logging import get_logger
from workflows.definition import Graph
from workflows.models import Execution, ExecutionStatus, StepRun, StepStatus, WorkflowVersion
from workflows.nodes.base import OUT, TRIGGER_ID, Result, StepContext, StepError, TransientStepError

log = get_logger(__name__)

#: Versions are immutable, so a process keeps each one's Graph; bounded, dropped whole when full.
_GRAPHS: dict[int, Graph] = {}
_GRAPHS_MAX = 1024
#: Batches one sweep hands out at most (WORKFLOW_SWEEP_BATCH each): a burst of due waits drains
#: within a sweep or two, the rest waits for the next.
SWEEP_BATCHES_MAX = 20
#: Longest backoff between attempts at a step whose error is transient.
BACKOFF_MAX_SECONDS = 3600


def graph_for(version_id: int, definition: dict | None = None) -> Graph:
    """The Graph of a version, read from the database once per process."""
    graph = _GRAPHS.get(version_id)
    if graph is None:
        if definition is None:
            definition = WorkflowVersion.objects.values_list("definition", flat=True).get(pk=version_id)
        if len(_GRAPHS) >= _GRAPHS_MAX:
            _GRAPHS.clear()
        graph = _GRAPHS[version_id] = Graph(definition)
    return graph


def backoff(attempt: int) -> datetime.timedelta:
    """30 s, 60 s, 120 s … after the n-th failed attempt, capped at an hour."""
    return datetime.timedelta(seconds=min(30 * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS))


def enqueue_run(execution_id: int) -> bool:
    from workflows.tasks.engine import execution_run

    return enqueue(execution_run, execution_id)


#: Tasks that may run the executions they start themselves: the outbox's dispatches.
_INLINE_TASKS = frozenset({"core.tasks.dispatch_event", "core.tasks.dispatch_events"})
#: Executions one dispatch task runs itself before it queues the rest for other workers.
INLINE_MAX = 20


def run_or_enqueue(execution_id: int) -> None:
    """After commit: run the execution here when this is a worker dispatching the event that started
    it, else queue it. A started execution's next step is a worker anyway; doing it in the worker
    that already holds the event saves a broker round trip and a task hand-off on the path from a
    form submission to its welcome email. Killed meanwhile, the execution's grace lease lapses and
    the sweeper hands it out, as for a lost task."""
    from celery import current_task

    # A proxy: false outside a task.
    if not current_task or current_task.name not in _INLINE_TASKS:
        enqueue_run(execution_id)
        return
    request = current_task.request
    if request.is_eager or getattr(request, "workflow_inline_runs", 0) >= INLINE_MAX:
        enqueue_run(execution_id)
        return
    request.workflow_inline_runs = getattr(request, "workflow_inline_runs", 0) + 1
    try:
        execution_run(execution_id=execution_id)
    except Exception:  # the execution is stored; a worker picks it up instead
        log.warning("workflow_inline_run_failed", execution_id=execution_id, exc_info=True)
        enqueue_run(execution_id)


def _live(execution, step=None) -> None:
    from workflows import live

    transaction.on_commit(lambda: live.execution_changed(execution, step))


class LeaseLost(Exception):
    """The execution is no longer ours: its step is rolled back and the worker moves on."""


def error_text(exc: BaseException) -> str:
    if isinstance(exc, StepError):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"[:2000]


def step_port(node_type_name: str, node_type, config, result: Result) -> str:
    """The port a finished step leaves by ("" when it ends the execution); StepError for a port the
    node doesn't have."""
    port = "" if result.exit else result.port or OUT
    if port and port not in node_type.ports(config):
        raise StepError(f"The {node_type_name} step left by port {port!r}, which it doesn't have.")
    return port


def queue_after(graph: Graph, node_id: str, port: str, rest: list[str], steps: dict) -> list[str]:
    """The queue once `node_id` left by `port`: its targets first, so a branch runs to its end before
    its sibling starts, then the rest; a node already run or queued (branches merging) isn't queued again."""
    seen = set(rest) | set(steps)
    return [target for target in dict.fromkeys(graph.targets(node_id, port)) if target not in seen] + rest


def goal_reached(graph: Graph, steps: dict, head: str | None, context_for) -> str | None:
    """The first goal, not yet reached nor next, whose rules hold for `context_for(goal_id)`; a goal
    whose rules fail to evaluate counts as not reached."""
    from workflows.conditions import evaluate

    for goal_id in graph.goals:
        if goal_id in steps or goal_id == head:
            continue
        try:
            if evaluate(graph.config(goal_id).rules, context_for(goal_id)):
                return goal_id
        except Exception:
            log.warning("workflow_goal_error", node=goal_id, exc_info=True)
    return None


@dataclass
class _Step:
    """One step's outcome, written by `Runner._commit`."""

    node_id: str
    node_type: str
    status: str
    started_at: datetime.datetime
    input: dict | None = None
    output: dict | None = None
    port: str = ""
    error: str = ""
    attempt: int = 1
    #: A waiting StepRun this step completes (a resumed wait) instead of inserting a new one.
    update_step: int | None = None
    duration_ms: int | None = None


class Runner:
    """Runs one claimed execution. Holds the row in memory; the database is written once per step."""

    def __init__(self, execution: Execution, graph: Graph):
        self.execution = execution
        self.graph = graph
        self.token = execution.lease_token
        state = execution.state or {}
        if "queue" not in state:
            state = {"queue": queue_after(graph, TRIGGER_ID, OUT, [], {}), "steps": {}}
        self.state = state
        #: A waiting StepRun left behind when a goal was reached, marked skipped with the next step.
        self.skip_step: int | None = None
        #: Logic steps that ran but are recorded with the step after them (see `_advance`).
        self.deferred: list[_Step] = []

    def context(self, node_id: str, now: datetime.datetime, signal: dict | None = None) -> StepContext:
        return StepContext(
            workspace=self.execution.workspace,
            contact=self.execution.contact,
            trigger=self.execution.trigger_data,
            steps=self.state["steps"],
            node_id=node_id,
            now=now,
            execution=self.execution,
            signal=signal,
        )

    # --- the loop -------------------------------------------------------------------------------------

    def run(self) -> None:
        while True:
            now = timezone.now()
            if self.graph.goals and self._goal_reached(now):
                continue
            queue = self.state["queue"]
            if not queue:
                self._finish(ExecutionStatus.SUCCEEDED, now)
                return
            node_id = queue[0]
            wait = self.state.get("wait")
            signal = None
            if wait and wait["node"] == node_id:
                signal = self.state.get("signal")
                until = datetime.datetime.fromisoformat(wait["until"])
                if signal is None and now < until:
                    # Woken early with nothing to resume for (a goal re-check that found none).
                    self._suspend(until, self.execution.wait_event, now)
                    return
                if signal is None and not wait.get("retry"):
                    signal = {"reason": "time"}
            if not self._step(node_id, signal, now):
                return

    def _goal_reached(self, now) -> bool:
        queue = self.state["queue"]
        goal_id = goal_reached(
            self.graph, self.state["steps"], queue[0] if queue else None, lambda node: self.context(node, now)
        )
        if goal_id is None:
            return False
        wait = self.state.pop("wait", None)
        if wait and wait.get("step"):
            self.skip_step = wait["step"]
        self.state.pop("signal", None)
        self.state.pop("attempt", None)
        self.state["queue"] = [goal_id]
        return True

    def _step(self, node_id: str, signal: dict | None, now) -> bool:
        """Run one node; True to go on with the next."""
        graph = self.graph
        spec = graph.nodes.get(node_id)
        node_type = graph.node_type(node_id) if spec else None
        attempt = self.state.get("attempt", 1)
        wait = self.state.get("wait")
        step = _Step(
            node_id=node_id,
            node_type=(spec or {}).get("type", ""),
            status=StepStatus.SUCCEEDED,
            started_at=now,
            attempt=attempt,
        )
        if wait and wait["node"] == node_id and wait.get("step") and not wait.get("retry"):
            step.update_step = wait["step"]
            step.started_at = datetime.datetime.fromisoformat(wait["started"])
        started = time.monotonic()
        # A step that fails or loses its lease leaves the state as it was before it.
        saved = {key: value.copy() if isinstance(value, dict | list) else value for key, value in self.state.items()}
        deferred = list(self.deferred)
        try:
            with transaction.atomic():
                if node_type is None:
                    raise StepError(f"Unknown node type {step.node_type!r}." if spec else f"No node {node_id!r}.")
                config = graph.config(node_id)
                ctx = self.context(node_id, now, signal)
                step.input = node_type.describe_input(ctx, config)
                result = node_type.run(ctx, config)
                if not isinstance(result, Result):
                    raise StepError(f"The {step.node_type} step returned no result.")
                step.output = result.output
                return self._advance(step, result, node_type, config, started)
        except LeaseLost:
            log.info("workflow_lease_lost", execution_id=self.execution.pk, node=node_id)
            return False
        except Exception as exc:  # a step's error is the step's outcome, whatever raised it
            self.state, self.deferred = saved, deferred
            if not isinstance(exc, StepError):
                log.warning("workflow_step_crashed", execution_id=self.execution.pk, node=node_id, exc_info=True)
            step.error = error_text(exc)
            step.output = None
            try:
                with transaction.atomic():
                    self._fail(step, exc, started)
            except LeaseLost:
                pass
            return False

    def _advance(self, step: _Step, result: Result, node_type, config, started: float) -> bool:
        state = self.state
        now = timezone.now()
        queue = state["queue"]
        node_id = step.node_id
        if result.wait_until is not None and not result.exit:
            step.status = StepStatus.WAITING
            until = result.wait_until
            if until <= now:
                until = now
            wait = {"node": node_id, "until": until.isoformat(), "started": step.started_at.isoformat()}
            state.pop("signal", None)
            state["attempt"] = 1
            state["wait"] = wait
            self._commit(
                step,
                started,
                status=ExecutionStatus.WAITING,
                resume_at=until,
                wait_event=result.wait_event or "",
                current_node=node_id,
            )
            return False

        port = step_port(step.node_type, node_type, config, result)
        step.port = port
        state["steps"][node_id] = result.output
        state.pop("wait", None)
        state.pop("signal", None)
        state.pop("attempt", None)
        if result.exit:
            state["queue"] = []
        else:
            state["queue"] = queue_after(self.graph, node_id, port, queue[1:], state["steps"])
        if not state["queue"]:
            self._commit(step, started, finished=True, status=ExecutionStatus.SUCCEEDED, current_node="")
            return False
        if node_type.kind == "logic" and step.update_step is None and not node_type.side_effect:
            # A logic step only reads and decides: it is recorded in the transaction of the step after
            # it, which saves a commit per decision. Cut off by a crash, it is decided again.
            step.duration_ms = int((time.monotonic() - started) * 1000)
            self.deferred.append(step)
            return True
        self._commit(step, started, current_node=state["queue"][0])
        return True

    def _fail(self, step: _Step, exc: Exception, started: float) -> None:
        step.status = StepStatus.FAILED
        now = timezone.now()
        if isinstance(exc, TransientStepError) and step.attempt < settings.WORKFLOW_STEP_MAX_ATTEMPTS:
            until = now + backoff(step.attempt)
            self.state["attempt"] = step.attempt + 1
            self.state["wait"] = {"node": step.node_id, "until": until.isoformat(), "retry": True}
            self.state.pop("signal", None)
            self._commit(
                step, started, status=ExecutionStatus.WAITING, resume_at=until, wait_event="", current_node=step.node_id
            )
            return
        self._commit(
            step, started, finished=True, status=ExecutionStatus.FAILED, error=step.error, current_node=step.node_id
        )

    # --- writing ----------------------------------------------------------------------------------------

    def _commit(self, step: _Step, started: float, *, finished: bool = False, status=None, **fields) -> None:
        """Record the step and move the execution on, in the caller's transaction; LeaseLost (rolling
        it back) when the lease is no longer ours."""
        execution = self.execution
        now = timezone.now()
        step_finished = None if step.status == StepStatus.WAITING else now
        together = connection.vendor == "postgresql" and step_finished is not None and not step.update_step
        if self.skip_step:
            StepRun.objects.filter(pk=self.skip_step).update(status=StepStatus.SKIPPED, finished_at=now)
            self.skip_step = None
        if step.update_step:
            # A resumed wait completes the row it left waiting: one row per node and attempt.
            StepRun.objects.filter(pk=step.update_step).update(
                status=step.status,
                port=step.port,
                output=step.output,
                error=step.error,
                finished_at=step_finished,
                duration_ms=_duration_ms(step.started_at, now) if step_finished else None,
            )
            row = StepRun(
                pk=step.update_step,
                workspace_id=execution.workspace_id,
                execution_id=execution.pk,
                node_id=step.node_id,
                node_type=step.node_type,
                status=step.status,
                port=step.port,
                output=step.output,
                error=step.error,
                attempt=step.attempt,
                started_at=step.started_at,
                finished_at=step_finished,
            )
            rows = self._insert_steps([], now)
        else:
            if step_finished:
                step.duration_ms = int((time.monotonic() - started) * 1000)
            # A waiting step's id goes into the state, so it is inserted first; others with the UPDATE.
            rows = self._step_rows([step], now) if together else self._insert_steps([step], now)
            row = rows[-1]
        if step.status == StepStatus.WAITING:
            self.state["wait"]["step"] = row.pk

        changes = {"state": self.state, "updated_at": now, "resume_at": None, "wait_event": "", **fields}
        if status == ExecutionStatus.WAITING:
            changes.update(status=status, lease_token="", lease_expires_at=None)
        elif finished:
            changes.update(
                status=status,
                lease_token="",
                lease_expires_at=None,
                finished_at=now,
                duration_ms=_duration_ms(execution.started_at, now),
            )
        else:
            changes["lease_expires_at"] = now + datetime.timedelta(seconds=settings.WORKFLOW_LEASE_SECONDS)
        if together:
            moved = _insert_and_update(rows, execution.pk, self.token, changes)
        else:
            moved = Execution.objects.filter(pk=execution.pk, lease_token=self.token).update(**changes)
        if not moved:
            raise LeaseLost
        for name, value in changes.items():
            setattr(execution, name, value)
        for earlier in rows:
            if earlier is not row:
                _live(execution, earlier)
        _live(execution, row)

    def _insert_steps(self, steps: list[_Step], now) -> list[StepRun]:
        """INSERT the deferred logic steps and `steps`, in one statement."""
        rows = self._step_rows(steps, now)
        return StepRun.objects.bulk_create(rows) if rows else []

    def _step_rows(self, steps: list[_Step], now) -> list[StepRun]:
        """The StepRuns (unsaved) of the deferred logic steps and `steps`; the deferred are taken."""
        pending, self.deferred = self.deferred + steps, []
        execution = self.execution
        return [
            StepRun(
                workspace_id=execution.workspace_id,
                execution_id=execution.pk,
                node_id=step.node_id,
                node_type=step.node_type,
                status=step.status,
                port=step.port,
                input=step.input,
                output=step.output,
                error=step.error,
                attempt=step.attempt,
                started_at=step.started_at,
                finished_at=None if step.status == StepStatus.WAITING else now,
                duration_ms=step.duration_ms,
            )
            for step in pending
        ]

    def _suspend(self, until, wait_event: str, now) -> None:
        with transaction.atomic():
            changes = dict(
                status=ExecutionStatus.WAITING,
                resume_at=until,
                wait_event=wait_event,
                lease_token="",
                lease_expires_at=None,
                state=self.state,
                updated_at=now,
            )
            if self.skip_step:
                StepRun.objects.filter(pk=self.skip_step).update(status=StepStatus.SKIPPED, finished_at=now)
            self._insert_steps([], now)
            if not Execution.objects.filter(pk=self.execution.pk, lease_token=self.token).update(**changes):
                # No longer ours: what this transaction wrote for the run goes with it.
                transaction.set_rollback(True)

    def _finish(self, status: str, now) -> None:
        """End with no step to record (the queue ran out after a goal check)."""
        execution = self.execution
        with transaction.atomic():
            changes = dict(
                status=status,
                state=self.state,
                lease_token="",
                lease_expires_at=None,
                resume_at=None,
                wait_event="",
                current_node="",
                finished_at=now,
                duration_ms=_duration_ms(execution.started_at, now),
                updated_at=now,
            )
            rows = self._insert_steps([], now)
            if not Execution.objects.filter(pk=execution.pk, lease_token=self.token).update(**changes):
                transaction.set_rollback(True)  # no longer ours, as in _suspend()
                return
            for row in rows:
                _live(execution, row)
            for name, value in changes.items():
                setattr(execution, name, value)
            _live(execution)


def _insert_and_update(rows: list[StepRun], execution_id: int, token: str, changes: dict) -> bool:
    """PostgreSQL: INSERT the step rows and UPDATE the execution (if the lease is still `token`'s) in
    one statement, a round trip per step instead of two. False when the lease was lost; the caller
    then rolls the transaction (and the inserted rows) back."""
    quote = connection.ops.quote_name
    fields = [field for field in StepRun._meta.concrete_fields if not field.primary_key]
    values, params = [], []
    for row in rows:
        values.append(f"({', '.join(['%s'] * len(fields))})")
        params += [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
    assignments = []
    for name, value in changes.items():
        field = Execution._meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    params += [execution_id, token]
    # Only the models' own table and column names are interpolated; every value is a parameter.
    sql = (
        f"WITH ins AS (INSERT INTO {quote(StepRun._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join(values)} RETURNING {quote('id')}), "
        f"upd AS (UPDATE {quote(Execution._meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {quote('id')} = %s AND {quote('lease_token')} = %s RETURNING 1) "
        f"SELECT (SELECT count(*) FROM upd), ARRAY(SELECT {quote('id')} FROM ins ORDER BY {quote('id')})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        moved, ids = cursor.fetchone()
    for row, pk in zip(rows, ids, strict=True):
        row.pk = row.id = pk
        row._state.adding = False
    return bool(moved)


def _duration_ms(start, end) -> int | None:
    if start is None:
        return None
    return max(0, int((end - start).total_seconds() * 1000))


def execution_claim(execution_id: int) -> Execution | None:
    """Take the execution for this worker: pending, or running under a lapsed lease. None when
    another worker has it or it is done."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        Execution.objects.filter(pk=execution_id)
        .filter(Q(status=ExecutionStatus.PENDING) | Q(status=ExecutionStatus.RUNNING, lease_expires_at__lt=now))
        .update(
            status=ExecutionStatus.RUNNING,
            lease_token=token,
            lease_expires_at=now + datetime.timedelta(seconds=settings.WORKFLOW_LEASE_SECONDS),
            started_at=Coalesce("started_at", Value(now)),
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return Execution.objects.select_related("workspace", "contact").get(pk=execution_id)


def execution_run(*, execution_id: int) -> Execution | None:
    """Run an execution's steps until it finishes or waits. Safe to call twice at once: only one claims."""
    execution = execution_claim(execution_id)
    if execution is None:
        return None
    graph = graph_for(execution.version_id)
    Runner(execution, graph).run()
    return execution


def executions_sweep(*, now: datetime.datetime | None = None, batches: int = SWEEP_BATCHES_MAX) -> list[int]:
    """Hand due waits and lapsed leases back to the workers: each is set pending with a short grace
    lease and enqueued after commit, WORKFLOW_SWEEP_BATCH per transaction, up to `batches` of them.
    Rows another sweeper holds are skipped, so two sweepers never hand out the same execution.
    Returns the ids handed out."""
    now = now or timezone.now()
    due = Q(status=ExecutionStatus.WAITING, resume_at__lte=now) | Q(
        status__in=[ExecutionStatus.PENDING, ExecutionStatus.RUNNING], lease_expires_at__lt=now
    )
    size = settings.WORKFLOW_SWEEP_BATCH
    handed: list[int] = []
    for _ in range(batches):
        with transaction.atomic():
            ids = list(
                Execution.objects.select_for_update(skip_locked=True)
                .filter(due)
                .order_by()
                .values_list("pk", flat=True)[:size]
            )
            if ids:
                Execution.objects.filter(pk__in=ids).update(
                    status=ExecutionStatus.PENDING,
                    lease_token="",
                    lease_expires_at=now + datetime.timedelta(seconds=settings.WORKFLOW_PENDING_GRACE_SECONDS),
                    updated_at=now,
                )
                transaction.on_commit(partial(_enqueue_all, ids))
        handed += ids
        if len(ids) < size:
            break
    if handed:
        log.info("workflow_executions_swept", count=len(handed))
    return handed


def _enqueue_all(ids: list[int]) -> None:
    for pk in ids:
        enqueue_run(pk)


def step_runs_prune(*, now: datetime.datetime | None = None, batch: int = 1000) -> int:
    """Drop the input and output of steps older than WORKFLOW_RETENTION_DAYS, a batch at a time; the
    rows (and so every count) stay. Returns how many were pruned."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.WORKFLOW_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(
            StepRun.objects.filter(pruned=False, started_at__lt=cutoff).order_by().values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return total
        total += StepRun.objects.filter(pk__in=ids).update(input=None, output=None, pruned=True)
