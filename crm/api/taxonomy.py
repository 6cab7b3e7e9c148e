"""Tags and custom field definitions API. Thin: validate with a serializer, call a service, serialize."""

from django.db.models import Count
from django.db.models.functions import Lower
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from core.api.viewsets import WorkspaceScopedViewSet
from crm.models import CustomField, Tag
from crm.serializers.taxonomy import (
    CustomFieldSerializer,
    CustomFieldWriteSerializer,
    TagSerializer,
    TagWriteSerializer,
)
from crm.services.taxonomy import (
    custom_field_create,
    custom_field_delete,
    custom_field_update,
    tag_create,
    tag_delete,
    tag_update,
)


class _WriteThroughServices(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin):
    """create/update validate `write_serializer_class` (every field optional on update) and answer
    with the object read back through the viewset's queryset, annotations included."""

    lookup_value_regex = "[0-9]+"

    def _validated(self, request, *, partial: bool) -> dict:
        serializer = self.write_serializer_class(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _respond(self, obj, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=status_code)

    def partial_update(self, request, pk=None):
        return self.update(request, pk)


@extend_schema_view(
    create=extend_schema(request=TagWriteSerializer, responses={201: TagSerializer}),
    update=extend_schema(request=TagWriteSerializer, responses={200: TagSerializer}),
    partial_update=extend_schema(request=TagWriteSerializer, responses={200: TagSerializer}),
    destroy=extend_schema(description="Removes the tag from every contact, without a timeline entry for each."),
)
class TagViewSet(_WriteThroughServices, WorkspaceScopedViewSet):
    # Grouped for the count, which drops Meta.ordering: order explicitly.
    queryset = Tag.objects.annotate(contact_count=Count("contact_tags")).order_by(Lower("name"), "id")
    serializer_class = TagSerializer
    write_serializer_class = TagWriteSerializer
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "contact_count"]

    def create(self, request):
        data = self._validated(request, partial=False)
        return self._respond(tag_create(workspace=self.workspace, **data), status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        tag = self.get_object()
        return self._respond(tag_update(tag=tag, **self._validated(request, partial=True)))

    def perform_destroy(self, instance):
        tag_delete(tag=instance)


@extend_schema_view(
    create=extend_schema(request=CustomFieldWriteSerializer, responses={201: CustomFieldSerializer}),
    update=extend_schema(
        request=CustomFieldWriteSerializer,
        responses={200: CustomFieldSerializer},
        description="Changing the type or the options re-checks every stored value: all are converted, "
        "or the change is refused with a 400 saying which contacts hold values that would not fit.",
    ),
    partial_update=extend_schema(request=CustomFieldWriteSerializer, responses={200: CustomFieldSerializer}),
    destroy=extend_schema(description="Deletes the field and every contact's value of it."),
)
class CustomFieldViewSet(_WriteThroughServices, WorkspaceScopedViewSet):
    queryset = CustomField.objects.all()
    serializer_class = CustomFieldSerializer
    write_serializer_class = CustomFieldWriteSerializer
    search_fields = ["key", "label"]
    ordering_fields = ["order", "key", "label", "created_at"]

    def create(self, request):
        data = self._validated(request, partial=False)
        return self._respond(custom_field_create(workspace=self.workspace, **data), status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        field = self.get_object()
        return self._respond(custom_field_update(field=field, **self._validated(request, partial=True)))

    def perform_destroy(self, instance):
        custom_field_delete(field=instance)
