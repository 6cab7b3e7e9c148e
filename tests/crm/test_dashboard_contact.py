"""The contact page: profile and its edit form, tags, custom fields, timeline, notes and consent."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from crm.models import ActivityKind, Contact, ContactActivity, CustomFieldType
from crm.services.activities import activity_record
from crm.services.consent import consent_record
from crm.services.contacts import contact_upsert
from crm.services.tags import contact_tags_add, tags_resolve
from tests.factories import (
    ContactActivityFactory,
    ContactFactory,
    CustomFieldFactory,
    ScoringRuleFactory,
    WorkspaceFactory,
)


@pytest.fixture
def contact(editor):
    contact, _ = contact_upsert(
        workspace=editor.workspace,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        phone="+442071838750",
    )
    return contact


def page_url(contact) -> str:
    return reverse("dashboard:contacts-detail", args=[contact.pk])


def html_of(response) -> str:
    return response.content.decode()


def test_contact_page_shows_the_profile_tags_custom_fields_and_timeline(editor, contact):
    CustomFieldFactory(workspace=editor.workspace, key="plan", label="Plan", type=CustomFieldType.TEXT)
    Contact.objects.filter(pk=contact.pk).update(custom_fields={"plan": "Pro"})
    contact_tags_add(contact=contact, tags=tags_resolve(workspace=editor.workspace, names=["VIP"]))
    response = editor.web.get(page_url(contact))
    assert response.status_code == 200
    html = html_of(response)
    assert "Ada Lovelace" in html and "Analytical Engines" in html and "+442071838750" in html
    assert "VIP" in html
    assert "Plan" in html and "Pro" in html
    kinds = [entry.activity.kind for entry in response.context["timeline"].entries]
    assert kinds == [ActivityKind.TAG_ADDED, ActivityKind.CONTACT_CREATED]
    assert 'data-testid="profile-form"' in html and 'data-testid="note-form"' in html


def test_viewer_sees_the_contact_without_any_write_controls(viewer, contact):
    contact_tags_add(contact=contact, tags=tags_resolve(workspace=viewer.workspace, names=["VIP"]))
    response = viewer.web.get(page_url(contact))
    assert response.status_code == 200
    html = html_of(response)
    assert "Ada Lovelace" in html and "VIP" in html
    for testid in ("profile-form", "note-form", "tag-add", "edit-profile"):
        assert f'data-testid="{testid}"' not in html
    assert "Remove the tag" not in html


def test_viewer_cannot_post_to_the_contact(viewer, contact):
    assert viewer.web.post(page_url(contact), {"email": "x@example.com"}).status_code == 403
    assert viewer.web.post(reverse("dashboard:contacts-note", args=[contact.pk]), {"text": "hi"}).status_code == 403
    assert viewer.web.post(reverse("dashboard:contacts-tag-add", args=[contact.pk]), {"tags": "x"}).status_code == 403
    contact.refresh_from_db()
    assert contact.email == "ada@example.com"


def test_another_workspaces_contact_is_not_found(editor):
    stranger = ContactFactory(workspace=WorkspaceFactory())
    assert editor.web.get(page_url(stranger)).status_code == 404
    assert editor.web.post(page_url(stranger), {"email": "a@b.co"}).status_code == 404
    assert editor.web.post(reverse("dashboard:contacts-note", args=[stranger.pk]), {"text": "x"}).status_code == 404
    assert editor.web.post(reverse("dashboard:contacts-tag-add", args=[stranger.pk]), {"tags": "x"}).status_code == 404


def test_an_id_too_large_for_the_database_is_not_found(editor, contact):
    huge = 10**30
    assert editor.web.get(reverse("dashboard:contacts-detail", args=[huge])).status_code == 404
    assert editor.web.get(reverse("dashboard:contacts-segment", args=[huge])).status_code == 404
    remove = reverse("dashboard:contacts-tag-remove", args=[contact.pk, huge])
    assert editor.web.post(remove).status_code == 404


def _profile(contact, **changes) -> dict:
    data = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "company": contact.company,
        "stage": contact.stage,
        "status": contact.status,
    }
    return {**data, **changes}


def test_editing_the_profile_saves_it_and_records_the_change(editor, contact):
    CustomFieldFactory(workspace=editor.workspace, key="seats", label="Seats", type=CustomFieldType.NUMBER)
    response = editor.web.post(
        page_url(contact), _profile(contact, company="Babbage & Co", stage="mql", **{"custom_fields.seats": "12"})
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.company == "Babbage & Co" and contact.stage == "mql" and contact.custom_fields == {"seats": 12}
    changes = ContactActivity.objects.filter(contact=contact, kind=ActivityKind.FIELD_CHANGED)
    assert set(changes.values_list("ref", flat=True)) == {"company", "stage", "custom_fields.seats"}
    assert all(change.actor_id == editor.user.pk for change in changes)


def test_bad_profile_values_are_shown_next_to_their_fields_and_nothing_is_saved(editor, contact):
    CustomFieldFactory(workspace=editor.workspace, key="seats", label="Seats", type=CustomFieldType.NUMBER)
    ContactFactory(workspace=editor.workspace, email="taken@example.com")
    response = editor.web.post(
        page_url(contact),
        _profile(contact, email="taken@example.com", phone="12", company="New", **{"custom_fields.seats": "many"}),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "Another contact already has this email address." in form.errors["email"]
    assert "not a valid phone number" in form.errors["phone"][0]
    assert "not a number" in form.errors["custom_fields.seats"][0]
    html = html_of(response)
    assert 'class="edit-toggle" open' in html
    assert html.count("has-error") == 3
    contact.refresh_from_db()
    assert contact.company == "Analytical Engines" and contact.email == "ada@example.com"


def test_an_unknown_stage_is_refused_on_the_field(editor, contact):
    response = editor.web.post(page_url(contact), _profile(contact, stage="royalty"))
    assert response.status_code == 200
    assert response.context["form"].errors["stage"]
    contact.refresh_from_db()
    assert contact.stage == "subscriber"


def test_tags_are_added_by_name_and_removed(editor, contact):
    response = editor.web.post(reverse("dashboard:contacts-tag-add", args=[contact.pk]), {"tags": "VIP, webinar ,"})
    assert response.status_code == 302
    assert sorted(contact.tags.values_list("name", flat=True)) == ["VIP", "webinar"]
    vip = contact.tags.get(name="VIP")
    response = editor.web.post(reverse("dashboard:contacts-tag-remove", args=[contact.pk, vip.pk]))
    assert response.status_code == 302
    assert list(contact.tags.values_list("name", flat=True)) == ["webinar"]


def test_adding_no_tag_or_a_too_long_one_is_a_message_not_an_error(editor, contact):
    url = reverse("dashboard:contacts-tag-add", args=[contact.pk])
    response = editor.web.post(url, {"tags": " , "}, follow=True)
    assert "Type a tag name" in html_of(response)
    response = editor.web.post(url, {"tags": "x" * 80}, follow=True)
    assert response.status_code == 200
    assert "at most 64 characters" in html_of(response)
    assert not contact.tags.exists()


def test_removing_another_workspaces_tag_is_not_found(editor, contact):
    other = tags_resolve(workspace=WorkspaceFactory(), names=["theirs"])[0]
    assert editor.web.post(reverse("dashboard:contacts-tag-remove", args=[contact.pk, other.pk])).status_code == 404


def test_a_note_lands_on_the_timeline_and_an_empty_one_is_refused(editor, contact):
    url = reverse("dashboard:contacts-note", args=[contact.pk])
    assert editor.web.post(url, {"text": "Called about pricing."}).status_code == 302
    note = ContactActivity.objects.get(contact=contact, kind=ActivityKind.NOTE)
    assert note.data == {"text": "Called about pricing."} and note.actor == editor.user
    response = editor.web.post(url, {"text": "   "})
    assert response.status_code == 200
    assert response.context["note_form"].errors["text"]
    assert ContactActivity.objects.filter(contact=contact, kind=ActivityKind.NOTE).count() == 1
    html = html_of(editor.web.get(page_url(contact)))
    assert "Called about pricing." in html


def test_timeline_is_newest_first_paginated_and_loads_more_as_a_fragment(editor, contact):
    start = timezone.now() - datetime.timedelta(days=40)
    ContactActivity.objects.filter(contact=contact).update(at=start - datetime.timedelta(days=1))
    for day in range(30):
        ContactActivityFactory(
            contact=contact,
            kind=ActivityKind.PAGE_VISITED,
            data={"path": f"/pricing/{day}"},
            at=start + datetime.timedelta(days=day),
        )
    response = editor.web.get(page_url(contact))
    timeline = response.context["timeline"]
    assert len(timeline.entries) == 25
    details = [entry.detail for entry in timeline.entries]
    assert details[0] == "/pricing/29" and details[1] == "/pricing/28"
    assert 'data-testid="timeline-more"' in html_of(response)
    more = editor.web.get(page_url(contact), {"timeline": 2}, HTTP_HX_REQUEST="true")
    fragment = html_of(more)
    assert "<html" not in fragment and "/pricing/0" in fragment
    assert "Contact created" in fragment
    assert 'data-testid="timeline-more"' not in fragment


def test_timeline_filters_by_kind(editor, contact):
    ContactActivityFactory(contact=contact, kind=ActivityKind.NOTE, data={"text": "Met at the fair."})
    ContactActivityFactory(contact=contact, kind=ActivityKind.EMAIL_OPENED, data={"subject": "Spring sale"})
    response = editor.web.get(page_url(contact), {"show": "email"})
    assert [entry.detail for entry in response.context["timeline"].entries] == ["Spring sale"]
    response = editor.web.get(page_url(contact), {"show": "nonsense"})
    assert len(response.context["timeline"].entries) == 3


def test_consent_history_lists_grants_and_withdrawals_with_the_words_shown(editor, contact):
    consent_record(contact=contact, granted=True, text="Yes, send me the newsletter.", source="form")
    consent_record(contact=contact, granted=False, source="unsubscribe")
    response = editor.web.get(page_url(contact))
    html = html_of(response)
    assert "Yes, send me the newsletter." in html
    assert "Granted" in html and "Withdrawn" in html
    assert [consent.granted for consent in response.context["consents"]] == [False, True]


def test_the_score_is_explained_rule_by_rule_with_bars(editor, contact):
    rule = ScoringRuleFactory(
        workspace=editor.workspace, name="Clicked an email", event_type="email_clicked", points=10
    )
    ScoringRuleFactory(workspace=editor.workspace, name="Visited", event_type="page_visited", points=2)
    for kind in ("email_clicked", "email_clicked", "page_visited"):
        activity_record(contact=contact, kind=kind)
    response = editor.web.get(page_url(contact))
    parts = response.context["score_parts"]
    assert [(part["label"], part["points"], part["count"], part["width"]) for part in parts] == [
        ("Clicked an email", 20, 2, 100),
        ("Visited", 2, 1, 10),
    ]
    html = html_of(response)
    assert "Clicked an email" in html and 'data-testid="score-form"' in html
    assert rule.name in html


def test_adjusting_the_score_by_hand_records_why(editor, contact):
    url = reverse("dashboard:contacts-score", args=[contact.pk])
    response = editor.web.post(url, {"points": "15", "note": "Great call"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.score == 15
    parts = editor.web.get(page_url(contact)).context["score_parts"]
    assert [(part["label"], part["points"]) for part in parts] == [("Changed by hand", 15)]


@pytest.mark.parametrize(("points", "message"), [("0", "not 0"), ("lots", "whole number"), ("-5", "cannot go lower")])
def test_a_bad_score_adjustment_is_shown_on_its_field(editor, contact, points, message):
    response = editor.web.post(reverse("dashboard:contacts-score", args=[contact.pk]), {"points": points})
    assert response.status_code == 200
    assert message in " ".join(response.context["score_form"].errors["points"])
    contact.refresh_from_db()
    assert contact.score == 0


def test_viewers_cannot_adjust_a_score(viewer, contact):
    assert 'data-testid="score-form"' not in html_of(viewer.web.get(page_url(contact)))
    assert viewer.web.post(reverse("dashboard:contacts-score", args=[contact.pk]), {"points": "5"}).status_code == 403


# --- Privacy -------------------------------------------------------------------------------------------


def test_downloading_a_contacts_data_gives_json_and_is_audited(viewer, contact):
    response = viewer.web.get(reverse("dashboard:contacts-data", args=[contact.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    assert "ada@example.com" in response.content.decode()
    assert AuditEvent.objects.filter(workspace=viewer.workspace, actor=viewer.user).exists()


def test_only_admins_see_and_may_use_the_erase_form(member, contact):
    editor = member(Role.EDITOR)
    assert 'data-testid="erase-form"' not in html_of(editor.web.get(page_url(contact)))
    url = reverse("dashboard:contacts-erase", args=[contact.pk])
    assert editor.web.post(url, {"confirm": contact.email}).status_code == 403
    admin = member(Role.ADMIN)
    assert 'data-testid="erase-form"' in html_of(admin.web.get(page_url(contact)))
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_erasing_needs_the_email_typed_then_removes_the_contact(member, contact):
    admin = member(Role.ADMIN)
    url = reverse("dashboard:contacts-erase", args=[contact.pk])
    response = admin.web.post(url, {"confirm": "ada@"}, follow=True)
    assert "email address exactly to confirm" in html_of(response)
    assert Contact.objects.filter(pk=contact.pk).exists()
    response = admin.web.post(url, {"confirm": " ADA@example.com "})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:contacts")
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_privacy_actions_on_another_workspaces_contact_are_not_found(member):
    admin = member(Role.ADMIN)
    stranger = ContactFactory(workspace=WorkspaceFactory())
    assert admin.web.get(reverse("dashboard:contacts-data", args=[stranger.pk])).status_code == 404
    assert (
        admin.web.post(reverse("dashboard:contacts-erase", args=[stranger.pk]), {"confirm": stranger.email}).status_code
        == 404
    )
    assert Contact.objects.filter(pk=stranger.pk).exists()


# --- Adding a contact by hand ------------------------------------------------------------------------


def test_adding_a_contact_by_hand_with_tags_and_a_custom_field(editor):
    CustomFieldFactory(workspace=editor.workspace, key="seats", label="Seats", type=CustomFieldType.NUMBER)
    response = editor.web.post(
        reverse("dashboard:contacts-new"),
        {
            "email": " Lin@Example.com ",
            "first_name": "Lin",
            "stage": "lead",
            "tags": "fair, vip",
            "custom_fields.seats": "4",
        },
    )
    contact = Contact.objects.get(workspace=editor.workspace, email="lin@example.com")
    assert response.status_code == 302 and response["Location"] == page_url(contact)
    assert (contact.first_name, contact.stage, contact.source, contact.custom_fields) == (
        "Lin",
        "lead",
        "manual",
        {"seats": 4},
    )
    assert sorted(contact.tags.values_list("name", flat=True)) == ["fair", "vip"]


def test_adding_a_taken_email_or_bad_phone_is_shown_on_the_fields(editor, contact):
    response = editor.web.post(
        reverse("dashboard:contacts-new"), {"email": "ADA@example.com", "phone": "12", "stage": "lead"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "already exists" in errors["email"][0]
    assert Contact.objects.filter(workspace=editor.workspace).count() == 1


def test_viewers_cannot_add_contacts(viewer):
    assert viewer.web.get(reverse("dashboard:contacts-new")).status_code == 403
    assert (
        viewer.web.post(reverse("dashboard:contacts-new"), {"email": "x@example.com", "stage": "lead"}).status_code
        == 403
    )


@pytest.mark.parametrize("count", [1, 30])
def test_the_contact_page_runs_a_bounded_number_of_queries(editor, contact, django_assert_max_num_queries, count):
    ScoringRuleFactory(workspace=editor.workspace, name="Visited", event_type="page_visited", points=1)
    for number in range(count):
        activity_record(contact=contact, kind="page_visited", data={"path": f"/p/{number}"}, actor=editor.user)
        consent_record(contact=contact, granted=bool(number % 2), text="Yes")
    contact_tags_add(contact=contact, tags=tags_resolve(workspace=editor.workspace, names=["a", "b", "c"]))
    with django_assert_max_num_queries(24):
        assert editor.web.get(page_url(contact)).status_code == 200
