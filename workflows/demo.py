"""The demo workspace's workflows: its site's contact form wired to an active "Welcome new leads"
workflow (form submitted → tag "lead" → welcome email), with two weeks of executions behind it, one of
them failed with an error a marketer can act on.

The workflow goes through the services (checked and activated like one built in the editor). Its
history is bulk-created rather than run through the engine: rows shaped like the engine's own (one
StepRun per step, timings, outputs), spread over the past days by a seeded generator, so the list,
the monitor and the stats look like a workflow that has been live for a while. A run only adds what
is missing.
"""

import datetime
import random

from django.utils import timezone

from builder.components import REGISTRY as COMPONENT_TYPES
from builder.models import Component
from campaigns.models import Sender, SenderStatus
from crm.models import Contact, ContactStatus
from workflows.library import HELLO
from workflows.models import Execution, ExecutionStatus, StepRun, StepStatus, Workflow
from workflows.services.workflows import workflow_activate, workflow_create

SEED = 2028
WELCOME_NAME = "Welcome new leads"
WELCOME_DESCRIPTION = "Everyone who sends the site's contact form is tagged as a lead and gets a welcome email."
WELCOME_SUBJECT = f"Welcome, {HELLO}!"
WELCOME_CONTENT = (
    f"<p>Hi {HELLO},</p>"
    "<p>Thanks for getting in touch: we read every message and will reply within a working day.</p>"
    "<p>Meanwhile, our latest case studies show how teams like yours doubled their sign-ups.</p>"
    "<p>— Maya, Acme Marketing</p>"
)
LEAD_TAG = "lead"
#: How many runs, over how many days; which one failed (an unsubscribed contact's), and why.
RUNS = 24
DAYS = 14
FAILED_RUN = 5
FAILED_ERROR = (
    "Not sent: {email} unsubscribed from marketing email. Switch this step to transactional only if "
    "the message is one they asked for."
)


def _site_form(workspace) -> Component | None:
    """The demo site's contact form on its home page; else any form of the workspace."""
    form_types = [name for name, component_type in COMPONENT_TYPES.items() if component_type.is_form]
    forms = Component.objects.for_workspace(workspace).filter(type__in=form_types).order_by("page_id", "pk")
    return forms.filter(type="contact_form", page__is_home=True).first() or forms.first()


def welcome_definition(*, component_id: str, sender_id: int | None) -> dict:
    return {
        "trigger": {"type": "form_submitted", "config": {"component": component_id}},
        "nodes": [
            {
                "id": "tag_lead",
                "type": "add_tag",
                "name": "Tag as lead",
                "config": {"tag": LEAD_TAG},
                "position": {"x": 330, "y": 120},
            },
            {
                "id": "welcome_email",
                "type": "send_email",
                "name": "Welcome email",
                "config": {"subject": WELCOME_SUBJECT, "content": WELCOME_CONTENT, "sender": sender_id},
                "position": {"x": 640, "y": 120},
            },
        ],
        "edges": [{"source": "trigger", "target": "tag_lead"}, {"source": "tag_lead", "target": "welcome_email"}],
        "reentry": {"policy": "once"},
    }


def demo_workflows_seed(*, workspace, actor) -> int:
    """Seed the workspace's workflows (after its site and contacts); returns how many were added."""
    if Workflow.objects.for_workspace(workspace).filter(name=WELCOME_NAME).exists():
        return 0
    form = _site_form(workspace)
    sender = Sender.objects.for_workspace(workspace).filter(status=SenderStatus.VERIFIED).order_by("pk").first()
    definition = welcome_definition(component_id=str(form.pk) if form else "", sender_id=sender.pk if sender else None)
    workflow = workflow_create(
        workspace=workspace, name=WELCOME_NAME, description=WELCOME_DESCRIPTION, definition=definition, actor=actor
    )
    version = workflow_activate(workflow=workflow, actor=actor)
    _history(workspace, workflow, version, form)
    return 1


def _history(workspace, workflow, version, form) -> None:
    rng = random.Random(SEED)  # noqa: S311 -- demo data wants repeatable draws, not secrecy
    now = timezone.now()
    people = Contact.objects.for_workspace(workspace).exclude(email="")
    contacts = list(people.filter(status=ContactStatus.ACTIVE).order_by("-created_at", "-id")[:RUNS])
    # The failed run is for someone who really did unsubscribe, so its error matches their record.
    unsubscribed = people.filter(status=ContactStatus.UNSUBSCRIBED).order_by("pk").first()
    if unsubscribed and len(contacts) > FAILED_RUN:
        contacts[FAILED_RUN] = unsubscribed
    executions, steps = [], []
    for index, contact in enumerate(contacts):
        # Newest first, spread over DAYS with a working-hours bias.
        created = now - datetime.timedelta(days=DAYS * index / max(len(contacts), 1), minutes=rng.randint(5, 600))
        failed = contact == unsubscribed
        tag_ms, email_ms = rng.randint(4, 18), rng.randint(35, 160)
        started = created + datetime.timedelta(milliseconds=rng.randint(20, 90))
        tag_done = started + datetime.timedelta(milliseconds=tag_ms)
        finished = tag_done + datetime.timedelta(milliseconds=email_ms)
        first_name = contact.first_name or "there"
        trigger = {
            "email": contact.email,
            "component": str(form.pk) if form else "",
            "data": {"name": f"{contact.first_name} {contact.last_name}".strip(), "email": contact.email},
        }
        execution = Execution(
            workspace=workspace,
            workflow=workflow,
            version=version,
            contact=contact,
            trigger_key=f"demo:{contact.pk}",
            trigger_data=trigger,
            status=ExecutionStatus.FAILED if failed else ExecutionStatus.SUCCEEDED,
            current_node="welcome_email" if failed else "",
            error=FAILED_ERROR.format(email=contact.email) if failed else "",
            created_at=created,
            started_at=started,
            finished_at=finished,
            duration_ms=int((finished - started).total_seconds() * 1000),
        )
        executions.append(execution)
        steps.append(
            StepRun(
                workspace=workspace,
                execution=execution,
                node_id="tag_lead",
                node_type="add_tag",
                status=StepStatus.SUCCEEDED,
                port="out",
                input={"tag": LEAD_TAG},
                output={"tag": LEAD_TAG, "added": index % 4 != 0},
                started_at=started,
                finished_at=tag_done,
                duration_ms=tag_ms,
            )
        )
        subject = WELCOME_SUBJECT.replace("{{ contact.first_name | default('there') }}", first_name)
        steps.append(
            StepRun(
                workspace=workspace,
                execution=execution,
                node_id="welcome_email",
                node_type="send_email",
                status=StepStatus.FAILED if failed else StepStatus.SUCCEEDED,
                port="" if failed else "out",
                input={"subject": subject, "to": contact.email, "kind": "marketing"},
                output=None if failed else {"status": "queued", "to": contact.email, "subject": subject},
                error=execution.error,
                started_at=tag_done,
                finished_at=finished,
                duration_ms=email_ms,
            )
        )
    Execution.objects.bulk_create(executions)
    for step in steps:
        step.execution_id = step.execution.pk
    StepRun.objects.bulk_create(steps)
