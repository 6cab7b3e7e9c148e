"""Outbox event handlers: events start workflows (triggers) and wake waiting executions.

Each event type has one handler here, `handle`, whatever the number of workflows (the outbox keeps a
delivery row per handler and event, so one handler costs one): it starts the workflows whose
triggers match, wakes the executions waiting for the event (opens, clicks), and makes executions
waiting with goals re-check them when a contact changes. All three are idempotent, so the outbox
retrying the handler after one of them failed repeats nothing.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.events import WORKSPACE_TIMEZONE_CHANGED
from core.events import on
from core.logging import get_logger
from crm import events as crm_events
from crm.models import Contact
from workflows import engine
from workflows.models import Execution, ExecutionStatus, Workflow
from workflows.nodes import trigger_types
from workflows.services.executions import execution_start

log = get_logger(__name__)

#: Events a wait_for_event step can wait for.
WAIT_EVENTS = ("email.opened", "email.clicked")
#: Contact changes after which waiting executions re-check their goals.
GOAL_EVENTS = (crm_events.TAG_ADDED, crm_events.TAG_REMOVED, crm_events.CONTACT_UPDATED, crm_events.SCORE_CHANGED)


_UNREAD = object()


def start_workflows(event) -> None:
    """Start every active workflow of the event's workspace whose trigger this event matches, once
    per workflow and event (the execution's trigger_key is the event's id)."""
    contacts: dict[int, Contact | None] = {}
    for trigger in trigger_types().values():
        if event.type not in trigger.events:
            continue
        workflows = Workflow.objects.active().filter(workspace_id=event.workspace_id, trigger_type=trigger.type)
        ref = trigger.event_ref(event)
        if ref is not None:
            workflows = workflows.filter(trigger_ref__in=["", ref])
        contact_id = _UNREAD
        for workflow in workflows:
            graph = engine.graph_for(workflow.active_version_id)
            if graph.trigger.get("type") != trigger.type or not trigger.matches(graph.config("trigger"), event):
                continue
            if contact_id is _UNREAD:  # a form's trigger looks the contact up by email: once per event
                contact_id = trigger.contact_id(event)
            if contact_id not in contacts:
                contacts[contact_id] = (
                    Contact.objects.filter(pk=contact_id, workspace_id=event.workspace_id).first()
                    if contact_id
                    else None
                )
            contact = contacts[contact_id]
            if contact_id and contact is None:
                continue  # erased since: nobody to run it for
            execution_start(
                workflow=workflow,
                contact=contact,
                trigger_data=trigger.trigger_data(event),
                trigger_key=f"event:{event.pk}",
            )


def wake_waiting(event) -> None:
    """Resume the contact's executions waiting for this event (a wait_for_event step): the step is
    run again with the event as its signal."""
    contact_id = event.payload.get("contact_id")
    if not contact_id:
        return
    now = timezone.now()
    woken = []
    # Pending too: one the sweeper just handed out (its goal re-check, its timeout) hasn't started yet.
    rows = Execution.objects.select_for_update().filter(
        workspace_id=event.workspace_id,
        contact_id=contact_id,
        wait_event=event.type,
        status__in=[ExecutionStatus.WAITING, ExecutionStatus.PENDING],
    )
    for execution in rows:
        state = dict(execution.state or {})
        if not state.get("wait"):
            continue
        state["signal"] = {"reason": "event", "event": {"type": event.type, "id": event.pk, **event.payload}}
        Execution.objects.filter(pk=execution.pk).update(
            state=state,
            status=ExecutionStatus.PENDING,
            resume_at=None,
            lease_token="",
            lease_expires_at=now + datetime.timedelta(seconds=settings.WORKFLOW_PENDING_GRACE_SECONDS),
            updated_at=now,
        )
        woken.append(execution.pk)
    if woken:
        transaction.on_commit(lambda: [engine.enqueue_run(pk) for pk in woken])


def recheck_goals(event) -> None:
    """The contact changed: their executions waiting in a workflow with goals become due, so the
    sweeper hands them to a worker that checks the goals (and, none reached, suspends them again)."""
    contact_id = event.payload.get("contact_id")
    if not contact_id:
        return
    waiting = list(
        Execution.objects.filter(
            workspace_id=event.workspace_id, contact_id=contact_id, status=ExecutionStatus.WAITING
        ).values_list("pk", "version_id")
    )
    due = [pk for pk, version_id in waiting if engine.graph_for(version_id).goals]
    if due:
        Execution.objects.filter(pk__in=due, status=ExecutionStatus.WAITING).update(
            resume_at=timezone.now(), updated_at=timezone.now()
        )


def handle(event) -> None:
    if any(event.type in trigger.events for trigger in trigger_types().values()):
        start_workflows(event)
    if event.type in WAIT_EVENTS:
        wake_waiting(event)
    if event.type in GOAL_EVENTS:
        recheck_goals(event)


def wanted(workspace_id: int, event_type: str, payload: dict) -> bool:
    """Whether `handle` may act on such an event: an active workflow of the workspace has a trigger
    on it, or the contact has an execution it could wake (a wait for an open or a click) or move
    (a goal). Asked when the event is emitted, so the busy events of a workspace without such
    workflows (each tag added, each email opened) cost one indexed query instead of a dispatch."""
    types = [trigger.type for trigger in trigger_types().values() if event_type in trigger.events]
    if types and Workflow.objects.active().filter(workspace_id=workspace_id, trigger_type__in=types).exists():
        return True
    contact_id = payload.get("contact_id")
    if not contact_id:
        return False
    if event_type in WAIT_EVENTS:
        # Pending too: an execution the sweeper just handed back may be one waiting for this event.
        waiting = Execution.objects.filter(
            contact_id=contact_id, wait_event=event_type, status__in=[ExecutionStatus.WAITING, ExecutionStatus.PENDING]
        )
        if waiting.exists():
            return True
    if event_type in GOAL_EVENTS:
        live = Execution.objects.filter(contact_id=contact_id).live().values_list("version_id", flat=True)
        return any(engine.graph_for(version_id).goals for version_id in set(live))
    return False


@on(WORKSPACE_TIMEZONE_CHANGED)
def schedules_resync(event) -> None:
    """The workspace's clock changed: its scheduled workflows' beat entries move to the new zone."""
    from workflows.schedule import schedule_sync

    active = Workflow.objects.active().filter(workspace_id=event.workspace_id, trigger_type="schedule")
    for workflow in active.select_related("active_version", "workspace"):
        schedule_sync(workflow=workflow)


def _register() -> None:
    starts = {event for trigger in trigger_types().values() for event in trigger.events}
    for event_type in sorted(starts | set(WAIT_EVENTS) | set(GOAL_EVENTS)):
        on(event_type, wanted=wanted)(handle)


_register()
