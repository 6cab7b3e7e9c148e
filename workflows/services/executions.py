"""Starting, retrying, re-running and cancelling executions, and dry runs of a definition."""

import datetime
import hashlib
import time
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.models import Contact, ContactSource
from crm.services.contacts import contact_upsert
from workflows import engine
from workflows.definition import Graph
from workflows.models import (
    TERMINAL,
    Execution,
    ExecutionStatus,
    StepRun,
    StepStatus,
    Workflow,
    WorkflowStatus,
    WorkflowVersion,
)
from workflows.nodes.base import OUT, TRIGGER_ID, Result, StepContext, StepError

#: Execution.trigger_key's length.
KEY_MAX = 200
#: Statuses an execution can be cancelled from.
CANCELLABLE = frozenset({ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.WAITING})


def _grace(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(seconds=settings.WORKFLOW_PENDING_GRACE_SECONDS)


def _pending(*, workflow: Workflow, version_id: int, now: datetime.datetime, **fields) -> Execution:
    """A new execution (unsaved) waiting for a worker under a grace lease: lost before a worker
    takes it, the sweeper hands it out once the lease lapses."""
    return Execution(
        workspace_id=workflow.workspace_id,
        workflow=workflow,
        version_id=version_id,
        status=ExecutionStatus.PENDING,
        lease_expires_at=_grace(now),
        created_at=now,
        **fields,
    )


def _reentry_allows(*, workflow: Workflow, graph: Graph, contact_ids: list[int], now) -> set[int]:
    """The contacts the workflow's re-entry policy lets start again (one query, or none for "always")."""
    reentry = graph.reentry
    policy = reentry.get("policy", "always")
    if policy == "always" or not contact_ids:
        return set(contact_ids)
    previous = Execution.objects.filter(workflow=workflow, contact_id__in=contact_ids)
    if policy == "interval":
        previous = previous.filter(created_at__gte=now - datetime.timedelta(days=int(reentry.get("days") or 0)))
    return set(contact_ids) - set(previous.values_list("contact_id", flat=True))


def _live(execution: Execution) -> None:
    from workflows import live

    transaction.on_commit(lambda: live.execution_changed(execution))


def _key(trigger_key: str) -> str:
    """The key as stored: one too long for the column keeps its start and a digest of the whole, so
    two long keys stay apart."""
    trigger_key = str(trigger_key or "")
    if len(trigger_key) <= KEY_MAX:
        return trigger_key
    return f"{trigger_key[: KEY_MAX - 65]}#{hashlib.sha256(trigger_key.encode()).hexdigest()}"


def _insert_unless_keyed(execution: Execution) -> bool:
    """INSERT the execution unless one with its workflow and trigger_key exists: one statement
    (ON CONFLICT DO NOTHING) where the database has it, rather than a savepoint around an insert."""
    if connection.vendor not in ("postgresql", "sqlite"):
        try:
            with transaction.atomic():
                execution.save(force_insert=True)
        except IntegrityError:
            if Execution.objects.filter(workflow_id=execution.workflow_id, trigger_key=execution.trigger_key).exists():
                return False
            raise
        return True
    fields = [field for field in Execution._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(execution, True), connection) for field in fields]
    quote = connection.ops.quote_name
    # Only the model's own table and column names are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(Execution._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    execution.pk = row[0]
    execution._state.adding = False
    return True


def _version_for(workflow: Workflow, version: WorkflowVersion | None) -> WorkflowVersion | int | None:
    if version is not None:
        return version
    if workflow.status != WorkflowStatus.ACTIVE or workflow.active_version_id is None:
        return None
    return workflow.active_version_id


# No savepoint of its own: it runs on the hot path inside its caller's transaction (an outbox
# handler's, a step's), and its one write is a single statement.
@transaction.atomic(savepoint=False)
def execution_start(
    *,
    workflow: Workflow,
    contact: Contact | None = None,
    trigger_data: dict,
    trigger_key: str = "",
    version: WorkflowVersion | None = None,
) -> Execution | None:
    """A pending execution of the workflow's active version (or `version`), run by a worker once this
    commits. None when the workflow isn't active, the re-entry policy turns the contact away, or an
    execution with this `trigger_key` already exists (the same event delivered twice)."""
    pinned = _version_for(workflow, version)
    if pinned is None:
        return None
    version_id = pinned if isinstance(pinned, int) else pinned.pk
    graph = engine.graph_for(version_id, None if isinstance(pinned, int) else pinned.definition)
    now = timezone.now()
    if contact is not None and graph.reentry.get("policy", "always") != "always":
        # Two events for the same person at once would both find no earlier run: the second waits
        # for the first to commit and then finds it.
        Contact.objects.select_for_update().filter(pk=contact.pk).values_list("pk", flat=True).first()
        if not _reentry_allows(workflow=workflow, graph=graph, contact_ids=[contact.pk], now=now):
            return None
    execution = _pending(
        workflow=workflow,
        version_id=version_id,
        now=now,
        contact=contact,
        trigger_key=_key(trigger_key),
        trigger_data=trigger_data if isinstance(trigger_data, dict) else {},
    )
    if trigger_key:
        if not _insert_unless_keyed(execution):
            return None  # the same trigger (an event delivered twice) already started it
    else:
        execution.save(force_insert=True)
    transaction.on_commit(partial(engine.run_or_enqueue, execution.pk))
    _live(execution)
    return execution


@transaction.atomic
def execution_start_from_webhook(
    *, workflow: Workflow, email: str, trigger_data: dict, trigger_key: str
) -> Execution | None:
    """A webhook call's execution, for the contact with `email` (made or merged into first) or for
    nobody when it is blank; None as for execution_start(). ValidationError on `email`."""
    contact = None
    if email:
        contact, _created = contact_upsert(
            workspace=workflow.workspace, email=email, source=ContactSource.API, source_ref=f"workflow:{workflow.pk}"
        )
    return execution_start(workflow=workflow, contact=contact, trigger_data=trigger_data, trigger_key=trigger_key)


#: Contacts handled per statement by executions_start_many.
START_MANY_CHUNK = 1000


@transaction.atomic
def executions_start_many(
    *, workflow: Workflow, contact_ids: list[int], trigger_data: dict, trigger_key_prefix: str
) -> int:
    """Start the workflow for many contacts at once (a schedule over a segment), a thousand per
    insert, each keyed prefix + ":" + contact id so a repeated firing starts nobody twice. Contacts of
    other workspaces are ignored. Returns how many started."""
    pinned = _version_for(workflow, None)
    if pinned is None or not contact_ids:
        return 0
    graph = engine.graph_for(pinned)
    now = timezone.now()
    unique = list(dict.fromkeys(contact_ids))
    started: list[int] = []
    for offset in range(0, len(unique), START_MANY_CHUNK):
        wanted = unique[offset : offset + START_MANY_CHUNK]
        contacts = Contact.objects.filter(workspace_id=workflow.workspace_id, pk__in=wanted)
        chunk = list(contacts.order_by("pk").values_list("pk", flat=True))
        allowed = _reentry_allows(workflow=workflow, graph=graph, contact_ids=chunk, now=now)
        keys = {_key(f"{trigger_key_prefix}:{contact_id}"): contact_id for contact_id in chunk if contact_id in allowed}
        previous = Execution.objects.filter(workflow=workflow, trigger_key__in=list(keys))
        taken = set(previous.values_list("trigger_key", flat=True))
        rows = [
            _pending(
                workflow=workflow,
                version_id=pinned,
                now=now,
                contact_id=contact_id,
                trigger_key=key,
                trigger_data=trigger_data,
            )
            for key, contact_id in keys.items()
            if key not in taken
        ]
        if not rows:
            continue
        # Rows a concurrent firing inserted first are skipped (and theirs to run).
        Execution.objects.bulk_create(rows, ignore_conflicts=True)
        started += Execution.objects.filter(
            workflow=workflow, trigger_key__in=[row.trigger_key for row in rows], created_at=now
        ).values_list("pk", flat=True)
    if started:
        transaction.on_commit(lambda: [engine.enqueue_run(pk) for pk in started])
    return len(started)


def _locked(execution: Execution) -> Execution:
    return Execution.objects.select_for_update().select_related("workspace").get(pk=execution.pk)


@transaction.atomic
def execution_retry(*, execution: Execution) -> Execution:
    """Run a failed execution again from the step that failed, in the same execution."""
    execution = _locked(execution)
    if execution.status != ExecutionStatus.FAILED:
        raise ValidationError({"status": [f"Only a failed execution can be retried; this one is {execution.status}."]})
    now = timezone.now()
    state = dict(execution.state or {})
    for key in ("attempt", "wait", "signal"):
        state.pop(key, None)
    execution.state = state
    execution.status = ExecutionStatus.PENDING
    execution.error = ""
    execution.finished_at = None
    execution.duration_ms = None
    execution.resume_at = None
    execution.lease_token = ""
    execution.lease_expires_at = _grace(now)
    execution.save(
        update_fields=[
            "state",
            "status",
            "error",
            "finished_at",
            "duration_ms",
            "resume_at",
            "lease_token",
            "lease_expires_at",
            "updated_at",
        ]
    )
    transaction.on_commit(partial(engine.enqueue_run, execution.pk))
    _live(execution)
    return execution


@transaction.atomic
def execution_rerun(*, execution: Execution) -> Execution:
    """A new execution from the start, on the workflow's current active version, with the same
    contact and trigger data (the re-entry policy doesn't apply: someone asked for it)."""
    if execution.status not in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED):
        raise ValidationError({"status": [f"Only a finished execution can be re-run; this one is {execution.status}."]})
    workflow = Workflow.objects.get(pk=execution.workflow_id)
    if workflow.status != WorkflowStatus.ACTIVE or workflow.active_version_id is None:
        raise ValidationError({"workflow": ["The workflow isn't active: activate it to re-run its executions."]})
    now = timezone.now()
    rerun = _pending(
        workflow=workflow,
        version_id=workflow.active_version_id,
        now=now,
        contact_id=execution.contact_id,
        trigger_data=execution.trigger_data,
        rerun_of=execution,
    )
    rerun.save(force_insert=True)
    transaction.on_commit(partial(engine.enqueue_run, rerun.pk))
    _live(rerun)
    return rerun


@transaction.atomic
def execution_cancel(*, execution: Execution) -> Execution:
    """Stop an execution where it is. A worker running it loses its lease: the step it is on is
    rolled back and nothing after it runs."""
    execution = _locked(execution)
    if execution.status not in CANCELLABLE:
        raise ValidationError({"status": [f"Only a live execution can be cancelled; this one is {execution.status}."]})
    now = timezone.now()
    wait = (execution.state or {}).get("wait") or {}
    if wait.get("step"):
        StepRun.objects.filter(pk=wait["step"], status=StepStatus.WAITING).update(
            status=StepStatus.SKIPPED, finished_at=now
        )
    execution.status = ExecutionStatus.CANCELLED
    execution.lease_token = ""
    execution.lease_expires_at = None
    execution.resume_at = None
    execution.wait_event = ""
    execution.finished_at = now
    execution.duration_ms = (
        max(0, int((now - execution.started_at).total_seconds() * 1000)) if execution.started_at else None
    )
    execution.save(
        update_fields=[
            "status",
            "lease_token",
            "lease_expires_at",
            "resume_at",
            "wait_event",
            "finished_at",
            "duration_ms",
            "updated_at",
        ]
    )
    _live(execution)
    return execution


# --- retention ----------------------------------------------------------------------------------------------


def executions_state_prune(*, now: datetime.datetime | None = None, batch: int = 1000) -> int:
    """Drop what a finished execution's state keeps of its steps' outputs (and of an event that woke
    it) once it finished more than WORKFLOW_RETENTION_DAYS ago: the same contact data its StepRuns'
    input and output hold, which step_runs_prune drops by then. The queue stays, so a failed run can
    still be retried from the step that failed. Walks the table by id once, a batch per statement;
    returns how many were pruned."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.WORKFLOW_RETENTION_DAYS)
    kept = Execution.objects.filter(status__in=TERMINAL, finished_at__lt=cutoff, state__has_key="steps")
    total, after = 0, 0
    while True:
        rows = list(
            kept.filter(pk__gt=after).exclude(state__steps={}).order_by("pk").values_list("pk", "state")[:batch]
        )
        if not rows:
            return total
        after = rows[-1][0]
        pruned = [Execution(pk=pk, state={"queue": state.get("queue") or [], "steps": {}}) for pk, state in rows]
        total += Execution.objects.bulk_update(pruned, ["state"])


# --- dry runs ----------------------------------------------------------------------------------------------

#: A dry run stops after this many steps (a definition is acyclic, so only a huge fan-out reaches it).
DRY_RUN_MAX_STEPS = 500


class _DryRunDone(Exception):
    """Raised to roll back whatever a dry run's steps wrote."""


def workflow_dry_run(
    *,
    workspace,
    definition: dict,
    trigger_data: dict,
    contact: Contact | None = None,
    events: dict[str, dict] | None = None,
) -> dict:
    """Run a definition with sample trigger data and write nothing: side-effect steps `simulate()`,
    waits end at once (a wait_for_event by its timeout, unless `events` gives the event payload it
    receives, by node id), and anything a step wrote is rolled back.

    → {"status": "succeeded"|"failed", "steps": [{node_id, node_type, status, port, input, output,
    error, duration_ms}]}; ValidationError when the definition doesn't pass definition_clean."""
    from workflows.definition import definition_clean

    definition = definition_clean(definition, workspace=workspace)
    if not isinstance(trigger_data, dict):
        raise ValidationError({"trigger_data": ["Must be an object."]})
    graph = Graph(definition)
    events = events or {}
    result: dict = {"status": ExecutionStatus.SUCCEEDED, "steps": []}
    try:
        with transaction.atomic():
            _dry_run(graph, workspace, contact, trigger_data, events, result)
            raise _DryRunDone
    except _DryRunDone:
        pass
    return result


def _dry_context(workspace, contact, trigger_data: dict, steps: dict, node_id: str, now) -> StepContext:
    return StepContext(
        workspace=workspace,
        contact=contact,
        trigger=trigger_data,
        steps=steps,
        node_id=node_id,
        now=now,
        execution=None,
        dry_run=True,
    )


def _dry_run(graph: Graph, workspace, contact, trigger_data: dict, events: dict, result: dict) -> None:
    steps: dict[str, dict] = {}
    queue = engine.queue_after(graph, TRIGGER_ID, OUT, [], {})
    reached_goals: set[str] = set()
    while queue and len(result["steps"]) < DRY_RUN_MAX_STEPS:
        now = timezone.now()
        if graph.goals:
            jumped = engine.goal_reached(
                graph,
                steps,
                queue[0] if queue else None,
                lambda goal_id, now=now: _dry_context(workspace, contact, trigger_data, steps, goal_id, now),
            )
            if jumped and jumped not in reached_goals:
                reached_goals.add(jumped)
                queue = [jumped]
        node_id = queue.pop(0)
        node_type = graph.node_type(node_id)
        config = graph.config(node_id)
        ctx = _dry_context(workspace, contact, trigger_data, steps, node_id, now)
        entry = {
            "node_id": node_id,
            "node_type": graph.nodes[node_id]["type"],
            "status": StepStatus.SUCCEEDED,
            "port": "",
            "input": None,
            "output": None,
            "error": "",
            "duration_ms": 0,
        }
        result["steps"].append(entry)
        started = time.monotonic()
        try:
            entry["input"] = node_type.describe_input(ctx, config)
            act = node_type.simulate if node_type.side_effect else node_type.run
            outcome = act(ctx, config)
            if isinstance(outcome, Result) and outcome.wait_until is not None and not outcome.exit:
                # Waits don't wait: resumed at once, by the event if one was given, else by time.
                event = events.get(node_id)
                ctx.signal = {"reason": "event", "event": event} if event is not None else {"reason": "time"}
                ctx.now = max(now, outcome.wait_until)
                outcome = act(ctx, config)
                if isinstance(outcome, Result) and outcome.wait_until is not None:
                    raise StepError("The step kept waiting after it was resumed.")
            if not isinstance(outcome, Result):
                raise StepError(f"The {entry['node_type']} step returned no result.")
            port = engine.step_port(entry["node_type"], node_type, config, outcome)
        except Exception as exc:  # noqa: BLE001 — a step's error is the dry run's outcome, whatever raised it
            entry.update(status=StepStatus.FAILED, error=engine.error_text(exc))
            entry["duration_ms"] = int((time.monotonic() - started) * 1000)
            result["status"] = ExecutionStatus.FAILED
            return
        entry.update(port=port, output=outcome.output, duration_ms=int((time.monotonic() - started) * 1000))
        steps[node_id] = outcome.output
        if outcome.exit:
            return
        queue = engine.queue_after(graph, node_id, port, queue, steps)
