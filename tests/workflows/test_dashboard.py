"""Workflows in the dashboard: the list (figures, search, filters, pages, switches, templates), the
editor's and stats' shells, and the execution monitor (filters, detail, retry / re-run / cancel).
Every page is scoped to the current workspace and refuses what the role may not do."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    ComponentFactory,
    ContactFactory,
    ExecutionFactory,
    PageFactory,
    SiteFactory,
    StepRunFactory,
    WorkflowFactory,
    WorkflowVersionFactory,
    WorkspaceFactory,
    simple_definition,
)
from workflows.library import WORKFLOW_TEMPLATES
from workflows.models import Execution, ExecutionStatus, StepStatus, Workflow, WorkflowStatus, WorkflowVersion

LIST = reverse("dashboard:workflows")
EXECUTIONS = reverse("dashboard:workflows-executions")


def json_script(response, element_id: str):
    html = response.content.decode()
    marker = f'<script id="{element_id}" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def active_workflow(workspace, name="Welcome", **kwargs) -> Workflow:
    workflow = WorkflowFactory(workspace=workspace, name=name, status=WorkflowStatus.ACTIVE, **kwargs)
    version = WorkflowVersionFactory(workflow=workflow, number=1)
    workflow.active_version = version
    workflow.save(update_fields=["active_version"])
    return workflow


def run(workflow, status=ExecutionStatus.SUCCEEDED, **kwargs) -> Execution:
    version = workflow.active_version or WorkflowVersionFactory(workflow=workflow)
    return ExecutionFactory(version=version, status=status, **kwargs)


# --- The list -------------------------------------------------------------------------------------------


def test_sidebar_links_workflows_without_the_coming_soon_label(editor):
    html = editor.web.get(reverse("dashboard:home")).content.decode()
    start = html.index(f'href="{LIST}"')
    assert "Soon" not in html[start : html.index("</a>", start)]


def test_empty_list_invites_an_editor_to_start_from_one_of_the_five_templates(editor):
    response = editor.web.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="workflows-empty"' in html
    assert 'data-testid="template-picker"' in html
    assert len(WORKFLOW_TEMPLATES) == 5
    for template in WORKFLOW_TEMPLATES:
        assert f'data-template-slug="{template["slug"]}"' in html
        assert template["name"] in html
    assert 'data-testid="template-blank"' in html


def test_a_viewer_sees_the_empty_list_without_a_way_to_create(editor, viewer):
    html = viewer.web.get(LIST).content.decode()
    assert 'data-testid="workflows-empty"' in html
    assert 'data-testid="template-picker"' not in html
    assert 'data-testid="new-workflow"' not in html


def test_list_shows_each_workflows_trigger_status_and_last_30_days(editor):
    workflow = active_workflow(editor.workspace, name="Welcome new leads")
    for _ in range(3):
        run(workflow)
    run(workflow, status=ExecutionStatus.FAILED, error="SMTP said no")
    run(workflow, status=ExecutionStatus.WAITING)
    run(workflow, created_at=timezone.now() - datetime.timedelta(days=45))
    WorkflowFactory(workspace=editor.workspace, name="Draft idea")
    WorkflowFactory(workspace=WorkspaceFactory(), name="Someone else's")

    response = editor.web.get(LIST)
    html = response.content.decode()
    assert "Someone else&#x27;s" not in html and "Someone else's" not in html
    rows = {workflow.name: workflow for workflow in response.context["workflows"]}
    assert set(rows) == {"Welcome new leads", "Draft idea"}
    welcome = rows["Welcome new leads"]
    assert (welcome.executions_total, welcome.executions_succeeded, welcome.executions_failed) == (5, 3, 1)
    assert welcome.executions_live == 1
    assert welcome.success_rate == pytest.approx(75.0)
    assert welcome.trigger_label == "Manual start"
    assert "75.0%" in html
    assert rows["Draft idea"].success_rate is None
    assert html.count('data-testid="workflow-toggle"') == 2
    assert 'aria-checked="true"' in html and 'aria-checked="false"' in html


def test_a_draft_saved_with_a_broken_trigger_still_lists(editor):
    WorkflowFactory(workspace=editor.workspace, name="Half-built", definition={"trigger": "nonsense"})
    WorkflowFactory(workspace=editor.workspace, name="Empty", definition={})
    response = editor.web.get(LIST)
    assert response.status_code == 200
    assert {workflow.trigger_label for workflow in response.context["workflows"]} == {"No trigger"}


def test_list_searches_name_and_description_and_filters_by_status(editor):
    WorkflowFactory(workspace=editor.workspace, name="Welcome series", description="For new leads")
    active_workflow(editor.workspace, name="Win back", description="Quiet contacts")
    WorkflowFactory(workspace=editor.workspace, name="Webinar", status=WorkflowStatus.PAUSED)

    def names(query: str) -> set[str]:
        return {workflow.name for workflow in editor.web.get(LIST + query).context["workflows"]}

    assert names("?q=welcome") == {"Welcome series"}
    assert names("?q=QUIET") == {"Win back"}
    assert names("?status=active") == {"Win back"}
    assert names("?status=paused") == {"Webinar"}
    assert names("?status=bogus") == {"Welcome series", "Win back", "Webinar"}
    response = editor.web.get(LIST + "?q=nothing-like-this")
    assert 'data-testid="workflows-no-match"' in response.content.decode()


@pytest.mark.parametrize("query", ["?status=%00", "?status=draft%00", "?page=x", "?page=-1", "?page=99999"])
def test_list_ignores_filters_it_cannot_read(editor, query):
    workflow = WorkflowFactory(workspace=editor.workspace)
    response = editor.web.get(LIST + query)
    assert response.status_code == 200
    assert [row.pk for row in response.context["workflows"]] == [workflow.pk]


@pytest.mark.parametrize("search", ["a\x00b", "x" * 5000, "%_%"])
def test_list_searches_for_any_text_without_failing(editor, search):
    WorkflowFactory(workspace=editor.workspace, name="Welcome")
    response = editor.web.get(LIST, {"q": search})
    assert response.status_code == 200
    assert list(response.context["workflows"]) == []


def test_list_pages_through_many_workflows_at_a_constant_query_count(editor, django_assert_max_num_queries):
    for index in range(3):
        run(active_workflow(editor.workspace, name=f"Flow {index}"))
    with django_assert_max_num_queries(30) as few:
        editor.web.get(LIST)
    for index in range(3, 30):
        run(active_workflow(editor.workspace, name=f"Flow {index}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = editor.web.get(LIST)
    assert response.context["workflows"].paginator.num_pages == 2
    assert len(response.context["workflows"]) == 25
    assert len(editor.web.get(LIST + "?page=2").context["workflows"]) == 5


def test_new_from_a_template_opens_the_editor_on_its_definition(editor):
    template = WORKFLOW_TEMPLATES[0]
    response = editor.web.post(reverse("dashboard:workflows-new"), {"template": template["slug"], "name": ""})
    workflow = Workflow.objects.get(workspace=editor.workspace)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:workflows-edit", args=[workflow.pk])
    assert workflow.name == template["name"]
    assert workflow.template == template["slug"]
    assert workflow.definition["nodes"]
    assert workflow.status == WorkflowStatus.DRAFT


def test_new_blank_workflow_takes_the_given_name(editor):
    editor.web.post(reverse("dashboard:workflows-new"), {"template": "", "name": "  Hot leads  "})
    workflow = Workflow.objects.get(workspace=editor.workspace)
    assert workflow.name == "Hot leads"
    assert workflow.definition["trigger"]["type"] == "manual"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"template": "no-such-template"}, "No workflow template"),
        ({"template": "", "name": "x" * 201}, "Couldn&#x27;t create the workflow"),
        ({"template": "", "name": "Hot\x00leads"}, "Couldn&#x27;t create the workflow"),
        ({"template": "welcome\x00"}, "Couldn&#x27;t create the workflow"),
        ({"template": "x" * 5000}, "Couldn&#x27;t create the workflow"),
    ],
)
def test_new_with_bad_input_creates_nothing_and_says_why(editor, data, message):
    response = editor.web.post(reverse("dashboard:workflows-new"), data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Workflow.objects.filter(workspace=editor.workspace).exists()


def test_a_viewer_cannot_create_switch_or_delete(editor, viewer):
    workflow = WorkflowFactory(workspace=editor.workspace)
    assert viewer.web.post(reverse("dashboard:workflows-new"), {"template": ""}).status_code == 403
    assert (
        viewer.web.post(reverse("dashboard:workflows-status", args=[workflow.pk]), {"active": "1"}).status_code == 403
    )
    assert viewer.web.post(reverse("dashboard:workflows-delete", args=[workflow.pk])).status_code == 403
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.DRAFT


def test_switch_activates_a_valid_workflow_then_pauses_it(editor):
    workflow = WorkflowFactory(workspace=editor.workspace, name="Tagger", definition=simple_definition("vip"))
    url = reverse("dashboard:workflows-status", args=[workflow.pk])
    response = editor.web.post(url, {"active": "1", "next": LIST + "?q=Tag"}, follow=True)
    assert response.redirect_chain[-1][0] == LIST + "?q=Tag"
    assert "is active (version 1)" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.ACTIVE
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1

    response = editor.web.post(url, {"active": "0"}, follow=True)
    assert "is paused" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.PAUSED


def test_switch_refuses_an_invalid_workflow_naming_the_step(editor):
    definition = simple_definition()
    definition["nodes"][0]["config"] = {"tag": ""}
    workflow = WorkflowFactory(workspace=editor.workspace, name="Broken", definition=definition)
    response = editor.web.post(reverse("dashboard:workflows-status", args=[workflow.pk]), {"active": "1"}, follow=True)
    html = response.content.decode()
    assert "Couldn&#x27;t activate “Broken”" in html
    assert "node tag · tag" in html
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.DRAFT
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_pausing_a_draft_is_refused_with_a_message(editor):
    workflow = WorkflowFactory(workspace=editor.workspace, name="Idle")
    response = editor.web.post(reverse("dashboard:workflows-status", args=[workflow.pk]), {"active": "0"}, follow=True)
    assert "only an active workflow can be paused" in response.content.decode()


@pytest.mark.parametrize("data", [{}, {"active": ""}, {"active": "yes"}, {"active": "2"}, {"active": "true"}])
def test_switch_refuses_a_value_it_does_not_know_naming_it_and_changes_nothing(editor, data):
    workflow = active_workflow(editor.workspace, name="Live")
    response = editor.web.post(reverse("dashboard:workflows-status", args=[workflow.pk]), data)
    assert response.status_code == 400
    assert "active" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.ACTIVE
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1


def test_switch_never_redirects_off_site(editor):
    workflow = WorkflowFactory(workspace=editor.workspace, definition=simple_definition())
    url = reverse("dashboard:workflows-status", args=[workflow.pk])
    response = editor.web.post(url, {"active": "1", "next": "https://evil.example/"})
    assert response["Location"] == LIST


def test_delete_removes_the_workflow_and_its_executions(editor):
    workflow = active_workflow(editor.workspace, name="Old")
    run(workflow)
    response = editor.web.post(reverse("dashboard:workflows-delete", args=[workflow.pk]), follow=True)
    assert "“Old” was deleted." in response.content.decode()
    assert not Workflow.objects.filter(pk=workflow.pk).exists()
    assert not Execution.objects.filter(workflow_id=workflow.pk).exists()


@pytest.mark.parametrize("name", ["workflows-edit", "workflows-stats", "workflows-status", "workflows-delete"])
def test_another_workspaces_workflow_is_a_404(editor, name):
    other = WorkflowFactory(workspace=WorkspaceFactory())
    url = reverse(f"dashboard:{name}", args=[other.pk])
    response = editor.web.post(url, {"active": "1"}) if name in ("workflows-status", "workflows-delete") else None
    response = response or editor.web.get(url)
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == WorkflowStatus.DRAFT


@pytest.mark.parametrize(
    "path",
    ["{}/edit/", "{}/stats/", "executions/{}/"],
)
def test_an_id_past_the_database_s_keys_is_a_404(editor, path):
    assert editor.web.get(LIST + path.format(2**63)).status_code == 404


@pytest.mark.parametrize("path", ["{}/status/", "{}/delete/", "executions/{}/cancel/"])
def test_posting_to_an_id_past_the_database_s_keys_is_a_404(editor, path):
    assert editor.web.post(LIST + path.format(2**63), {"active": "1"}).status_code == 404


def test_list_pages_refuse_other_methods(editor):
    assert editor.web.post(LIST).status_code == 405
    assert editor.web.get(reverse("dashboard:workflows-new")).status_code == 405


# --- Editor and stats shells --------------------------------------------------------------------------------


def test_editor_shell_carries_the_api_config_and_this_workspaces_choices(editor):
    page = PageFactory(site=SiteFactory(workspace=editor.workspace, name="Acme"), title="Home")
    form = ComponentFactory(page=page, type="contact_form")
    ComponentFactory(page=page, type="heading")
    ComponentFactory(type="contact_form")
    workflow = WorkflowFactory(workspace=editor.workspace, name="Welcome")
    sibling = WorkflowFactory(workspace=editor.workspace, name="Nurture")
    ContactFactory(workspace=editor.workspace, email="ana@example.com")
    ContactFactory(workspace=WorkspaceFactory(), email="stranger@example.com")
    response = editor.web.get(reverse("dashboard:workflows-edit", args=[workflow.pk]))
    assert response.status_code == 200
    config = json_script(response, "workflow-config")
    assert config["workflow"] == workflow.pk
    assert config["workspace"] == editor.workspace.pk
    assert config["canWrite"] is True
    assert config["api"] == "/api/v1/"
    assert config["csrfToken"]
    assert config["socket"] == f"/ws/workspaces/{editor.workspace.pk}/executions/"
    choices = config["choices"]
    assert [choice["value"] for choice in choices["workflow"]] == [sibling.pk]
    assert [choice["label"] for choice in choices["contacts"]] == ["ana@example.com"]
    assert [choice["value"] for choice in choices["component"]] == [str(form.pk)]
    assert editor.user.pk in [choice["value"] for choice in choices["members"]]
    assert "first_name" in [choice["value"] for choice in choices["contact_field"]]
    html = response.content.decode()
    assert "vendor/drawflow/drawflow.min.js" in html
    assert 'data-testid="readonly-banner"' not in html


def test_editor_is_read_only_for_a_viewer(editor, viewer):
    workflow = WorkflowFactory(workspace=editor.workspace)
    response = viewer.web.get(reverse("dashboard:workflows-edit", args=[workflow.pk]))
    assert response.status_code == 200
    assert json_script(response, "workflow-config")["canWrite"] is False
    html = response.content.decode()
    assert 'data-testid="readonly-banner"' in html
    assert 'data-testid="save"' not in html and 'data-testid="activate"' not in html


def test_stats_page_names_the_workflow_and_loads_the_chart_script(editor):
    workflow = active_workflow(editor.workspace, name="Welcome")
    response = editor.web.get(reverse("dashboard:workflows-stats", args=[workflow.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Welcome" in html and "vendor/chartjs/chart.umd.js" in html
    assert json_script(response, "workflow-config")["workflow"] == workflow.pk
    for key in ("executions", "success_rate", "p95_duration_ms"):
        assert f'data-figure="{key}"' in html


# --- Executions --------------------------------------------------------------------------------------------


def test_executions_empty_state(editor):
    response = editor.web.get(EXECUTIONS)
    assert 'data-testid="executions-empty"' in response.content.decode()


def test_executions_list_filters_by_workflow_status_date_and_contact(editor):
    welcome = active_workflow(editor.workspace, name="Welcome")
    nurture = active_workflow(editor.workspace, name="Nurture")
    ana = ContactFactory(workspace=editor.workspace, email="ana@example.com")
    old = run(welcome, contact=ana, created_at=timezone.now() - datetime.timedelta(days=10))
    failed = run(welcome, status=ExecutionStatus.FAILED, error="Template error: 'x' is undefined")
    waiting = run(nurture, status=ExecutionStatus.WAITING)
    foreign = run(active_workflow(WorkspaceFactory()))

    def ids(query: str = "") -> set[int]:
        response = editor.web.get(EXECUTIONS + query)
        assert response.status_code == 200
        return {execution.pk for execution in response.context["executions"]}

    assert ids() == {old.pk, failed.pk, waiting.pk}
    assert foreign.pk not in ids()
    assert ids(f"?workflow={welcome.pk}") == {old.pk, failed.pk}
    assert ids("?status=failed") == {failed.pk}
    assert ids(f"?workflow={welcome.pk}&status=waiting") == set()
    today = timezone.localdate()
    assert ids(f"?from={today.isoformat()}") == {failed.pk, waiting.pk}
    assert ids(f"?to={(today - datetime.timedelta(days=5)).isoformat()}") == {old.pk}
    assert ids("?q=ANA@") == {old.pk}
    html = editor.web.get(EXECUTIONS + "?status=failed").content.decode()
    assert "Template error" in html
    assert 'data-testid="live-indicator"' in html


@pytest.mark.parametrize(
    "query", ["?workflow=abc", "?workflow=999999", "?status=exploded", "?from=yesterday", "?to=2026-13-45", "?page=x"]
)
def test_executions_list_ignores_filters_it_cannot_read(editor, query):
    execution = run(active_workflow(editor.workspace))
    response = editor.web.get(EXECUTIONS + query)
    assert response.status_code == 200
    assert [row.pk for row in response.context["executions"]] == [execution.pk]


def test_executions_list_never_filters_by_another_workspaces_workflow(editor):
    run(active_workflow(editor.workspace))
    other = active_workflow(WorkspaceFactory())
    run(other)
    response = editor.web.get(EXECUTIONS + f"?workflow={other.pk}")
    assert response.context["filters"]["workflow"] == ""
    assert {row.workflow_id for row in response.context["executions"]} != {other.pk}


def test_executions_list_costs_the_same_queries_however_many_rows(editor, django_assert_max_num_queries):
    workflow = active_workflow(editor.workspace)
    run(workflow)
    with django_assert_max_num_queries(30) as few:
        editor.web.get(EXECUTIONS)
    for index in range(24):
        other = active_workflow(editor.workspace, name=f"Flow {index}")
        run(other, contact=ContactFactory(workspace=editor.workspace), status=ExecutionStatus.FAILED, error="x")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = editor.web.get(EXECUTIONS)
    assert len(response.context["executions"]) == 25


def test_executions_list_pages(editor):
    workflow = active_workflow(editor.workspace)
    for _ in range(27):
        run(workflow)
    response = editor.web.get(EXECUTIONS)
    assert response.context["executions"].paginator.num_pages == 2
    assert len(json_script(response, "execution-ids")) == 25


def test_execution_detail_shows_steps_error_and_graph(editor):
    workflow = active_workflow(editor.workspace, name="Welcome")
    execution = run(
        workflow,
        status=ExecutionStatus.FAILED,
        error="Template error: 'first' is undefined",
        trigger_data={"email": "ana@example.com"},
        current_node="tag",
    )
    StepRunFactory(execution=execution, node_id="trigger", node_type="manual", port="out")
    StepRunFactory(execution=execution, node_id="tag", status=StepStatus.FAILED, error="Template error", output=None)
    response = editor.web.get(reverse("dashboard:workflows-execution", args=[execution.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="execution-error"' in html and "&#x27;first&#x27; is undefined" in html
    assert 'data-testid="execution-retry"' in html and 'data-testid="execution-rerun"' in html
    assert 'data-testid="execution-cancel"' not in html
    graph = json_script(response, "execution-graph")
    assert graph["execution"] == execution.pk
    assert graph["definition"]["nodes"][0]["id"] == "tag"
    assert [(step["node_id"], step["status"]) for step in graph["steps"]] == [
        ("trigger", "succeeded"),
        ("tag", "failed"),
    ]
    assert "ana@example.com" in html


def test_another_workspaces_execution_is_a_404(editor):
    execution = run(active_workflow(WorkspaceFactory()), status=ExecutionStatus.WAITING)
    assert editor.web.get(reverse("dashboard:workflows-execution", args=[execution.pk])).status_code == 404
    url = reverse("dashboard:workflows-execution-action", args=[execution.pk, "cancel"])
    assert editor.web.post(url).status_code == 404
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.WAITING


def test_cancel_a_waiting_execution(editor):
    execution = run(active_workflow(editor.workspace), status=ExecutionStatus.WAITING)
    url = reverse("dashboard:workflows-execution-action", args=[execution.pk, "cancel"])
    response = editor.web.post(url, follow=True)
    assert "Cancelled." in response.content.decode()
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.CANCELLED


def test_retry_a_failed_execution(editor, django_capture_on_commit_callbacks):
    execution = run(active_workflow(editor.workspace), status=ExecutionStatus.FAILED, error="boom")
    url = reverse("dashboard:workflows-execution-action", args=[execution.pk, "retry"])
    response = editor.web.post(url)
    assert response["Location"] == reverse("dashboard:workflows-execution", args=[execution.pk])
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.PENDING and execution.error == ""


def test_rerun_opens_the_new_execution(editor):
    execution = run(active_workflow(editor.workspace), status=ExecutionStatus.SUCCEEDED)
    url = reverse("dashboard:workflows-execution-action", args=[execution.pk, "rerun"])
    response = editor.web.post(url)
    rerun = Execution.objects.get(rerun_of=execution)
    assert response["Location"] == reverse("dashboard:workflows-execution", args=[rerun.pk])


def test_an_action_the_status_does_not_allow_is_refused_with_a_message(editor):
    execution = run(active_workflow(editor.workspace), status=ExecutionStatus.SUCCEEDED)
    url = reverse("dashboard:workflows-execution-action", args=[execution.pk, "cancel"])
    response = editor.web.post(url, follow=True)
    assert "Only a live execution can be cancelled" in response.content.decode()
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.SUCCEEDED


def test_execution_actions_are_for_editors_and_known_actions_only(editor, viewer):
    execution = run(active_workflow(editor.workspace), status=ExecutionStatus.WAITING)
    cancel = reverse("dashboard:workflows-execution-action", args=[execution.pk, "cancel"])
    assert viewer.web.post(cancel).status_code == 403
    assert editor.web.post(f"/workflows/executions/{execution.pk}/explode/").status_code == 404
    assert editor.web.get(cancel).status_code == 405
    html = viewer.web.get(reverse("dashboard:workflows-execution", args=[execution.pk])).content.decode()
    assert 'data-testid="execution-cancel"' not in html
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.WAITING
