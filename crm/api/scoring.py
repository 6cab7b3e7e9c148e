"""Lead scoring API: rules (CRUD), the workspace's decay settings, and a contact's score — why it is
what it is (GET) and changes by hand (POST)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from core.api.viewsets import WorkspaceScopedViewSet
from crm.models import Contact, ScoringRule, ScoringSettings
from crm.selectors.scoring import contact_score_explain, scoring_settings_get
from crm.serializers.scoring import (
    ScoreAdjustSerializer,
    ScoreExplanationSerializer,
    ScoringRuleCreateSerializer,
    ScoringRuleSerializer,
    ScoringRuleWriteSerializer,
    ScoringSettingsSerializer,
)
from crm.services.scoring import (
    score_adjust,
    scoring_rule_create,
    scoring_rule_delete,
    scoring_rule_update,
    scoring_settings_update,
)


@extend_schema_view(
    create=extend_schema(request=ScoringRuleCreateSerializer, responses={201: ScoringRuleSerializer}),
    update=extend_schema(request=ScoringRuleWriteSerializer, responses={200: ScoringRuleSerializer}),
    partial_update=extend_schema(request=ScoringRuleWriteSerializer, responses={200: ScoringRuleSerializer}),
)
class ScoringRuleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    """Deleting or changing a rule leaves the points it gave: each change keeps the rule's name."""

    queryset = ScoringRule.objects.all()
    serializer_class = ScoringRuleSerializer
    lookup_value_regex = "[0-9]+"
    filterset_fields = ["event_type", "is_active"]
    search_fields = ["name"]
    ordering_fields = ["name", "points", "created_at"]

    def create(self, request):
        serializer = ScoringRuleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = scoring_rule_create(workspace=self.workspace, **serializer.validated_data)
        return Response(ScoringRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        rule = self.get_object()
        serializer = (ScoringRuleWriteSerializer if partial else ScoringRuleCreateSerializer)(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = scoring_rule_update(rule=rule, **serializer.validated_data)
        return Response(ScoringRuleSerializer(rule).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        scoring_rule_delete(rule=instance)


class ScoringSettingsViewSet(WorkspaceScopedViewSet):
    """The workspace's one settings row, under the workspace's URL (it has no id of its own); the
    defaults until first saved."""

    queryset = ScoringSettings.objects.all()
    serializer_class = ScoringSettingsSerializer

    def retrieve(self, request, workspace_pk=None):
        return Response(ScoringSettingsSerializer(scoring_settings_get(workspace=self.workspace)).data)

    def update(self, request, workspace_pk=None, partial=False):
        current = ScoringSettingsSerializer(scoring_settings_get(workspace=self.workspace)).data
        serializer = ScoringSettingsSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        settings = scoring_settings_update(workspace=self.workspace, **(current | serializer.validated_data))
        return Response(ScoringSettingsSerializer(settings).data)

    def partial_update(self, request, workspace_pk=None):
        return self.update(request, workspace_pk, partial=True)


class ContactScoreViewSet(WorkspaceScopedViewSet):
    """`contacts/{id}/score/`: the explanation, and changes by hand."""

    queryset = Contact.objects.all()
    serializer_class = ScoreExplanationSerializer

    def retrieve(self, request, pk=None):
        return Response(ScoreExplanationSerializer(contact_score_explain(contact=self.get_object())).data)

    @extend_schema(request=ScoreAdjustSerializer, responses={201: ScoreExplanationSerializer})
    def adjust(self, request, pk=None):
        contact = self.get_object()
        serializer = ScoreAdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        score_adjust(contact=contact, actor=request.user, **serializer.validated_data)
        explanation = ScoreExplanationSerializer(contact_score_explain(contact=contact))
        return Response(explanation.data, status=status.HTTP_201_CREATED)
