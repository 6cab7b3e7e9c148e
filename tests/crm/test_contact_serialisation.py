"""The contact list's serialiser reads attributes directly for speed; it must say exactly what DRF's
own field-by-field reading says, for every field and for empty values."""

import datetime

import pytest
from django.utils import timezone
from rest_framework import serializers

from crm.models import ContactTag
from crm.selectors.contacts import contact_list
from crm.serializers.contacts import ContactSerializer, TagBriefSerializer
from tests.factories import ContactFactory, TagFactory

pytestmark = pytest.mark.django_db


def drf_representation(serializer_class, instance):
    """What DRF's general Serializer.to_representation makes of `instance`, tags included."""

    def general(self, obj):
        return serializers.Serializer.to_representation(self, obj)

    original = serializer_class.to_representation, TagBriefSerializer.to_representation
    serializer_class.to_representation = TagBriefSerializer.to_representation = general
    try:
        return serializer_class(instance).data
    finally:
        serializer_class.to_representation, TagBriefSerializer.to_representation = original


def test_a_listed_contact_reads_as_drf_would_read_it(workspace):
    contact = ContactFactory(
        workspace=workspace,
        phone="+14155550132",
        company="Acme",
        custom_fields={"plan": "Pro", "seats": 12, "renews": "2027-01-31", "note": None},
        score=42,
        last_activity_at=timezone.now() - datetime.timedelta(days=3),
    )
    for name in ("vip", "Alpha"):
        ContactTag.objects.create(workspace=workspace, contact=contact, tag=TagFactory(workspace=workspace, name=name))
    listed = contact_list(workspace=workspace).get()

    data = ContactSerializer(listed).data

    assert data == drf_representation(ContactSerializer, listed)
    assert [tag["name"] for tag in data["tags"]] == ["Alpha", "vip"]
    assert data["custom_fields"]["note"] is None
    assert data["last_activity_at"].endswith("Z")


def test_empty_values_read_as_drf_would_read_them(workspace):
    contact = ContactFactory(workspace=workspace, first_name="", last_name="", last_activity_at=None)
    listed = contact_list(workspace=workspace).get()

    data = ContactSerializer(listed).data

    assert data == drf_representation(ContactSerializer, listed)
    assert data["last_activity_at"] is None
    assert data["tags"] == []
    assert data["name"] == ""
    assert data["id"] == contact.pk
