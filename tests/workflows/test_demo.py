"""The demo workspace's workflows: its site's contact form wired to an active welcome workflow with two
weeks of runs behind it, one failed with an error a marketer can act on; seeded once however often the
seed runs, and live: a new submission of that form runs it for real."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from builder.models import Component
from builder.services.submissions import form_submission_create
from campaigns.models import EmailSend, SendKind
from core.events.dispatch import process_event
from core.models import Event
from crm.models import Contact, ContactStatus
from workflows.demo import FAILED_RUN, LEAD_TAG, RUNS, WELCOME_NAME, demo_workflows_seed
from workflows.models import Execution, ExecutionStatus, StepRun, StepStatus, Workflow, WorkflowStatus
from workflows.selectors import component_workflows
from workflows.tasks.engine import execution_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo")
    user = User.objects.get(email=settings.DEMO_EMAIL)
    return user, user.default_workspace


def site_form(workspace) -> Component:
    return Component.objects.get(page__site__workspace=workspace, page__is_home=True, type="contact_form")


def test_the_site_form_starts_an_active_welcome_workflow(demo):
    _, workspace = demo
    workflow = Workflow.objects.get(workspace=workspace, name=WELCOME_NAME)
    form = site_form(workspace)
    assert workflow.status == WorkflowStatus.ACTIVE
    assert (workflow.trigger_type, workflow.trigger_ref) == ("form_submitted", str(form.pk))
    definition = workflow.active_version.definition
    assert definition["trigger"] == {"type": "form_submitted", "config": {"component": str(form.pk)}}
    assert [node["type"] for node in definition["nodes"]] == ["add_tag", "send_email"]
    assert list(component_workflows(component=form)) == [workflow]


def test_its_history_has_one_readable_failure_and_pins_the_version(demo):
    _, workspace = demo
    workflow = Workflow.objects.get(workspace=workspace, name=WELCOME_NAME)
    executions = Execution.objects.filter(workflow=workflow)
    assert executions.count() == RUNS
    assert set(executions.values_list("version_id", flat=True)) == {workflow.active_version_id}
    failed = executions.get(status=ExecutionStatus.FAILED)
    assert executions.filter(status=ExecutionStatus.SUCCEEDED).count() == RUNS - 1
    # The failure is an unsubscribed contact's, and says so with their address and what to do.
    assert failed.contact.status == ContactStatus.UNSUBSCRIBED
    assert failed.contact.email in failed.error and "unsubscribed" in failed.error
    assert failed.current_node == "welcome_email"
    steps = StepRun.objects.filter(execution=failed).order_by("id")
    assert [(step.node_id, step.status) for step in steps] == [
        ("tag_lead", StepStatus.SUCCEEDED),
        ("welcome_email", StepStatus.FAILED),
    ]
    assert StepRun.objects.filter(execution__workflow=workflow).count() == 2 * RUNS
    assert all(execution.duration_ms > 0 for execution in executions)
    assert FAILED_RUN < RUNS


def test_seeding_again_adds_nothing(demo):
    user, workspace = demo
    counts = Workflow.objects.count(), Execution.objects.count(), StepRun.objects.count()
    call_command("seed_demo")
    assert demo_workflows_seed(workspace=workspace, actor=user) == 0
    assert (Workflow.objects.count(), Execution.objects.count(), StepRun.objects.count()) == counts


def test_the_dashboard_shows_the_demo_workflow_and_its_failure(demo):
    user, workspace = demo
    web = Client()
    web.force_login(user)
    workflow = Workflow.objects.get(workspace=workspace, name=WELCOME_NAME)
    row = next(item for item in web.get(reverse("dashboard:workflows")).context["workflows"] if item == workflow)
    assert row.executions_total == RUNS and row.executions_failed == 1
    failed = Execution.objects.get(workflow=workflow, status=ExecutionStatus.FAILED)
    html = web.get(reverse("dashboard:workflows-execution", args=[failed.pk])).content.decode()
    assert "unsubscribed from marketing email" in html
    assert web.get(reverse("dashboard:workflows-edit", args=[workflow.pk])).status_code == 200


def test_a_new_submission_of_the_demo_form_runs_the_workflow(demo, django_capture_on_commit_callbacks):
    _, workspace = demo
    workflow = Workflow.objects.get(workspace=workspace, name=WELCOME_NAME)
    with django_capture_on_commit_callbacks():
        form_submission_create(
            component=site_form(workspace),
            data={"name": "Ada Lovelace", "email": "ada@example.com", "message": "Hello"},
            consent_given=True,
            ip="203.0.113.9",
            user_agent="test",
        )
    event = Event.objects.filter(workspace=workspace, type="form.submitted").latest("pk")
    process_event(event.pk)
    contact = Contact.objects.get(workspace=workspace, email="ada@example.com")
    execution = Execution.objects.get(workflow=workflow, contact=contact)
    execution_run(execution.pk)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert LEAD_TAG in set(contact.tags.values_list("name", flat=True))
    send = EmailSend.objects.get(contact=contact, kind=SendKind.WORKFLOW)
    assert send.subject == "Welcome, Ada!"
