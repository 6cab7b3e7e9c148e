"""Staff tools for workflows: listed, searched and inspected, never changed here. A workflow changes
in the product, where every save is checked and activation writes a version; an execution's row is
the engine's state, and a hand edit could run a step twice or never. Webhook tokens and secrets are
credentials and are not shown."""

from django.contrib import admin

from crm.admin import ReadOnlyAdminMixin
from workflows.models import Execution, StepRun, Workflow, WorkflowVersion


def _fields_but(model, *hidden: str) -> tuple[str, ...]:
    return tuple(field.name for field in model._meta.fields if field.name not in ("id", *hidden))


@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "workspace", "status", "trigger_type", "active_version", "updated_at")
    list_filter = ("status", "trigger_type")
    list_select_related = ("workspace", "active_version")
    search_fields = ("name", "description", "workspace__name")
    date_hierarchy = "created_at"
    fields = readonly_fields = _fields_but(Workflow, "hook_token", "hook_secret")


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("workflow", "number", "workspace", "created_by", "created_at")
    list_select_related = ("workflow", "workspace", "created_by")
    search_fields = ("workflow__name", "workspace__name")
    fields = readonly_fields = _fields_but(WorkflowVersion)


class StepRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StepRun
    extra = 0
    fields = readonly_fields = (
        "node_id",
        "node_type",
        "status",
        "port",
        "attempt",
        "error",
        "started_at",
        "duration_ms",
        "pruned",
    )


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "workflow", "workspace", "status", "current_node", "created_at", "duration_ms")
    list_filter = ("status",)
    list_select_related = ("workflow", "workspace")
    search_fields = ("workflow__name", "trigger_key", "error")
    raw_id_fields = ("contact", "version", "rerun_of")
    date_hierarchy = "created_at"
    # Executions pile up; counting all of them for the "N total" link is not worth it.
    show_full_result_count = False
    fields = readonly_fields = _fields_but(Execution, "lease_token")
    inlines = [StepRunInline]
