"""What people type — a workflow's name and description, a contact's details, a step's error and output,
a run's trigger data — reaches the workflow pages as text: escaped in the markup and in every attribute
(a confirm prompt, a search box, a label), never as markup of its own."""

import pytest
from django.urls import reverse

from tests.factories import ContactFactory, ExecutionFactory, StepRunFactory, WorkflowFactory, WorkflowVersionFactory
from workflows.models import ExecutionStatus, StepStatus, WorkflowStatus

MARKUP = "<img src=x onerror=alert(1)>\"'"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;"


@pytest.fixture
def hostile(editor):
    workflow = WorkflowFactory(
        workspace=editor.workspace, name=MARKUP, description=MARKUP, status=WorkflowStatus.ACTIVE
    )
    version = WorkflowVersionFactory(workflow=workflow, number=1)
    workflow.active_version = version
    workflow.save(update_fields=["active_version"])
    contact = ContactFactory(workspace=editor.workspace, first_name=MARKUP)
    execution = ExecutionFactory(
        version=version, contact=contact, status=ExecutionStatus.FAILED, error=MARKUP, trigger_data={"note": MARKUP}
    )
    StepRunFactory(execution=execution, status=StepStatus.FAILED, error=MARKUP, output={"echo": MARKUP})
    return workflow, execution


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("viewer_role", [False, True], ids=["editor", "viewer"])
def test_the_list_escapes_a_workflows_name_and_description_everywhere_it_stands(editor, viewer, hostile, viewer_role):
    html = page((viewer if viewer_role else editor).web, reverse("dashboard:workflows") + f"?q={MARKUP[:4]}")
    assert MARKUP not in html
    assert ESCAPED in html
    # The search box gives back what was searched as a value, not as markup.
    assert 'value="&lt;img"' in html


def test_the_delete_prompt_carries_the_name_as_text(editor, hostile):
    html = page(editor.web, reverse("dashboard:workflows"))
    assert f'data-confirm="Delete “{ESCAPED}” and all of its executions? This can\'t be undone."' in html


def test_the_monitor_pages_escape_names_errors_and_trigger_data(editor, hostile):
    workflow, execution = hostile
    urls = [
        reverse("dashboard:workflows-executions"),
        reverse("dashboard:workflows-execution", args=[execution.pk]),
        reverse("dashboard:workflows-stats", args=[workflow.pk]),
        reverse("dashboard:workflows-edit", args=[workflow.pk]),
    ]
    for url in urls:
        html = page(editor.web, url)
        assert MARKUP not in html, url
        assert "<img src=x" not in html, url
