"""Trigger node types: the events each listens to, the ref that narrows the lookup, what matches, the
contact it runs for, and its config's errors."""

import uuid

import pytest

from core.models import Event
from tests.factories import ComponentFactory, ContactFactory, WorkspaceFactory
from tests.workflows.steps import ports_of, run_node, step_context
from workflows.definition import definition_clean
from workflows.nodes import get_node_type, trigger_types
from workflows.nodes.triggers import ContactNotReady

EVENT_TRIGGERS = {
    "form_submitted": ("form.submitted",),
    "contact_created": ("contact.created",),
    "tag_added": ("tag.added",),
    "tag_removed": ("tag.removed",),
    "field_changed": ("contact.updated",),
    "score_threshold": ("score.changed",),
    "email_opened": ("email.opened",),
    "email_clicked": ("email.clicked",),
    "contact_unsubscribed": ("contact.unsubscribed",),
    "manual": (),
}


def event(type_name: str, payload: dict, workspace_id: int = 1, pk: int = 99) -> Event:
    return Event(pk=pk, workspace_id=workspace_id, type=type_name, payload=payload)


def trigger(type_name: str, config: dict | None = None):
    node_type = get_node_type(type_name)
    return node_type, node_type.Config.model_validate(config or {})


@pytest.mark.parametrize(("type_name", "events"), EVENT_TRIGGERS.items())
def test_each_trigger_is_registered_with_its_events_and_one_out_port(type_name, events):
    node_type = trigger_types()[type_name]
    assert node_type.kind == "trigger"
    assert node_type.events == events
    config = (
        {"tag": "x"} if type_name.startswith("tag_") else {"threshold": 10} if type_name == "score_threshold" else {}
    )
    assert ports_of(type_name, config) == ["out"]


@pytest.mark.parametrize("type_name", EVENT_TRIGGERS)
def test_a_trigger_step_outputs_the_trigger_data(type_name):
    config = (
        {"tag": "x"} if type_name.startswith("tag_") else {"threshold": 10} if type_name == "score_threshold" else {}
    )
    ctx = step_context(None, trigger={"email": "a@example.com"}, node_id="trigger")
    assert run_node(type_name, config, ctx).output == {"email": "a@example.com"}


# --- form_submitted -------------------------------------------------------------------------------------------


def test_form_submitted_for_one_form_or_any():
    component = str(uuid.uuid4())
    node_type, one = trigger("form_submitted", {"component": component.upper()})
    _, any_form = trigger("form_submitted", {})
    assert one.component == component  # normalised, so the ref lookup matches the event's id
    mine = event("form.submitted", {"component_id": component, "email": ""})
    other = event("form.submitted", {"component_id": str(uuid.uuid4()), "email": ""})
    assert node_type.ref(one) == component and node_type.ref(any_form) == ""
    assert node_type.event_ref(mine) == component
    assert node_type.matches(one, mine) and not node_type.matches(one, other)
    assert node_type.matches(any_form, other)


@pytest.mark.django_db
def test_form_submitted_runs_for_the_contact_with_the_submissions_email():
    workspace = WorkspaceFactory()
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    ContactFactory(email="ada@example.com")  # the same address in another workspace
    node_type = get_node_type("form_submitted")
    found = node_type.contact_id(event("form.submitted", {"email": "  ADA@example.com "}, workspace.pk))
    assert found == contact.pk


@pytest.mark.django_db
def test_form_submitted_raises_for_a_retry_while_the_contact_is_not_there_yet():
    workspace = WorkspaceFactory()
    with pytest.raises(ContactNotReady):
        get_node_type("form_submitted").contact_id(event("form.submitted", {"email": "new@example.com"}, workspace.pk))


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["", None, "not an email"])
def test_form_submitted_without_a_usable_email_runs_without_a_contact(email):
    workspace = WorkspaceFactory()
    assert get_node_type("form_submitted").contact_id(event("form.submitted", {"email": email}, workspace.pk)) is None


def test_form_submitted_trigger_data_is_the_payload():
    payload = {"component_id": "c", "email": "a@example.com", "data": {"name": "Ada"}}
    assert get_node_type("form_submitted").trigger_data(event("form.submitted", payload)) == payload


@pytest.mark.django_db
def test_form_submitted_config_must_name_a_form_of_the_workspace():
    form = ComponentFactory()
    node_type, config = trigger("form_submitted", {"component": str(form.pk)})
    assert node_type.config_errors(config, workspace=form.workspace) == {}
    assert "component" in node_type.config_errors(config, workspace=WorkspaceFactory())


# --- Contacts -------------------------------------------------------------------------------------------------


def test_contact_created_for_any_source_or_one():
    node_type, any_source = trigger("contact_created")
    _, forms = trigger("contact_created", {"source": "form"})
    created = event("contact.created", {"contact_id": 5, "source": "import"})
    assert node_type.matches(any_source, created) and not node_type.matches(forms, created)
    assert node_type.contact_id(created) == 5


def test_contact_created_refuses_an_unknown_source():
    errors = _errors({"type": "contact_created", "config": {"source": "carrier pigeon"}})
    assert "trigger.config.source" in errors


@pytest.mark.parametrize("type_name", ["tag_added", "tag_removed"])
def test_tag_triggers_narrow_by_the_tag_name_whatever_its_case_and_spacing(type_name):
    node_type, config = trigger(type_name, {"tag": "  Hot   Lead "})
    assert node_type.ref(config) == "hot lead"
    tagged = event("tag.added", {"contact_id": 3, "tag_id": 1, "tag": "hot lead"})
    assert node_type.event_ref(tagged) == "hot lead"
    assert node_type.matches(config, tagged)
    assert not node_type.matches(config, event("tag.added", {"contact_id": 3, "tag": "cold lead"}))
    assert node_type.contact_id(tagged) == 3


@pytest.mark.parametrize("tag", ["", "   ", "x" * 65])
def test_tag_triggers_need_a_tag_name(tag):
    assert "trigger.config.tag" in _errors({"type": "tag_added", "config": {"tag": tag}})


def test_field_changed_matches_standard_and_custom_fields():
    node_type, first_name = trigger("field_changed", {"field": "contact.first_name"})
    _, plan = trigger("field_changed", {"field": "plan"})
    _, anything = trigger("field_changed", {})
    changed = event("contact.updated", {"contact_id": 1, "changed": ["custom_fields.plan", "phone"]})
    assert not node_type.matches(first_name, changed)
    assert node_type.matches(plan, changed)
    assert node_type.matches(anything, changed)
    assert not node_type.matches(anything, event("contact.updated", {"contact_id": 1, "changed": []}))
    assert first_name.field == "first_name"


@pytest.mark.django_db
def test_field_changed_needs_a_field_the_workspace_has():
    node_type, config = trigger("field_changed", {"field": "shoe_size"})
    assert "field" in node_type.config_errors(config, workspace=WorkspaceFactory())
    _, standard = trigger("field_changed", {"field": "phone"})
    assert node_type.config_errors(standard, workspace=WorkspaceFactory()) == {}


@pytest.mark.parametrize(
    ("previous", "score", "fires"),
    [(40, 50, True), (49, 60, True), (10, 49, False), (50, 60, False), (60, 40, False), (None, 60, False)],
)
def test_score_threshold_fires_on_the_way_up_through_it(previous, score, fires):
    node_type, config = trigger("score_threshold", {"threshold": 50})
    changed = event("score.changed", {"contact_id": 1, "score": score, "previous": previous})
    assert node_type.matches(config, changed) is fires


@pytest.mark.parametrize("threshold", [0, -5, "many", None])
def test_score_threshold_needs_a_positive_threshold(threshold):
    assert "trigger.config.threshold" in _errors({"type": "score_threshold", "config": {"threshold": threshold}})


def test_contact_unsubscribed_runs_for_the_contact():
    node_type, config = trigger("contact_unsubscribed")
    unsubscribed = event("contact.unsubscribed", {"contact_id": 8, "source": "link"})
    assert node_type.matches(config, unsubscribed) and node_type.contact_id(unsubscribed) == 8


# --- Email engagement -----------------------------------------------------------------------------------------


def test_email_opened_for_any_email_or_one_campaign():
    node_type, any_email = trigger("email_opened")
    _, campaign = trigger("email_opened", {"campaign": 7})
    opened = event("email.opened", {"send_id": 1, "contact_id": 2, "campaign_id": 7})
    workflow_mail = event("email.opened", {"send_id": 2, "contact_id": 2, "campaign_id": None})
    assert node_type.ref(campaign) == "7" and node_type.ref(any_email) == ""
    assert node_type.event_ref(opened) == "7" and node_type.event_ref(workflow_mail) == ""
    assert node_type.matches(campaign, opened) and not node_type.matches(campaign, workflow_mail)
    assert node_type.matches(any_email, workflow_mail)
    assert node_type.contact_id(opened) == 2


def test_email_clicked_can_narrow_by_the_link():
    node_type, pricing = trigger("email_clicked", {"url_contains": "/Pricing"})
    clicked = event("email.clicked", {"contact_id": 2, "campaign_id": None, "url": "https://example.com/pricing?x=1"})
    other = event("email.clicked", {"contact_id": 2, "campaign_id": None, "url": "https://example.com/blog"})
    assert node_type.matches(pricing, clicked) and not node_type.matches(pricing, other)


@pytest.mark.django_db
def test_email_triggers_need_a_campaign_of_the_workspace():
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    node_type, config = trigger("email_clicked", {"campaign": campaign.pk})
    assert node_type.config_errors(config, workspace=campaign.workspace) == {}
    assert "campaign" in node_type.config_errors(config, workspace=WorkspaceFactory())


def test_manual_has_no_events_and_matches_nothing_narrower():
    node_type, config = trigger("manual")
    assert node_type.events == () and node_type.ref(config) == ""


def _errors(trigger_spec: dict) -> dict:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        definition_clean({"trigger": trigger_spec})
    return caught.value.message_dict
