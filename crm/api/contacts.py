"""Contacts API: the list (filters, search, ordering), CRUD, bulk actions and each contact's timeline.
Thin: validate with a serializer, call a service or selector, serialize."""

from functools import cached_property

import django_filters
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.viewsets import WorkspaceScopedViewSet
from crm.filters import ContactFilter
from crm.models import ActivityKind, Contact, ContactActivity, ContactSource
from crm.selectors.contacts import ORDERING_FIELDS, contact_list, tags_prefetch
from crm.serializers.contacts import (
    ActivitySerializer,
    ContactBulkResultSerializer,
    ContactBulkSerializer,
    ContactCreateSerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    NoteCreateSerializer,
)
from crm.services.bulk import contacts_bulk
from crm.services.contacts import contact_note_add
from crm.services.manual import contact_create, contact_delete, contact_edit

#: Everything written through the API is marked as coming from it, whoever holds the credentials.
SOURCE = ContactSource.API


@extend_schema_view(
    list=extend_schema(
        description="Newest first unless `ordering` says otherwise. `search` matches every word against "
        "email, first and last name; a number matches phone digits however it is typed."
    ),
    create=extend_schema(request=ContactCreateSerializer, responses={201: ContactSerializer}),
    update=extend_schema(request=ContactUpdateSerializer, responses={200: ContactSerializer}),
    partial_update=extend_schema(request=ContactUpdateSerializer, responses={200: ContactSerializer}),
    destroy=extend_schema(description="Deletes the contact for good, with its timeline and consents."),
)
class ContactViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    lookup_value_regex = "[0-9]+"
    queryset = Contact.objects.prefetch_related(tags_prefetch())
    serializer_class = ContactSerializer
    # These describe the list's parameters in the schema; list() applies them through contact_list,
    # the selector the dashboard and bulk actions share.
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = ContactFilter
    search_fields = ["email", "first_name", "last_name", "phone"]
    ordering_fields = list(ORDERING_FIELDS)

    def filter_queryset(self, queryset):
        return queryset  # a contact is looked up by id alone; the list filters in contact_list

    def list(self, request):
        params = request.query_params
        contacts = contact_list(
            workspace=self.workspace,
            filters=params,
            search=params.get("search", ""),
            ordering=params.get("ordering", ""),
        )
        page = self.paginate_queryset(contacts)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _respond(self, contact: Contact, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=contact.pk)).data, status=status_code)

    def create(self, request):
        serializer = ContactCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = contact_create(
            workspace=self.workspace, data=serializer.validated_data, source=SOURCE, actor=request.user
        )
        return self._respond(contact, status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        contact = self.get_object()
        serializer = ContactUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = contact_edit(contact=contact, data=serializer.validated_data, source=SOURCE, actor=request.user)
        return self._respond(contact)

    def partial_update(self, request, pk=None):
        return self.update(request, pk)

    def perform_destroy(self, instance):
        contact_delete(contact=instance)

    @extend_schema(request=ContactBulkSerializer, responses={200: ContactBulkResultSerializer})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Tag, untag or delete many contacts: by id, or all that a filter of the list matches."""
        serializer = ContactBulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        affected = contacts_bulk(
            workspace=self.workspace,
            action=data["action"],
            ids=data.get("ids"),
            filters=data.get("filter"),
            names=data.get("tags", []),
            source=SOURCE,
            actor=request.user,
        )
        return Response({"affected": affected})


class ActivityFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(
        choices=ActivityKind.choices, distinct=False, help_text="Repeat for any of several kinds."
    )

    class Meta:
        model = ContactActivity
        fields = ["kind"]


@extend_schema_view(create=extend_schema(request=NoteCreateSerializer, responses={201: ActivitySerializer}))
class ContactActivityViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """A contact's timeline, newest first; adding to it by hand means adding a note."""

    queryset = ContactActivity.objects.select_related("actor")
    serializer_class = ActivitySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter

    @cached_property
    def contact(self) -> Contact:
        return get_object_or_404(Contact.objects.for_workspace(self.workspace), pk=self.kwargs["contact_pk"])

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.contact  # noqa: B018 — another workspace's contact is a 404 before any input is read

    def safely_get_queryset(self, queryset):
        return queryset.filter(contact_id=self.contact.pk).order_by("-at", "-id")

    def create(self, request, contact_pk=None):
        serializer = NoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = contact_note_add(contact=self.contact, text=serializer.validated_data["text"], actor=request.user)
        return Response(self.get_serializer(note).data, status=status.HTTP_201_CREATED)
