"""The workflows API: CRUD with a summary per row, validate, activate, pause, test runs, versions
and restore, the node type catalog and template library; who may do what; another workspace's
workflow is a 404; every bad input a 400 naming the field, never a 500, and nothing stored changed."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from crm.models import ContactTag
from tests.factories import (
    ComponentFactory,
    ContactFactory,
    ExecutionFactory,
    WorkflowFactory,
    WorkspaceFactory,
    simple_definition,
)
from workflows.models import Execution, Workflow, WorkflowStatus, WorkflowVersion
from workflows.services.workflows import workflow_activate, workflow_create, workflow_update

pytestmark = pytest.mark.django_db

URL = "/api/v1/workflows/"


def detail(workflow, action: str = "") -> str:
    return f"{URL}{workflow.pk}/{action + '/' if action else ''}"


def make(workspace, name: str = "Welcome", definition: dict | None = None) -> Workflow:
    return workflow_create(workspace=workspace, name=name, definition=definition or simple_definition())


def condition_definition() -> dict:
    return {
        "trigger": {"type": "manual", "config": {}},
        "nodes": [
            {
                "id": "has_phone",
                "type": "condition",
                "config": {"rules": {"all": [{"field": "contact.phone", "op": "is_set"}]}},
            },
            {"id": "tag", "type": "add_tag", "config": {"tag": "no-phone"}},
        ],
        "edges": [
            {"source": "trigger", "target": "has_phone"},
            {"source": "has_phone", "port": "false", "target": "tag"},
        ],
    }


def broken_definition() -> dict:
    definition = simple_definition()
    definition["nodes"][0]["config"] = {"tag": ""}
    return definition


# --- list ---------------------------------------------------------------------------------------------------


def test_list_shows_the_workspace_s_workflows_with_their_figures(editor):
    workflow = make(editor.workspace)
    version = workflow_activate(workflow=workflow)
    ExecutionFactory(version=version, status="succeeded")
    ExecutionFactory(version=version, status="succeeded")
    ExecutionFactory(version=version, status="failed")
    ExecutionFactory(version=version, status="waiting")
    make(WorkspaceFactory(), name="Someone else's")

    response = editor.client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["name"] == "Welcome"
    assert row["status"] == "active"
    assert row["active_version"] == {"id": version.pk, "number": 1}
    assert row["trigger_type"] == "manual"
    stats = row["stats"]
    assert (stats["executions"], stats["succeeded"], stats["failed"], stats["live"]) == (4, 2, 1, 1)
    assert stats["success_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert stats["last_execution_at"]


def test_list_costs_the_same_queries_for_two_or_twenty_workflows(editor):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert editor.client.get(URL).status_code == 200
        return len(captured)

    for n in range(2):
        ExecutionFactory(version=workflow_activate(workflow=make(editor.workspace, name=f"W{n}")))
    few = queries()
    for n in range(18):
        ExecutionFactory(version=workflow_activate(workflow=make(editor.workspace, name=f"More {n}")))
    assert queries() == few


def test_list_searches_and_filters_by_status(editor):
    active = make(editor.workspace, name="Welcome series")
    workflow_activate(workflow=active)
    make(editor.workspace, name="Re-engagement")
    assert [row["name"] for row in editor.client.get(URL, {"search": "welcome"}).json()["results"]] == [
        "Welcome series"
    ]
    assert [row["id"] for row in editor.client.get(URL, {"status": "active"}).json()["results"]] == [active.pk]
    assert editor.client.get(URL, {"status": ["draft", "active"]}).json()["count"] == 2


def test_list_refuses_an_unknown_status_naming_it(editor, assert_error):
    assert_error(editor.client.get(URL, {"status": "running"}), 400, code="validation_error", field="status")


def test_list_refuses_a_trigger_type_the_database_can_t_compare_naming_it(editor, assert_error):
    response = editor.client.get(URL, {"trigger_type": "form\x00submitted"})
    assert_error(response, 400, code="validation_error", field="trigger_type")


def test_list_paginates(editor):
    for n in range(3):
        make(editor.workspace, name=f"W{n}")
    body = editor.client.get(URL, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


# --- create, read, update, delete ---------------------------------------------------------------------------


def test_create_then_read_it_back(editor):
    response = editor.client.post(URL, {"name": "Welcome", "definition": condition_definition()}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    workflow = Workflow.objects.get(pk=body["id"])
    assert workflow.workspace == editor.workspace and workflow.created_by == editor.user
    assert body["status"] == "draft" and body["active_version"] is None and body["has_changes"] is True
    assert [node["id"] for node in body["definition"]["nodes"]] == ["has_phone", "tag"]
    assert editor.client.get(detail(workflow)).json()["definition"] == body["definition"]


def test_create_without_definition_is_a_manual_trigger(editor):
    body = editor.client.post(URL, {"name": "Blank"}, format="json").json()
    assert body["definition"]["trigger"]["type"] == "manual"
    assert body["definition"]["nodes"] == []


def test_create_from_a_template(editor):
    templates = editor.client.get("/api/v1/workflow-templates/").json()
    assert len(templates) == 5
    slug = templates[0]["slug"]
    response = editor.client.post(URL, {"template": slug}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["template"] == slug and body["name"] == templates[0]["name"]
    assert body["definition"]["nodes"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": None}, "name"),
        ({"name": ["W"]}, "name"),
        ({"name": "W", "description": ["notes"]}, "description"),
        ({"name": "W", "description": "d" * 2001}, "description"),
        ({"name": "W", "definition": "nodes"}, "definition"),
        ({"name": "W", "definition": [1, 2]}, "definition"),
        ({"name": "W", "definition": broken_definition()}, "definition.nodes.tag.config.tag"),
        (
            {"name": "W", "definition": {**simple_definition(), "trigger": {"type": "nope", "config": {}}}},
            "definition.trigger.type",
        ),
        ({"name": "W", "template": "no-such-template"}, "template"),
        ({"name": "W", "template": "x" * 65}, "template"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(editor, assert_error, payload, field):
    assert_error(editor.client.post(URL, payload, format="json"), 400, code="validation_error", field=field)
    assert not Workflow.objects.exists()


def test_create_refuses_a_body_that_is_not_an_object(editor, assert_error):
    assert_error(editor.client.post(URL, [1, 2], format="json"), 400, code="validation_error")
    assert_error(editor.client.post(URL, "not json", content_type="application/json"), 400, code="parse_error")
    assert not Workflow.objects.exists()


def test_create_refuses_a_form_of_another_workspace(editor, assert_error):
    foreign = ComponentFactory()
    definition = simple_definition()
    definition["trigger"] = {"type": "form_submitted", "config": {"component": str(foreign.pk)}}
    response = editor.client.post(URL, {"name": "W", "definition": definition}, format="json")
    assert_error(response, 400, field="definition.trigger.config.component")


def test_every_problem_of_a_definition_is_named_at_once(editor, assert_error):
    definition = broken_definition()
    definition["nodes"].append({"id": "stray", "type": "add_tag", "config": {"tag": "x"}})
    definition["edges"].append({"source": "tag", "target": "ghost"})
    error = assert_error(editor.client.post(URL, {"name": "W", "definition": definition}, format="json"), 400)
    assert "definition.nodes.tag.config.tag" in error["details"]
    assert "definition.nodes.stray" in error["details"]
    assert any(key.startswith("definition.edges.1") for key in error["details"])


def test_put_replaces_name_and_definition(editor):
    workflow = make(editor.workspace)
    response = editor.client.put(
        detail(workflow), {"name": "Renamed", "description": "Why", "definition": condition_definition()}, format="json"
    )
    assert response.status_code == 200, response.content
    workflow.refresh_from_db()
    assert (workflow.name, workflow.description) == ("Renamed", "Why")
    assert workflow.definition["nodes"][0]["id"] == "has_phone"


def test_put_needs_name_and_definition(editor, assert_error):
    workflow = make(editor.workspace)
    assert_error(editor.client.put(detail(workflow), {"name": "W"}, format="json"), 400, field="definition")
    assert_error(
        editor.client.put(detail(workflow), {"definition": simple_definition()}, format="json"), 400, field="name"
    )


def test_patch_changes_what_is_given_only(editor):
    workflow = make(editor.workspace)
    before = workflow.definition
    response = editor.client.patch(detail(workflow), {"description": "Notes"}, format="json")
    assert response.status_code == 200
    workflow.refresh_from_db()
    assert workflow.description == "Notes" and workflow.name == "Welcome" and workflow.definition == before


def test_a_refused_save_keeps_what_was_stored(editor, assert_error):
    workflow = make(editor.workspace)
    before = workflow.definition
    response = editor.client.patch(detail(workflow), {"name": "New", "definition": broken_definition()}, format="json")
    assert_error(response, 400, field="definition.nodes.tag.config.tag")
    workflow.refresh_from_db()
    assert workflow.name == "Welcome" and workflow.definition == before


def test_saving_an_active_workflow_shows_unactivated_changes(editor):
    workflow = make(editor.workspace)
    workflow_activate(workflow=workflow)
    assert editor.client.get(detail(workflow)).json()["has_changes"] is False
    editor.client.patch(detail(workflow), {"definition": condition_definition()}, format="json")
    body = editor.client.get(detail(workflow)).json()
    assert body["has_changes"] is True
    assert body["status"] == "active" and body["active_version"]["number"] == 1


def test_delete_removes_the_workflow_with_its_executions(editor):
    workflow = make(editor.workspace)
    ExecutionFactory(version=workflow_activate(workflow=workflow))
    assert editor.client.delete(detail(workflow)).status_code == 204
    assert not Workflow.objects.exists() and not Execution.objects.exists()


def test_webhook_address_and_secret_are_shown_to_editors_only(editor, viewer):
    workflow = make(editor.workspace)
    Workflow.objects.filter(pk=workflow.pk).update(hook_secret="whsec_c2VjcmV0")
    mine = editor.client.get(detail(workflow)).json()
    assert mine["hook_path"] == f"/hooks/{workflow.hook_token}/"
    assert mine["hook_secret"] == "whsec_c2VjcmV0"
    theirs = viewer.client.get(detail(workflow)).json()
    assert theirs["hook_path"] is None and theirs["hook_secret"] is None
    assert workflow.hook_token not in str(viewer.client.get(URL).json())


# --- validate, activate, pause ------------------------------------------------------------------------------


def test_validate_accepts_the_saved_draft(editor):
    workflow = make(editor.workspace)
    response = editor.client.post(detail(workflow, "validate"), {}, format="json")
    assert response.status_code == 200 and response.json() == {"valid": True}


def test_validate_names_each_problem_by_its_path_in_the_definition(editor, assert_error):
    workflow = make(editor.workspace)
    definition = condition_definition()
    definition["nodes"][1]["config"]["tag"] = ""
    definition["edges"][1]["port"] = "maybe"
    error = assert_error(
        editor.client.post(detail(workflow, "validate"), {"definition": definition}, format="json"), 400
    )
    assert "definition.nodes.tag.config.tag" in error["details"], error
    assert "definition.edges.1.port" in error["details"], error
    definition = condition_definition()
    definition["nodes"][0]["config"]["rules"]["all"][0]["op"] = "resembles"
    error = assert_error(
        editor.client.post(detail(workflow, "validate"), {"definition": definition}, format="json"), 400
    )
    assert "definition.nodes.has_phone.config.rules.all.0.op" in error["details"], error


@pytest.mark.parametrize("definition", ["x", 3, [], None])
def test_validate_refuses_a_definition_that_is_not_an_object(editor, assert_error, definition):
    workflow = make(editor.workspace)
    response = editor.client.post(detail(workflow, "validate"), {"definition": definition}, format="json")
    assert_error(response, 400, field="definition")


def test_activate_then_pause(editor):
    workflow = make(editor.workspace)
    response = editor.client.post(detail(workflow, "activate"), {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "active" and body["active_version"]["number"] == 1 and body["has_changes"] is False
    response = editor.client.post(detail(workflow, "pause"), {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "paused"


def test_activate_refuses_a_draft_that_no_longer_holds(editor, assert_error):
    form = ComponentFactory(page__site__workspace=editor.workspace)
    definition = simple_definition()
    definition["trigger"] = {"type": "form_submitted", "config": {"component": str(form.pk)}}
    workflow = make(editor.workspace, definition=definition)
    form.delete()
    response = editor.client.post(detail(workflow, "activate"), {}, format="json")
    assert_error(response, 400, field="definition.trigger.config.component")
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.DRAFT and not WorkflowVersion.objects.exists()


def test_pausing_a_draft_is_refused_naming_the_status(editor, assert_error):
    workflow = make(editor.workspace)
    assert_error(editor.client.post(detail(workflow, "pause"), {}, format="json"), 400, field="status")


# --- test runs ----------------------------------------------------------------------------------------------


def test_a_test_run_shows_each_step_and_writes_nothing(editor):
    contact = ContactFactory(workspace=editor.workspace, phone="")
    workflow = make(editor.workspace, definition=condition_definition())
    response = editor.client.post(
        detail(workflow, "test"), {"trigger_data": {"source": "test"}, "contact": contact.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert [(step["node_id"], step["port"]) for step in body["steps"]] == [("has_phone", "false"), ("tag", "out")]
    assert not ContactTag.objects.filter(contact=contact).exists()
    assert not Execution.objects.exists()


def test_a_test_run_of_an_unsaved_definition(editor):
    workflow = make(editor.workspace)
    response = editor.client.post(
        detail(workflow, "test"), {"trigger_data": {}, "definition": condition_definition()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["steps"][0]["node_id"] == "has_phone"
    workflow.refresh_from_db()
    assert workflow.definition["nodes"][0]["id"] == "tag"  # the saved draft is untouched


def test_a_failing_step_in_a_test_run_is_reported_not_raised(editor):
    definition = simple_definition()
    definition["nodes"] = [
        {"id": "note", "type": "add_note", "config": {"text": "{{ 1 / 0 }}"}},
    ]
    definition["edges"] = [{"source": "trigger", "target": "note"}]
    workflow = make(editor.workspace, definition=definition)
    contact = ContactFactory(workspace=editor.workspace)
    response = editor.client.post(detail(workflow, "test"), {"contact": contact.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "failed"
    assert body["steps"][-1]["error"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"trigger_data": [1]}, "trigger_data"),
        ({"trigger_data": "x"}, "trigger_data"),
        ({"contact": "abc"}, "contact"),
        ({"contact": 0}, "contact"),
        ({"contact": 2**64}, "contact"),
        ({"contact": 999999}, "contact"),
        ({"definition": "x"}, "definition"),
        ({"definition": broken_definition()}, "definition.nodes.tag.config.tag"),
    ],
)
def test_a_test_run_refuses_bad_input_naming_the_field(editor, assert_error, payload, field):
    workflow = make(editor.workspace)
    assert_error(editor.client.post(detail(workflow, "test"), payload, format="json"), 400, field=field)


def test_a_test_run_refuses_a_contact_of_another_workspace(editor, assert_error):
    workflow = make(editor.workspace)
    foreign = ContactFactory(workspace=WorkspaceFactory())
    assert_error(
        editor.client.post(detail(workflow, "test"), {"contact": foreign.pk}, format="json"), 400, field="contact"
    )


# --- versions -----------------------------------------------------------------------------------------------


def test_versions_are_listed_newest_first_and_an_old_one_restored(editor):
    workflow = make(editor.workspace, definition=simple_definition("one"))
    first = workflow_activate(workflow=workflow, actor=editor.user)
    workflow_update(workflow=workflow, definition=simple_definition("two"))
    second = workflow_activate(workflow=workflow, actor=editor.user)
    ExecutionFactory(version=first)

    versions_url = f"{detail(workflow)}versions/"
    rows = editor.client.get(versions_url).json()["results"]
    assert [(row["number"], row["is_active"], row["executions"]) for row in rows] == [(2, True, 0), (1, False, 1)]
    assert rows[0]["created_by"] == editor.user.pk
    assert "definition" not in rows[0]
    one = editor.client.get(f"{versions_url}{first.pk}/").json()
    assert one["definition"]["nodes"][0]["config"]["tag"] == "one"

    response = editor.client.post(f"{versions_url}{first.pk}/restore/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == workflow.pk
    assert body["active_version"]["number"] == 3
    assert body["definition"]["nodes"][0]["config"]["tag"] == "one"
    assert second.pk in WorkflowVersion.objects.values_list("pk", flat=True)


def test_a_version_is_only_found_under_its_own_workflow(editor, assert_error):
    workflow = make(editor.workspace)
    other = make(editor.workspace, name="Other")
    version = workflow_activate(workflow=other)
    assert_error(editor.client.get(f"{detail(workflow)}versions/{version.pk}/"), 404, code="not_found")
    assert_error(editor.client.post(f"{detail(workflow)}versions/{version.pk}/restore/", {}, format="json"), 404)


def test_versions_of_a_workflow_of_another_workspace_are_not_found(editor, assert_error):
    foreign = WorkflowFactory()
    assert_error(editor.client.get(f"{detail(foreign)}versions/"), 404, code="not_found")
    assert_error(editor.client.get(f"{URL}99999999999999999999999/versions/"), 404)


# --- permissions and other workspaces -----------------------------------------------------------------------


def test_a_viewer_reads_and_validates_but_changes_nothing(editor, viewer, assert_error):
    workflow = make(editor.workspace)
    version = workflow_activate(workflow=workflow)
    assert viewer.client.get(URL).status_code == 200
    assert viewer.client.get(detail(workflow)).status_code == 200
    assert viewer.client.get(detail(workflow, "stats")).status_code == 200
    assert viewer.client.get(f"{detail(workflow)}versions/").status_code == 200
    assert viewer.client.post(detail(workflow, "validate"), {}, format="json").status_code == 200
    refused = [
        viewer.client.post(URL, {"name": "Mine"}, format="json"),
        viewer.client.put(detail(workflow), {"name": "X", "definition": simple_definition()}, format="json"),
        viewer.client.patch(detail(workflow), {"name": "X"}, format="json"),
        viewer.client.delete(detail(workflow)),
        viewer.client.post(detail(workflow, "activate"), {}, format="json"),
        viewer.client.post(detail(workflow, "pause"), {}, format="json"),
        viewer.client.post(detail(workflow, "test"), {}, format="json"),
        viewer.client.post(f"{detail(workflow)}versions/{version.pk}/restore/", {}, format="json"),
    ]
    for response in refused:
        assert_error(response, 403, code="permission_denied")
    workflow.refresh_from_db()
    assert workflow.name == "Welcome" and workflow.status == WorkflowStatus.ACTIVE
    assert Workflow.objects.count() == 1


def test_another_workspace_s_workflow_is_not_found(editor, assert_error):
    foreign = WorkflowFactory()
    for response in [
        editor.client.get(detail(foreign)),
        editor.client.patch(detail(foreign), {"name": "Mine"}, format="json"),
        editor.client.delete(detail(foreign)),
        editor.client.post(detail(foreign, "validate"), {}, format="json"),
        editor.client.post(detail(foreign, "activate"), {}, format="json"),
        editor.client.post(detail(foreign, "test"), {}, format="json"),
        editor.client.get(detail(foreign, "stats")),
    ]:
        assert_error(response, 404, code="not_found")
    foreign.refresh_from_db()
    assert foreign.status == WorkflowStatus.DRAFT and foreign.name != "Mine"


def test_odd_ids_are_not_found(editor, assert_error):
    assert_error(editor.client.get(f"{URL}99999999999999999999999/"), 404)
    assert_error(editor.client.get(f"{URL}abc/"), 404)


def test_anonymous_callers_are_refused(api_client, assert_error):
    for url in (URL, "/api/v1/workflow-node-types/", "/api/v1/workflow-templates/", "/api/v1/executions/"):
        assert_error(api_client.get(url), 401)


# --- catalogs -----------------------------------------------------------------------------------------------


def test_node_type_catalog_describes_every_type_with_schema_and_ports(editor):
    types = {row["type"]: row for row in editor.client.get("/api/v1/workflow-node-types/").json()}
    assert {"form_submitted", "send_email", "condition", "wait", "webhook", "http_request"} <= set(types)
    assert types["condition"]["ports"] == ["true", "false"] and types["condition"]["kind"] == "logic"
    assert types["switch"]["dynamic_ports"] is True
    assert types["exit"]["ports"] == []
    assert types["send_email"]["schema"]["type"] == "object"


def test_template_library_lists_five_templates_that_each_validate(editor):
    templates = editor.client.get("/api/v1/workflow-templates/").json()
    assert len(templates) == 5
    workflow = make(editor.workspace)
    for template in templates:
        response = editor.client.post(
            detail(workflow, "validate"), {"definition": template["definition"]}, format="json"
        )
        assert response.status_code == 200, (template["slug"], response.content)


def with_text(where: str, text: str) -> dict:
    definition = simple_definition()
    if where == "config":
        definition["nodes"][0]["config"]["tag"] = text
    elif where == "name":
        definition["nodes"][0]["name"] = text
    else:
        definition["name"] = text
    return definition


@pytest.mark.parametrize(
    ("where", "field"),
    [("config", "definition.nodes.tag.config.tag"), ("name", "definition.nodes.tag.name"), ("top", "definition.name")],
)
@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"])
def test_text_the_database_can_t_store_is_refused_naming_where_it_is(editor, assert_error, where, field, text):
    """A null character or a lone surrogate would make PostgreSQL refuse the JSON: a 400, not a 500."""
    workflow = make(editor.workspace)
    before = workflow.definition
    # json.dumps escapes a lone surrogate as \ud800, as a browser's JSON.stringify does.
    body = json.dumps({"name": "W", "definition": with_text(where, text)})
    response = editor.client.patch(detail(workflow), body, content_type="application/json")
    assert_error(response, 400, field=field)
    workflow.refresh_from_db()
    assert workflow.definition == before
    assert_error(editor.client.post(URL, body, content_type="application/json"), 400, field=field)
    assert Workflow.objects.count() == 1


def test_an_api_key_with_the_editor_role_manages_workflows(make_api_key):
    holder = make_api_key(role=Role.EDITOR)
    response = holder.client.post(URL, {"name": "From a script"}, format="json")
    assert response.status_code == 201, response.content
    workflow = Workflow.objects.get(pk=response.json()["id"])
    assert workflow.workspace == holder.workspace and workflow.created_by is None
    assert holder.client.post(detail(workflow, "activate"), {}, format="json").status_code == 200
    assert WorkflowVersion.objects.get(workflow=workflow).created_by is None


def test_an_api_key_with_the_viewer_role_only_reads(make_api_key, assert_error):
    holder = make_api_key(role=Role.VIEWER)
    workflow = make(holder.workspace)
    assert holder.client.get(detail(workflow)).status_code == 200
    assert_error(holder.client.post(detail(workflow, "activate"), {}, format="json"), 403)


def test_a_deeply_nested_definition_is_a_400_not_a_crash(editor, assert_error):
    workflow = make(editor.workspace)
    deep: list = []
    for _ in range(900):
        deep = [deep]
    definition = simple_definition()
    definition["nodes"][0]["config"]["tag"] = deep
    body = json.dumps({"definition": definition})
    response = editor.client.patch(detail(workflow), body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content[:300]
