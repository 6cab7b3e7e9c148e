"""Campaigns API: CRUD, and send, schedule, pause, resume, cancel, test, preview, stats and progress;
the live recipient count of an unsaved audience. Thin: validate types, call a service or selector,
answer with the campaign read back through the viewset's queryset (figures annotated).

Sending, scheduling, pausing, resuming, cancelling and test sends need the role that writes content
(editor and up), the one that publishes sites; reading, previews and counts need membership only."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import Perm
from campaigns.filters import CampaignFilter
from campaigns.models import Campaign
from campaigns.selectors import (
    campaign_list,
    campaign_preview,
    campaign_progress,
    campaign_recipient_count,
    campaign_stats,
)
from campaigns.serializers import (
    AudienceSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    CountSerializer,
    PreviewQuerySerializer,
    ProgressSerializer,
    RenderedSerializer,
    ScheduleSerializer,
    StatsSerializer,
    TestSendResultSerializer,
    TestSendSerializer,
)
from campaigns.services.campaigns import (
    campaign_cancel,
    campaign_create,
    campaign_delete,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    campaign_send,
    campaign_test_send,
    campaign_update,
)
from core.api.viewsets import WorkspaceScopedViewSet
from crm.selectors.contacts import contact_in_workspace

_STATE_CHANGE = extend_schema(request=OpenApiTypes.OBJECT, responses={200: CampaignSerializer})


@extend_schema_view(
    create=extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer}),
    update=extend_schema(request=CampaignCreateSerializer, responses={200: CampaignSerializer}),
    partial_update=extend_schema(request=CampaignWriteSerializer, responses={200: CampaignSerializer}),
    destroy=extend_schema(description="Only a draft can be deleted; a sent campaign stays for its report."),
)
class CampaignViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    lookup_value_regex = "[0-9]+"
    filterset_class = CampaignFilter
    search_fields = ["name", "subject"]
    ordering_fields = ["name", "status", "created_at", "updated_at", "scheduled_at", "started_at"]
    action_permissions = {
        **dict.fromkeys(("send", "schedule", "pause", "resume", "cancel", "test"), Perm.WRITE_CONTENT),
        # Counting an unsaved audience writes nothing.
        "recipient_count": Perm.READ,
    }

    def safely_get_queryset(self, queryset):
        return campaign_list(queryset=queryset)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["zone"] = self.workspace.zone
        return context

    def _respond(self, campaign: Campaign, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=campaign.pk)).data, status=status_code)

    def _validated(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request):
        data = self._validated(CampaignCreateSerializer, request.data)
        campaign = campaign_create(workspace=self.workspace, actor=request.user, **data)
        return self._respond(campaign, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        campaign = self.get_object()
        data = self._validated(CampaignWriteSerializer if partial else CampaignCreateSerializer, request.data)
        return self._respond(campaign_update(campaign=campaign, **data))

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        campaign_delete(campaign=instance)

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: CampaignSerializer},
        description="Send now. A 400 names every missing prerequisite: postal_address (sending settings), "
        "sender (chosen and verified), subject, content (a block at least), audience (someone to send to).",
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        return self._respond(campaign_send(campaign=self.get_object()))

    @extend_schema(request=ScheduleSerializer, responses={200: CampaignSerializer})
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        campaign = self.get_object()
        data = self._validated(ScheduleSerializer, request.data)
        return self._respond(campaign_schedule(campaign=campaign, **data))

    @_STATE_CHANGE
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._respond(campaign_pause(campaign=self.get_object()))

    @_STATE_CHANGE
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._respond(campaign_resume(campaign=self.get_object()))

    @_STATE_CHANGE
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._respond(campaign_cancel(campaign=self.get_object()))

    @extend_schema(request=TestSendSerializer, responses={202: TestSendResultSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """The email as a sample contact would get it, subject marked "[Test] ", to any address."""
        campaign = self.get_object()
        data = self._validated(TestSendSerializer, request.data)
        send = campaign_test_send(campaign=campaign, email=data["email"])
        return Response(TestSendResultSerializer(send).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[PreviewQuerySerializer], responses={200: RenderedSerializer})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        campaign = self.get_object()
        contact_id = self._validated(PreviewQuerySerializer, request.query_params).get("contact")
        contact = None if contact_id is None else contact_in_workspace(workspace=self.workspace, contact_id=contact_id)
        return Response(RenderedSerializer(campaign_preview(campaign, contact)).data)

    @extend_schema(responses={200: StatsSerializer})
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        return Response(StatsSerializer(campaign_stats(self.get_object())).data)

    @extend_schema(responses={200: ProgressSerializer})
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        return Response(ProgressSerializer(campaign_progress(self.get_object())).data)

    @extend_schema(request=AudienceSerializer, responses={200: CountSerializer})
    @action(detail=False, methods=["post"], url_path="recipient-count")
    def recipient_count(self, request):
        """How many sendable contacts an audience (saved or not) reaches now."""
        audience = self._validated(AudienceSerializer, request.data).get("audience")
        return Response({"count": campaign_recipient_count(self.workspace, audience)})
