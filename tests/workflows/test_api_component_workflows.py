"""A form component lists the workflows it starts (a form_submitted trigger naming it, or any form;
in the draft or the active version), through the builder's component API and in the editor's
property panel, where a new workflow for the form is one click away."""

import re

import pytest

from accounts.roles import Role
from builder.models import Page
from tests.factories import (
    DEFAULT_PASSWORD,
    ComponentFactory,
    MembershipFactory,
    PageFactory,
    SiteFactory,
    UserFactory,
    WorkflowFactory,
    WorkspaceFactory,
    simple_definition,
)
from workflows.models import Workflow
from workflows.selectors import component_workflows
from workflows.services.workflows import workflow_activate, workflow_create, workflow_pause, workflow_update

pytestmark = pytest.mark.django_db


def form_in(workspace, type: str = "contact_form"):
    return ComponentFactory(page=PageFactory(site=SiteFactory(workspace=workspace)), type=type)


def on_form(component="", tag: str = "lead") -> dict:
    definition = simple_definition(tag)
    definition["trigger"] = {"type": "form_submitted", "config": {"component": str(component) if component else ""}}
    return definition


def url(component) -> str:
    return f"/api/v1/components/{component.pk}/workflows/"


def test_lists_workflows_naming_the_form_or_any_form(editor):
    form = form_in(editor.workspace)
    other_form = form_in(editor.workspace)
    named = workflow_create(workspace=editor.workspace, name="Named", definition=on_form(form.pk))
    workflow_activate(workflow=named)
    any_form = workflow_create(workspace=editor.workspace, name="Any form", definition=on_form())
    workflow_create(workspace=editor.workspace, name="Other form", definition=on_form(other_form.pk))
    workflow_create(workspace=editor.workspace, name="Manual", definition=simple_definition())
    workflow_create(workspace=WorkspaceFactory(), name="Elsewhere", definition=on_form())

    response = editor.client.get(url(form))
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [(row["id"], row["name"], row["status"]) for row in rows] == [
        (any_form.pk, "Any form", "draft"),
        (named.pk, "Named", "active"),
    ]
    assert rows[1]["edit_url"] == f"/workflows/{named.pk}/edit/"
    assert rows[1]["trigger_type"] == "form_submitted"


def test_an_active_version_still_on_the_form_counts_while_the_draft_moved_away(editor):
    form = form_in(editor.workspace)
    workflow = workflow_create(workspace=editor.workspace, name="W", definition=on_form(form.pk))
    workflow_activate(workflow=workflow)
    workflow_update(workflow=workflow, definition=simple_definition())  # draft no longer on a form
    assert list(component_workflows(component=form)) == [workflow]
    workflow_pause(workflow=workflow)
    # Paused, it keeps its trigger index: still listed (as paused), so it can be found and resumed.
    assert [row["status"] for row in editor.client.get(url(form)).json()] == ["paused"]


def test_a_component_that_is_not_a_form_has_none(editor):
    heading = form_in(editor.workspace, type="heading")
    workflow_create(workspace=editor.workspace, name="Any form", definition=on_form())
    response = editor.client.get(url(heading))
    assert response.status_code == 200 and response.json() == []


def test_lists_cost_the_same_queries_however_many_workflows(editor, django_assert_max_num_queries):
    form = form_in(editor.workspace)
    for n in range(12):
        workflow_create(workspace=editor.workspace, name=f"W{n}", definition=on_form(form.pk if n % 2 else ""))
    with django_assert_max_num_queries(8):
        assert len(editor.client.get(url(form)).json()) == 12


def test_a_viewer_reads_them(editor, viewer):
    form = form_in(editor.workspace)
    workflow_create(workspace=editor.workspace, name="W", definition=on_form(form.pk))
    response = viewer.client.get(url(form))
    assert response.status_code == 200 and len(response.json()) == 1


def test_another_workspace_s_component_is_not_found(editor, assert_error):
    foreign = form_in(WorkspaceFactory())
    WorkflowFactory(workspace=foreign.workspace, definition=on_form(foreign.pk))
    assert_error(editor.client.get(url(foreign)), 404, code="not_found")
    assert_error(editor.client.get("/api/v1/components/not-a-uuid/workflows/"), 404)
    assert_error(editor.client.get("/api/v1/components/00000000-0000-0000-0000-000000000000/workflows/"), 404)


def test_writing_to_the_list_is_not_allowed(editor, assert_error):
    form = form_in(editor.workspace)
    assert_error(editor.client.post(url(form), {}, format="json"), 405)


# --- the editor's property panel ----------------------------------------------------------------------------


@pytest.mark.browser
def test_the_property_panel_lists_a_form_s_workflows_and_starts_a_new_one(live_server, browser_page):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria")
    user = UserFactory(email="ines@example.com")
    MembershipFactory(workspace=workspace, user=user, role=Role.EDITOR)
    site = SiteFactory(workspace=workspace, name="Padaria")
    home = PageFactory(site=site, title="Home", path="/", is_home=True)
    form = ComponentFactory(page=home, type="contact_form")
    active = workflow_create(workspace=workspace, name="Welcome new leads", definition=on_form(form.pk))
    workflow_activate(workflow=active)
    workflow_create(workspace=workspace, name="Every form", definition=on_form())

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/sites/{site.pk}/edit/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(rf"/sites/{site.pk}/edit/"))

    canvas = page.frame_locator("[data-testid=canvas]")
    canvas.locator("[data-component-type=contact_form]").locator("h2, h3, label").first.click()
    panel = page.locator("[data-testid=form-workflows]")
    expect(panel.locator("[data-testid=form-workflow]")).to_have_count(2)
    link = panel.get_by_role("link", name="Welcome new leads")
    expect(link).to_have_attribute("href", f"/workflows/{active.pk}/edit/")
    expect(panel.locator("[data-testid=form-workflow]", has_text="Welcome new leads")).to_contain_text("Active")

    panel.locator("[data-testid=form-workflow-new]").click()
    expect(page).to_have_url(re.compile(r"/workflows/\d+/edit/$"))
    created = Workflow.objects.exclude(pk=active.pk).exclude(name="Every form").get()
    assert created.definition["trigger"] == {"type": "form_submitted", "config": {"component": str(form.pk)}}
    assert Page.objects.filter(pk=home.pk).exists()
