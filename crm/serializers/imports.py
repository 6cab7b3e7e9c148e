"""Import and export API shapes. The upload, its mapping and the filters are checked by the
services (one place for the rules); these only parse the multipart form and shape the answers."""

import json

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.models import ContactExport, ContactImport, ContactImportError
from crm.selectors.imports import import_error_cells


class ContactImportSerializer(serializers.ModelSerializer):
    errors_url = serializers.SerializerMethodField(help_text="The rejected rows with their reasons, as CSV.")

    class Meta:
        model = ContactImport
        fields = [
            "id",
            "filename",
            "mapping",
            "tags",
            "status",
            "total",
            "processed",
            "created",
            "updated",
            "failed",
            "error",
            "errors_url",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_errors_url(self, contact_import) -> str:
        return reverse("contact-import-errors", args=[contact_import.pk])


@extend_schema_field(OpenApiTypes.OBJECT)
class JsonObjectField(serializers.Field):
    """A JSON object sent as a string (multipart forms carry text only) or as an object."""

    default_error_messages = {"invalid": "Expected a JSON object."}

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class ContactImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file: UTF-8, comma, semicolon or tab separated, a header row.")
    mapping = JsonObjectField(
        help_text='Column name → "email", "first_name", "last_name", "phone", "company", "stage", "status", '
        '"tags", "custom:<key>", or "" to skip. Exactly one column maps to email.'
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        required=False,
        default=list,
        help_text="Tags added to every imported contact (repeat the field, or separate names with commas).",
    )

    def validate_tags(self, tags: list[str]) -> list[str]:
        return [name.strip() for value in tags for name in value.split(",") if name.strip()]


class ContactImportPreviewRequestSerializer(serializers.Serializer):
    file = serializers.FileField()


class ImportTargetSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class ContactImportPreviewSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField(allow_blank=True))
    sample_rows = serializers.ListField(child=serializers.ListField(child=serializers.CharField(allow_blank=True)))
    suggested_mapping = serializers.DictField(child=serializers.CharField(allow_blank=True))
    delimiter = serializers.CharField()
    targets = ImportTargetSerializer(many=True)


class ContactImportErrorSerializer(serializers.ModelSerializer):
    row = serializers.SerializerMethodField(help_text="The row's cells by column name, in file order.")

    class Meta:
        model = ContactImportError
        fields = ["row_number", "reason", "row"]
        read_only_fields = fields

    def get_row(self, error) -> dict[str, str]:
        return import_error_cells(error.row)


class ContactExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField(help_text="GET it for the CSV file, streamed.")

    class Meta:
        model = ContactExport
        fields = [
            "id",
            "segment",
            "filters",
            "status",
            "row_count",
            "download_url",
            "created_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_download_url(self, export) -> str:
        return reverse("contact-export-download", args=[export.pk])


class ContactExportCreateSerializer(serializers.Serializer):
    segment = serializers.IntegerField(required=False, allow_null=True, help_text="Only this segment's contacts.")
    filters = JsonObjectField(
        required=False,
        help_text="The contact list's filters, as its query parameters: tag, stage, status, score range, "
        "created range, search.",
    )
