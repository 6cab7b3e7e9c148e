"""Segments in the dashboard: the list with sizes, and the builder's save path with errors by rule."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Contact, Segment, Tag
from tests.factories import ContactFactory, SegmentFactory, WorkspaceFactory

LIST = reverse("dashboard:contacts-segments")
NEW = reverse("dashboard:contacts-segment-new")
SCORE_50 = {"match": "all", "rules": [{"field": "score", "op": "gte", "value": 50}]}


@pytest.fixture
def hot(editor):
    for score in (10, 60, 70):
        ContactFactory(workspace=editor.workspace, score=score)
    return SegmentFactory(workspace=editor.workspace, name="Hot", rules=SCORE_50)


def builder_config(response) -> dict:
    html = response.content.decode()
    marker = '<script id="segment-builder-config" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def test_list_shows_each_segments_size_and_links_to_its_contacts(editor, hot):
    SegmentFactory(workspace=WorkspaceFactory(), name="Someone else's")
    response = editor.web.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hot" in html and "Someone else" not in html
    # Sizes load after the page, one request each, so a slow count never holds up the list.
    size_url = reverse("dashboard:contacts-segment-size", args=[hot.pk])
    assert size_url in html
    size = editor.web.get(size_url)
    assert size.context["size"] == 2
    assert f"{reverse('dashboard:contacts')}?segment={hot.pk}" in size.content.decode()
    assert NEW in html and reverse("dashboard:contacts-segment-delete", args=[hot.pk]) in html


def test_a_segment_whose_tag_was_deleted_is_flagged_not_a_server_error(editor):
    tag = Tag.objects.create(workspace=editor.workspace, name="gone")
    SegmentFactory(
        workspace=editor.workspace,
        name="Tagged",
        rules={"match": "all", "rules": [{"field": "tag", "op": "has", "value": tag.pk}]},
    )
    tag.delete()
    segment = Segment.objects.get(workspace=editor.workspace, name="Tagged")
    response = editor.web.get(reverse("dashboard:contacts-segment-size", args=[segment.pk]))
    assert response.status_code == 200
    assert "Needs fixing" in response.content.decode()


def test_viewers_see_segments_without_write_controls(viewer, hot):
    html = viewer.web.get(LIST).content.decode()
    assert "Hot" in html
    assert NEW not in html and reverse("dashboard:contacts-segment-delete", args=[hot.pk]) not in html
    response = viewer.web.get(reverse("dashboard:contacts-segment", args=[hot.pk]))
    assert response.status_code == 200
    config = builder_config(response)
    assert config["canWrite"] is False
    assert 'data-testid="save-segment"' not in response.content.decode()
    assert viewer.web.get(NEW).status_code == 403


def test_empty_state_invites_building_a_segment(editor, viewer):
    html = editor.web.get(LIST).content.decode()
    assert 'data-testid="segments-empty"' in html and NEW in html
    html = viewer.web.get(LIST).content.decode()
    assert 'data-testid="segments-empty"' in html and NEW not in html


def test_builder_page_carries_the_catalog_rules_and_how_to_reach_the_api(editor, hot):
    response = editor.web.get(reverse("dashboard:contacts-segment", args=[hot.pk]))
    config = builder_config(response)
    assert config["rules"] == SCORE_50 and config["workspace"] == editor.workspace.pk
    assert config["api"] == "/api/v1/" and config["csrfToken"]
    assert {"score", "tag", "activity"} <= {field["field"] for field in config["catalog"]}
    assert response.context["count"] == 2


def test_creating_a_segment_saves_it_and_opens_it(editor):
    rules = {"match": "any", "rules": [SCORE_50["rules"][0], {"match": "all", "rules": []}]}
    response = editor.web.post(NEW, {"name": "Warm", "description": "For the spring offer", "rules": json.dumps(rules)})
    segment = Segment.objects.get(workspace=editor.workspace, name="Warm")
    assert response.status_code == 302 and response["Location"] == reverse(
        "dashboard:contacts-segment", args=[segment.pk]
    )
    assert segment.rules == rules and segment.created_by == editor.user


def test_a_bad_rule_is_reported_by_its_path_and_nothing_is_saved(editor):
    rules = {"match": "all", "rules": [SCORE_50["rules"][0], {"field": "score", "op": "gte", "value": "lots"}]}
    response = editor.web.post(NEW, {"name": "Broken", "rules": json.dumps(rules)})
    assert response.status_code == 400
    config = builder_config(response)
    assert set(config["errors"]) == {"rules.rules.1.value"}
    assert config["rules"] == rules  # what was typed comes back, to be fixed
    assert not Segment.objects.filter(name="Broken").exists()


def test_a_taken_name_and_unreadable_rules_are_errors_on_their_fields(editor, hot):
    response = editor.web.post(NEW, {"name": "hot", "rules": json.dumps(SCORE_50)})
    assert response.status_code == 400
    assert "already a segment" in response.context["errors"]["name"][0]
    assert "already a segment" in response.content.decode()
    response = editor.web.post(NEW, {"name": "New one", "rules": "{not json"})
    assert response.status_code == 400
    assert "rules" in builder_config(response)["errors"]
    assert Segment.objects.filter(workspace=editor.workspace).count() == 1


def test_editing_a_segment_updates_it(editor, hot):
    url = reverse("dashboard:contacts-segment", args=[hot.pk])
    rules = {"match": "all", "rules": [{"field": "score", "op": "lt", "value": 20}]}
    response = editor.web.post(url, {"name": "Cold", "description": "", "rules": json.dumps(rules)})
    assert response.status_code == 302
    hot.refresh_from_db()
    assert hot.name == "Cold" and hot.rules == rules


def test_another_workspaces_segment_is_not_found(editor):
    theirs = SegmentFactory(workspace=WorkspaceFactory(), rules=SCORE_50)
    url = reverse("dashboard:contacts-segment", args=[theirs.pk])
    assert editor.web.get(url).status_code == 404
    assert editor.web.post(url, {"name": "Mine now", "rules": json.dumps(SCORE_50)}).status_code == 404
    assert editor.web.post(reverse("dashboard:contacts-segment-delete", args=[theirs.pk])).status_code == 404
    assert editor.web.get(reverse("dashboard:contacts-segment-size", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "Mine now"


def test_viewers_cannot_save_or_delete(viewer, hot):
    url = reverse("dashboard:contacts-segment", args=[hot.pk])
    assert viewer.web.post(url, {"name": "Mine", "rules": json.dumps(SCORE_50)}).status_code == 403
    assert viewer.web.post(reverse("dashboard:contacts-segment-delete", args=[hot.pk])).status_code == 403
    assert Segment.objects.filter(pk=hot.pk, name="Hot").exists()


def test_deleting_a_segment_keeps_its_contacts(editor, hot):
    response = editor.web.post(reverse("dashboard:contacts-segment-delete", args=[hot.pk]))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Segment.objects.filter(pk=hot.pk).exists()
    assert Contact.objects.filter(workspace=editor.workspace).count() == 3


def test_the_preview_api_answers_the_dashboard_session(editor, hot):
    """The builder counts through the API with the browser's session, CSRF token and X-Workspace."""
    web = Client(enforce_csrf_checks=True)
    web.force_login(editor.user)
    page = web.get(reverse("dashboard:contacts-segment", args=[hot.pk]))
    token = builder_config(page)["csrfToken"]
    response = web.post(
        "/api/v1/segments/preview/",
        data=json.dumps({"rules": SCORE_50}),
        content_type="application/json",
        HTTP_X_WORKSPACE=str(editor.workspace.pk),
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 2


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_runs_a_bounded_number_of_queries(editor, django_assert_max_num_queries, count):
    for _ in range(count):
        SegmentFactory(workspace=editor.workspace, created_by=editor.user)
    with django_assert_max_num_queries(8):
        assert editor.web.get(LIST).status_code == 200
