"""The ready-made workflow templates: each is a valid definition a marketer can start from."""

import pytest

from workflows.definition import Graph, definition_clean
from workflows.library import WORKFLOW_TEMPLATES, workflow_template, workflow_templates

SLUGS = ["welcome-series", "lead-nurture", "re-engagement", "webinar-reminders", "abandoned-form"]


def test_the_five_templates_are_there_in_order():
    assert [template["slug"] for template in WORKFLOW_TEMPLATES] == SLUGS
    for template in WORKFLOW_TEMPLATES:
        assert template["name"] and template["description"]
        assert set(template) == {"slug", "name", "description", "definition"}


@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_passes_definition_clean_unchanged(slug):
    definition = workflow_template(slug)["definition"]
    clean = definition_clean(definition)
    # Already normalised: what the editor opens is what gets saved.
    assert [node["id"] for node in clean["nodes"]] == [node["id"] for node in definition["nodes"]]
    assert len(clean["edges"]) == len(definition["edges"])
    assert definition_clean(clean) == clean


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_passes_against_a_workspace(slug):
    from tests.factories import WorkspaceFactory

    definition_clean(workflow_template(slug)["definition"], workspace=WorkspaceFactory())


@pytest.mark.parametrize("slug", SLUGS)
def test_every_node_has_a_position_for_the_canvas(slug):
    definition = workflow_template(slug)["definition"]
    assert "position" in definition["trigger"]
    assert all("position" in node for node in definition["nodes"])


def test_the_welcome_series_follows_up_only_when_the_welcome_was_not_opened():
    graph = Graph(definition_clean(workflow_template("welcome-series")["definition"]))
    assert graph.targets("welcome") == ["opened_welcome"]
    assert graph.node_type("opened_welcome").type == "wait_for_event"
    assert graph.config("opened_welcome").timeout.amount == 2
    assert graph.targets("opened_welcome", "timeout") == ["welcome_again"]
    assert graph.targets("opened_welcome", "event") == ["pause"]


def test_the_lead_nurture_has_a_goal_and_runs_once_per_contact():
    graph = Graph(definition_clean(workflow_template("lead-nurture")["definition"]))
    assert graph.goals == ["customer"]
    assert graph.reentry == {"policy": "once"}


def test_re_engagement_may_run_again_after_ninety_days():
    definition = definition_clean(workflow_template("re-engagement")["definition"])
    assert definition["reentry"] == {"policy": "interval", "days": 90}


def test_webinar_reminders_wait_for_a_weekday_morning():
    graph = Graph(definition_clean(workflow_template("webinar-reminders")["definition"]))
    config = graph.config("on_the_day")
    assert (config.mode, config.weekdays, config.hour) == ("weekday", ["thu"], 9)


def test_an_unknown_slug_is_none():
    assert workflow_template("nope") is None
    assert workflow_template("") is None


def test_templates_are_handed_out_as_copies():
    template = workflow_template("welcome-series")
    template["definition"]["nodes"].clear()
    workflow_templates()[0]["definition"]["edges"].clear()
    assert workflow_template("welcome-series")["definition"]["nodes"]
    assert WORKFLOW_TEMPLATES[0]["definition"]["edges"]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_dry_runs_to_the_end_and_writes_nothing(slug):
    from campaigns.models import EmailSend
    from crm.models import ContactTag
    from tests.factories import ContactFactory, MembershipFactory, WorkspaceFactory
    from workflows.services.executions import workflow_dry_run

    workspace = WorkspaceFactory()
    MembershipFactory(workspace=workspace, role="owner")
    contact = ContactFactory(workspace=workspace, score=60)
    definition = workflow_template(slug)["definition"]
    result = workflow_dry_run(
        workspace=workspace,
        definition=definition,
        trigger_data={"email": contact.email, "form_name": "Quote", "data": {}},
        contact=contact,
    )
    assert result["status"] == "succeeded", result
    ran = [step["node_id"] for step in result["steps"]]
    assert ran and all(step["status"] == "succeeded" for step in result["steps"])
    emails = [step for step in result["steps"] if step["node_type"] == "send_email"]
    assert all(step["output"]["simulated"] and step["output"]["subject"] for step in emails)
    assert not EmailSend.objects.exists() and not ContactTag.objects.exists()


@pytest.mark.django_db
def test_the_welcome_series_dry_run_follows_up_when_the_welcome_is_not_opened():
    from tests.factories import ContactFactory, WorkspaceFactory
    from workflows.services.executions import workflow_dry_run

    workspace = WorkspaceFactory()
    contact = ContactFactory(workspace=workspace, first_name="Ada")
    definition = workflow_template("welcome-series")["definition"]
    ran = workflow_dry_run(workspace=workspace, definition=definition, trigger_data={}, contact=contact)["steps"]
    assert [step["node_id"] for step in ran] == [
        "tag_new",
        "welcome",
        "opened_welcome",
        "welcome_again",
        "pause",
        "tips",
    ]
    assert ran[1]["output"]["subject"] == "Welcome, Ada!"


@pytest.mark.parametrize("slug", SLUGS)
def test_each_templates_configs_fit_the_schemas_the_editor_builds_its_forms_from(slug):
    import jsonschema

    from workflows.catalog import node_type_catalog

    schemas = {row["type"]: row["schema"] for row in node_type_catalog()}
    clean = definition_clean(workflow_template(slug)["definition"])
    for spec in [clean["trigger"], *clean["nodes"]]:
        jsonschema.validate(spec["config"], schemas[spec["type"]], cls=jsonschema.Draft202012Validator)
