"""A visitor's form submission becomes a contact: upserted by email, on the timeline, with consent."""

import pytest

from builder.services.submissions import form_submission_create
from core.events import dispatch
from core.models import DeliveryStatus, Event, EventDelivery
from crm.events import CONTACT_CREATED, CONTACT_UPDATED
from crm.models import ActivityKind, ConsentRecord, Contact, ContactActivity, ContactSource, CustomFieldType
from tests.factories import ComponentFactory, CustomFieldFactory, PageFactory, SiteFactory

pytestmark = pytest.mark.django_db

HANDLER = "crm.handlers.contact_from_form_submission"


@pytest.fixture
def form(workspace):
    page = PageFactory(site=SiteFactory(workspace=workspace))
    return ComponentFactory(page=page, type="contact_form")


def submit(form, data: dict, *, consent: bool = False, consent_text: str = ""):
    if consent_text:
        form.config = {**form.config, "consent": {"enabled": True, "text": consent_text}}
    submission = form_submission_create(
        component=form, data=data, consent_given=consent, ip="203.0.113.9", user_agent="Test"
    )
    event = Event.objects.get(type="form.submitted", subject=f"builder.formsubmission:{submission.pk}")
    dispatch.process_event(event.pk)
    return submission, event


def test_a_submission_creates_the_contact_with_what_the_form_asked(workspace, form):
    submission, event = submit(
        form, {"name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+44 20 7946 0958", "message": "Hi"}
    )
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.email, contact.first_name, contact.last_name, contact.phone) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
        "+442079460958",
    )
    assert (contact.source, contact.source_ref) == (ContactSource.FORM, str(form.pk))
    assert contact.last_activity_at == submission.created_at
    activity = ContactActivity.objects.get(contact=contact, kind=ActivityKind.FORM_SUBMITTED)
    assert activity.ref == str(form.pk)
    assert activity.data["submission_id"] == submission.pk
    assert activity.data["answers"]["message"] == "Hi"
    assert Event.objects.filter(type=CONTACT_CREATED, payload__contact_id=contact.pk).count() == 1
    assert EventDelivery.objects.get(event=event, handler=HANDLER).status == DeliveryStatus.SUCCEEDED


def test_a_second_submission_merges_into_the_same_contact(workspace, form):
    submit(form, {"name": "Ada Lovelace", "email": "ada@example.com", "company": "Engines"})
    submit(form, {"name": "", "email": " ADA@example.com", "company": "Difference Engines"})
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.first_name, contact.company) == ("Ada", "Difference Engines")
    assert contact.activities.filter(kind=ActivityKind.FORM_SUBMITTED).count() == 2
    assert Event.objects.filter(type=CONTACT_UPDATED).get().payload["changed"] == ["company"]


def test_consent_is_recorded_with_the_words_shown(workspace, form):
    submission, _ = submit(
        form, {"email": "ada@example.com"}, consent=True, consent_text="Yes, send me the monthly newsletter."
    )
    record = ConsentRecord.objects.get(contact__email="ada@example.com")
    assert record.granted
    assert record.text == "Yes, send me the monthly newsletter."
    assert record.ip_hash == submission.ip_hash != ""
    assert record.source_ref == str(form.pk)


def test_no_consent_no_record(workspace, form):
    submit(form, {"email": "ada@example.com"})
    assert not ConsentRecord.objects.exists()


def test_answers_the_crm_cannot_take_do_not_lose_the_lead(workspace, form):
    CustomFieldFactory(workspace=workspace, key="budget", type=CustomFieldType.NUMBER)
    CustomFieldFactory(workspace=workspace, key="city", type=CustomFieldType.TEXT)
    submit(form, {"email": "ada@example.com", "phone": "call me", "budget": "lots", "city": "Paris"})
    contact = Contact.objects.get(workspace=workspace)
    assert contact.phone == ""
    assert contact.custom_fields == {"city": "Paris"}
    answers = contact.activities.get(kind=ActivityKind.FORM_SUBMITTED).data["answers"]
    assert answers["phone"] == "call me" and answers["budget"] == "lots"


def test_a_form_without_an_email_makes_no_contact(workspace, form):
    _, event = submit(form, {"name": "Anonymous"})
    assert not Contact.objects.exists()
    assert EventDelivery.objects.get(event=event, handler=HANDLER).status == DeliveryStatus.SUCCEEDED
