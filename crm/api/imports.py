"""Contact import and export API.

Imports: upload a CSV file with its column mapping (multipart) → 202 and the import, processed in the
background; retrieve it for its progress; `errors/` is the report of rejected rows (CSV, or JSON with
?format=json); `preview/` reads an upload's columns and first rows for the mapping step.

Exports: POST records who exports which contacts (all, a segment, the list's filters) and answers
with a `download_url` that streams the CSV file.
"""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.roles import Perm
from core.api.viewsets import WorkspaceScopedViewSet
from core.csv import CsvResponse, csv_safe
from crm.models import ContactExport, ContactImport, Segment
from crm.selectors.imports import contact_import_errors, contact_import_report_columns, import_error_cells
from crm.serializers.imports import (
    ContactExportCreateSerializer,
    ContactExportSerializer,
    ContactImportCreateSerializer,
    ContactImportErrorSerializer,
    ContactImportPreviewRequestSerializer,
    ContactImportPreviewSerializer,
    ContactImportSerializer,
)
from crm.services.exports import contact_export_create, contact_export_stream
from crm.services.imports import contact_import_create, contact_import_preview

#: Room for the multipart envelope and the other form fields around the file.
MULTIPART_SLACK_BYTES = 256 * 1024
CSV_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="A CSV file (text/csv).")


@extend_schema_view(
    create=extend_schema(
        request={"multipart/form-data": ContactImportCreateSerializer}, responses={202: ContactImportSerializer}
    ),
)
class ContactImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    queryset = ContactImport.objects.all()
    serializer_class = ContactImportSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    lookup_value_regex = "[0-9]+"
    ordering_fields = ["created_at"]

    @staticmethod
    def max_body_bytes() -> int:
        return settings.CRM_IMPORT_MAX_BYTES + MULTIPART_SLACK_BYTES

    def create(self, request):
        serializer = ContactImportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact_import = contact_import_create(
            workspace=self.workspace,
            file=data["file"],
            filename=data["file"].name,
            mapping=data["mapping"],
            tags=data["tags"],
            actor=request.user,
        )
        return Response(ContactImportSerializer(contact_import).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json"], description="json for a paginated JSON list.")],
        responses={200: CSV_RESPONSE},
    )
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        contact_import = self.get_object()
        errors = contact_import_errors(contact_import=contact_import)
        if request.query_params.get("format") == "json":
            page = self.paginate_queryset(errors)
            return self.get_paginated_response(ContactImportErrorSerializer(page, many=True).data)
        columns = contact_import_report_columns(contact_import=contact_import)

        def rows():
            yield ["row", "reason", *columns]
            for error in errors.iterator(chunk_size=2000):
                raw = import_error_cells(error.row)
                yield [csv_safe(cell) for cell in [error.row_number, error.reason, *(raw.get(c) for c in columns)]]

        stem = contact_import.filename.rsplit(".", 1)[0] or "contacts"
        return CsvResponse(rows(), filename=f"{_filename_safe(stem)}-rejected-rows.csv")

    @extend_schema(
        request={"multipart/form-data": ContactImportPreviewRequestSerializer},
        responses={200: ContactImportPreviewSerializer},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        serializer = ContactImportPreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = contact_import_preview(workspace=self.workspace, file=serializer.validated_data["file"])
        return Response(ContactImportPreviewSerializer(preview).data)


def _filename_safe(text: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in text)[:80] or "contacts"


@extend_schema_view(
    create=extend_schema(request=ContactExportCreateSerializer, responses={201: ContactExportSerializer}),
)
class ContactExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    queryset = ContactExport.objects.select_related("workspace", "segment")
    serializer_class = ContactExportSerializer
    lookup_value_regex = "[0-9]+"
    ordering_fields = ["created_at"]
    # Whoever may read the contacts may export them; the export itself is the record of it.
    action_permissions = {"create": Perm.READ}

    def create(self, request):
        serializer = ContactExportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment = None
        if (segment_id := serializer.validated_data.get("segment")) is not None:
            segment = Segment.objects.for_workspace(self.workspace).filter(pk=segment_id).first()
            if segment is None:
                raise ValidationError({"segment": [f"No segment {segment_id} in this workspace."]})
        export = contact_export_create(
            workspace=self.workspace,
            segment=segment,
            filters=serializer.validated_data.get("filters"),
            actor=request.user,
        )
        return Response(ContactExportSerializer(export).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: CSV_RESPONSE})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        export = self.get_object()
        name = _filename_safe(export.segment.name if export.segment else "contacts")
        return CsvResponse(contact_export_stream(export=export), filename=f"{name}-{timezone.localdate():%Y-%m-%d}.csv")
