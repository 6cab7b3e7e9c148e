"""Bulk actions on contacts: tag, untag and delete by ids or by the list's filters. Only contacts that
really change get a timeline entry and an event; another workspace's contacts are never touched."""

import pytest

from accounts.roles import Role
from core.models import Event
from crm.events import TAG_ADDED, TAG_REMOVED
from crm.models import ActivityKind, Contact, ContactActivity, ContactTag, Tag
from crm.services.bulk import BULK_MAX
from tests.factories import ContactActivityFactory, ContactFactory, TagFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts/bulk/"


def tag_names(contact) -> set[str]:
    return set(Tag.objects.filter(contact_tags__contact=contact).values_list("name", flat=True))


def test_tagging_by_ids_records_only_the_newly_tagged(editor):
    ws = editor.workspace
    vip = TagFactory(workspace=ws, name="vip")
    already = ContactFactory(workspace=ws)
    ContactTag.objects.create(workspace=ws, contact=already, tag=vip)
    fresh = [ContactFactory(workspace=ws) for _ in range(3)]
    ids = [already.pk, *(contact.pk for contact in fresh)]

    response = editor.client.post(URL, {"action": "tag", "ids": ids, "tags": ["VIP", "spring-2025"]})

    assert response.status_code == 200, response.content
    assert response.json() == {"affected": 4}  # `already` gained spring-2025
    for contact in fresh:
        assert tag_names(contact) == {"vip", "spring-2025"}
    assert tag_names(already) == {"vip", "spring-2025"}
    vip_events = Event.objects.filter(type=TAG_ADDED, payload__tag_id=vip.pk)
    assert sorted(event.payload["contact_id"] for event in vip_events) == sorted(c.pk for c in fresh)
    assert Event.objects.filter(type=TAG_ADDED).count() == 3 + 4
    added = ContactActivity.objects.filter(kind=ActivityKind.TAG_ADDED)
    assert added.count() == 7
    assert added.filter(contact=already, ref=str(vip.pk)).count() == 0
    assert set(added.values_list("source", flat=True)) == {"api"}
    assert set(added.values_list("actor", flat=True)) == {editor.user.pk}


def test_tagging_twice_changes_nothing_the_second_time(editor):
    contacts = [ContactFactory(workspace=editor.workspace) for _ in range(2)]
    body = {"action": "tag", "ids": [c.pk for c in contacts], "tags": ["vip"]}
    assert editor.client.post(URL, body).json() == {"affected": 2}
    assert editor.client.post(URL, body).json() == {"affected": 0}
    assert Event.objects.filter(type=TAG_ADDED).count() == 2


def test_untagging_records_each_removal(editor):
    ws = editor.workspace
    vip, keep = TagFactory(workspace=ws, name="VIP"), TagFactory(workspace=ws, name="keep")
    with_tag = [ContactFactory(workspace=ws) for _ in range(2)]
    for contact in with_tag:
        ContactTag.objects.create(workspace=ws, contact=contact, tag=vip)
        ContactTag.objects.create(workspace=ws, contact=contact, tag=keep)
    without = ContactFactory(workspace=ws)
    ids = [*(c.pk for c in with_tag), without.pk]

    response = editor.client.post(URL, {"action": "untag", "ids": ids, "tags": ["vip", "never-existed"]})

    assert response.json() == {"affected": 2}
    assert all(tag_names(contact) == {"keep"} for contact in with_tag)
    assert Event.objects.filter(type=TAG_REMOVED, payload__tag_id=vip.pk).count() == 2
    assert ContactActivity.objects.filter(kind=ActivityKind.TAG_REMOVED).count() == 2
    assert not Tag.objects.filter(name="never-existed").exists()


def test_deleting_by_ids_takes_timelines_with_them(editor):
    doomed = [ContactFactory(workspace=editor.workspace) for _ in range(3)]
    ContactActivityFactory(contact=doomed[0])
    kept = ContactFactory(workspace=editor.workspace)
    response = editor.client.post(URL, {"action": "delete", "ids": [c.pk for c in doomed]})
    assert response.json() == {"affected": 3}
    assert list(Contact.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not ContactActivity.objects.exists()


def test_another_workspaces_ids_are_never_touched(editor):
    other = WorkspaceFactory()
    theirs = ContactFactory(workspace=other)
    mine = ContactFactory(workspace=editor.workspace)
    tag = editor.client.post(URL, {"action": "tag", "ids": [theirs.pk, mine.pk], "tags": ["vip"]})
    assert tag.json() == {"affected": 1}
    assert tag_names(theirs) == set()
    delete = editor.client.post(URL, {"action": "delete", "ids": [theirs.pk]})
    assert delete.json() == {"affected": 0}
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_acting_on_what_a_filter_matches(editor):
    ws = editor.workspace
    leads = [ContactFactory(workspace=ws, stage="lead", score=20) for _ in range(3)]
    ContactFactory(workspace=ws, stage="lead", score=1)
    ContactFactory(workspace=ws, stage="customer", score=50)
    ContactFactory(workspace=WorkspaceFactory(), stage="lead", score=20)
    response = editor.client.post(
        URL, {"action": "tag", "filter": {"stage": ["lead"], "score_min": 10}, "tags": ["hot"]}
    )
    assert response.json() == {"affected": 3}
    assert set(Contact.objects.filter(tags__name="hot").values_list("pk", flat=True)) == {c.pk for c in leads}


def test_a_filter_can_search_too(editor):
    ada = ContactFactory(workspace=editor.workspace, first_name="Ada")
    ContactFactory(workspace=editor.workspace, first_name="Grace")
    response = editor.client.post(URL, {"action": "delete", "filter": {"search": "ada"}})
    assert response.json() == {"affected": 1}
    assert not Contact.objects.filter(pk=ada.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "archive", "ids": [1]}, "action"),
        ({"ids": [1]}, "action"),
        ({"action": "delete"}, "ids"),
        ({"action": "delete", "ids": [1], "filter": {}}, "ids"),
        ({"action": "delete", "ids": []}, "ids"),
        ({"action": "delete", "ids": ["one"]}, "ids"),
        ({"action": "delete", "ids": list(range(1, BULK_MAX + 2))}, "ids"),
        ({"action": "tag", "ids": [1]}, "tags"),
        ({"action": "tag", "ids": [1], "tags": []}, "tags"),
        ({"action": "tag", "ids": [1], "tags": ["x" * 65]}, "tags"),
        ({"action": "delete", "filter": {"score_min": "lots"}}, "filter.score_min"),
        ({"action": "delete", "filter": {"stage": ["whale"]}}, "filter.stage"),
        ({"action": "delete", "filter": {"ordering": "email"}}, "filter"),
        ({"action": "delete", "filter": {"search": ["a"]}}, "filter.search"),
        ({"action": "delete", "filter": "stage=lead"}, "filter"),
    ],
)
def test_bad_bulk_requests_are_a_400_naming_the_field_and_change_nothing(editor, assert_error, body, field):
    contact = ContactFactory(workspace=editor.workspace, pk=1)
    assert_error(editor.client.post(URL, body), 400, code="validation_error", field=field)
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not ContactTag.objects.exists()


def test_a_filter_matching_more_than_the_limit_is_refused(editor, assert_error):
    Contact.objects.bulk_create(
        Contact(workspace=editor.workspace, email=f"c{n}@example.com", stage="lead") for n in range(BULK_MAX + 1)
    )
    error = assert_error(
        editor.client.post(URL, {"action": "delete", "filter": {"stage": "lead"}}), 400, field="filter"
    )
    assert f"{BULK_MAX + 1:,}" in error["details"]["filter"][0]
    assert Contact.objects.count() == BULK_MAX + 1


def test_a_viewer_cannot_act_in_bulk(make_member, assert_error):
    viewer = make_member(role=Role.VIEWER)
    contact = ContactFactory(workspace=viewer.workspace)
    assert_error(viewer.client.post(URL, {"action": "delete", "ids": [contact.pk]}), 403)
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_tagging_hundreds_costs_a_few_queries_per_chunk_not_per_contact(editor, django_assert_max_num_queries):
    ids = [
        contact.pk
        for contact in Contact.objects.bulk_create(
            Contact(workspace=editor.workspace, email=f"c{n}@example.com") for n in range(600)
        )
    ]
    with django_assert_max_num_queries(40):
        response = editor.client.post(URL, {"action": "tag", "ids": ids, "tags": ["vip", "spring"]})
    assert response.json() == {"affected": 600}
    assert ContactActivity.objects.filter(kind=ActivityKind.TAG_ADDED).count() == 1200
    assert Event.objects.filter(type=TAG_ADDED).count() == 1200
