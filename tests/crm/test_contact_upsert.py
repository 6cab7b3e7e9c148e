"""Upserting contacts by email: one contact per address, merged without losing stored values."""

import pytest
from django.core.exceptions import ValidationError

from core.models import Event
from crm.events import CONTACT_CREATED, CONTACT_UPDATED, TAG_ADDED
from crm.models import ActivityKind, Contact, ContactActivity, CustomFieldType
from crm.services.contacts import contact_update, contact_upsert
from tests.factories import CustomFieldFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_same_email_in_any_case_or_spacing_is_one_contact(workspace):
    first, created = contact_upsert(workspace=workspace, email="Ada@Example.com")
    again, created_again = contact_upsert(workspace=workspace, email="  ada@example.COM ")
    assert created and not created_again
    assert again.pk == first.pk
    assert first.email == "ada@example.com"
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_the_same_email_in_another_workspace_is_another_contact(workspace):
    contact_upsert(workspace=workspace, email="ada@example.com")
    other, created = contact_upsert(workspace=WorkspaceFactory(), email="ada@example.com")
    assert created
    assert other.workspace_id != workspace.pk


def test_an_empty_value_never_overwrites_a_stored_one(workspace):
    contact_upsert(workspace=workspace, email="ada@example.com", first_name="Ada", company="Analytical Engines")
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com", first_name="", company="  ")
    contact.refresh_from_db()
    assert (contact.first_name, contact.company) == ("Ada", "Analytical Engines")


def test_a_new_value_replaces_the_stored_one_and_is_on_the_timeline(workspace):
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com", company="Old Co")
    contact_upsert(workspace=workspace, email="ada@example.com", company="New Co")
    contact.refresh_from_db()
    assert contact.company == "New Co"
    change = ContactActivity.objects.get(contact=contact, kind=ActivityKind.FIELD_CHANGED)
    assert change.data == {"field": "company", "from": "Old Co", "to": "New Co"}
    updated = Event.objects.get(type=CONTACT_UPDATED)
    assert updated.payload == {"contact_id": contact.pk, "changed": ["company"]}


def test_creation_and_tags_are_announced_once(workspace):
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com", tags=["VIP", "vip ", "Beta"])
    contact_upsert(workspace=workspace, email="ada@example.com", tags=["VIP"])
    assert Event.objects.filter(type=CONTACT_CREATED).count() == 1
    assert sorted(e.payload["tag"] for e in Event.objects.filter(type=TAG_ADDED)) == ["Beta", "VIP"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Beta", "VIP"]
    assert not Event.objects.filter(type=CONTACT_UPDATED).exists()


def test_phone_is_stored_as_e164(workspace, settings):
    settings.PHONE_DEFAULT_REGION = "US"
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com", phone="(415) 555-0132")
    assert contact.phone == "+14155550132"
    contact, _ = contact_upsert(workspace=workspace, email="bob@example.com", phone="+44 20 7946 0958")
    assert contact.phone == "+442079460958"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"email": "ada@example.com", "phone": "12"}, "phone"),
        ({"email": "ada@example.com", "first_name": "x" * 101}, "first_name"),
        ({"email": "ada@example.com", "stage": "prospect"}, "stage"),
        ({"email": "ada@example.com", "custom_fields": {"nope": 1}}, "custom_fields.nope"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(workspace, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        contact_upsert(workspace=workspace, **kwargs)
    assert field in exc.value.message_dict
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("type", "options", "given", "stored"),
    [
        (CustomFieldType.TEXT, [], "  Berlin ", "Berlin"),
        (CustomFieldType.NUMBER, [], "1,200", 1200),
        (CustomFieldType.NUMBER, [], 2.5, 2.5),
        (CustomFieldType.DATE, [], "2026-03-01", "2026-03-01"),
        (CustomFieldType.BOOLEAN, [], "yes", True),
        (CustomFieldType.SELECT, ["Starter", "Pro"], "pro", "Pro"),
    ],
)
def test_custom_values_are_stored_in_their_type(workspace, type, options, given, stored):
    CustomFieldFactory(workspace=workspace, key="f", type=type, options=options)
    contact, _ = contact_upsert(workspace=workspace, email="ada@example.com", custom_fields={"f": given})
    contact.refresh_from_db()
    assert contact.custom_fields == {"f": stored}


@pytest.mark.parametrize(
    ("type", "options", "given"),
    [
        (CustomFieldType.NUMBER, [], "lots"),
        (CustomFieldType.NUMBER, [], True),
        (CustomFieldType.NUMBER, [], "nan"),
        (CustomFieldType.DATE, [], "31/02/2026"),
        (CustomFieldType.BOOLEAN, [], "maybe"),
        (CustomFieldType.SELECT, ["Starter", "Pro"], "Enterprise"),
        (CustomFieldType.TEXT, [], "x" * 1001),
    ],
)
def test_bad_custom_values_are_refused_with_their_path(workspace, type, options, given):
    CustomFieldFactory(workspace=workspace, key="f", type=type, options=options)
    with pytest.raises(ValidationError) as exc:
        contact_upsert(workspace=workspace, email="ada@example.com", custom_fields={"f": given})
    assert list(exc.value.message_dict) == ["custom_fields.f"]


def test_an_edit_can_clear_a_field_and_cannot_take_another_contacts_email(workspace):
    CustomFieldFactory(workspace=workspace, key="city")
    contact, _ = contact_upsert(
        workspace=workspace, email="ada@example.com", company="Acme", custom_fields={"city": "Paris"}
    )
    contact_upsert(workspace=workspace, email="bob@example.com")
    contact = contact_update(contact=contact, data={"company": "", "custom_fields": {"city": None}})
    assert contact.company == ""
    assert contact.custom_fields == {}
    with pytest.raises(ValidationError) as exc:
        contact_update(contact=contact, data={"email": "BOB@example.com"})
    assert "email" in exc.value.message_dict
