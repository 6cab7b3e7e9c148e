"""Contacts, their timeline and bulk actions."""

import operator

from rest_framework import serializers

from crm.filters import ContactFilter
from crm.models import Contact, ContactActivity, ContactStatus, LifecycleStage, Tag
from crm.services.bulk import BULK_ACTIONS, BULK_MAX
from crm.services.fields import EMAIL_MAX
from crm.services.tags import TAG_NAME_MAX

TAGS_MAX = 50


class AttributeReadMixin:
    """Reads each field straight from its attribute, with the field's own to_representation, the
    lookups resolved once per serializer rather than once per row and field: DRF's general path
    (get_attribute, callables, PKOnlyObject checks) takes about half as long again for a page of 25
    contacts with their tags. For read-only serializers whose fields are attributes, not methods."""

    def to_representation(self, instance) -> dict:
        plan = self.__dict__.get("_read_plan")
        if plan is None:
            plan = self._read_plan = [
                (field.field_name, operator.attrgetter(".".join(field.source_attrs)), field.to_representation)
                for field in self._readable_fields
            ]
        row = {}
        for name, read, represent in plan:
            value = read(instance)
            row[name] = None if value is None else represent(value)
        return row


class TagBriefSerializer(AttributeReadMixin, serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color"]
        read_only_fields = fields


class ContactSerializer(AttributeReadMixin, serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text="First and last name together.")
    tags = TagBriefSerializer(many=True, read_only=True)
    custom_fields = serializers.DictField(read_only=True, help_text="Custom field key → value (dates as YYYY-MM-DD).")

    class Meta:
        model = Contact
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "name",
            "phone",
            "company",
            "tags",
            "custom_fields",
            "score",
            "stage",
            "status",
            "source",
            "source_ref",
            "created_at",
            "updated_at",
            "last_activity_at",
        ]
        read_only_fields = fields


def _text(max_length: int, help_text: str = "") -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, allow_null=True, help_text=help_text
    )


class _ContactWriteSerializer(serializers.Serializer):
    first_name = _text(100)
    last_name = _text(100)
    phone = _text(40, "Any common format; stored as E.164 (+14155550123).")
    company = _text(200)
    stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    custom_fields = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        help_text="Custom field key → value, checked against the field's type.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_NAME_MAX),
        max_length=TAGS_MAX,
        required=False,
        help_text="Tag names; missing tags are created.",
    )


class ContactCreateSerializer(_ContactWriteSerializer):
    email = serializers.CharField(max_length=EMAIL_MAX)


class ContactUpdateSerializer(_ContactWriteSerializer):
    """Only what is given changes; an empty value clears a field. `tags`, when given, is the whole set."""

    email = serializers.CharField(max_length=EMAIL_MAX, required=False)
    status = serializers.ChoiceField(choices=ContactStatus.choices, required=False)


class ContactBulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=BULK_MAX,
        required=False,
        help_text=f"Contact ids, at most {BULK_MAX}; ids not in this workspace are left alone.",
    )
    filter = serializers.DictField(
        required=False,
        help_text=(
            "Instead of ids: the contact list's filter parameters and `search`, e.g. "
            '{"stage": ["lead"], "tag": ["vip"], "score_min": 10}. '
            f"Parameters: {', '.join(ContactFilter.base_filters)}."
        ),
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_NAME_MAX),
        max_length=TAGS_MAX,
        required=False,
        help_text="Tag names, for tag and untag.",
    )


class ContactBulkResultSerializer(serializers.Serializer):
    affected = serializers.IntegerField(help_text="Contacts changed: tagged, untagged or deleted.")


class ActivitySerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = ContactActivity
        fields = ["id", "kind", "ref", "data", "source", "actor", "actor_name", "at"]
        read_only_fields = fields

    def get_actor_name(self, activity: ContactActivity) -> str:
        actor = activity.actor
        return (actor.name or actor.email) if actor is not None else ""


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)
