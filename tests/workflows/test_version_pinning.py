"""An execution runs on the version it started on: editing and re-activating the workflow while 100
executions wait changes none of them; new executions start on the new version."""

import datetime

import pytest
from django.utils import timezone
from freezegun import freeze_time

from tests.factories import ContactFactory, WorkspaceFactory
from tests.workflows.engine_kit import CALLS, activate, chain, definition, kit, make_workflow, node, run  # noqa: F401
from workflows import engine
from workflows.models import Execution, ExecutionStatus, StepRun, WorkflowVersion
from workflows.services.executions import execution_start, executions_start_many

pytestmark = pytest.mark.usefixtures("kit")

WAITING = 100


def test_a_hundred_waiting_executions_each_resume_on_their_own_version():
    workspace = WorkspaceFactory()
    contacts = [ContactFactory(workspace=workspace) for _ in range(WAITING)]
    v1_spec = chain(node("pause", "t_wait", seconds=3600), node("send", "t_record", value="v1 {{ contact.email }}"))
    workflow = make_workflow(v1_spec, workspace=workspace)
    v1 = workflow.active_version
    started = executions_start_many(
        workflow=workflow, contact_ids=[c.pk for c in contacts], trigger_data={}, trigger_key_prefix="batch"
    )
    assert started == WAITING
    for execution in Execution.objects.filter(workflow=workflow):
        run(execution)
    assert Execution.objects.filter(workflow=workflow, status=ExecutionStatus.WAITING).count() == WAITING

    # Edited while they wait: the send says something else, a new branch is added, and the wait is shorter.
    v2_spec = definition(
        [
            node("pause", "t_wait", seconds=60),
            node("send", "t_record", value="v2"),
            node("extra", "t_record", value="only in v2"),
        ],
        [("trigger", "pause"), ("pause", "send"), ("send", "extra")],
    )
    v2 = activate(workflow, v2_spec)
    assert v2.number == v1.number + 1
    assert WorkflowVersion.objects.get(pk=v1.pk).definition == v1_spec  # the old version is untouched
    newcomer = run(execution_start(workflow=workflow, contact=ContactFactory(workspace=workspace), trigger_data={}))
    assert newcomer.version_id == v2.pk
    assert newcomer.resume_at <= timezone.now() + datetime.timedelta(seconds=60)

    # Re-activating again (a third version) doesn't move them either.
    v3 = activate(workflow, v2_spec)
    engine._GRAPHS.clear()  # as in a fresh worker process: versions are read from the database

    with freeze_time(timezone.now() + datetime.timedelta(hours=1, seconds=1)):
        handed = engine.executions_sweep()
        for pk in handed:
            engine.execution_run(execution_id=pk)
    assert len(handed) == WAITING + 1

    originals = Execution.objects.filter(workflow=workflow, version=v1)
    assert originals.count() == WAITING
    assert set(originals.values_list("status", flat=True)) == {ExecutionStatus.SUCCEEDED}
    by_contact = {c.pk: c.email for c in contacts}
    for execution in originals:
        assert execution.state["steps"]["send"]["value"] == f"v1 {by_contact[execution.contact_id]}"
        assert "extra" not in execution.state["steps"]
    assert not StepRun.objects.filter(execution__in=originals, node_id="extra").exists()
    newcomer.refresh_from_db()
    assert newcomer.status == ExecutionStatus.SUCCEEDED and newcomer.state["steps"]["extra"]["value"] == "only in v2"
    assert not Execution.objects.filter(version=v3).exists()
    assert sum(1 for call in CALLS if call[0] == "send") == WAITING + 1
