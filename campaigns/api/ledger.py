"""The delivery ledger (read only) and the suppression list."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, mixins, status
from rest_framework.response import Response

from campaigns.filters import EmailSendFilter, SuppressionFilter, WorkspaceFilterBackend
from campaigns.models import EmailSend
from campaigns.serializers import EmailSendSerializer, SuppressionCreateSerializer, SuppressionSerializer
from campaigns.services.suppressions import suppression_add, suppression_lift
from core.api.viewsets import WorkspaceScopedViewSet
from crm.models import Contact
from crm.services.gdpr import SUPPRESSED


@extend_schema_view(list=extend_schema(description="Every email the workspace sent or is sending, newest first."))
class EmailSendViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    queryset = EmailSend.objects.all()
    serializer_class = EmailSendSerializer
    lookup_value_regex = "[0-9]+"
    filter_backends = [WorkspaceFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = EmailSendFilter
    search_fields = ["to_email", "subject"]
    ordering_fields = ["queued_at", "sent_at", "status"]


@extend_schema_view(
    list=extend_schema(description="Contacts no marketing mail reaches: unsubscribed, bounced or complained."),
    create=extend_schema(
        request=SuppressionCreateSerializer,
        responses={201: SuppressionSerializer},
        description="Suppress an address (its contact is created when unknown).",
    ),
    destroy=extend_schema(
        description="Lift a bounce or complaint. An unsubscribe is a 400: only the contact can resubscribe."
    ),
)
class SuppressionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    queryset = Contact.objects.all()
    serializer_class = SuppressionSerializer
    lookup_value_regex = "[0-9]+"
    filterset_class = SuppressionFilter
    search_fields = ["email", "first_name", "last_name"]
    ordering_fields = ["email", "updated_at"]

    def safely_get_queryset(self, queryset):
        return queryset.filter(status__in=SUPPRESSED).order_by("-updated_at", "-id")

    def create(self, request):
        serializer = SuppressionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = suppression_add(workspace=self.workspace, actor=request.user, **serializer.validated_data)
        return Response(SuppressionSerializer(contact).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        suppression_lift(contact=instance, actor=self.request.user)
