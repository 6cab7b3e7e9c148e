"""The CRM's admin: every page opens; the timeline and consents are read-only; field definitions
change only where stored values are re-checked."""

import pytest
from django.urls import reverse

from crm.models import ConsentRecord, Contact, ContactActivity, ContactImport, CustomField, ScoringRule, Segment, Tag
from tests.factories import (
    ContactActivityFactory,
    ContactFactory,
    ContactImportFactory,
    CustomFieldFactory,
    ScoringRuleFactory,
    SegmentFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def crm_objects():
    contact = ContactFactory(first_name="Ada")
    workspace = contact.workspace
    return {
        Contact: contact,
        ContactActivity: ContactActivityFactory(contact=contact, data={"text": "<b>Called</b>"}),
        ConsentRecord: ConsentRecord.objects.create(workspace=workspace, contact=contact, granted=True, text="Yes"),
        Tag: TagFactory(workspace=workspace),
        CustomField: CustomFieldFactory(workspace=workspace, key="plan"),
        Segment: SegmentFactory(workspace=workspace),
        ScoringRule: ScoringRuleFactory(workspace=workspace),
        ContactImport: ContactImportFactory(workspace=workspace),
    }


def url(model, view: str, *args) -> str:
    return reverse(f"admin:crm_{model._meta.model_name}_{view}", args=args)


def test_every_crm_list_and_page_opens(staff, crm_objects):
    for model, obj in crm_objects.items():
        assert staff.get(url(model, "changelist")).status_code == 200, model
        assert staff.get(url(model, "change", obj.pk)).status_code == 200, model


def test_the_contact_page_shows_its_timeline_escaped(staff, crm_objects):
    content = staff.get(url(Contact, "change", crm_objects[Contact].pk)).content.decode()
    assert "Note" in content
    assert "&lt;b&gt;Called&lt;/b&gt;" in content and "<b>Called</b>" not in content


@pytest.mark.parametrize("model", [Contact, ContactActivity, ConsentRecord, ContactImport])
def test_evidence_cannot_be_changed_or_deleted(staff, crm_objects, model):
    obj = crm_objects[model]
    before = list(model.objects.filter(pk=obj.pk).values())
    assert staff.post(url(model, "change", obj.pk), {}).status_code == 403
    assert staff.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert staff.get(url(model, "add")).status_code == 403
    assert list(model.objects.filter(pk=obj.pk).values()) == before


def test_a_custom_fields_type_and_options_are_not_editable_here(staff, crm_objects):
    field = crm_objects[CustomField]
    response = staff.post(
        url(CustomField, "change", field.pk), {"label": "Plan", "order": 3, "type": "number", "key": "other"}
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.order, field.type, field.key) == ("Plan", 3, "text", "plan")
