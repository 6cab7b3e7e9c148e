"""The scoring API: rules, decay settings, and a contact's score explained and changed by hand."""

import pytest

from accounts.roles import Role
from crm.models import ActivityKind, Contact, ScoreChange, ScoringRule, ScoringSettings
from crm.services.activities import activity_record
from tests.factories import ContactFactory, ScoringRuleFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_a_rule_is_created_listed_changed_and_deleted(editor):
    response = editor.client.post(
        "/api/v1/scoring-rules/",
        {
            "name": "Pricing page form",
            "event_type": "form_submitted",
            "conditions": {"ref": "pricing-form", "data.form_type": "contact_form"},
            "points": 25,
            "cap_points": 50,
            "cap_period": "week",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["conditions"] == {"ref": "pricing-form", "data.form_type": "contact_form"}
    assert (body["points"], body["cap_points"], body["cap_period"], body["is_active"]) == (25, 50, "week", True)
    url = f"/api/v1/scoring-rules/{body['id']}/"

    listed = editor.client.get("/api/v1/scoring-rules/?event_type=form_submitted").json()
    assert [rule["id"] for rule in listed["results"]] == [body["id"]]

    response = editor.client.patch(url, {"points": -5, "is_active": False}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["points"], response.json()["is_active"], response.json()["cap_period"]) == (
        -5,
        False,
        "week",
    )
    assert editor.client.delete(url).status_code == 204
    assert not ScoringRule.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conditions": {"data.form_type": {"a": 1}}}, "conditions.data.form_type"),
        ({"conditions": {"email": "x"}}, "conditions.email"),
        ({"conditions": ["ref"]}, "conditions"),
        ({"event_type": "dancing"}, "event_type"),
        ({"event_type": "score_changed"}, "event_type"),
        ({"points": 0}, "points"),
        ({"points": "lots"}, "points"),
        ({"cap_points": 5}, "cap_period"),
        ({"cap_points": 5, "cap_period": "year"}, "cap_period"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(editor, assert_error, body, field):
    valid = {"name": "Forms", "event_type": "form_submitted", "points": 10}
    response = editor.client.post("/api/v1/scoring-rules/", valid | body, format="json")
    assert_error(response, 400, code="validation_error", field=field)
    assert not ScoringRule.objects.exists()


def test_a_bad_change_to_a_rule_leaves_it_as_it_was(editor, assert_error):
    rule = ScoringRuleFactory(workspace=editor.workspace, points=10)
    response = editor.client.patch(
        f"/api/v1/scoring-rules/{rule.pk}/", {"points": 20, "conditions": {"ref": [[1]]}}, format="json"
    )
    assert_error(response, 400, field="conditions.ref")
    rule.refresh_from_db()
    assert (rule.points, rule.conditions) == (10, {})


def test_viewers_read_rules_but_cannot_write_them(make_member, assert_error):
    viewer = make_member(role=Role.VIEWER)
    ScoringRuleFactory(workspace=viewer.workspace)
    assert viewer.client.get("/api/v1/scoring-rules/").status_code == 200
    response = viewer.client.post(
        "/api/v1/scoring-rules/", {"name": "x", "event_type": "note", "points": 1}, format="json"
    )
    assert_error(response, 403)


def test_settings_show_the_defaults_until_saved_then_what_was_saved(editor, assert_error):
    url = f"/api/v1/workspaces/{editor.workspace.pk}/scoring-settings/"
    assert editor.client.get(url).json() == {"decay_enabled": False, "decay_after_days": 30, "decay_points": 5}
    assert not ScoringSettings.objects.exists()

    response = editor.client.put(url, {"decay_enabled": True, "decay_after_days": 14, "decay_points": 3}, format="json")
    assert response.status_code == 200, response.content
    response = editor.client.patch(url, {"decay_points": 4}, format="json")
    assert response.json() == {"decay_enabled": True, "decay_after_days": 14, "decay_points": 4}
    settings = ScoringSettings.objects.get(workspace=editor.workspace)
    assert (settings.decay_enabled, settings.decay_after_days, settings.decay_points) == (True, 14, 4)

    for body, field in (
        ({"decay_after_days": 0}, "decay_after_days"),
        ({"decay_after_days": 100_000}, "decay_after_days"),
        ({"decay_points": 0}, "decay_points"),
        ({"decay_points": "many"}, "decay_points"),
    ):
        assert_error(editor.client.patch(url, body, format="json"), 400, field=field)
    settings.refresh_from_db()
    assert (settings.decay_after_days, settings.decay_points) == (14, 4)


def test_another_workspaces_settings_are_not_found(editor, assert_error):
    other = WorkspaceFactory()
    ScoringSettings.objects.create(workspace=other, decay_points=9)
    url = f"/api/v1/workspaces/{other.pk}/scoring-settings/"
    assert_error(editor.client.get(url), 404)
    assert_error(editor.client.put(url, {"decay_points": 1}, format="json"), 404)
    assert ScoringSettings.objects.get(workspace=other).decay_points == 9


def test_the_score_endpoint_explains_the_score(editor):
    contact = ContactFactory(workspace=editor.workspace)
    ScoringRuleFactory(workspace=editor.workspace, name="Forms", points=10)
    activity_record(contact=contact, kind=ActivityKind.FORM_SUBMITTED, ref="form-1")
    body = editor.client.get(f"/api/v1/contacts/{contact.pk}/score/").json()
    assert (body["score"], body["total_from_changes"]) == (10, 10)
    assert [(rule["rule_name"], rule["points"], rule["count"]) for rule in body["by_rule"]] == [("Forms", 10, 1)]
    assert body["changes"][0]["activity_kind"] == "form_submitted"
    assert body["decay"] == {"points": 0, "count": 0, "last_at": None}


def test_a_change_by_hand_through_the_api(editor, assert_error):
    contact = ContactFactory(workspace=editor.workspace)
    url = f"/api/v1/contacts/{contact.pk}/score/"
    response = editor.client.post(url, {"points": 30, "note": "Asked for a quote"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["manual"]["points"] == 30
    assert response.json()["changes"][0]["note"] == "Asked for a quote"
    assert Contact.objects.get(pk=contact.pk).score == 30

    assert_error(editor.client.post(url, {"points": 0}, format="json"), 400, field="points")
    assert_error(editor.client.post(url, {}, format="json"), 400, field="points")
    assert_error(editor.client.post(url, {"points": 1, "note": "x" * 501}, format="json"), 400, field="note")
    assert ScoreChange.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": "lots"}, "points"),
        ({"points": 1.5}, "points"),
        ({"points": 10_001}, "points"),
        ({"points": [5]}, "points"),
        ({"points": 5, "note": ["why"]}, "note"),
    ],
)
def test_a_bad_change_by_hand_is_a_400_naming_the_field(editor, assert_error, body, field):
    contact = ContactFactory(workspace=editor.workspace, score=7)
    response = editor.client.post(f"/api/v1/contacts/{contact.pk}/score/", body, format="json")
    assert_error(response, 400, field=field)
    assert (Contact.objects.get(pk=contact.pk).score, ScoreChange.objects.count()) == (7, 0)


def test_a_viewer_cannot_change_a_score(make_member, assert_error):
    viewer = make_member(role=Role.VIEWER)
    contact = ContactFactory(workspace=viewer.workspace)
    assert viewer.client.get(f"/api/v1/contacts/{contact.pk}/score/").status_code == 200
    assert_error(viewer.client.post(f"/api/v1/contacts/{contact.pk}/score/", {"points": 5}, format="json"), 403)


@pytest.mark.parametrize("pk", ["99999999999999999999999", "0"])
def test_unknown_contacts_score_is_404(editor, assert_error, pk):
    assert_error(editor.client.get(f"/api/v1/contacts/{pk}/score/"), 404)
