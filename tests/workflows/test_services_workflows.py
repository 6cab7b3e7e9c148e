"""Workflow services: a draft checked in full on every save, activation writing a version only when
something changed, pausing, restoring an older version, deleting; each bad input a ValidationError
naming the field, and nothing stored changed by a refused call."""

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from tests.factories import ComponentFactory, ExecutionFactory, TagFactory, UserFactory, WorkspaceFactory
from workflows.models import Execution, Workflow, WorkflowStatus, WorkflowVersion
from workflows.services.workflows import (
    DEFAULT_DEFINITION,
    workflow_activate,
    workflow_create,
    workflow_delete,
    workflow_pause,
    workflow_update,
    workflow_version_restore,
)

pytestmark = pytest.mark.django_db


def tag_definition(tag: str = "lead", trigger: dict | None = None) -> dict:
    return {
        "trigger": trigger or {"type": "manual", "config": {}},
        "nodes": [{"id": "tag", "type": "add_tag", "config": {"tag": tag}, "position": {"x": 300, "y": 100}}],
        "edges": [{"source": "trigger", "target": "tag"}],
    }


@pytest.fixture
def workspace():
    return WorkspaceFactory(timezone="Europe/Paris")


def fields(error: pytest.ExceptionInfo) -> set[str]:
    return set(error.value.message_dict)


# --- create -------------------------------------------------------------------------------------------------


def test_every_bad_field_is_named_at_once_and_nothing_is_stored(workspace):
    with pytest.raises(ValidationError) as error:
        workflow_create(workspace=workspace, name=" ", description=3, definition={"trigger": []})
    assert fields(error) == {"name", "description", "definition.trigger"}
    assert not Workflow.objects.exists()


def test_a_new_workflow_without_definition_is_a_manual_trigger_with_nothing_to_do(workspace):
    actor = UserFactory()
    workflow = workflow_create(workspace=workspace, name="  Welcome   leads ", actor=actor)
    assert workflow.name == "Welcome leads"
    assert workflow.status == WorkflowStatus.DRAFT
    assert workflow.definition["trigger"] == DEFAULT_DEFINITION["trigger"]
    assert workflow.definition["nodes"] == [] and workflow.definition["edges"] == []
    assert workflow.created_by == actor
    assert workflow.active_version is None


def test_create_keeps_positions_and_labels_of_the_editor(workspace):
    definition = tag_definition()
    definition["nodes"][0]["name"] = "Tag as lead"
    workflow = workflow_create(workspace=workspace, name="W", definition=definition)
    node = workflow.definition["nodes"][0]
    assert node["position"] == {"x": 300, "y": 100}
    assert node["name"] == "Tag as lead"
    assert node["config"]["tag"] == "lead"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 201, "At most 200"),
        (5, "Expected text"),
        ("a\x00b", "null"),
    ],
)
def test_create_refuses_a_bad_name(workspace, name, message):
    with pytest.raises(ValidationError) as error:
        workflow_create(workspace=workspace, name=name)
    assert fields(error) == {"name"}
    assert message in str(error.value)
    assert not Workflow.objects.exists()


def test_create_refuses_an_overlong_description(workspace):
    with pytest.raises(ValidationError) as error:
        workflow_create(workspace=workspace, name="W", description="d" * 2001)
    assert fields(error) == {"description"}


@pytest.mark.parametrize("definition", [[], "text", 5, True])
def test_create_refuses_a_definition_that_is_not_an_object(workspace, definition):
    with pytest.raises(ValidationError) as error:
        workflow_create(workspace=workspace, name="W", definition=definition)
    assert fields(error) == {"definition"}


def test_create_names_each_problem_of_the_definition_under_definition(workspace):
    definition = tag_definition()
    definition["nodes"][0]["config"] = {"tag": ""}
    definition["nodes"].append({"id": "alone", "type": "add_tag", "config": {"tag": "x"}})
    with pytest.raises(ValidationError) as error:
        workflow_create(workspace=workspace, name="", definition=definition)
    keys = fields(error)
    assert "name" in keys
    assert "definition.nodes.tag.config.tag" in keys
    assert "definition.nodes.alone" in keys  # unreachable
    assert all(key == "name" or key.startswith("definition.") for key in keys)
    assert not Workflow.objects.exists()


def test_create_refuses_a_form_of_another_workspace(workspace):
    foreign = ComponentFactory()
    trigger = {"type": "form_submitted", "config": {"component": str(foreign.pk)}}
    with pytest.raises(ValidationError) as error:
        workflow_create(workspace=workspace, name="W", definition=tag_definition(trigger=trigger))
    assert "definition.trigger.config.component" in fields(error)


def test_create_from_a_template_starts_from_its_definition_and_name(workspace):
    from workflows.library import WORKFLOW_TEMPLATES

    template = WORKFLOW_TEMPLATES[0]
    workflow = workflow_create(workspace=workspace, template=template["slug"])
    assert workflow.template == template["slug"]
    assert workflow.name == template["name"]
    assert [node["id"] for node in workflow.definition["nodes"]] == [
        node["id"] for node in template["definition"]["nodes"]
    ]
    # The library's copy is not shared with the workflow.
    workflow.definition["nodes"].clear()
    assert template["definition"]["nodes"]


def test_create_from_a_template_takes_the_given_name(workspace):
    from workflows.library import WORKFLOW_TEMPLATES

    workflow = workflow_create(workspace=workspace, name="Mine", template=WORKFLOW_TEMPLATES[0]["slug"])
    assert workflow.name == "Mine"


@pytest.mark.parametrize("template", ["no-such-template", 7])
def test_create_refuses_an_unknown_template(workspace, template):
    with pytest.raises(ValidationError) as error:
        workflow_create(workspace=workspace, name="W", template=template)
    assert fields(error) == {"template"}


# --- update -------------------------------------------------------------------------------------------------


def test_update_changes_only_what_is_given(workspace):
    workflow = workflow_create(workspace=workspace, name="W", description="First", definition=tag_definition())
    workflow_update(workflow=workflow, name="Renamed")
    workflow.refresh_from_db()
    assert workflow.name == "Renamed" and workflow.description == "First"
    assert workflow.definition["nodes"][0]["config"]["tag"] == "lead"


def test_a_refused_update_changes_nothing(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition())
    stored = workflow.definition
    broken = tag_definition()
    broken["edges"].append({"source": "tag", "target": "trigger"})
    with pytest.raises(ValidationError) as error:
        workflow_update(workflow=workflow, name="New", definition=broken)
    assert any(key.startswith("definition.edges.") for key in fields(error))
    workflow.refresh_from_db()
    assert workflow.name == "W"
    assert workflow.definition == stored


def test_update_refuses_an_unknown_field(workspace):
    workflow = workflow_create(workspace=workspace, name="W")
    with pytest.raises(TypeError):
        workflow_update(workflow=workflow, status="active")


def test_update_refuses_enrolling_into_the_workflow_itself(workspace):
    workflow = workflow_create(workspace=workspace, name="W")
    definition = {
        "trigger": {"type": "manual", "config": {}},
        "nodes": [{"id": "again", "type": "enroll_workflow", "config": {"workflow": workflow.pk}}],
        "edges": [{"source": "trigger", "target": "again"}],
    }
    with pytest.raises(ValidationError) as error:
        workflow_update(workflow=workflow, definition=definition)
    assert any(key.startswith("definition.nodes.again") for key in fields(error))


# --- activate, pause ----------------------------------------------------------------------------------------


def test_activate_freezes_the_draft_as_version_one_and_indexes_the_trigger(workspace):
    form = ComponentFactory(page__site__workspace=workspace)
    trigger = {"type": "form_submitted", "config": {"component": str(form.pk)}}
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition(trigger=trigger))
    actor = UserFactory()
    version = workflow_activate(workflow=workflow, actor=actor)
    workflow.refresh_from_db()
    assert version.number == 1 and version.created_by == actor
    assert version.definition == workflow.definition
    assert workflow.status == WorkflowStatus.ACTIVE
    assert workflow.active_version == version
    assert (workflow.trigger_type, workflow.trigger_ref) == ("form_submitted", str(form.pk))
    assert Workflow.objects.active().filter(pk=workflow.pk).exists()


def test_tag_trigger_is_indexed_by_its_lower_cased_name(workspace):
    TagFactory(workspace=workspace, name="VIP")
    trigger = {"type": "tag_added", "config": {"tag": "VIP"}}
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition(trigger=trigger))
    workflow_activate(workflow=workflow)
    workflow.refresh_from_db()
    assert (workflow.trigger_type, workflow.trigger_ref) == ("tag_added", "vip")


def test_activating_an_unchanged_draft_keeps_the_version(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition())
    first = workflow_activate(workflow=workflow)
    workflow_pause(workflow=workflow)
    again = workflow_activate(workflow=workflow)
    assert again.pk == first.pk
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1


def test_activating_a_changed_draft_writes_the_next_version_and_keeps_the_old(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition("one"))
    first = workflow_activate(workflow=workflow)
    pinned = ExecutionFactory(version=first, status="waiting")
    workflow_update(workflow=workflow, definition=tag_definition("two"))
    workflow.refresh_from_db()
    assert workflow.active_version == first  # editing alone changes nothing that runs
    second = workflow_activate(workflow=workflow)
    assert second.number == 2
    assert second.definition["nodes"][0]["config"]["tag"] == "two"
    first.refresh_from_db()
    assert first.definition["nodes"][0]["config"]["tag"] == "one"
    pinned.refresh_from_db()
    assert pinned.version_id == first.pk


def test_activate_refuses_a_draft_whose_form_was_deleted_since(workspace):
    form = ComponentFactory(page__site__workspace=workspace)
    trigger = {"type": "form_submitted", "config": {"component": str(form.pk)}}
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition(trigger=trigger))
    form.delete()
    with pytest.raises(ValidationError) as error:
        workflow_activate(workflow=workflow)
    assert "definition.trigger.config.component" in fields(error)
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.DRAFT
    assert not WorkflowVersion.objects.exists()


def test_pause_stops_new_executions_and_only_an_active_workflow_pauses(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition())
    with pytest.raises(ValidationError) as error:
        workflow_pause(workflow=workflow)
    assert fields(error) == {"status"}
    workflow_activate(workflow=workflow)
    workflow_pause(workflow=workflow)
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.PAUSED
    assert not Workflow.objects.active().filter(pk=workflow.pk).exists()


def schedule_definition(cron: str = "0 9 * * 1") -> dict:
    return tag_definition(trigger={"type": "schedule", "config": {"cron": cron}})


def test_a_schedule_trigger_gets_its_beat_entry_while_active_only(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=schedule_definition())
    assert not PeriodicTask.objects.exists()
    workflow_activate(workflow=workflow)
    workflow.refresh_from_db()
    task = PeriodicTask.objects.get()
    assert workflow.schedule_task == task
    assert str(task.crontab.timezone) == "Europe/Paris"
    workflow_pause(workflow=workflow)
    assert not PeriodicTask.objects.exists()


def test_deleting_an_active_scheduled_workflow_removes_its_beat_entry(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=schedule_definition())
    workflow_activate(workflow=workflow)
    workflow_delete(workflow=workflow)
    assert not Workflow.objects.exists()
    assert not PeriodicTask.objects.exists()


# --- restore, delete ----------------------------------------------------------------------------------------


def test_restoring_a_version_of_a_draft_workflow_only_replaces_the_draft(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition("one"))
    first = workflow_activate(workflow=workflow)
    workflow_update(workflow=workflow, definition=tag_definition("two"))
    workflow_activate(workflow=workflow)
    workflow_pause(workflow=workflow)
    workflow_update(workflow=workflow, definition=tag_definition("three"))

    restored = workflow_version_restore(workflow=workflow, version=first)
    assert restored.definition["nodes"][0]["config"]["tag"] == "one"
    assert restored.status == WorkflowStatus.PAUSED
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 2


def test_restoring_on_an_active_workflow_activates_it_as_a_new_version(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition("one"))
    first = workflow_activate(workflow=workflow)
    workflow_update(workflow=workflow, definition=tag_definition("two"))
    workflow_activate(workflow=workflow)

    restored = workflow_version_restore(workflow=workflow, version=first)
    assert restored.status == WorkflowStatus.ACTIVE
    assert restored.active_version.number == 3
    assert restored.active_version.definition == first.definition
    assert list(WorkflowVersion.objects.filter(workflow=workflow).values_list("number", flat=True)) == [3, 2, 1]


def test_restore_refuses_a_version_of_another_workflow(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition("one"))
    other = workflow_create(workspace=workspace, name="Other", definition=tag_definition("other"))
    foreign = workflow_activate(workflow=other)
    with pytest.raises(ValidationError) as error:
        workflow_version_restore(workflow=workflow, version=foreign)
    assert fields(error) == {"version"}
    workflow.refresh_from_db()
    assert workflow.definition["nodes"][0]["config"]["tag"] == "one"


def test_delete_takes_versions_and_executions_with_it(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition())
    version = workflow_activate(workflow=workflow)
    ExecutionFactory(version=version)
    ExecutionFactory(version=version, status="waiting")
    keep = workflow_create(workspace=workspace, name="Keep", definition=tag_definition())
    kept = ExecutionFactory(version=workflow_activate(workflow=keep))

    workflow_delete(workflow=workflow)
    assert list(Workflow.objects.all()) == [keep]
    assert list(Execution.objects.all()) == [kept]
    assert WorkflowVersion.objects.filter(workflow=keep).count() == 1


def test_activating_a_webhook_trigger_makes_its_signing_key_once(workspace):
    definition = tag_definition(trigger={"type": "webhook", "config": {"hmac": True}})
    workflow = workflow_create(workspace=workspace, name="W", definition=definition)
    assert workflow.hook_secret == ""
    workflow_activate(workflow=workflow)
    workflow.refresh_from_db()
    assert workflow.hook_secret.startswith("whsec_")
    key = workflow.hook_secret
    workflow_pause(workflow=workflow)
    workflow_activate(workflow=workflow)
    workflow.refresh_from_db()
    assert workflow.hook_secret == key


def test_a_workflow_that_neither_listens_nor_calls_out_gets_no_signing_key(workspace):
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition())
    workflow_activate(workflow=workflow)
    workflow.refresh_from_db()
    assert workflow.hook_secret == ""


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_activations_at_once_write_one_version():
    """Each activation locks the workflow's row: the second sees the first's version and keeps it."""
    import threading

    from django.db import connection

    workspace = WorkspaceFactory()
    workflow = workflow_create(workspace=workspace, name="W", definition=tag_definition("one"))
    workflow_activate(workflow=workflow)
    workflow_update(workflow=workflow, definition=tag_definition("two"))
    barrier, versions, errors = threading.Barrier(4), [], []

    def activate():
        try:
            barrier.wait()
            versions.append(workflow_activate(workflow=Workflow.objects.get(pk=workflow.pk)).number)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=activate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert versions == [2, 2, 2, 2]
    assert list(WorkflowVersion.objects.filter(workflow=workflow).values_list("number", flat=True)) == [2, 1]
