"""Segment API shapes. Rules are checked by crm.segments (one place for them); the serializers only
check that they are JSON objects."""

from rest_framework import serializers

from crm.models import Segment
from crm.serializers.contacts import ContactSerializer


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rules", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class SegmentWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    rules = serializers.JSONField(
        required=False, help_text='{"match": "all"|"any", "rules": [condition or group, …]}; see the catalog.'
    )


class SegmentCreateSerializer(SegmentWriteSerializer):
    name = serializers.CharField(max_length=200)
    rules = serializers.JSONField(help_text='{"match": "all"|"any", "rules": [condition or group, …]}.')


class SegmentRulesSerializer(serializers.Serializer):
    rules = serializers.JSONField(help_text='{"match": "all"|"any", "rules": [condition or group, …]}.')


class SegmentCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class SegmentPreviewSerializer(SegmentCountSerializer):
    sample = ContactSerializer(many=True)


class CatalogOpSerializer(serializers.Serializer):
    op = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField(help_text="none, text, number, date, days, choices, tag or activity.")


class CatalogChoiceSerializer(serializers.Serializer):
    value = serializers.JSONField()
    label = serializers.CharField()


class CatalogFieldSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='What a condition\'s "field" says, e.g. "company" or "custom.plan".')
    label = serializers.CharField()
    type = serializers.CharField()
    group = serializers.CharField(help_text="contact or custom.")
    ops = CatalogOpSerializer(many=True)
    choices = CatalogChoiceSerializer(many=True, required=False)
