"""Tags and custom field definitions."""

from rest_framework import serializers

from crm.models import CustomField, CustomFieldType, Tag
from crm.services.taxonomy import OPTION_MAX_LENGTH, OPTIONS_MAX


class TagSerializer(serializers.ModelSerializer):
    contact_count = serializers.IntegerField(read_only=True, help_text="Contacts with this tag.")

    class Meta:
        model = Tag
        fields = ["id", "name", "color", "contact_count", "created_at"]
        read_only_fields = fields


class TagWriteSerializer(serializers.Serializer):
    """Validated with partial=True for updates, where every field is optional."""

    name = serializers.CharField(max_length=Tag._meta.get_field("name").max_length)
    color = serializers.CharField(max_length=7, required=False, allow_blank=True, help_text="#rrggbb, or blank.")


class CustomFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomField
        fields = ["id", "key", "label", "type", "options", "order", "created_at"]
        read_only_fields = fields


class CustomFieldWriteSerializer(serializers.Serializer):
    """Validated with partial=True for updates, where every field is optional."""

    key = serializers.CharField(
        max_length=CustomField._meta.get_field("key").max_length, help_text="Fixed once created."
    )
    label = serializers.CharField(max_length=CustomField._meta.get_field("label").max_length)
    type = serializers.ChoiceField(choices=CustomFieldType.choices)
    options = serializers.ListField(
        child=serializers.CharField(max_length=OPTION_MAX_LENGTH),
        required=False,
        max_length=OPTIONS_MAX,
        help_text="The choices of a select field; only a select field has them.",
    )
    order = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
