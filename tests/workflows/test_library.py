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
