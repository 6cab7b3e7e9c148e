"""Senders API (CRUD, resending the verification email) and the workspace's sending settings."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import Perm
from campaigns.models import Sender, SendingSettings
from campaigns.serializers import SenderSerializer, SenderWriteSerializer, SendingSettingsSerializer
from campaigns.services.senders import (
    sender_create,
    sender_delete,
    sender_update,
    sender_verification_resend,
    sending_settings_get,
    sending_settings_update,
)
from core.api.viewsets import WorkspaceScopedViewSet


@extend_schema_view(
    create=extend_schema(
        request=SenderWriteSerializer,
        responses={201: SenderSerializer},
        description="Adds a sender awaiting verification and mails the link that verifies it to from_email.",
    ),
    update=extend_schema(request=SenderWriteSerializer, responses={200: SenderSerializer}),
    partial_update=extend_schema(request=SenderWriteSerializer, responses={200: SenderSerializer}),
    destroy=extend_schema(description="Refused while a campaign that went out names the sender."),
)
class SenderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet):
    queryset = Sender.objects.all()
    serializer_class = SenderSerializer
    lookup_value_regex = "[0-9]+"
    filterset_fields = ["status"]
    search_fields = ["from_name", "from_email"]
    ordering_fields = ["from_email", "from_name", "created_at"]

    def _validated(self, request, *, partial: bool) -> dict:
        serializer = SenderWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request):
        sender = sender_create(workspace=self.workspace, **self._validated(request, partial=False))
        return Response(SenderSerializer(sender).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        sender = self.get_object()
        sender = sender_update(sender=sender, **self._validated(request, partial=partial))
        return Response(SenderSerializer(sender).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        sender_delete(sender=instance)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: SenderSerializer})
    @action(detail=True, methods=["post"], url_path="resend-verification")
    def resend_verification(self, request, pk=None):
        """A new verification link (the previous one stops working), mailed again."""
        return Response(SenderSerializer(sender_verification_resend(sender=self.get_object())).data)


class SendingSettingsViewSet(WorkspaceScopedViewSet):
    """The workspace's one settings row, under the workspace's URL; made with the defaults when first
    read. Changing it is a workspace setting (admins and owners): the postal address every email
    prints, open and click tracking, the sending rate."""

    queryset = SendingSettings.objects.all()
    serializer_class = SendingSettingsSerializer
    action_permissions = {"update": Perm.MANAGE_SETTINGS, "partial_update": Perm.MANAGE_SETTINGS}

    def retrieve(self, request, workspace_pk=None):
        return Response(SendingSettingsSerializer(sending_settings_get(workspace=self.workspace)).data)

    def update(self, request, workspace_pk=None, partial=False):
        serializer = SendingSettingsSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        settings = sending_settings_update(workspace=self.workspace, **serializer.validated_data)
        return Response(SendingSettingsSerializer(settings).data)

    def partial_update(self, request, workspace_pk=None):
        return self.update(request, workspace_pk, partial=True)
