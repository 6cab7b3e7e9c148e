"""The contacts API: create, read, edit and delete; the list's search, filters and ordering; each
contact's timeline. Bad input is a 400 naming the field and stores nothing."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import Role
from core.models import Event
from crm.events import CONTACT_CREATED, TAG_ADDED, TAG_REMOVED
from crm.models import (
    ActivityKind,
    Contact,
    ContactActivity,
    ContactSource,
    ContactStatus,
    ContactTag,
    CustomFieldType,
    LifecycleStage,
)
from crm.selectors.contacts import contact_list
from tests.factories import (
    ContactActivityFactory,
    ContactFactory,
    CustomFieldFactory,
    TagFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts/"


def detail(contact) -> str:
    return f"{URL}{contact.pk}/"


def tagged(contact, *tags):
    for tag in tags:
        ContactTag.objects.create(workspace=contact.workspace, contact=contact, tag=tag)
    return contact


def emails(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["email"] for row in response.json()["results"]]


# --- Create -----------------------------------------------------------------------------------------------


def test_create_normalises_and_answers_the_whole_contact(editor):
    CustomFieldFactory(workspace=editor.workspace, key="plan", type=CustomFieldType.SELECT, options=["Free", "Pro"])
    response = editor.client.post(
        URL,
        {
            "email": "  Ada@Example.COM ",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "phone": "(415) 555-0132",
            "company": "Analytical Engines",
            "stage": "lead",
            "custom_fields": {"plan": "pro"},
            "tags": ["VIP", "newsletter", "vip"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get(pk=body["id"])
    assert contact.workspace == editor.workspace
    assert body["email"] == "ada@example.com"
    assert body["name"] == "Ada Lovelace"
    assert body["phone"] == "+14155550132"
    assert body["stage"] == "lead"
    assert body["status"] == "active"
    assert body["source"] == ContactSource.API
    assert body["custom_fields"] == {"plan": "Pro"}
    assert [tag["name"] for tag in body["tags"]] == ["newsletter", "VIP"]
    assert set(body) >= {"id", "score", "source_ref", "created_at", "updated_at", "last_activity_at", "company"}
    kinds = set(ContactActivity.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == {ActivityKind.CONTACT_CREATED, ActivityKind.TAG_ADDED}
    assert Event.objects.filter(type=CONTACT_CREATED, payload__contact_id=contact.pk).count() == 1
    assert Event.objects.filter(type=TAG_ADDED, payload__contact_id=contact.pk).count() == 2


def test_an_api_key_creates_contacts_too(make_api_key):
    holder = make_api_key(role=Role.EDITOR)
    response = holder.client.post(URL, {"email": "bot@example.com"})
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "api"


def test_creating_an_existing_email_in_any_case_is_a_400_naming_email_and_its_id(editor, assert_error):
    existing = ContactFactory(workspace=editor.workspace, email="ada@example.com", first_name="Ada")
    error = assert_error(
        editor.client.post(URL, {"email": "ADA@example.com", "first_name": "Someone else"}), 400, field="email"
    )
    assert str(existing.pk) in error["details"]["email"][0]
    existing.refresh_from_db()
    assert existing.first_name == "Ada"
    assert Contact.objects.filter(workspace=editor.workspace).count() == 1


def test_the_same_email_in_another_workspace_does_not_count_as_taken(editor):
    ContactFactory(workspace=WorkspaceFactory(), email="ada@example.com")
    assert editor.client.post(URL, {"email": "ada@example.com"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({}, "email"),
        ({"email": "a@example.com", "phone": "12"}, "phone"),
        ({"email": "a@example.com", "phone": "call me maybe"}, "phone"),
        ({"email": "a@example.com", "stage": "prospect"}, "stage"),
        ({"email": "a@example.com", "custom_fields": {"nope": "x"}}, "custom_fields.nope"),
        ({"email": "a@example.com", "custom_fields": {"seats": "many"}}, "custom_fields.seats"),
        ({"email": "a@example.com", "custom_fields": {"renews": "31/02/2025"}}, "custom_fields.renews"),
        ({"email": "a@example.com", "custom_fields": ["seats"]}, "custom_fields"),
        ({"email": "a@example.com", "tags": "vip"}, "tags"),
        ({"email": "a@example.com", "tags": ["x" * 65]}, "tags"),
        ({"email": "a@example.com", "first_name": "x" * 101}, "first_name"),
    ],
)
def test_bad_input_on_create_is_a_400_naming_the_field_and_stores_nothing(editor, assert_error, body, field):
    CustomFieldFactory(workspace=editor.workspace, key="seats", type=CustomFieldType.NUMBER)
    CustomFieldFactory(workspace=editor.workspace, key="renews", type=CustomFieldType.DATE)
    assert_error(editor.client.post(URL, body), 400, code="validation_error", field=field)
    assert not Contact.objects.exists()
    assert not Event.objects.filter(type__startswith="contact.").exists()


def test_every_bad_field_is_named_at_once(editor, assert_error):
    error = assert_error(editor.client.post(URL, {"email": "nope", "phone": "12"}), 400)
    assert set(error["details"]) >= {"email", "phone"}


def test_a_viewer_reads_but_cannot_write(make_member, assert_error):
    viewer = make_member(role=Role.VIEWER)
    contact = ContactFactory(workspace=viewer.workspace)
    assert viewer.client.get(URL).status_code == 200
    assert viewer.client.get(detail(contact)).status_code == 200
    assert_error(viewer.client.post(URL, {"email": "new@example.com"}), 403)
    assert_error(viewer.client.patch(detail(contact), {"first_name": "Changed"}), 403)
    assert_error(viewer.client.delete(detail(contact)), 403)
    assert_error(viewer.client.post(f"{detail(contact)}activities/", {"text": "Hi"}), 403)
    assert Contact.objects.filter(pk=contact.pk, first_name=contact.first_name).exists()


# --- Read, edit, delete -------------------------------------------------------------------------------------


def test_another_workspaces_contact_is_not_found(editor, assert_error):
    other = ContactFactory(workspace=WorkspaceFactory())
    assert_error(editor.client.get(detail(other)), 404, code="not_found")
    assert_error(editor.client.patch(detail(other), {"first_name": "x"}), 404, code="not_found")
    assert_error(editor.client.delete(detail(other)), 404, code="not_found")
    assert_error(editor.client.get(f"{detail(other)}activities/"), 404, code="not_found")
    assert Contact.objects.filter(pk=other.pk).exists()


def test_a_non_numeric_or_huge_id_is_not_found(editor, assert_error):
    assert_error(editor.client.get(f"{URL}abc/"), 404)
    assert_error(editor.client.get(f"{URL}99999999999999999999999/"), 404)


def test_patch_sets_what_is_given_and_an_empty_value_clears(editor):
    CustomFieldFactory(workspace=editor.workspace, key="seats", type=CustomFieldType.NUMBER)
    contact = ContactFactory(
        workspace=editor.workspace, company="Old Co", phone="+14155550132", custom_fields={"seats": 3}
    )
    response = editor.client.patch(
        detail(contact),
        {"company": "", "stage": "customer", "status": "unsubscribed", "custom_fields": {"seats": "12"}},
    )
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.company == ""
    assert contact.phone == "+14155550132"  # not given, kept
    assert (contact.stage, contact.status) == (LifecycleStage.CUSTOMER, ContactStatus.UNSUBSCRIBED)
    assert contact.custom_fields == {"seats": 12}
    changed = set(
        ContactActivity.objects.filter(contact=contact, kind=ActivityKind.FIELD_CHANGED).values_list("ref", flat=True)
    )
    assert changed == {"company", "stage", "status", "custom_fields.seats"}
    editor.client.patch(detail(contact), {"custom_fields": {"seats": None}})
    contact.refresh_from_db()
    assert contact.custom_fields == {}


def test_put_edits_like_patch(editor):
    contact = ContactFactory(workspace=editor.workspace, company="Kept")
    response = editor.client.put(detail(contact), {"first_name": "Grace"})
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert (contact.first_name, contact.company) == ("Grace", "Kept")


def test_tags_given_on_edit_become_the_whole_set(editor):
    vip, old = TagFactory(workspace=editor.workspace, name="vip"), TagFactory(workspace=editor.workspace, name="old")
    contact = tagged(ContactFactory(workspace=editor.workspace), vip, old)
    response = editor.client.patch(detail(contact), {"tags": ["VIP", "new"]})
    assert response.status_code == 200, response.content
    assert [tag["name"] for tag in response.json()["tags"]] == ["new", "vip"]
    assert Event.objects.filter(type=TAG_REMOVED, payload__tag_id=old.pk).count() == 1
    assert Event.objects.filter(type=TAG_ADDED, payload__contact_id=contact.pk).count() == 1  # "new" only


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "bad"}, "email"),
        ({"email": "taken@example.com"}, "email"),
        ({"phone": "123"}, "phone"),
        ({"stage": "whale"}, "stage"),
        ({"status": "gone"}, "status"),
        ({"custom_fields": {"unknown": 1}}, "custom_fields.unknown"),
    ],
)
def test_bad_edit_is_a_400_naming_the_field_and_keeps_the_contact(editor, assert_error, body, field):
    ContactFactory(workspace=editor.workspace, email="taken@example.com")
    contact = ContactFactory(workspace=editor.workspace, first_name="Ada", phone="+14155550132")
    before = Contact.objects.filter(pk=contact.pk).values().get()
    assert_error(editor.client.patch(detail(contact), {**body, "first_name": "Changed"}), 400, field=field)
    assert Contact.objects.filter(pk=contact.pk).values().get() == before


def test_delete_removes_the_contact_and_its_timeline(editor):
    contact = ContactFactory(workspace=editor.workspace)
    ContactActivityFactory(contact=contact)
    response = editor.client.delete(detail(contact))
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not ContactActivity.objects.filter(contact_id=contact.pk).exists()


# --- The list: search, filters, ordering -----------------------------------------------------------------


def test_the_list_holds_only_this_workspaces_contacts_newest_first(editor):
    now = timezone.now()
    ContactFactory(workspace=editor.workspace, email="old@example.com", created_at=now - datetime.timedelta(days=2))
    ContactFactory(workspace=editor.workspace, email="new@example.com", created_at=now)
    ContactFactory(workspace=WorkspaceFactory(), email="elsewhere@example.com")
    response = editor.client.get(URL)
    assert emails(response) == ["new@example.com", "old@example.com"]
    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ada", ["ada@example.com"]),
        ("LOVELACE", ["ada@example.com"]),
        ("ada lovelace", ["ada@example.com"]),
        ("ada hopper", []),
        ("grace@", ["grace@example.com"]),
        ("4155550132", ["ada@example.com"]),
        ("(415) 555-0132", ["ada@example.com"]),
        ("+1 415 555 0132", ["ada@example.com"]),
        ("555", ["ada@example.com"]),
    ],
)
def test_search_matches_names_email_and_phone_digits(editor, search, expected):
    ContactFactory(
        workspace=editor.workspace,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        phone="+14155550132",
    )
    ContactFactory(workspace=editor.workspace, email="grace@example.com", first_name="Grace", last_name="Hopper")
    assert emails(editor.client.get(URL, {"search": search})) == expected


def test_filter_by_tags_needs_all_of_them_by_id_or_name(editor):
    vip, beta = TagFactory(workspace=editor.workspace, name="VIP"), TagFactory(workspace=editor.workspace, name="2024")
    tagged(ContactFactory(workspace=editor.workspace, email="both@example.com"), vip, beta)
    tagged(ContactFactory(workspace=editor.workspace, email="vip@example.com"), vip)
    ContactFactory(workspace=editor.workspace, email="none@example.com")
    assert sorted(emails(editor.client.get(URL, {"tag": "vip"}))) == ["both@example.com", "vip@example.com"]
    assert emails(editor.client.get(URL, {"tag": ["vip", str(beta.pk)]})) == ["both@example.com"]
    assert emails(editor.client.get(URL, {"tag": ["VIP", "2024"]})) == ["both@example.com"]
    assert emails(editor.client.get(URL, {"tag": "no-such-tag"})) == []


def test_filter_by_a_tag_of_another_workspace_finds_nothing(editor):
    foreign = TagFactory(workspace=WorkspaceFactory(), name="vip")
    TagFactory(workspace=editor.workspace, name="other")
    ContactFactory(workspace=editor.workspace)
    assert emails(editor.client.get(URL, {"tag": str(foreign.pk)})) == []


def test_filter_by_stage_status_source_and_score(editor):
    ws = editor.workspace
    ContactFactory(workspace=ws, email="lead@example.com", stage="lead", score=5, source="form")
    ContactFactory(workspace=ws, email="mql@example.com", stage="mql", score=50, source="import")
    ContactFactory(workspace=ws, email="gone@example.com", stage="lead", status="bounced", score=20, source="form")
    assert sorted(emails(editor.client.get(URL, {"stage": ["lead", "mql"]}))) == [
        "gone@example.com",
        "lead@example.com",
        "mql@example.com",
    ]
    assert emails(editor.client.get(URL, {"stage": "lead", "status": "active"})) == ["lead@example.com"]
    assert sorted(emails(editor.client.get(URL, {"source": "form"}))) == ["gone@example.com", "lead@example.com"]
    assert emails(editor.client.get(URL, {"score_min": 10, "score_max": 30})) == ["gone@example.com"]


def test_filter_by_created_days_in_the_workspaces_time_zone(editor):
    workspace = editor.workspace
    workspace.timezone = "America/New_York"
    workspace.save()
    utc = datetime.UTC
    # 03:00 UTC on the 10th is still the 9th in New York.
    ContactFactory(
        workspace=workspace, email="ninth@example.com", created_at=datetime.datetime(2025, 3, 10, 3, tzinfo=utc)
    )
    ContactFactory(
        workspace=workspace, email="tenth@example.com", created_at=datetime.datetime(2025, 3, 10, 15, tzinfo=utc)
    )
    assert emails(editor.client.get(URL, {"created_after": "2025-03-10"})) == ["tenth@example.com"]
    assert emails(editor.client.get(URL, {"created_before": "2025-03-10"})) == ["ninth@example.com"]
    assert emails(editor.client.get(URL, {"created_after": "2025-03-09", "created_before": "2025-03-11"})) == [
        "tenth@example.com",
        "ninth@example.com",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"score_min": "abc"}, "score_min"),
        ({"score_max": "1.5"}, "score_max"),
        ({"score_min": str(10**20)}, "score_min"),
        ({"stage": "whale"}, "stage"),
        ({"status": "gone"}, "status"),
        ({"source": "carrier-pigeon"}, "source"),
        ({"created_after": "2025-13-01"}, "created_after"),
        ({"created_before": "yesterday"}, "created_before"),
        ({"created_after": "0001-01-01"}, "created_after"),
        ({"tag": "x" * 65}, "tag"),
        ({"ordering": "password"}, "ordering"),
        ({"ordering": "-score,nope"}, "ordering"),
        ({"search": "x" * 201}, "search"),
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(editor, assert_error, params, field):
    assert_error(editor.client.get(URL, params), 400, code="validation_error", field=field)


def test_ordering_by_each_field_both_ways(editor):
    now = timezone.now()
    ws = editor.workspace
    ContactFactory(workspace=ws, email="b@example.com", last_name="Zed", score=1, last_activity_at=None)
    ContactFactory(workspace=ws, email="a@example.com", last_name="Ann", score=9, last_activity_at=now)
    ContactFactory(
        workspace=ws,
        email="c@example.com",
        last_name="Mo",
        score=5,
        last_activity_at=now - datetime.timedelta(days=1),
    )
    get = lambda ordering: emails(editor.client.get(URL, {"ordering": ordering}))  # noqa: E731
    assert get("email") == ["a@example.com", "b@example.com", "c@example.com"]
    assert get("-score") == ["a@example.com", "c@example.com", "b@example.com"]
    assert get("last_name") == ["a@example.com", "c@example.com", "b@example.com"]
    # Never active sorts last both ways.
    assert get("-last_activity_at") == ["a@example.com", "c@example.com", "b@example.com"]
    assert get("last_activity_at") == ["c@example.com", "a@example.com", "b@example.com"]


def test_the_list_costs_the_same_queries_for_any_page_size(editor, django_assert_max_num_queries):
    tags = [TagFactory(workspace=editor.workspace) for _ in range(3)]
    for _ in range(60):
        tagged(ContactFactory(workspace=editor.workspace), *tags)
    params = {"tag": [tags[0].pk, tags[1].name], "stage": "subscriber", "ordering": "-score"}
    editor.client.get(URL, params)  # warm the caches that the first request of a session fills
    with django_assert_max_num_queries(7) as small:
        assert len(editor.client.get(URL, {**params, "page_size": 5}).json()["results"]) == 5
    with django_assert_max_num_queries(7) as large:
        response = editor.client.get(URL, {**params, "page_size": 50})
    assert len(response.json()["results"]) == 50
    assert all(len(row["tags"]) == 3 for row in response.json()["results"])
    assert len(large.captured_queries) == len(small.captured_queries)


# --- Timeline ---------------------------------------------------------------------------------------------


def test_timeline_newest_first_filtered_by_kind(editor):
    contact = ContactFactory(workspace=editor.workspace)
    now = timezone.now()
    old = ContactActivityFactory(contact=contact, kind=ActivityKind.NOTE, at=now - datetime.timedelta(days=1))
    new = ContactActivityFactory(contact=contact, kind=ActivityKind.EMAIL_OPENED, at=now)
    ContactActivityFactory(contact=ContactFactory(workspace=editor.workspace))
    url = f"{detail(contact)}activities/"
    assert [row["id"] for row in editor.client.get(url).json()["results"]] == [new.pk, old.pk]
    assert [row["id"] for row in editor.client.get(url, {"kind": "note"}).json()["results"]] == [old.pk]


def test_a_bad_kind_filter_is_a_400(editor, assert_error):
    contact = ContactFactory(workspace=editor.workspace)
    assert_error(editor.client.get(f"{detail(contact)}activities/", {"kind": "dance"}), 400, field="kind")


def test_adding_a_note_puts_it_on_the_timeline_with_its_author(editor):
    contact = ContactFactory(workspace=editor.workspace)
    response = editor.client.post(f"{detail(contact)}activities/", {"text": "  Called about the demo. "})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["data"], body["actor"]) == ("note", {"text": "Called about the demo."}, editor.user.pk)
    assert body["actor_name"]
    assert ContactActivity.objects.filter(contact=contact, kind=ActivityKind.NOTE).count() == 1


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 10_001}])
def test_an_empty_or_huge_note_is_a_400_naming_text(editor, assert_error, body):
    contact = ContactFactory(workspace=editor.workspace)
    assert_error(editor.client.post(f"{detail(contact)}activities/", body), 400, field="text")
    assert not ContactActivity.objects.filter(contact=contact).exists()


# --- The selector the dashboard shares ------------------------------------------------------------------


def test_contact_list_takes_a_plain_dict_with_single_or_repeated_values(editor):
    ws = editor.workspace
    vip = TagFactory(workspace=ws, name="vip")
    lead = tagged(ContactFactory(workspace=ws, stage="lead", first_name="Ada"), vip)
    ContactFactory(workspace=ws, stage="lead", first_name="Grace")
    ContactFactory(workspace=ws, stage="customer", first_name="Ada")
    found = contact_list(workspace=ws, filters={"stage": "lead", "tag": ["vip"]}, search="ada", ordering="email")
    assert list(found) == [lead]
    assert contact_list(workspace=ws, filters={"stage": ["lead", "customer"]}).count() == 3


def test_contact_list_names_the_bad_parameter(editor):
    with pytest.raises(ValidationError) as caught:
        contact_list(workspace=editor.workspace, filters={"score_min": "high", "stage": "whale"})
    assert set(caught.value.message_dict) == {"score_min", "stage"}
