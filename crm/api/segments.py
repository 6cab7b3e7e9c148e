"""Segments API: CRUD, who is in a segment, how many, a preview of unsaved rules, and the catalog of
fields and operators the segment builder renders from. Rules are checked by crm.segments; a bad one
is a 400 naming its path, e.g. rules.rules.2.value."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import Perm
from core.api.viewsets import WorkspaceScopedViewSet
from crm.models import Segment
from crm.selectors.contacts import tags_prefetch
from crm.selectors.segments import segment_contacts, segment_count, segment_preview, segment_rule_catalog
from crm.serializers.contacts import ContactSerializer
from crm.serializers.segments import (
    CatalogFieldSerializer,
    SegmentCountSerializer,
    SegmentCreateSerializer,
    SegmentPreviewSerializer,
    SegmentRulesSerializer,
    SegmentSerializer,
    SegmentWriteSerializer,
)
from crm.services.segments import segment_create, segment_delete, segment_update


@extend_schema_view(
    create=extend_schema(request=SegmentCreateSerializer, responses={201: SegmentSerializer}),
    update=extend_schema(request=SegmentCreateSerializer, responses={200: SegmentSerializer}),
    partial_update=extend_schema(request=SegmentWriteSerializer, responses={200: SegmentSerializer}),
)
class SegmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer
    lookup_value_regex = "[0-9]+"
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]
    # Previewing unsaved rules writes nothing.
    action_permissions = {"preview": Perm.READ}

    def create(self, request):
        serializer = SegmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment = segment_create(workspace=self.workspace, actor=request.user, **serializer.validated_data)
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        segment = self.get_object()
        serializer = (SegmentWriteSerializer if partial else SegmentCreateSerializer)(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment = segment_update(segment=segment, **serializer.validated_data)
        return Response(SegmentSerializer(segment).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        segment_delete(segment=instance)

    @extend_schema(responses={200: ContactSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def contacts(self, request, pk=None):
        contacts = segment_contacts(segment=self.get_object()).prefetch_related(tags_prefetch())
        page = self.paginate_queryset(contacts)
        return self.get_paginated_response(ContactSerializer(page, many=True).data)

    @extend_schema(responses={200: SegmentCountSerializer})
    @action(detail=True, methods=["get"])
    def count(self, request, pk=None):
        return Response({"count": segment_count(segment=self.get_object())})

    @extend_schema(request=SegmentRulesSerializer, responses={200: SegmentPreviewSerializer})
    @action(detail=False, methods=["post"])
    def preview(self, request):
        serializer = SegmentRulesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = segment_preview(workspace=self.workspace, rules=serializer.validated_data["rules"])
        return Response(SegmentPreviewSerializer(preview).data)

    @extend_schema(responses={200: CatalogFieldSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def catalog(self, request):
        return Response(segment_rule_catalog(workspace=self.workspace))
