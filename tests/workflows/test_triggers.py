"""Trigger handlers: an outbox event starts each active workflow of its workspace whose trigger it
matches, once per workflow however often the event is delivered, for the event's contact."""

import pytest

from core.events import emit, on
from core.events.registry import handlers_for
from core.models import Event
from core.tasks import dispatch_event
from crm.services.tags import contact_tags_add, tags_resolve
from tests.factories import ContactFactory, WorkspaceFactory
from tests.workflows.engine_kit import CALLS, chain, kit, make_workflow, node  # noqa: F401
from workflows import engine, handlers
from workflows.models import Execution, ExecutionStatus, WorkflowStatus
from workflows.nodes import get_node_type
from workflows.services.executions import execution_start

pytestmark = pytest.mark.usefixtures("kit")


@pytest.fixture
def fired():
    """ "test.fired" events start t_fired workflows (the handler registers for the test's trigger type)."""
    on("test.fired")(handlers.start_workflows)


def fired_workflow(workspace, key: str = "", min: int = 0, value: str = ""):
    spec = chain(node("a", "t_record", value=value), trigger="t_fired", trigger_config={"key": key, "min": min})
    return make_workflow(spec, workspace=workspace, ref=key.lower())


def fire(workspace, **payload):
    return emit(workspace=workspace, type="test.fired", payload=payload)


def test_an_event_starts_the_matching_workflows_of_its_workspace_once(fired):
    contact = ContactFactory()
    workspace = contact.workspace
    any_key = fired_workflow(workspace)
    vip = fired_workflow(workspace, key="VIP")
    other_key = fired_workflow(workspace, key="basic")
    too_small = fired_workflow(workspace, min=5)
    paused = fired_workflow(workspace)
    paused.status = WorkflowStatus.PAUSED
    paused.save()
    elsewhere = fired_workflow(WorkspaceFactory())

    event = fire(workspace, contact_id=contact.pk, key="vip", n=3)
    handlers.start_workflows(event)
    handlers.start_workflows(event)  # delivered again: nothing new

    started = Execution.objects.filter(trigger_key=f"event:{event.pk}")
    assert set(started.values_list("workflow_id", flat=True)) == {any_key.pk, vip.pk}
    assert not Execution.objects.filter(workflow__in=[other_key, too_small, paused, elsewhere]).exists()
    for execution in started:
        assert execution.contact_id == contact.pk and execution.status == ExecutionStatus.PENDING
        assert execution.trigger_data == {"contact_id": contact.pk, "key": "vip", "n": 3}
        assert execution.version_id == execution.workflow.active_version_id


def test_an_event_for_a_contact_of_another_workspace_or_gone_starts_nothing(fired):
    workspace = WorkspaceFactory()
    fired_workflow(workspace)
    stranger = ContactFactory()
    handlers.start_workflows(fire(workspace, contact_id=stranger.pk))
    handlers.start_workflows(fire(workspace, contact_id=987654321))
    assert not Execution.objects.exists()


def test_an_event_without_a_contact_starts_a_run_without_one(fired):
    workspace = WorkspaceFactory()
    workflow = fired_workflow(workspace)
    handlers.start_workflows(fire(workspace, key=""))
    assert Execution.objects.get(workflow=workflow).contact_id is None


def test_through_the_outbox_the_event_runs_the_workflow_to_its_end(
    fired, celery_eager, django_capture_on_commit_callbacks
):
    contact = ContactFactory()
    workflow = fired_workflow(contact.workspace, value="{{ trigger.n }}")
    with django_capture_on_commit_callbacks(execute=True):
        fire(contact.workspace, contact_id=contact.pk, n=4)
    execution = Execution.objects.get(workflow=workflow)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.state["steps"]["a"]["value"] == "4"


def test_once_per_contact_holds_across_events(fired):
    contact = ContactFactory()
    spec = chain(node("a", "t_record"), trigger="t_fired", reentry={"policy": "once"})
    workflow = make_workflow(spec, workspace=contact.workspace)
    for _ in range(3):
        handlers.start_workflows(fire(contact.workspace, contact_id=contact.pk))
    assert Execution.objects.filter(workflow=workflow).count() == 1


def test_each_event_a_workflow_listens_to_has_one_workflows_handler():
    types = set(handlers.WAIT_EVENTS) | set(handlers.GOAL_EVENTS)
    for trigger in ("form_submitted", "contact_created", "tag_added", "tag_removed", "email_opened", "email_clicked"):
        types |= set(get_node_type(trigger).events)
    for event_type in types:
        ours = [name for name in handlers_for(event_type) if name.startswith("workflows.")]
        assert ours == ["workflows.handlers.handle"], (event_type, ours)


def test_a_tag_added_workflow_runs_when_its_tag_is_added(celery_eager, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    trigger = get_node_type("tag_added")
    spec = chain(node("a", "t_record"), trigger="tag_added", trigger_config={"tag": "VIP"})
    workflow = make_workflow(spec, workspace=contact.workspace, ref=trigger.ref(trigger.Config(tag="VIP")))
    with django_capture_on_commit_callbacks(execute=True):
        contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["newsletter"]))
    assert not Execution.objects.filter(workflow=workflow).exists()
    with django_capture_on_commit_callbacks(execute=True):
        contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["vip"]))
    execution = Execution.objects.get(workflow=workflow)
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.contact_id == contact.pk
    assert [c[0] for c in CALLS] == ["a"]


def test_a_contact_event_no_workflow_can_use_is_never_dispatched(django_capture_on_commit_callbacks):
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["vip"]))
    event = Event.objects.get(type="tag.added", payload__contact_id=contact.pk)
    assert event.dispatched_at is not None and callbacks == []


def test_a_contact_event_is_dispatched_for_a_trigger_on_it_or_a_run_it_may_move(django_capture_on_commit_callbacks):
    contact = ContactFactory()
    workspace = contact.workspace
    assert not handlers.wanted(workspace.pk, "tag.added", {"contact_id": contact.pk})
    assert not handlers.wanted(workspace.pk, "email.opened", {"contact_id": contact.pk})

    trigger = get_node_type("tag_added")
    spec = chain(node("a", "t_record"), trigger="tag_added", trigger_config={"tag": "vip"})
    make_workflow(spec, workspace=workspace, ref=trigger.ref(trigger.Config(tag="vip")))
    assert handlers.wanted(workspace.pk, "tag.added", {"contact_id": contact.pk})
    assert not handlers.wanted(WorkspaceFactory().pk, "tag.added", {"contact_id": contact.pk})

    goal = {"all": [{"field": "contact.tags", "op": "has_tag", "value": "customer"}]}
    with_goal = chain(node("a", "t_record"), trigger="manual")
    with_goal["nodes"].append({"id": "won", "type": "goal", "config": {"rules": goal}})
    with_goal["edges"].append({"source": "a", "target": "won"})
    waiting = execution_start(workflow=make_workflow(with_goal, workspace=workspace), contact=contact, trigger_data={})
    Execution.objects.filter(pk=waiting.pk).update(status=ExecutionStatus.WAITING, wait_event="email.opened")
    assert handlers.wanted(workspace.pk, "tag.removed", {"contact_id": contact.pk}), "a goal may now be reached"
    assert handlers.wanted(workspace.pk, "email.opened", {"contact_id": contact.pk}), "a wait for the open"
    assert not handlers.wanted(workspace.pk, "email.clicked", {"contact_id": contact.pk})


@pytest.mark.django_db(transaction=True)  # commits for real, so the callbacks run inside the task
def test_a_worker_dispatching_the_event_runs_the_execution_it_started_itself(monkeypatch):
    contact = ContactFactory()
    trigger = get_node_type("tag_added")
    spec = chain(node("a", "t_record"), trigger="tag_added", trigger_config={"tag": "vip"})
    workflow = make_workflow(spec, workspace=contact.workspace, ref=trigger.ref(trigger.Config(tag="vip")))
    queued = []
    monkeypatch.setattr(engine, "enqueue_run", queued.append)
    contact_tags_add(contact=contact, tags=tags_resolve(workspace=contact.workspace, names=["vip"]))
    event = Event.objects.get(type="tag.added", payload__contact_id=contact.pk)

    dispatch_event(event.pk)  # as a worker runs it (not eagerly)

    execution = Execution.objects.get(workflow=workflow)
    assert execution.status == ExecutionStatus.SUCCEEDED and queued == []
