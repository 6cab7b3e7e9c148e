"""The contacts table: search, filters, segment picker, sorting, paging, bulk actions, empty states."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm.models import Contact, ContactActivity, ContactExport, ContactTag
from crm.services.tags import contact_tags_add, tags_resolve
from crm.views import contacts as contact_views
from tests.factories import ContactFactory, SegmentFactory, WorkspaceFactory

LIST = reverse("dashboard:contacts")
BULK = reverse("dashboard:contacts-bulk")
EXPORT = reverse("dashboard:contacts-export")


@pytest.fixture
def people(editor):
    """Three contacts of the editor's workspace and one of another workspace's."""
    workspace = editor.workspace
    ada = ContactFactory(workspace=workspace, email="ada@example.com", first_name="Ada", last_name="Lovelace", score=80)
    ada.stage = "mql"
    ada.save()
    grace = ContactFactory(workspace=workspace, email="grace@example.com", first_name="Grace", last_name="Hopper")
    grace.score, grace.stage = 20, "lead"
    grace.save()
    alan = ContactFactory(workspace=workspace, email="alan@example.com", first_name="Alan", last_name="Turing", score=5)
    contact_tags_add(contact=ada, tags=tags_resolve(workspace=workspace, names=["VIP"]))
    ContactFactory(workspace=WorkspaceFactory(), email="stranger@example.com", first_name="Stranger")
    return {"ada": ada, "grace": grace, "alan": alan}


def emails(response) -> list[str]:
    return [contact.email for contact in response.context["contacts"]]


def html_of(response) -> str:
    return response.content.decode()


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Rendering ---------------------------------------------------------------------------------------


def test_lists_the_workspaces_contacts_newest_first_with_write_controls_for_editors(editor, people):
    response = editor.web.get(LIST)
    assert response.status_code == 200
    assert emails(response) == ["alan@example.com", "grace@example.com", "ada@example.com"]
    html = html_of(response)
    assert "stranger@example.com" not in html
    assert 'data-testid="bulk-bar"' in html and 'name="ids"' in html
    assert reverse("dashboard:contacts-detail", args=[people["ada"].pk]) in html
    assert 'class="nav-link is-active" href="/contacts/"' in html


def test_viewers_see_the_table_without_selection_or_bulk_actions(viewer, people):
    response = viewer.web.get(LIST)
    assert response.status_code == 200
    assert len(emails(response)) == 3
    html = html_of(response)
    assert 'data-testid="bulk-bar"' not in html and 'name="ids"' not in html and BULK not in html
    assert reverse("dashboard:contacts-import-new") not in html


def test_empty_workspace_explains_where_contacts_come_from(editor):
    html = html_of(editor.web.get(LIST))
    assert 'data-testid="contacts-empty"' in html
    assert "fill in a form" in html and "import" in html and "API" in html
    assert reverse("dashboard:contacts-import-new") in html
    assert 'data-testid="bulk-bar"' not in html


def test_a_search_with_no_match_says_so_instead_of_the_empty_workspace_state(editor, people):
    html = html_of(editor.web.get(LIST, {"q": "nobody-like-this"}))
    assert 'data-testid="contacts-no-match"' in html and 'data-testid="contacts-empty"' not in html


# --- Search, filters, segments, sorting, paging -----------------------------------------------------


def test_search_matches_name_and_email(editor, people):
    assert emails(editor.web.get(LIST, {"q": "hopper"})) == ["grace@example.com"]
    assert emails(editor.web.get(LIST, {"q": "ada@"})) == ["ada@example.com"]


def test_filters_by_stage_tag_and_score_range_and_shows_removable_chips(editor, people):
    assert emails(editor.web.get(LIST, {"stage": ["mql", "lead"]})) == ["grace@example.com", "ada@example.com"]
    assert emails(editor.web.get(LIST, {"tag": "vip"})) == ["ada@example.com"]
    response = editor.web.get(LIST, {"score_min": "10", "score_max": "50"})
    assert emails(response) == ["grace@example.com"]
    chips = response.context["active_filters"]
    assert [(chip.label, chip.value) for chip in chips] == [("Score at least", "10"), ("Score at most", "50")]
    assert chips[0].remove_url == f"{LIST}?score_max=50"


def test_a_bad_filter_value_is_reported_and_ignored_not_a_server_error(editor, people):
    response = editor.web.get(LIST, {"score_min": "lots", "stage": "lead"})
    assert response.status_code == 200
    assert emails(response) == ["grace@example.com"]
    assert any("Score at least" in message for message in flashes(response))
    response = editor.web.get(LIST, {"ordering": "password", "created_after": "yesterday"})
    assert response.status_code == 200
    assert len(emails(response)) == 3


def test_the_segment_picker_narrows_the_list(editor, people):
    segment = SegmentFactory(
        workspace=editor.workspace,
        name="Warm",
        rules={"match": "all", "rules": [{"field": "score", "op": "gte", "value": 10}]},
    )
    response = editor.web.get(LIST, {"segment": segment.pk})
    assert emails(response) == ["grace@example.com", "ada@example.com"]
    assert response.context["segment"] == segment
    assert f'<option value="{segment.pk}" selected>Warm</option>' in html_of(response)
    # Combined with a filter, both apply.
    assert emails(editor.web.get(LIST, {"segment": segment.pk, "tag": "VIP"})) == ["ada@example.com"]


def test_another_workspaces_segment_is_not_applied(editor, people):
    theirs = SegmentFactory(rules={"match": "all", "rules": [{"field": "score", "op": "gte", "value": 50}]})
    response = editor.web.get(LIST, {"segment": theirs.pk})
    assert response.status_code == 200
    assert len(emails(response)) == 3 and response.context["segment"] is None
    assert any("no longer exists" in message for message in flashes(response))
    for garbage in ("not-a-number", "1²", "9" * 30):
        response = editor.web.get(LIST, {"segment": garbage})
        assert len(emails(response)) == 3 and any("no longer exists" in message for message in flashes(response))


def test_sortable_columns_toggle_their_direction(editor, people):
    response = editor.web.get(LIST, {"ordering": "-score"})
    assert emails(response) == ["ada@example.com", "grace@example.com", "alan@example.com"]
    sort = response.context["sort"]
    assert sort["score"].direction == "desc" and sort["score"].url == f"{LIST}?ordering=score"
    assert sort["created"].direction == "" and sort["created"].url == f"{LIST}?ordering=-created_at"
    assert emails(editor.web.get(LIST, {"ordering": "score"}))[0] == "alan@example.com"


def test_paginates_and_keeps_the_filters_in_the_page_links(editor):
    for number in range(30):
        ContactFactory(workspace=editor.workspace, email=f"p{number:02}@example.com", score=number)
    response = editor.web.get(LIST, {"score_min": "2"})
    assert len(emails(response)) == 25
    assert "score_min=2&amp;page=2" in html_of(response)
    assert len(emails(editor.web.get(LIST, {"score_min": "2", "page": 2}))) == 3


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_runs_a_bounded_number_of_queries(editor, django_assert_max_num_queries, count):
    tag = tags_resolve(workspace=editor.workspace, names=["VIP"])
    for _ in range(count):
        contact_tags_add(contact=ContactFactory(workspace=editor.workspace), tags=tag)
    with django_assert_max_num_queries(16):
        assert editor.web.get(LIST).status_code == 200


# --- Bulk actions ------------------------------------------------------------------------------------


def test_bulk_tag_and_untag_the_ticked_contacts(editor, people):
    ids = [people["grace"].pk, people["alan"].pk]
    response = editor.web.post(BULK, {"action": "tag", "ids": ids, "tags": "webinar", "query": "stage=lead"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?stage=lead"
    assert set(Contact.objects.filter(tags__name="webinar").values_list("pk", flat=True)) == set(ids)
    assert "Tagged 2 contacts with webinar." in flashes(response)
    response = editor.web.post(BULK, {"action": "untag", "ids": ids[:1], "tags": "webinar"})
    assert list(Contact.objects.filter(tags__name="webinar").values_list("pk", flat=True)) == ids[1:]
    assert ContactActivity.objects.filter(contact=people["grace"], kind="tag_removed").count() == 1


def test_bulk_delete_removes_only_the_workspaces_contacts(editor, people):
    stranger = Contact.objects.get(email="stranger@example.com")
    response = editor.web.post(BULK, {"action": "delete", "ids": [people["alan"].pk, stranger.pk]})
    assert response.status_code == 302
    assert "Deleted 1 contact." in flashes(response)
    assert not Contact.objects.filter(pk=people["alan"].pk).exists()
    assert Contact.objects.filter(pk=stranger.pk).exists()


def test_select_all_matching_acts_on_everyone_the_query_matches_including_the_segment(editor, people):
    segment = SegmentFactory(
        workspace=editor.workspace,
        name="Warm",
        rules={"match": "all", "rules": [{"field": "score", "op": "gte", "value": 10}]},
    )
    query = f"segment={segment.pk}&stage=lead&stage=mql"
    response = editor.web.post(BULK, {"action": "tag", "all": "1", "query": query, "tags": "warm"})
    assert response.status_code == 302
    tagged = set(Contact.objects.filter(tags__name="warm").values_list("email", flat=True))
    assert tagged == {"ada@example.com", "grace@example.com"}


def test_select_all_beyond_the_limit_asks_to_narrow_the_list(editor, people, monkeypatch):
    monkeypatch.setattr(contact_views, "BULK_MAX", 2)
    response = editor.web.post(BULK, {"action": "delete", "all": "1", "query": ""})
    assert response.status_code == 302
    assert any("More than 2 contacts match" in message for message in flashes(response))
    assert Contact.objects.filter(workspace=editor.workspace).count() == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "tag", "tags": "x"}, "Select at least one contact"),
        ({"action": "explode", "ids": ["1"]}, "is not one of"),
        ({"action": "tag", "ids": ["1; DROP TABLE"], "tags": "x"}, "Pick contacts from the list"),
        ({"action": "tag", "ids": ["1²"], "tags": "x"}, "Pick contacts from the list"),
        ({"action": "tag", "ids": ["9" * 30], "tags": "x"}, "Pick contacts from the list"),
        ({"action": "tag", "ids": ["1"], "tags": " , "}, "Name at least one tag"),
        ({"action": "tag", "ids": ["1"], "tags": "x" * 100}, "at most 64 characters"),
    ],
)
def test_bad_bulk_input_is_a_message_and_changes_nothing(editor, people, data, message):
    data = {**data, "ids": [str(people["ada"].pk) if value == "1" else value for value in data.get("ids", [])]}
    response = editor.web.post(BULK, data)
    assert response.status_code == 302
    assert any(message in flash for flash in flashes(response)), flashes(response)
    assert ContactTag.objects.filter(contact=people["ada"]).count() == 1


def test_viewers_cannot_run_bulk_actions(viewer, people):
    response = viewer.web.post(BULK, {"action": "delete", "ids": [people["ada"].pk]})
    assert response.status_code == 403
    assert Contact.objects.filter(pk=people["ada"].pk).exists()


def test_bulk_requires_post(editor):
    assert editor.web.get(BULK).status_code == 405


# --- Export --------------------------------------------------------------------------------------------


def test_export_downloads_what_the_list_shows_and_records_it(viewer, people):
    segment = SegmentFactory(
        workspace=viewer.workspace,
        name="Warm",
        rules={"match": "all", "rules": [{"field": "score", "op": "gte", "value": 10}]},
    )
    response = viewer.web.post(EXPORT, {"query": f"segment={segment.pk}&stage=mql&q=ada&page=3&score_min=lots"})
    assert response.status_code == 302
    export = ContactExport.objects.get(workspace=viewer.workspace)
    assert export.segment == segment and export.created_by == viewer.user
    assert export.filters == {"stage": ["mql"], "search": "ada"}
    download = viewer.web.get(response["Location"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert 'filename="warm-' in download["Content-Disposition"]
    body = b"".join(download.streaming_content).decode()
    assert "ada@example.com" in body and "grace@example.com" not in body


def test_the_export_button_is_there_for_a_list_with_contacts(viewer, people):
    assert 'data-testid="export-contacts"' in html_of(viewer.web.get(LIST))


def test_another_workspaces_export_is_not_found(editor):
    theirs = ContactExport.objects.create(workspace=WorkspaceFactory())
    assert editor.web.get(reverse("dashboard:contacts-export-download", args=[theirs.pk])).status_code == 404


def test_unknown_parameters_are_ignored_not_shown_as_filters(editor, people):
    response = editor.web.get(LIST, {"utm_source": "newsletter", "stage": "lead"})
    assert emails(response) == ["grace@example.com"]
    assert [chip.label for chip in response.context["active_filters"]] == ["Stage"]
