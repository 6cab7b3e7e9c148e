"""Workflows in the dashboard: the list (with each workflow's recent runs and an active switch, search,
a "start from a template" picker), the canvas editor, a workflow's stats, and the execution monitor
(a list with filters and an execution drawn on its graph).

The editor and the stats page are shells: the browser reads and writes through the workflows API, so
the editor and API clients share one write path with one set of checks. The list's switches, new
workflows and an execution's retry / re-run / cancel are small forms over the same services. Objects
are looked up within the current workspace: another workspace's ids are a 404.
"""

import datetime
import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponseBadRequest, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Perm
from accounts.selectors import member_list
from accounts.views import dashboard_view, paginate, render_page, search_text
from builder.components import REGISTRY as COMPONENT_TYPES
from builder.models import Component
from campaigns.models import Campaign, Sender, SenderStatus
from crm.models import Contact, CustomField, Segment, Tag
from crm.views import workspace_object_or_404
from workflows import selectors
from workflows.filters import YEARS
from workflows.library import WORKFLOW_TEMPLATES
from workflows.models import TERMINAL, Execution, ExecutionStatus, StepRun, Workflow, WorkflowStatus
from workflows.nodes import get_node_type
from workflows.services.executions import execution_cancel, execution_rerun, execution_retry
from workflows.services.workflows import workflow_activate, workflow_create, workflow_delete, workflow_pause

#: The most options a config panel's select offers (forms, segments, senders, workflows, tags).
MAX_CHOICES = 200
#: The contact fields update_field and field_changed offer, besides the workspace's custom fields.
CONTACT_FIELDS = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("stage", "Stage"),
]
#: Recent contacts offered as "test as".
TEST_CONTACTS = 25
STAT_FIGURES = [
    ("executions", "Runs"),
    ("success_rate", "Success rate"),
    ("failed", "Failed"),
    ("avg_duration_ms", "Average duration"),
    ("p95_duration_ms", "95th percentile"),
    ("live", "In flight"),
]
_WORKFLOW_FILTERS = [("", "All"), *WorkflowStatus.choices]
_EXECUTION_FILTERS = [("", "All"), *ExecutionStatus.choices]


def _workflow_or_404(access, pk: int) -> Workflow:
    return workspace_object_or_404(Workflow, access, pk, related=("active_version",))


def _editor_config(request, access) -> dict:
    """What every script of the section needs to talk to the API as the signed-in user."""
    return {
        "workspace": access.workspace.pk,
        "api": "/api/v1/",
        "csrfToken": get_token(request),
        "canWrite": access.can(Perm.WRITE_CONTENT),
        "socket": f"/ws/workspaces/{access.workspace.pk}/executions/",
    }


def _query_url(name: str, **params) -> str:
    query = QueryDict(mutable=True)
    for key, value in params.items():
        if value:
            query[key] = value
    return reverse(name) + (f"?{query.urlencode()}" if query else "")


def _back(request, default: str) -> str:
    """Where a form posted from a list sends the browser back to, kept to this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _first_messages(exc: ValidationError, limit: int = 3) -> str:
    """A service's refusal as one sentence for a flash message: the first few reasons, with the
    node or field they are about."""
    if hasattr(exc, "error_dict"):
        parts = []
        for key, errors in exc.message_dict.items():
            label = key.removeprefix("definition.").replace("nodes.", "node ").replace(".config.", " · ")
            parts.extend(f"{label}: {message}" if key != "__all__" else message for message in errors)
    else:
        parts = list(exc.messages)
    more = len(parts) - limit
    text = " ".join(parts[:limit])
    return text + (f" (and {more} more)" if more > 0 else "")


# --- The list ------------------------------------------------------------------------------------------


def _trigger_label(definition) -> str:
    """The trigger's name for the list; a draft is saved as it is, so its shape isn't trusted."""
    trigger = definition.get("trigger") if isinstance(definition, dict) else None
    node_type = get_node_type(trigger.get("type")) if isinstance(trigger, dict) else None
    return node_type.name if node_type else "No trigger"


@dashboard_view(Perm.READ)
@require_GET
def workflow_list(request, access):
    search = search_text(request)
    status = request.GET.get("status", "")
    workflows = Workflow.objects.for_workspace(access.workspace)
    has_workflows = workflows.exists()
    if search:
        workflows = workflows.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if status in WorkflowStatus.values:
        workflows = workflows.filter(status=status)
    else:
        status = ""
    page = paginate(request, selectors.workflow_list(queryset=workflows).order_by("-updated_at", "-id"))
    for workflow in page:
        rate = selectors.success_rate(workflow.executions_succeeded, workflow.executions_failed)
        workflow.success_rate = rate * 100 if rate is not None else None
        workflow.trigger_label = _trigger_label(workflow.definition)
    context = {
        "workflows": page,
        "has_workflows": has_workflows,
        "search": search,
        "status": status,
        "status_filters": [
            (value, label, _query_url("dashboard:workflows", q=search, status=value))
            for value, label in _WORKFLOW_FILTERS
        ],
        "templates": WORKFLOW_TEMPLATES if access.can(Perm.WRITE_CONTENT) else [],
        "recent_days": selectors.SUMMARY_DAYS,
        "tab": "workflows",
    }
    return render_page(request, access, "workflows/list.html", context)


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def workflow_new(request, access):
    """A new workflow, blank or from a template, opened in the editor."""
    name = request.POST.get("name", "").strip()
    template = request.POST.get("template", "").strip()
    # Unnamed, a template's workflow takes the template's name.
    name = name or ("" if template else "Untitled workflow")
    try:
        workflow = workflow_create(workspace=access.workspace, name=name, template=template, actor=request.user)
    except ValidationError as exc:
        messages.error(request, f"Couldn't create the workflow. {_first_messages(exc)}")
        return redirect("dashboard:workflows")
    return redirect("dashboard:workflows-edit", pk=workflow.pk)


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def workflow_status(request, access, pk: int):
    """The list's switch: activate (checking the whole definition first) or pause."""
    workflow = _workflow_or_404(access, pk)
    back = _back(request, reverse("dashboard:workflows"))
    # Anything but the switch's two values is refused: read as "pause", it would stop a live workflow.
    if request.POST.get("active") not in ("0", "1"):
        return HttpResponseBadRequest(
            "active: expected 1 (activate) or 0 (pause).", content_type="text/plain; charset=utf-8"
        )
    activate = request.POST["active"] == "1"
    try:
        if activate:
            version = workflow_activate(workflow=workflow, actor=request.user)
        else:
            workflow_pause(workflow=workflow, actor=request.user)
    except ValidationError as exc:
        verb = "activate" if activate else "pause"
        messages.error(request, f"Couldn't {verb} “{workflow.name}”: {_first_messages(exc)}")
        return redirect(back)
    if activate:
        messages.success(request, f"“{workflow.name}” is active (version {version.number}).")
    else:
        messages.success(request, f"“{workflow.name}” is paused: new triggers no longer start it.")
    return redirect(back)


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def workflow_remove(request, access, pk: int):
    workflow = _workflow_or_404(access, pk)
    name = workflow.name
    try:
        workflow_delete(workflow=workflow)
    except ValidationError as exc:
        messages.error(request, f"Couldn't delete “{name}”: {_first_messages(exc)}")
        return redirect(_back(request, reverse("dashboard:workflows")))
    messages.success(request, f"“{name}” was deleted.")
    return redirect("dashboard:workflows")


# --- Editor and stats ------------------------------------------------------------------------------------


def _choices(workspace, workflow: Workflow) -> dict:
    """What the config panel offers in place of raw ids: this workspace's forms, segments, verified
    senders, other workflows, tags and recent contacts (to test as)."""
    form_types = [name for name, component_type in COMPONENT_TYPES.items() if component_type.is_form]
    forms = (
        Component.objects.for_workspace(workspace)
        .filter(type__in=form_types)
        .select_related("page__site")
        .order_by("page__site__name", "page__title", "position")[:MAX_CHOICES]
    )
    senders = Sender.objects.for_workspace(workspace).filter(status=SenderStatus.VERIFIED).order_by("pk")
    contacts = Contact.objects.for_workspace(workspace).order_by("-created_at", "-id")[:TEST_CONTACTS]
    return {
        "component": [
            {"value": str(form.pk), "label": f"{form.page.site.name} · {form.page.title} · {_form_label(form)}"}
            for form in forms
        ],
        "segment": [
            {"value": pk, "label": name}
            for pk, name in Segment.objects.for_workspace(workspace)
            .order_by("name")
            .values_list("pk", "name")[:MAX_CHOICES]
        ],
        "sender": [{"value": sender.pk, "label": str(sender)} for sender in senders[:MAX_CHOICES]],
        "workflow": [
            {"value": pk, "label": name}
            for pk, name in Workflow.objects.for_workspace(workspace)
            .exclude(pk=workflow.pk)
            .order_by("name")
            .values_list("pk", "name")[:MAX_CHOICES]
        ],
        "campaign": [
            {"value": pk, "label": name}
            for pk, name in Campaign.objects.for_workspace(workspace)
            .order_by("-created_at")
            .values_list("pk", "name")[:MAX_CHOICES]
        ],
        "members": [
            {"value": membership.user_id, "label": f"{membership.user.get_short_name()} <{membership.user.email}>"}
            for membership in member_list(workspace=workspace).order_by("user__email")[:MAX_CHOICES]
        ],
        "contact_field": [
            *({"value": name, "label": label} for name, label in CONTACT_FIELDS),
            *(
                {"value": key, "label": f"{label} (custom)"}
                for key, label in CustomField.objects.for_workspace(workspace).values_list("key", "label")[:MAX_CHOICES]
            ),
        ],
        "tag": list(Tag.objects.for_workspace(workspace).order_by("name").values_list("name", flat=True)[:MAX_CHOICES]),
        "contacts": [{"value": contact.pk, "label": contact.email or f"Contact {contact.pk}"} for contact in contacts],
    }


def _form_label(component: Component) -> str:
    config = component.config if isinstance(component.config, dict) else {}
    title = config.get("title") or config.get("headline") or config.get("heading") or ""
    name = COMPONENT_TYPES[component.type].name
    return f"{name}: {title}" if title else name


@dashboard_view(Perm.READ)
@require_GET
def workflow_edit(request, access, pk: int):
    """The canvas editor's shell. Viewers get it read-only: they can look at every node's settings and
    its versions, but nothing can be dragged, connected, saved or activated."""
    workflow = _workflow_or_404(access, pk)
    config = {
        **_editor_config(request, access),
        "workflow": workflow.pk,
        "listUrl": reverse("dashboard:workflows"),
        "statsUrl": reverse("dashboard:workflows-stats", args=[workflow.pk]),
        "executionsUrl": _query_url("dashboard:workflows-executions", workflow=str(workflow.pk)),
        "executionUrlPattern": reverse("dashboard:workflows-execution", args=[0]),
        "choices": _choices(access.workspace, workflow),
    }
    return render_page(request, access, "workflows/editor.html", {"workflow": workflow, "editor_config": config})


@dashboard_view(Perm.READ)
@require_GET
def workflow_stats(request, access, pk: int):
    workflow = _workflow_or_404(access, pk)
    config = {**_editor_config(request, access), "workflow": workflow.pk}
    context = {
        "workflow": workflow,
        "editor_config": config,
        "executions_url": _query_url("dashboard:workflows-executions", workflow=str(workflow.pk)),
        "stat_figures": STAT_FIGURES,
        "tab": "workflows",
    }
    return render_page(request, access, "workflows/stats.html", context)


# --- Executions -----------------------------------------------------------------------------------------


def _parse_date(value: str) -> datetime.date | None:
    """A date the list can filter by; None for anything else, the calendar's ends included (the day
    after 9999-12-31 doesn't exist)."""
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        return None
    return day if YEARS[0] <= day.year <= YEARS[1] else None


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight of `day` in the workspace's time zone (active in dashboard views)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dashboard_view(Perm.READ)
@require_GET
def execution_list(request, access):
    workspace = access.workspace
    workflows = list(Workflow.objects.for_workspace(workspace).order_by("name", "id").only("id", "name"))
    executions = Execution.objects.for_workspace(workspace)
    has_executions = executions.exists()
    filters = {"workflow": "", "status": "", "from": "", "to": "", "q": search_text(request)}
    workflow_id = request.GET.get("workflow", "")
    if any(str(workflow.pk) == workflow_id for workflow in workflows):
        executions = executions.filter(workflow_id=int(workflow_id))
        filters["workflow"] = workflow_id
    status = request.GET.get("status", "")
    if status in ExecutionStatus.values:
        executions = executions.filter(status=status)
        filters["status"] = status
    if start := _parse_date(request.GET.get("from", "")):
        executions = executions.filter(created_at__gte=_day_start(start))
        filters["from"] = start.isoformat()
    if end := _parse_date(request.GET.get("to", "")):
        executions = executions.filter(created_at__lt=_day_start(end + datetime.timedelta(days=1)))
        filters["to"] = end.isoformat()
    if filters["q"]:
        executions = executions.filter(contact__email__icontains=filters["q"])
    page = paginate(request, selectors.execution_list(queryset=executions).order_by("-created_at", "-id"))
    query = {key: value for key, value in filters.items() if key != "status"}
    context = {
        "executions": page,
        "has_executions": has_executions,
        "workflows": workflows,
        "filters": filters,
        "filtered": any(filters.values()),
        "status_filters": [
            (value, label, _query_url("dashboard:workflows-executions", **query, status=value))
            for value, label in _EXECUTION_FILTERS
        ],
        "editor_config": _editor_config(request, access),
        "page_ids": [execution.pk for execution in page],
        "tab": "executions",
    }
    return render_page(request, access, "workflows/executions.html", context)


def _step_payload(step: StepRun) -> dict:
    return {
        "id": step.pk,
        "node_id": step.node_id,
        "node_type": step.node_type,
        "status": step.status,
        "port": step.port,
        "input": step.input,
        "output": step.output,
        "error": step.error,
        "attempt": step.attempt,
        "pruned": step.pruned,
        "started_at": step.started_at.isoformat() if step.started_at else None,
        "duration_ms": step.duration_ms,
    }


@dashboard_view(Perm.READ)
@require_GET
def execution_detail(request, access, pk: int):
    execution = workspace_object_or_404(Execution, access, pk, related=("workflow", "version", "contact"))
    steps = list(StepRun.objects.filter(execution=execution).order_by("id"))
    graph = {
        "execution": execution.pk,
        "status": execution.status,
        "current_node": execution.current_node,
        "trigger_data": execution.trigger_data,
        "definition": execution.version.definition,
        "steps": [_step_payload(step) for step in steps],
    }
    context = {
        "execution": execution,
        "steps": steps,
        "graph": graph,
        "trigger_json": json.dumps(execution.trigger_data, indent=2, ensure_ascii=False, sort_keys=True),
        "editor_config": _editor_config(request, access),
        "is_terminal": execution.status in TERMINAL,
        "can_retry": execution.status == ExecutionStatus.FAILED,
        "can_cancel": execution.status not in TERMINAL,
        "tab": "executions",
    }
    return render_page(request, access, "workflows/execution.html", context)


_EXECUTION_ACTIONS = {
    "retry": (execution_retry, "Retrying from the failed step."),
    "rerun": (execution_rerun, "Started again from the beginning, on the current version."),
    "cancel": (execution_cancel, "Cancelled."),
}


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def execution_action(request, access, pk: int, action: str):
    execution = workspace_object_or_404(Execution, access, pk)
    service, success = _EXECUTION_ACTIONS[action]
    try:
        result = service(execution=execution)
    except ValidationError as exc:
        messages.error(request, f"Couldn't {action} this execution: {_first_messages(exc)}")
        return redirect("dashboard:workflows-execution", pk=execution.pk)
    messages.success(request, success)
    target = result if action == "rerun" and isinstance(result, Execution) else execution
    return redirect("dashboard:workflows-execution", pk=target.pk)
