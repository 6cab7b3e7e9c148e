"""API shapes of workflows, their versions and stats, executions and their steps, the node type
catalog and the template library. Serializers check types; the services check the rest (the
definition in full, names, ids in the workspace), naming each field."""

from django.urls import reverse
from rest_framework import serializers

from core.ids import ID_MAX
from workflows.models import Execution, StepRun, Workflow, WorkflowVersion
from workflows.selectors import success_rate

DEFINITION_HELP = (
    '{"trigger": {"type", "config"}, "nodes": [{"id", "type", "config", "position"?, "name"?}], '
    '"edges": [{"source", "target", "port"?}], "reentry"?: {"policy": "always|once|interval", "days"?}}; '
    "see workflow-node-types for each type's config schema and ports."
)


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


class WorkflowSummarySerializer(serializers.Serializer):
    """The list's figures, over the last 30 days (live: now)."""

    executions = serializers.IntegerField(source="executions_total")
    succeeded = serializers.IntegerField(source="executions_succeeded")
    failed = serializers.IntegerField(source="executions_failed")
    live = serializers.IntegerField(source="executions_live", help_text="Pending, running or waiting now.")
    success_rate = serializers.SerializerMethodField(help_text="Succeeded over succeeded and failed, 0 to 1.")
    last_execution_at = serializers.DateTimeField(allow_null=True)

    def get_success_rate(self, workflow) -> float | None:
        return success_rate(workflow.executions_succeeded, workflow.executions_failed)


class ActiveVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()


class WorkflowSerializer(serializers.ModelSerializer):
    active_version = serializers.SerializerMethodField()
    stats = WorkflowSummarySerializer(source="*", read_only=True)
    hook_path = serializers.SerializerMethodField(
        help_text="Where a webhook trigger listens (POST); shown to roles that edit workflows only."
    )
    hook_secret = serializers.SerializerMethodField(
        help_text="The webhook trigger's signing key (Standard Webhooks); roles that edit workflows only."
    )

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "description",
            "status",
            "definition",
            "active_version",
            "trigger_type",
            "trigger_ref",
            "template",
            "hook_path",
            "hook_secret",
            "stats",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_active_version(self, workflow) -> ActiveVersionSerializer(allow_null=True):
        if workflow.active_version_id is None:
            return None
        return {"id": workflow.active_version_id, "number": workflow.active_version_number}

    def _can_write(self) -> bool:
        return bool(self.context.get("can_write"))

    def get_hook_path(self, workflow) -> str | None:
        return f"/hooks/{workflow.hook_token}/" if self._can_write() else None

    def get_hook_secret(self, workflow) -> str | None:
        return (workflow.hook_secret or None) if self._can_write() else None


class WorkflowDetailSerializer(WorkflowSerializer):
    has_changes = serializers.SerializerMethodField(
        help_text="The draft differs from the active version: activate to run the changes."
    )

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "has_changes"]
        read_only_fields = fields

    def get_has_changes(self, workflow) -> bool:
        version = workflow.active_version
        return version is None or version.definition != workflow.definition


class WorkflowWriteSerializer(serializers.Serializer):
    """Every field optional (PATCH); WorkflowPutSerializer requires name and definition (PUT)."""

    name = serializers.CharField(max_length=None, required=False, allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    definition = serializers.JSONField(required=False, help_text=DEFINITION_HELP)


class WorkflowCreateSerializer(WorkflowWriteSerializer):
    template = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Start from a library template (its slug)."
    )


class WorkflowPutSerializer(WorkflowWriteSerializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    definition = serializers.JSONField(help_text=DEFINITION_HELP)


class WorkflowValidateSerializer(serializers.Serializer):
    definition = serializers.JSONField(required=False, help_text="Check this instead of the saved draft.")


class WorkflowValidResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()


class DryRunSerializer(serializers.Serializer):
    trigger_data = serializers.DictField(
        required=False, default=dict, help_text="What the trigger would pass on, e.g. a form submission's fields."
    )
    contact = _id_field(required=False, allow_null=True, help_text="Run for this contact (its id).")
    definition = serializers.JSONField(required=False, help_text="Run this instead of the saved draft.")


class DryRunStepSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    node_type = serializers.CharField()
    status = serializers.CharField()
    port = serializers.CharField(allow_null=True, allow_blank=True)
    input = serializers.JSONField(allow_null=True)
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_blank=True, allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)


class DryRunResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["succeeded", "failed"])
    steps = DryRunStepSerializer(many=True)


class WorkflowStatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30, help_text="The window, 1 to 365 days.")


class WaitingAtSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    count = serializers.IntegerField()


class WorkflowDailySerializer(serializers.Serializer):
    date = serializers.DateField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()


class WorkflowStatsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    executions = serializers.IntegerField(help_text="Started in the window.")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    running = serializers.IntegerField(help_text="Pending or running now.")
    waiting = serializers.IntegerField(help_text="Waiting now.")
    success_rate = serializers.FloatField(allow_null=True, help_text="Succeeded over succeeded and failed, 0 to 1.")
    avg_duration_ms = serializers.IntegerField(allow_null=True)
    p95_duration_ms = serializers.IntegerField(allow_null=True)
    waiting_at = WaitingAtSerializer(many=True, help_text="Executions waiting now at each node, most first.")
    daily = WorkflowDailySerializer(many=True, help_text="Per day in the workspace's time zone.")


class WorkflowVersionSerializer(serializers.ModelSerializer):
    created_by_name = serializers.SerializerMethodField()
    is_active = serializers.SerializerMethodField()
    executions = serializers.IntegerField(source="executions_count", read_only=True)

    class Meta:
        model = WorkflowVersion
        fields = ["id", "number", "created_by", "created_by_name", "created_at", "is_active", "executions"]
        read_only_fields = fields

    def get_created_by_name(self, version) -> str:
        user = version.created_by
        return (user.name or user.email) if user else ""

    def get_is_active(self, version) -> bool:
        workflow = self.context.get("workflow")
        return workflow is not None and workflow.active_version_id == version.pk


class WorkflowVersionDetailSerializer(WorkflowVersionSerializer):
    class Meta(WorkflowVersionSerializer.Meta):
        fields = [*WorkflowVersionSerializer.Meta.fields, "definition"]
        read_only_fields = fields


class ExecutionWorkflowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ExecutionContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()


class ExecutionSerializer(serializers.ModelSerializer):
    """A list row; also what the live monitor receives."""

    workflow = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="version_number", read_only=True, help_text="The version's number.")
    contact = serializers.SerializerMethodField()

    class Meta:
        model = Execution
        fields = [
            "id",
            "workflow",
            "version",
            "contact",
            "status",
            "current_node",
            "error",
            "rerun_of",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "updated_at",
        ]
        read_only_fields = fields

    def get_workflow(self, execution) -> ExecutionWorkflowSerializer:
        return {"id": execution.workflow_id, "name": execution.workflow_name}

    def get_contact(self, execution) -> ExecutionContactSerializer(allow_null=True):
        if execution.contact_id is None:
            return None
        return {"id": execution.contact_id, "email": execution.contact_email or ""}


class StepRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = [
            "id",
            "node_id",
            "node_type",
            "status",
            "port",
            "input",
            "output",
            "error",
            "attempt",
            "pruned",
            "started_at",
            "finished_at",
            "duration_ms",
        ]
        read_only_fields = fields


class ExecutionDetailSerializer(ExecutionSerializer):
    version = serializers.SerializerMethodField(help_text="The version's number.")
    version_id = serializers.IntegerField(read_only=True)
    steps = StepRunSerializer(many=True, read_only=True)
    definition = serializers.JSONField(source="version.definition", read_only=True)

    class Meta(ExecutionSerializer.Meta):
        fields = [
            *ExecutionSerializer.Meta.fields,
            "version_id",
            "trigger_data",
            "resume_at",
            "wait_event",
            "steps",
            "definition",
        ]
        read_only_fields = fields

    def get_version(self, execution) -> int:
        return execution.version.number


class NodeTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    kind = serializers.ChoiceField(choices=["trigger", "action", "logic"])
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    schema = serializers.JSONField(help_text="The config's JSON Schema.")
    ports = serializers.ListField(child=serializers.CharField(), help_text="Output ports with the default config.")
    dynamic_ports = serializers.BooleanField(help_text="Ports follow the config (a switch's branches, a split).")


class WorkflowTemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    definition = serializers.JSONField()


class ComponentWorkflowSerializer(serializers.ModelSerializer):
    edit_url = serializers.SerializerMethodField(help_text="The workflow in the dashboard's editor.")

    class Meta:
        model = Workflow
        fields = ["id", "name", "status", "trigger_type", "edit_url"]
        read_only_fields = fields

    def get_edit_url(self, workflow) -> str:
        return reverse("dashboard:workflows-edit", args=[workflow.pk])
