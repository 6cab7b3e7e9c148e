"""A marketer's path through workflows in a real browser: start a blank workflow, drag a step onto the
canvas, connect it to the trigger, add an email after it, save, see a missing subject marked on its node,
fix it, check, test-run it with sample data (the email simulated), activate it; then follow a run in the
execution monitor, drawn on its graph, and read the workflow's stats."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from accounts.roles import Role
from tests.factories import (
    DEFAULT_PASSWORD,
    ContactFactory,
    ExecutionFactory,
    MembershipFactory,
    StepRunFactory,
    UserFactory,
    WorkflowFactory,
    WorkflowVersionFactory,
    WorkspaceFactory,
)
from workflows.models import Execution, ExecutionStatus, StepStatus, Workflow, WorkflowStatus, WorkflowVersion

sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

pytestmark = pytest.mark.browser


def center(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def sign_in(page, live_server, user, next_url: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def node(page, node_id: str):
    return page.locator(f".drawflow-node:has([data-node-id='{node_id}'])")


def connect(page, source: str, target: str, port: int = 1) -> None:
    start = center(node(page, source).locator(f".output_{port}").bounding_box())
    end = center(node(page, target).locator(".input_1").bounding_box())
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 40, start[1] + 10, steps=4)
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def test_build_check_test_and_activate_a_workflow_on_the_canvas(live_server, browser_page):
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    user = UserFactory(email="ines@example.com", name="Inês Costa")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    ContactFactory(workspace=workspace, email="ana@example.com", first_name="Ana")
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, live_server, user, "/workflows/")
    expect(page.locator("[data-testid=workflows-empty]")).to_be_visible()
    page.locator("[data-testid=workflows-empty] [data-testid=new-workflow]").click()
    picker = page.locator("[data-testid=template-picker]")
    expect(picker).to_be_visible()
    expect(picker.locator("[data-testid=template-card]")).to_have_count(5)
    screenshot(page, "workflows-templates.png")
    picker.get_by_label("Name").fill("Welcome new leads")
    picker.locator("[data-testid=template-blank]").click()

    expect(page).to_have_url(re.compile(rf"{live_server.url}/workflows/\d+/edit/$"))
    workflow = Workflow.objects.get(workspace=workspace)
    editor = page.locator("[data-testid=workflow-editor]")
    expect(editor).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-testid=save-status]")).to_have_text("All changes saved")
    expect(node(page, "trigger")).to_contain_text("Manual start")
    expect(page.locator("[data-canvas-empty]")).to_be_visible()

    # Drag "Add tag" from the palette onto the canvas, to the right of the trigger.
    tile = page.locator("[data-testid=palette-item][data-type=add_tag]")
    trigger_box = node(page, "trigger").bounding_box()
    tile.drag_to(
        page.locator("[data-testid=canvas]"),
        target_position={
            "x": trigger_box["x"] - page.locator("[data-testid=canvas]").bounding_box()["x"] + 380,
            "y": trigger_box["y"] - page.locator("[data-testid=canvas]").bounding_box()["y"] + 30,
        },
    )
    expect(node(page, "add_tag")).to_have_count(1)
    expect(page.locator("[data-testid=properties-title]")).to_have_text("Add tag")
    expect(page.locator("[data-testid=save-status]")).to_have_text("Unsaved changes")
    page.locator("[data-testid=node-config] [data-path=tag]").fill("lead")
    expect(node(page, "add_tag")).to_contain_text("lead")

    # Delete in a settings field edits the text, never the selected step.
    node(page, "add_tag").click()
    page.locator("[data-testid=node-label]").click()
    page.keyboard.press("Delete")
    expect(node(page, "add_tag")).to_have_count(1)

    # Not connected yet: Check says the step can't be reached, on the step.
    page.locator("[data-testid=validate]").click()
    expect(node(page, "add_tag")).to_have_class(re.compile("has-error"))
    expect(page.locator("[data-testid=save-status]")).to_have_attribute("data-status", "invalid")

    # Connect the trigger's port to the new step's input.
    connect(page, "trigger", "add_tag")
    expect(page.locator(".connection")).to_have_count(1)

    # Undo takes the connection back, redo restores it.
    page.locator("[data-testid=undo]").click()
    expect(page.locator(".connection")).to_have_count(0)
    page.locator("[data-testid=redo]").click()
    expect(page.locator(".connection")).to_have_count(1)
    node(page, "add_tag").click()

    # With "Add tag" selected, clicking "Send email" adds it after it, already connected.
    page.locator("[data-testid=palette-item][data-type=send_email]").click()
    expect(node(page, "send_email")).to_have_count(1)
    expect(page.locator(".connection")).to_have_count(2)
    expect(page.locator("[data-testid=properties-title]")).to_have_text("Send email")
    page.locator("[data-testid=node-config] [data-path=content]").fill("<p>Hi {{ contact.first_name }}, welcome!</p>")

    # Saving without a subject: refused, and the email's node says why.
    page.locator("[data-testid=save]").click()
    expect(page.locator("[data-testid=save-status]")).to_have_attribute("data-status", "invalid")
    expect(node(page, "send_email")).to_have_class(re.compile("has-error"))
    node(page, "send_email").click()
    subject_field = page.locator("[data-testid=node-config] [data-field=subject]")
    expect(subject_field).to_have_class(re.compile("has-error"))
    expect(subject_field.locator(".errorlist")).to_be_visible()
    screenshot(page, "workflow-editor-error.png")

    subject_field.locator("input").fill("Welcome, {{ contact.first_name | default('there') }}")
    page.keyboard.press("Control+s")
    expect(page.locator("[data-testid=save-status]")).to_have_text("All changes saved")
    workflow.refresh_from_db()
    assert workflow.name == "Welcome new leads"
    definition = workflow.definition
    assert [(n["id"], n["type"]) for n in definition["nodes"]] == [("add_tag", "add_tag"), ("send_email", "send_email")]
    assert definition["nodes"][0]["config"]["tag"] == "lead"
    assert {(e["source"], e["target"]) for e in definition["edges"]} == {
        ("trigger", "add_tag"),
        ("add_tag", "send_email"),
    }
    assert all(isinstance(n["position"]["x"], int) for n in definition["nodes"])

    # Check: valid, no error left on the canvas.
    page.locator("[data-testid=validate]").click()
    expect(page.locator("[data-testid=toast]")).to_contain_text("Everything checks out")
    expect(page.locator(".drawflow-node.has-error")).to_have_count(0)

    # Test run as Ana: every step succeeds, the email is simulated and shows its rendered subject.
    page.locator("[data-testid=test-open]").click()
    drawer = page.locator("[data-testid=test-drawer]")
    expect(drawer).to_be_visible()
    drawer.locator("[data-testid=test-contact]").select_option(label="ana@example.com")
    drawer.locator("[data-testid=test-data]").fill(json.dumps({"email": "ana@example.com", "source": "test"}))
    drawer.locator("[data-testid=test-run]").click()
    expect(drawer.locator("[data-testid=test-status]")).to_have_attribute("data-status", "succeeded")
    expect(drawer.locator("[data-testid=test-step]")).to_have_count(2)
    expect(drawer.locator("[data-testid=test-step][data-node-id=send_email]")).to_contain_text("Simulated")
    expect(node(page, "send_email")).to_have_attribute("data-test-status", "succeeded")
    expect(page.locator(".connection.is-taken")).to_have_count(2)
    drawer.locator("[data-testid=test-step][data-node-id=send_email] button").click()
    expect(page.locator("[data-testid=node-output]")).to_contain_text("Welcome, Ana")
    screenshot(page, "workflow-editor-test.png")

    # Bad sample data is refused in place.
    drawer.locator("[data-testid=test-data]").fill("[1, 2")
    drawer.locator("[data-testid=test-run]").click()
    expect(drawer.locator("[data-test-errors]")).to_contain_text("must be a JSON object")
    page.locator("[data-action=test-close]").click()

    # Activate: a first version, and the button now pauses.
    page.locator("[data-testid=activate]").click()
    expect(page.locator("[data-workflow-status] .badge")).to_have_text("Active")
    expect(page.locator("[data-testid=pause]")).to_have_text("Pause")
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.ACTIVE
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1

    page.locator("[data-testid=versions]").click()
    expect(page.locator("[data-testid=version-row]")).to_have_count(1)
    expect(page.locator("[data-testid=version-row]")).to_contain_text("Live")
    page.locator("[data-testid=versions-dialog] [data-close-dialog]").click()

    # The list shows it active.
    page.locator("a[aria-label='Back to workflows']").click()
    row = page.locator(f"tr[data-workflow-id='{workflow.pk}']")
    expect(row.locator("[data-testid=workflow-status]")).to_have_text("Active")
    expect(row.locator("[data-testid=workflow-toggle]")).to_have_attribute("aria-checked", "true")
    screenshot(page, "workflows-list.png")
    assert not errors, errors


def test_follow_a_failed_run_on_its_graph_and_read_the_stats(live_server, browser_page):
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    user = UserFactory(email="ines@example.com", name="Inês Costa")
    MembershipFactory(workspace=workspace, user=user, role=Role.EDITOR)
    definition = {
        "trigger": {"type": "manual", "config": {}},
        "nodes": [
            {"id": "tag", "type": "add_tag", "config": {"tag": "lead"}, "position": {"x": 320, "y": 80}},
            {"id": "welcome", "type": "send_email", "config": {"subject": "Hi"}, "position": {"x": 620, "y": 80}},
        ],
        "edges": [{"source": "trigger", "target": "tag"}, {"source": "tag", "target": "welcome"}],
    }
    workflow = WorkflowFactory(workspace=workspace, name="Welcome", definition=definition, status=WorkflowStatus.ACTIVE)
    version = WorkflowVersionFactory(workflow=workflow, number=1, definition=definition)
    workflow.active_version = version
    workflow.save()
    contact = ContactFactory(workspace=workspace, email="rui@example.com")
    for _ in range(4):
        ExecutionFactory(version=version, contact=contact, duration_ms=120)
    failed = ExecutionFactory(
        version=version,
        contact=contact,
        status=ExecutionStatus.FAILED,
        current_node="welcome",
        error="No verified sender: add one under Campaigns → Senders.",
        trigger_data={"email": "rui@example.com"},
        duration_ms=80,
    )
    StepRunFactory(execution=failed, node_id="tag", node_type="add_tag", port="out", output={"tag": "lead"})
    StepRunFactory(
        execution=failed,
        node_id="welcome",
        node_type="send_email",
        status=StepStatus.FAILED,
        error="No verified sender: add one under Campaigns → Senders.",
        output=None,
    )
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, live_server, user, "/workflows/executions/")
    table = page.locator("[data-testid=executions]")
    expect(table.locator("tbody tr")).to_have_count(5)
    page.locator("[data-testid=status-filters] a", has_text="Failed").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    # The socket isn't served here: the page says so and keeps itself current by polling.
    expect(page.locator("[data-testid=live-indicator]")).to_have_attribute("data-live", "off")
    screenshot(page, "workflow-executions.png")

    # While the socket is down the list polls: a run that changes status updates in place, and a new
    # run is counted in the "show them" bar.
    page.locator("[data-testid=status-filters] a", has_text="All").click()
    expect(table.locator("tbody tr")).to_have_count(5)
    running = ExecutionFactory(version=version, contact=contact, status=ExecutionStatus.WAITING)
    page.reload()
    row = table.locator(f"tr[data-execution-id='{running.pk}']")
    expect(row.locator("[data-testid=execution-status]")).to_have_text("Waiting")
    Execution.objects.filter(pk=running.pk).update(status=ExecutionStatus.SUCCEEDED, duration_ms=4321)
    ExecutionFactory(version=version, contact=contact)
    expect(row.locator("[data-testid=execution-status]")).to_have_text("Succeeded", timeout=20_000)
    expect(row.locator("[data-cell=duration]")).to_have_text("4,321 ms")
    expect(page.locator("[data-new-rows]")).to_contain_text("1 new execution")

    page.locator("[data-testid=status-filters] a", has_text="Failed").click()
    table.locator("[data-testid=execution-link]").click()

    expect(page.locator("[data-testid=execution-error]")).to_contain_text("No verified sender")
    canvas = page.locator("[data-testid=execution-canvas]")
    # The trigger fired and "tag" ran; "welcome" failed.
    expect(canvas.locator("[data-run-status=succeeded]")).to_have_count(2)
    expect(canvas.locator("[data-run-status=failed]")).to_have_count(1)
    canvas.locator(".drawflow-node[data-run-status=failed]").click()
    panel = page.locator("[data-testid=step-panel]")
    expect(panel.locator("[data-testid=step-error]")).to_contain_text("No verified sender")
    canvas.locator(".drawflow-node[data-node-id=tag]").click()
    expect(panel.locator("[data-testid=step-output]")).to_contain_text('"tag": "lead"')
    screenshot(page, "workflow-execution.png")

    page.goto(f"{live_server.url}/workflows/{workflow.pk}/stats/")
    stats = page.locator("[data-testid=stats]")
    expect(stats).to_have_attribute("data-state", "ready")
    expect(stats.locator("[data-figure=executions] [data-value]")).to_have_text("7")
    expect(stats.locator("[data-figure=success_rate] [data-value]")).to_have_text("85.7%")
    expect(stats.locator("[data-figure=failed] [data-value]")).to_have_text("1")
    expect(page.locator("[data-testid=daily-chart]")).to_be_visible()
    screenshot(page, "workflow-stats.png")
    assert not errors, errors


def test_restore_an_older_version_and_a_viewer_only_looks(live_server, browser_page):
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    owner = UserFactory(email="ines@example.com")
    viewer = UserFactory(email="sam@example.com")
    MembershipFactory(workspace=workspace, user=owner, role=Role.OWNER)
    MembershipFactory(workspace=workspace, user=viewer, role=Role.VIEWER)

    def tagging(tag: str) -> dict:
        return {
            "trigger": {"type": "manual", "config": {}},
            "nodes": [{"id": "tag", "type": "add_tag", "config": {"tag": tag}, "position": {"x": 340, "y": 100}}],
            "edges": [{"source": "trigger", "target": "tag"}],
        }

    workflow = WorkflowFactory(
        workspace=workspace, name="Tagger", definition=tagging("vip"), status=WorkflowStatus.ACTIVE
    )
    WorkflowVersionFactory(workflow=workflow, number=1, definition=tagging("lead"))
    workflow.active_version = WorkflowVersionFactory(workflow=workflow, number=2, definition=tagging("vip"))
    workflow.save()
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, live_server, owner, f"/workflows/{workflow.pk}/edit/")
    expect(page.locator("[data-testid=workflow-editor]")).to_have_attribute("data-state", "ready")
    expect(node(page, "tag")).to_contain_text("vip")
    page.locator("[data-testid=versions]").click()
    rows = page.locator("[data-testid=version-row]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("v2")
    expect(rows.first).to_contain_text("Live")
    rows.nth(1).locator("[data-testid=restore-version]").click()
    expect(page.locator("[data-testid=toast]")).to_contain_text("Version 1 restored")
    expect(node(page, "tag")).to_contain_text("lead")
    workflow.refresh_from_db()
    assert workflow.definition["nodes"][0]["config"]["tag"] == "lead"
    # An active workflow restored is re-activated: the old definition runs again as a new version.
    assert workflow.status == WorkflowStatus.ACTIVE and workflow.active_version.number == 3

    page.context.clear_cookies()
    sign_in(page, live_server, viewer, f"/workflows/{workflow.pk}/edit/")
    expect(page.locator("[data-testid=workflow-editor]")).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-testid=readonly-banner]")).to_be_visible()
    expect(page.locator("[data-testid=save]")).to_have_count(0)
    expect(page.locator("[data-testid=palette-item]").first).to_be_disabled()
    node(page, "tag").click()
    expect(page.locator("[data-testid=node-config] [data-path=tag]")).to_be_disabled()
    expect(page.locator("[data-testid=delete-node]")).to_have_count(0)
    page.locator("[data-testid=versions]").click()
    expect(page.locator("[data-testid=version-row]")).to_have_count(3)
    expect(page.locator("[data-testid=restore-version]")).to_have_count(0)
    assert not errors, errors


def test_a_rules_field_keeps_its_suggestions_after_the_form_is_rebuilt(live_server, browser_page):
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    owner = UserFactory(email="ines@example.com")
    MembershipFactory(workspace=workspace, user=owner, role=Role.OWNER)
    definition = {
        "trigger": {"type": "manual", "config": {}},
        "nodes": [{"id": "route", "type": "switch", "config": {}, "position": {"x": 340, "y": 100}}],
        "edges": [{"source": "trigger", "target": "route"}],
    }
    workflow = WorkflowFactory(workspace=workspace, name="Router", definition=definition)
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, live_server, owner, f"/workflows/{workflow.pk}/edit/")
    expect(page.locator("[data-testid=workflow-editor]")).to_have_attribute("data-state", "ready")
    node(page, "route").click()
    suggestions = page.locator("datalist#wf-rule-fields option[value='contact.email']")
    expect(suggestions).to_have_count(1)
    expect(page.locator("[data-testid=properties] .wf-list-item")).to_have_count(0)
    # A branch rebuilds the form: the rules' field box still offers the contact's fields.
    page.locator("[data-testid=add-branches]").click()
    expect(page.locator("[data-testid=properties] .wf-list-item")).to_have_count(1)
    expect(page.locator("[data-testid=properties] .wf-list-head")).to_have_text(re.compile(r"^Branch 1"))
    expect(suggestions).to_have_count(1)
    assert errors == []
