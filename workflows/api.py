"""Workflows API: workflows (CRUD, validate, activate, pause, test run, stats), their versions (list,
restore), executions (list, detail with steps, retry, re-run, cancel), the node type catalog and the
template library. Thin: validate types, call a service or selector, answer with the object read
back through the viewset's queryset.

Viewers read everything, validation included (it writes nothing); editing, activating, pausing,
test runs and acting on executions need the role that writes content."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Perm
from campaigns.filters import WorkspaceFilterBackend
from core.api.viewsets import WorkspaceScopedViewSet
from crm.selectors.contacts import contact_in_workspace
from workflows.catalog import node_type_catalog
from workflows.filters import ExecutionFilter, WorkflowFilter
from workflows.library import WORKFLOW_TEMPLATES
from workflows.models import Execution, Workflow, WorkflowVersion
from workflows.selectors import (
    execution_detail,
    execution_list,
    workflow_list,
    workflow_stats,
    workflow_version_list,
)
from workflows.serializers import (
    DryRunResultSerializer,
    DryRunSerializer,
    ExecutionDetailSerializer,
    ExecutionSerializer,
    NodeTypeSerializer,
    WorkflowCreateSerializer,
    WorkflowDetailSerializer,
    WorkflowPutSerializer,
    WorkflowSerializer,
    WorkflowStatsQuerySerializer,
    WorkflowStatsSerializer,
    WorkflowTemplateSerializer,
    WorkflowValidateSerializer,
    WorkflowValidResultSerializer,
    WorkflowVersionDetailSerializer,
    WorkflowVersionSerializer,
    WorkflowWriteSerializer,
)
from workflows.services.executions import execution_cancel, execution_rerun, execution_retry, workflow_dry_run
from workflows.services.workflows import (
    workflow_activate,
    workflow_create,
    workflow_definition_clean,
    workflow_delete,
    workflow_pause,
    workflow_update,
    workflow_version_restore,
)

#: Actions that take no input accept an empty JSON object.
NO_INPUT = OpenApiTypes.OBJECT


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(description="Most recently changed first; each row with its last 30 days' figures."),
    create=extend_schema(request=WorkflowCreateSerializer, responses={201: WorkflowDetailSerializer}),
    update=extend_schema(request=WorkflowPutSerializer, responses={200: WorkflowDetailSerializer}),
    partial_update=extend_schema(request=WorkflowWriteSerializer, responses={200: WorkflowDetailSerializer}),
    retrieve=extend_schema(responses={200: WorkflowDetailSerializer}),
    destroy=extend_schema(description="Deletes the workflow with its versions and executions."),
)
class WorkflowViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet
):
    queryset = Workflow.objects.all()
    serializer_class = WorkflowSerializer
    lookup_value_regex = "[0-9]+"
    filterset_class = WorkflowFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "status", "created_at", "updated_at"]
    action_permissions = {
        # Checking a definition writes nothing.
        "validate": Perm.READ,
        **dict.fromkeys(("activate", "pause", "test"), Perm.WRITE_CONTENT),
    }

    def safely_get_queryset(self, queryset):
        return workflow_list(queryset=queryset)

    def get_serializer_class(self):
        return WorkflowSerializer if self.action == "list" else WorkflowDetailSerializer

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["can_write"] = self.workspace_access.can(Perm.WRITE_CONTENT)
        return context

    def _respond(self, workflow: Workflow, status_code: int = status.HTTP_200_OK) -> Response:
        workflow = self.get_queryset().get(pk=workflow.pk)
        return Response(WorkflowDetailSerializer(workflow, context=self.get_serializer_context()).data, status_code)

    def create(self, request):
        data = _validated(WorkflowCreateSerializer, request.data)
        workflow = workflow_create(workspace=self.workspace, actor=request.user, **data)
        return self._respond(workflow, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        workflow = self.get_object()
        data = _validated(WorkflowWriteSerializer if partial else WorkflowPutSerializer, request.data)
        return self._respond(workflow_update(workflow=workflow, actor=request.user, **data))

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        workflow_delete(workflow=instance)

    @extend_schema(
        request=WorkflowValidateSerializer,
        responses={200: WorkflowValidResultSerializer},
        description="Check the saved draft, or the definition given, in full. A 400 names each problem by "
        "its path: definition.nodes.<id>.config.<field>, definition.edges.<i>.target, definition.trigger.type…",
    )
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        workflow = self.get_object()
        data = _validated(WorkflowValidateSerializer, request.data)
        definition = data.get("definition", workflow.definition)
        workflow_definition_clean(workspace=self.workspace, definition=definition, workflow=workflow)
        return Response({"valid": True})

    @extend_schema(
        request=NO_INPUT,
        responses={200: WorkflowDetailSerializer},
        description="Run the draft: checked in full, frozen as a new version unless it equals the latest. "
        "Executions in flight keep the version they started on.",
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        workflow = self.get_object()
        workflow_activate(workflow=workflow, actor=request.user)
        return self._respond(workflow)

    @extend_schema(
        request=NO_INPUT,
        responses={200: WorkflowDetailSerializer},
        description="Stop starting executions; those in flight run to their end.",
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._respond(workflow_pause(workflow=self.get_object(), actor=request.user))

    @extend_schema(
        request=DryRunSerializer,
        responses={200: DryRunResultSerializer},
        description="A dry run with sample trigger data: every step runs, actions with outside effects "
        "(emails, tags, requests) are simulated and show what they would do; waits don't wait; nothing is stored.",
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        workflow = self.get_object()
        data = _validated(DryRunSerializer, request.data)
        contact_id = data.get("contact")
        contact = None if contact_id is None else contact_in_workspace(workspace=self.workspace, contact_id=contact_id)
        definition = workflow_definition_clean(
            workspace=self.workspace, definition=data.get("definition", workflow.definition), workflow=workflow
        )
        result = workflow_dry_run(
            workspace=self.workspace, definition=definition, trigger_data=data["trigger_data"], contact=contact
        )
        return Response(DryRunResultSerializer(result).data)

    @extend_schema(parameters=[WorkflowStatsQuerySerializer], responses={200: WorkflowStatsSerializer})
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        workflow = self.get_object()
        days = _validated(WorkflowStatsQuerySerializer, request.query_params)["days"]
        return Response(WorkflowStatsSerializer(workflow_stats(workflow=workflow, days=days)).data)


@extend_schema_view(retrieve=extend_schema(responses={200: WorkflowVersionDetailSerializer}))
class WorkflowVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    """A workflow's versions, newest first: one per activation that changed something."""

    queryset = WorkflowVersion.objects.all()
    serializer_class = WorkflowVersionSerializer
    lookup_value_regex = "[0-9]+"
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["number", "created_at"]
    action_permissions = {"restore": Perm.WRITE_CONTENT}

    @property
    def workflow(self) -> Workflow:
        if not hasattr(self, "_workflow"):
            self._workflow = get_object_or_404(
                Workflow.objects.for_workspace(self.workspace), pk=self.kwargs["workflow_pk"]
            )
        return self._workflow

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.workflow  # noqa: B018 — another workspace's workflow is a 404 before any input is read

    def safely_get_queryset(self, queryset):
        return workflow_version_list(queryset=queryset.filter(workflow_id=self.workflow.pk)).order_by("-number")

    def get_serializer_class(self):
        return WorkflowVersionDetailSerializer if self.action == "retrieve" else WorkflowVersionSerializer

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["workflow"] = self.workflow
        return context

    @extend_schema(
        request=NO_INPUT,
        responses={200: WorkflowDetailSerializer},
        description="Make this version the draft again; an active workflow is re-activated with it (as a new "
        "version). Answers with the workflow.",
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, workflow_pk=None, pk=None):
        workflow = workflow_version_restore(workflow=self.workflow, version=self.get_object(), actor=request.user)
        workflow = workflow_list(queryset=Workflow.objects.for_workspace(self.workspace)).get(pk=workflow.pk)
        context = {**self.get_serializer_context(), "can_write": self.workspace_access.can(Perm.WRITE_CONTENT)}
        return Response(WorkflowDetailSerializer(workflow, context=context).data)


_EXECUTION_ACTION = extend_schema(request=NO_INPUT, responses={200: ExecutionDetailSerializer})


@extend_schema_view(
    list=extend_schema(description="Newest first: filter by workflow, status, contact and start date."),
    retrieve=extend_schema(responses={200: ExecutionDetailSerializer}),
)
class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    queryset = Execution.objects.all()
    serializer_class = ExecutionSerializer
    lookup_value_regex = "[0-9]+"
    filter_backends = [WorkspaceFilterBackend, filters.OrderingFilter]
    filterset_class = ExecutionFilter
    ordering_fields = ["created_at", "started_at", "finished_at", "duration_ms", "status"]
    action_permissions = dict.fromkeys(("retry", "rerun", "cancel"), Perm.WRITE_CONTENT)

    def safely_get_queryset(self, queryset):
        if self.action == "list":
            return execution_list(queryset=queryset)
        return execution_detail(queryset=queryset)

    def get_serializer_class(self):
        return ExecutionSerializer if self.action == "list" else ExecutionDetailSerializer

    def _respond(self, execution: Execution, status_code: int = status.HTTP_200_OK) -> Response:
        execution = self.get_queryset().get(pk=execution.pk)
        return Response(ExecutionDetailSerializer(execution).data, status=status_code)

    @extend_schema(
        request=NO_INPUT,
        responses={200: ExecutionDetailSerializer},
        description="Run a failed execution again from the step that failed, on the same version.",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        execution = self.get_object()
        execution_retry(execution=execution)
        return self._respond(execution)

    @extend_schema(
        request=NO_INPUT,
        responses={201: ExecutionDetailSerializer},
        description="Start a new execution from the beginning, with the same trigger data and contact, on the "
        "workflow's active version. Answers with the new execution.",
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        return self._respond(execution_rerun(execution=self.get_object()), status.HTTP_201_CREATED)

    @_EXECUTION_ACTION
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = self.get_object()
        execution_cancel(execution=execution)
        return self._respond(execution)


class NodeTypeListView(APIView):
    """Every node type: its kind, JSON Schema and ports. The same for every workspace."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(operation_id="workflow_node_types_list", responses={200: NodeTypeSerializer(many=True)})
    def get(self, request):
        return Response(NodeTypeSerializer(node_type_catalog(), many=True).data)


class WorkflowTemplateListView(APIView):
    """Ready-made workflows to start from (POST workflows/ with their slug as `template`)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(operation_id="workflow_templates_list", responses={200: WorkflowTemplateSerializer(many=True)})
    def get(self, request):
        return Response(WorkflowTemplateSerializer(WORKFLOW_TEMPLATES, many=True).data)
