"""GDPR: one contact's data exported whole, erased from everywhere (checked by scanning every text and
JSON column of the database), and suppression flags that every sending path honours."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection

from accounts.models import AuditAction, AuditEvent
from accounts.roles import Role
from accounts.services import audit_record
from builder.models import FormSubmission
from builder.services.submissions import form_submission_create
from campaigns.models import EmailEngagement, EmailSend, EngagementKind, OptInRequest, SendKind, SendStatus
from core.events import dispatch, emit
from core.models import Event, EventDelivery
from crm.events import CONTACT_ERASED, CONTACT_UPDATED
from crm.models import (
    ActivityKind,
    ConsentRecord,
    Contact,
    ContactActivity,
    ContactExport,
    ContactImportError,
    ContactStatus,
)
from crm.services.consent import consent_record
from crm.services.contacts import contact_note_add, contact_update, contact_upsert
from crm.services.gdpr import contact_data_export, contact_erase, contact_suppress
from crm.services.scoring import score_adjust, scoring_rule_create
from crm.services.tags import contact_tags_add, tags_resolve
from tests.factories import (
    CampaignFactory,
    ComponentFactory,
    ContactFactory,
    ContactImportFactory,
    EmailSendFactory,
    PageFactory,
    SegmentFactory,
    SiteFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

TYPED_EMAIL = " Zanzibar.Quokka@Example.COM"
EMAIL = "zanzibar.quokka@example.com"
#: Every value that identifies the person, as stored anywhere along the way (old values included).
NEEDLES = [EMAIL, "zanzibar", "quokka", "+14155550199", "415 555 0199", "+14155550123"]


def text_columns() -> list[tuple[str, str]]:
    textual = {"CharField", "TextField", "JSONField", "EmailField", "SlugField", "URLField", "GenericIPAddressField"}
    columns = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                try:
                    field_type = connection.introspection.get_field_type(column.type_code, column)
                except KeyError:
                    continue
                if field_type in textual:
                    columns.append((table, column.name))
    return columns


def database_mentions(needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text or JSON column of every table holding a needle."""
    found = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in text_columns():
            text = f"LOWER(CAST({quote(column)} AS TEXT))"
            cursor.execute(
                f"SELECT {', '.join(f'SUM(CASE WHEN {text} LIKE %s THEN 1 ELSE 0 END)' for _ in needles)} "
                f"FROM {quote(table)}",
                [f"%{needle.lower()}%" for needle in needles],
            )
            found += [(table, column, needle) for needle, hits in zip(needles, cursor.fetchone(), strict=True) if hits]
    return found


@pytest.fixture
def form(workspace):
    return ComponentFactory(page=PageFactory(site=SiteFactory(workspace=workspace)), type="contact_form")


def submit(form, data: dict, *, consent: bool = False) -> FormSubmission:
    form.config = {**form.config, "consent": {"enabled": True, "text": "Yes, email me the newsletter."}}
    submission = form_submission_create(
        component=form, data=data, consent_given=consent, ip="203.0.113.9", user_agent="Quokka Browser"
    )
    dispatch.process_event(Event.objects.get(subject=f"builder.formsubmission:{submission.pk}").pk)
    return submission


def send_emails(workspace, contact) -> None:
    """A campaign email they opened a personalised link in, one still queued, a test sent to their
    address, and a double opt-in request."""
    campaign = CampaignFactory(workspace=workspace, name="Spring news")
    sent = EmailSendFactory(
        workspace=workspace,
        contact=contact,
        campaign=campaign,
        kind=SendKind.CAMPAIGN,
        subject="Zanzibar, spring is here",
        status=SendStatus.SENT,
        open_count=1,
    )
    EmailEngagement.objects.create(
        workspace=workspace,
        send=sent,
        campaign=campaign,
        kind=EngagementKind.CLICK,
        url=f"https://shop.example/welcome?email={EMAIL}",
    )
    EmailSendFactory(workspace=workspace, contact=contact, kind=SendKind.WORKFLOW, subject="Welcome Zanzibar")
    EmailSendFactory(workspace=workspace, contact=None, to_email=EMAIL, subject="[Test] Spring news")
    OptInRequest.objects.create(workspace=workspace, contact=contact, token_hash="0" * 64, consent_text="Yes")


@pytest.fixture
def lived_in_contact(workspace, form, editor):
    """A contact with a history in every corner: a form submission with consent, tags, a note, score
    changes by rule and by hand, field changes, an import error, a handler error and audit entries."""
    scoring_rule_create(workspace=workspace, name="Forms", event_type="form_submitted", points=10)
    submit(
        form,
        {
            "name": "Zanzibar Quokka",
            "email": TYPED_EMAIL,
            "phone": "+1 415 555 0199",
            "message": "Please call Zanzibar on +1 415 555 0199",
        },
        consent=True,
    )
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.email, contact.phone) == (EMAIL, "+14155550199")
    contact_tags_add(contact=contact, tags=tags_resolve(workspace=workspace, names=["VIP"]))
    contact_note_add(contact=contact, text="Zanzibar Quokka prefers mornings.", actor=editor.user)
    consent_record(contact=contact, granted=True, purpose="sms", text="Texts are fine", source="manual")
    score_adjust(contact=contact, points=5, note="Met Zanzibar at the fair")
    contact = contact_update(contact=contact, data={"last_name": "Quokkaville", "phone": "+14155550123"})
    contact_import = ContactImportFactory(workspace=workspace, error=f"Stopped near {EMAIL}")
    ContactImportError.objects.create(
        workspace=workspace,
        contact_import=contact_import,
        row_number=7,
        reason=f"{EMAIL}: unknown stage 'vip'",
        row={"Email": EMAIL, "First name": "Zanzibar", "Last name": "Quokka", "Stage": "vip"},
    )
    event = Event.objects.filter(type="form.submitted").get()
    EventDelivery.objects.create(
        event=event, handler="tests.failing", last_error=f"ValidationError: {EMAIL} rejected for Zanzibar Quokka"
    )
    audit_record(workspace=workspace, action=AuditAction.MEMBER_ADDED, actor=editor.user, target=contact)
    SegmentFactory(
        workspace=workspace, rules={"match": "all", "rules": [{"field": "email", "op": "eq", "value": EMAIL}]}
    )
    export = ContactExport.objects.create(workspace=workspace, filters={"search": EMAIL})
    export.file.save("contacts.csv", ContentFile(f"email,first_name\n{EMAIL},Zanzibar\n".encode()))
    send_emails(workspace, contact)
    contact_data_export(contact=contact, actor=editor.user)
    assert database_mentions(NEEDLES), "the scenario should store the person's data somewhere to erase"
    return contact


def test_erasure_leaves_no_trace_of_the_person_in_any_column_of_any_table(lived_in_contact, workspace, editor):
    submissions = FormSubmission.objects.filter(workspace=workspace).count()
    counts = contact_erase(contact=lived_in_contact, actor=editor.user, ip="198.51.100.4")

    assert database_mentions(NEEDLES) == []
    assert not Contact.objects.filter(pk=lived_in_contact.pk).exists()
    # Anonymous aggregates remain: the submission is still counted for its form, with its consent flag.
    assert FormSubmission.objects.filter(workspace=workspace).count() == submissions
    submission = FormSubmission.objects.get(workspace=workspace)
    assert (submission.data, submission.email, submission.ip_hash, submission.consent_given) == ({}, "", "", True)
    assert counts["contacts"] == 1
    assert counts["form_submissions"] == 1
    assert counts["tags"] == 1
    assert counts["consents"] == 2
    assert counts["score_changes"] == 2
    assert counts["import_errors"] == 1
    assert counts["export_files"] == 1
    assert counts["events"] >= 1 and counts["event_errors"] == 1
    assert counts["email_sends"] == 3 and counts["email_links"] == 1
    # The campaign still counts the email it sent; the one still queued will not go out.
    assert EmailSend.objects.filter(kind=SendKind.CAMPAIGN, status=SendStatus.SENT, open_count=1).count() == 1
    assert EmailSend.objects.get(kind=SendKind.WORKFLOW).status == SendStatus.SKIPPED
    assert not OptInRequest.objects.exists()
    assert ContactImportError.objects.get().row == {}
    assert ContactExport.objects.get().file.name == ""


def test_the_erasure_is_audited_by_id_only(lived_in_contact, workspace, editor):
    contact_id = lived_in_contact.pk
    contact_erase(contact=lived_in_contact, actor=editor.user, ip="198.51.100.4")
    entry = AuditEvent.objects.get(action=AuditAction.CONTACT_ERASED)
    assert (entry.target_type, entry.target_id, entry.target_repr) == (
        "crm.contact",
        str(contact_id),
        f"Contact #{contact_id}",
    )
    assert (entry.actor, entry.ip, entry.changes["contacts"]) == (editor.user, "198.51.100.4", 1)
    # Earlier entries about the contact now name it the same way.
    about_contact = AuditEvent.objects.filter(target_type="crm.contact", target_id=str(contact_id))
    assert set(about_contact.values_list("target_repr", flat=True)) == {f"Contact #{contact_id}"}
    assert Event.objects.get(type=CONTACT_ERASED).payload == {"contact_id": contact_id}


def test_a_form_submission_still_waiting_for_its_handler_does_not_bring_the_contact_back(workspace, form):
    submit(form, {"name": "Zanzibar Quokka", "email": EMAIL, "message": "First"})
    waiting = form_submission_create(
        component=form,
        data={"name": "Zanzibar Quokka", "email": EMAIL, "message": "Again"},
        consent_given=False,
        ip=None,
        user_agent="",
    )
    contact_erase(contact=Contact.objects.get(workspace=workspace))
    dispatch.process_event(Event.objects.get(subject=f"builder.formsubmission:{waiting.pk}").pk)
    assert not Contact.objects.filter(workspace=workspace).exists()
    assert database_mentions(NEEDLES) == []


def test_erasure_redacts_mentions_elsewhere_but_leaves_other_people_and_workspaces_alone(workspace):
    contact = ContactFactory(workspace=workspace, email=EMAIL, first_name="Zanzibar", last_name="Quokka")
    friend = ContactFactory(workspace=workspace, email="ann@example.com", first_name="Ann")
    contact_note_add(contact=friend, text=f"Referred by {EMAIL}; Annual plan.")
    elsewhere = ContactFactory(email=EMAIL, first_name="Zanzibar")

    contact_erase(contact=contact)

    note = ContactActivity.objects.get(contact=friend, kind=ActivityKind.NOTE)
    assert note.data["text"] == "Referred by [erased]; Annual plan."
    assert Contact.objects.get(pk=friend.pk).first_name == "Ann"
    assert Contact.objects.get(pk=elsewhere.pk).email == EMAIL


def test_a_short_name_is_redacted_only_as_a_whole_word_in_rows_about_the_contact(workspace, form):
    submit(form, {"name": "Al Bo", "email": "al@example.com", "message": "Almanac please, Al"})
    other = submit(form, {"name": "Alice", "email": "alice@example.com", "message": "Almanac"})
    contact_erase(contact=Contact.objects.get(email="al@example.com"))
    other.refresh_from_db()
    assert other.data["message"] == "Almanac"
    assert Contact.objects.get(email="alice@example.com").first_name == "Alice"


def test_events_about_the_contact_lose_its_names_though_they_hold_no_email(workspace):
    contact = ContactFactory(workspace=workspace, email=EMAIL, first_name="Zanzibar")
    by_subject = emit(workspace=workspace, type="test.noted", payload={"note": "Zanzibar called"}, subject=contact)
    by_payload = emit(workspace=workspace, type="test.named", payload={"contact_id": contact.pk, "name": "Zanzibar"})
    other = emit(workspace=workspace, type="test.noted", payload={"note": "Zanzibar the island"})

    contact_erase(contact=contact)

    for event in (by_subject, by_payload, other):
        event.refresh_from_db()
    assert by_subject.payload == {"note": "[erased] called"}
    assert by_payload.payload == {"contact_id": contact.pk, "name": ""}
    # A name is too common to search every event for: one not about the contact keeps it.
    assert other.payload == {"note": "Zanzibar the island"}


# --- Export -----------------------------------------------------------------------------------------------


def test_the_export_holds_everything_stored_about_the_contact(lived_in_contact, workspace, form, editor):
    submit(form, {"name": "Someone", "email": "someone@example.com", "message": "Hi"})
    data = contact_data_export(contact=lived_in_contact, actor=editor.user, ip="198.51.100.4")
    assert data["contact"]["email"] == EMAIL
    assert (data["contact"]["last_name"], data["contact"]["phone"]) == ("Quokkaville", "+14155550123")
    assert [tag["tag"] for tag in data["tags"]] == ["VIP"]
    kinds = {activity["kind"] for activity in data["activities"]}
    assert {"contact_created", "form_submitted", "tag_added", "note", "field_changed", "score_changed"} <= kinds
    assert {(c["purpose"], c["granted"]) for c in data["consents"]} == {("marketing_email", True), ("sms", True)}
    assert sorted(change["points"] for change in data["score_changes"]) == [5, 10]
    # Matched by the normalised email although the visitor typed it with spaces and capitals.
    assert [s["data"]["message"] for s in data["form_submissions"]] == ["Please call Zanzibar on +1 415 555 0199"]
    assert sorted((email["kind"], email["subject"]) for email in data["emails"]) == [
        ("campaign", "Zanzibar, spring is here"),
        ("transactional", "[Test] Spring news"),
        ("workflow", "Welcome Zanzibar"),
    ]
    assert {email["campaign_name"] for email in data["emails"]} == {"Spring news", None}
    entry = AuditEvent.objects.filter(action=AuditAction.CONTACT_EXPORTED).latest("id")
    assert (entry.target_repr, entry.ip, entry.actor) == (
        f"Contact #{lived_in_contact.pk}",
        "198.51.100.4",
        editor.user,
    )


# --- Suppression --------------------------------------------------------------------------------------------


def test_unsubscribing_withdraws_consent_and_takes_the_contact_out_of_sendable(workspace):
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com")
    contact_suppress(contact=contact, status=ContactStatus.UNSUBSCRIBED, reason="Clicked unsubscribe", source="email")
    contact.refresh_from_db()
    assert contact.status == ContactStatus.UNSUBSCRIBED
    assert not Contact.objects.filter(pk=contact.pk).sendable().exists()
    activity = contact.activities.get(kind=ActivityKind.UNSUBSCRIBED)
    assert activity.data == {"field": "status", "from": "active", "to": "unsubscribed", "reason": "Clicked unsubscribe"}
    consent = ConsentRecord.objects.get(contact=contact)
    assert (consent.granted, consent.purpose, consent.text) == (False, "marketing_email", "Clicked unsubscribe")
    assert Event.objects.filter(type=CONTACT_UPDATED, payload__changed=["status"]).count() == 1


@pytest.mark.parametrize("status", [ContactStatus.BOUNCED, ContactStatus.COMPLAINED])
def test_bounces_and_complaints_flag_the_address_without_touching_consent(workspace, status):
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com")
    contact_suppress(contact=contact, status=status, reason="550 mailbox unavailable", source="email")
    assert Contact.objects.get(pk=contact.pk).status == status
    assert not Contact.objects.sendable().exists()
    activity = contact.activities.get(kind=ActivityKind.FIELD_CHANGED, ref="status")
    assert (activity.data["to"], activity.data["reason"]) == (status, "550 mailbox unavailable")
    assert not ConsentRecord.objects.exists()


def test_suppressing_twice_records_once(workspace):
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com")
    for _ in range(2):
        contact_suppress(contact=contact, status=ContactStatus.BOUNCED)
    assert contact.activities.filter(kind=ActivityKind.FIELD_CHANGED).count() == 1


@pytest.mark.parametrize(
    ("status", "reason", "field"), [("active", "", "status"), ("gone", "", "status"), ("bounced", "x" * 501, "reason")]
)
def test_bad_suppressions_are_refused(workspace, status, reason, field):
    contact = ContactFactory(workspace=workspace)
    with pytest.raises(ValidationError) as caught:
        contact_suppress(contact=contact, status=status, reason=reason)
    assert field in caught.value.message_dict
    assert Contact.objects.get(pk=contact.pk).status == ContactStatus.ACTIVE


# --- API ------------------------------------------------------------------------------------------------------


def test_the_export_downloads_as_a_json_attachment(editor):
    contact = ContactFactory(workspace=editor.workspace, email=EMAIL)
    response = editor.client.get(f"/api/v1/contacts/{contact.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["contact"]["email"] == EMAIL


def test_admins_erase_and_editors_may_not(make_member, assert_error):
    admin = make_member(role=Role.ADMIN)
    editor = make_member(workspace=admin.workspace, role=Role.EDITOR)
    contact = ContactFactory(workspace=admin.workspace, email=EMAIL)
    url = f"/api/v1/contacts/{contact.pk}/erase/"
    assert_error(editor.client.post(url, {}, format="json"), 403)
    assert Contact.objects.filter(pk=contact.pk).exists()
    response = admin.client.post(url, {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["erased"]["contacts"] == 1
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert_error(admin.client.post(url, {}, format="json"), 404)


def test_another_workspaces_contact_cannot_be_exported_or_erased(make_member, assert_error):
    admin = make_member(role=Role.ADMIN)
    contact = ContactFactory(workspace=WorkspaceFactory(), email=EMAIL)
    assert_error(admin.client.get(f"/api/v1/contacts/{contact.pk}/export/"), 404)
    assert_error(admin.client.post(f"/api/v1/contacts/{contact.pk}/erase/", {}, format="json"), 404)
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not AuditEvent.objects.filter(action__in=[AuditAction.CONTACT_EXPORTED, AuditAction.CONTACT_ERASED]).exists()


@pytest.mark.parametrize("pk", ["99999999999999999999999", "0"])
def test_unknown_contacts_cannot_be_exported_or_erased(make_member, assert_error, pk):
    admin = make_member(role=Role.ADMIN)
    assert_error(admin.client.get(f"/api/v1/contacts/{pk}/export/"), 404)
    assert_error(admin.client.post(f"/api/v1/contacts/{pk}/erase/", {}, format="json"), 404)
