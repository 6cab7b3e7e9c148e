"""The CRM's settings pages: custom fields, scoring rules and score decay."""

import pytest
from django.urls import reverse

from crm.models import Contact, CustomField, CustomFieldType, ScoringRule, ScoringSettings
from tests.factories import (
    ComponentFactory,
    ContactFactory,
    CustomFieldFactory,
    PageFactory,
    ScoringRuleFactory,
    SiteFactory,
    WorkspaceFactory,
)

FIELDS = reverse("dashboard:contacts-fields")
SCORING = reverse("dashboard:contacts-scoring")
DECAY = reverse("dashboard:contacts-scoring-decay")


# --- Custom fields ------------------------------------------------------------------------------------


def test_fields_list_shows_each_field_with_how_many_contacts_use_it(editor):
    CustomFieldFactory(workspace=editor.workspace, key="plan", label="Plan", type="select", options=["Free", "Pro"])
    ContactFactory(workspace=editor.workspace, custom_fields={"plan": "Pro"})
    ContactFactory(workspace=editor.workspace)
    CustomFieldFactory(workspace=WorkspaceFactory(), label="Their field")
    response = editor.web.get(FIELDS)
    assert response.status_code == 200
    assert [(field.key, field.usage) for field in response.context["fields"]] == [("plan", 1)]
    html = response.content.decode()
    assert "Their field" not in html and 'data-testid="field-form"' in html


@pytest.mark.parametrize("count", [2, 20])
def test_fields_list_counts_usage_in_a_bounded_number_of_queries(editor, django_assert_max_num_queries, count):
    for number in range(count):
        CustomFieldFactory(workspace=editor.workspace, key=f"field_{number}", label=f"Field {number}")
    ContactFactory(workspace=editor.workspace, custom_fields={"field_1": "x"})
    with django_assert_max_num_queries(8):
        response = editor.web.get(FIELDS)
    assert [field.usage for field in response.context["fields"]][:2] == [0, 1]


def test_creating_a_select_field_takes_one_option_per_line(editor):
    response = editor.web.post(FIELDS, {"label": "Plan", "key": "plan", "type": "select", "options": "Free\n Pro \n\n"})
    assert response.status_code == 302
    field = CustomField.objects.get(workspace=editor.workspace, key="plan")
    assert field.options == ["Free", "Pro"] and field.type == CustomFieldType.SELECT


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"label": "Plan", "key": "Plan Name", "type": "text"}, "key", "lower-case letters"),
        ({"label": "Plan", "key": "plan", "type": "select", "options": ""}, "options", "needs a list of options"),
        ({"label": "", "key": "plan", "type": "text"}, "label", "required"),
        ({"label": "Plan", "key": "plan", "type": "colour"}, "type", "valid choice"),
    ],
)
def test_bad_field_input_is_shown_on_its_field(editor, data, field, message):
    response = editor.web.post(FIELDS, data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not CustomField.objects.filter(workspace=editor.workspace).exists()


def test_a_taken_key_is_refused(editor):
    CustomFieldFactory(workspace=editor.workspace, key="plan")
    response = editor.web.post(FIELDS, {"label": "Plan again", "key": "plan", "type": "text"})
    assert "already a field" in response.context["form"].errors["key"][0]


def test_editing_a_field_keeps_its_key_and_refuses_a_type_its_values_do_not_fit(editor):
    field = CustomFieldFactory(workspace=editor.workspace, key="size", label="Size", type="text")
    ContactFactory(workspace=editor.workspace, custom_fields={"size": "big"})
    url = reverse("dashboard:contacts-field", args=[field.pk])
    response = editor.web.post(url, {"label": "Company size", "key": "other", "type": "number"})
    assert response.status_code == 200
    assert "would not fit" in response.context["form"].errors["type"][0]
    response = editor.web.post(url, {"label": "Company size", "key": "other", "type": "text"})
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.key) == ("Company size", "size")


def test_deleting_a_field_removes_its_values(editor):
    field = CustomFieldFactory(workspace=editor.workspace, key="size")
    contact = ContactFactory(workspace=editor.workspace, custom_fields={"size": "big"})
    response = editor.web.post(reverse("dashboard:contacts-field-delete", args=[field.pk]))
    assert response.status_code == 302
    assert not CustomField.objects.filter(pk=field.pk).exists()
    contact.refresh_from_db()
    assert contact.custom_fields == {}


def test_viewers_see_fields_read_only(viewer):
    field = CustomFieldFactory(workspace=viewer.workspace, key="size", label="Size")
    html = viewer.web.get(FIELDS).content.decode()
    assert "Size" in html and 'data-testid="field-form"' not in html
    assert reverse("dashboard:contacts-field-delete", args=[field.pk]) not in html
    response = viewer.web.get(reverse("dashboard:contacts-field", args=[field.pk]))
    assert response.status_code == 200 and all(each.disabled for each in response.context["form"].fields.values())
    assert viewer.web.post(FIELDS, {"label": "X", "key": "x", "type": "text"}).status_code == 403
    assert viewer.web.post(reverse("dashboard:contacts-field-delete", args=[field.pk])).status_code == 403


def test_another_workspaces_field_is_not_found(editor):
    theirs = CustomFieldFactory(workspace=WorkspaceFactory())
    assert editor.web.get(reverse("dashboard:contacts-field", args=[theirs.pk])).status_code == 404
    assert editor.web.post(reverse("dashboard:contacts-field-delete", args=[theirs.pk])).status_code == 404
    assert CustomField.objects.filter(pk=theirs.pk).exists()


def test_fields_empty_state(editor):
    assert 'data-testid="fields-empty"' in editor.web.get(FIELDS).content.decode()


# --- Scoring ---------------------------------------------------------------------------------------------


def test_scoring_page_lists_rules_and_decay(editor):
    ScoringRuleFactory(workspace=editor.workspace, name="Submitted a form", points=20)
    ScoringRuleFactory(workspace=WorkspaceFactory(), name="Their rule")
    response = editor.web.get(SCORING)
    html = response.content.decode()
    assert "Submitted a form" in html and "Their rule" not in html
    assert 'data-testid="rule-form"' in html and 'data-testid="decay-form"' in html


def test_adding_a_rule_for_one_form_with_a_cap(editor):
    form = ComponentFactory(page=PageFactory(site=SiteFactory(workspace=editor.workspace)), type="contact_form")
    data = {
        "name": "Asked for an audit",
        "event_type": "form_submitted",
        "form": str(form.pk),
        "points": "25",
        "cap_points": "50",
        "cap_period": "month",
        "is_active": "on",
    }
    response = editor.web.post(SCORING, data)
    assert response.status_code == 302
    rule = ScoringRule.objects.get(workspace=editor.workspace)
    assert rule.conditions == {"ref": str(form.pk)}
    assert (rule.points, rule.cap_points, rule.cap_period, rule.is_active) == (25, 50, "month", True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"points": "0"}, "points", "not 0"),
        ({"points": "many"}, "points", "whole number"),
        ({"cap_points": "10"}, "cap_period", "needs its period"),
        ({"cap_points": "0", "cap_period": "day"}, "cap_points", "at least 1"),
        ({"event_type": "score_changed"}, "event_type", "valid choice"),
    ],
)
def test_bad_rule_input_is_shown_on_its_field(editor, data, field, message):
    response = editor.web.post(SCORING, {"name": "Rule", "event_type": "email_clicked", "points": "5", **data})
    assert response.status_code == 200
    assert message in " ".join(response.context["rule_form"].errors[field])
    assert not ScoringRule.objects.filter(workspace=editor.workspace).exists()


def test_editing_pausing_and_deleting_a_rule(editor):
    rule = ScoringRuleFactory(workspace=editor.workspace, name="Clicked", event_type="email_clicked", points=10)
    url = reverse("dashboard:contacts-scoring-rule", args=[rule.pk])
    response = editor.web.post(url, {"name": "Clicked an email", "event_type": "email_clicked", "points": "15"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.points, rule.is_active) == ("Clicked an email", 15, False)
    assert editor.web.post(reverse("dashboard:contacts-scoring-rule-delete", args=[rule.pk])).status_code == 302
    assert not ScoringRule.objects.filter(pk=rule.pk).exists()


def test_decay_settings_are_saved_and_checked(editor):
    response = editor.web.post(DECAY, {"decay_enabled": "on", "decay_after_days": "14", "decay_points": "3"})
    assert response.status_code == 302
    settings = ScoringSettings.objects.get(workspace=editor.workspace)
    assert (settings.decay_enabled, settings.decay_after_days, settings.decay_points) == (True, 14, 3)
    response = editor.web.post(DECAY, {"decay_after_days": "99999", "decay_points": "0"})
    assert response.status_code == 200
    errors = response.context["settings_form"].errors
    assert "From 1 to" in errors["decay_after_days"][0] and "from 1 to" in errors["decay_points"][0]
    settings.refresh_from_db()
    assert (settings.decay_enabled, settings.decay_after_days, settings.decay_points) == (True, 14, 3)


def test_viewers_see_scoring_read_only_and_cannot_change_it(viewer):
    rule = ScoringRuleFactory(workspace=viewer.workspace, name="Visited")
    response = viewer.web.get(SCORING)
    html = response.content.decode()
    assert "Visited" in html and 'data-testid="rule-form"' not in html
    assert all(field.disabled for field in response.context["settings_form"].fields.values())
    assert viewer.web.post(DECAY, {"decay_after_days": "5", "decay_points": "1"}).status_code == 403
    assert viewer.web.post(reverse("dashboard:contacts-scoring-rule-delete", args=[rule.pk])).status_code == 403


def test_another_workspaces_rule_is_not_found(editor):
    theirs = ScoringRuleFactory(workspace=WorkspaceFactory())
    assert editor.web.get(reverse("dashboard:contacts-scoring-rule", args=[theirs.pk])).status_code == 404
    assert editor.web.post(reverse("dashboard:contacts-scoring-rule-delete", args=[theirs.pk])).status_code == 404
    assert ScoringRule.objects.filter(pk=theirs.pk).exists() and Contact.objects.count() == 0
