"""Reading workflows and executions: the list with a small summary per workflow, a workflow's
stats, execution rows for the monitor (list, detail, live updates), and the workflows a form
component starts."""

import datetime
import math

from django.db.models import Avg, Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from builder.components import REGISTRY
from workflows.models import Execution, ExecutionStatus, StepRun, Workflow, WorkflowVersion

#: The list's summary and the stats default cover this many days.
SUMMARY_DAYS = 30
STATS_DAYS_MAX = 365
#: The trigger a form component starts.
FORM_TRIGGER = "form_submitted"
LIVE = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.WAITING)


def success_rate(succeeded: int, failed: int) -> float | None:
    """Succeeded over finished (succeeded and failed), 0 to 1; None before anything finished."""
    finished = succeeded + failed
    return round(succeeded / finished, 4) if finished else None


def _count(executions: QuerySet) -> Subquery:
    """COUNT(*) of a correlated execution set, evaluated per returned row only (after LIMIT)."""
    counted = executions.order_by().values("workflow_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def workflow_list(*, queryset: QuerySet[Workflow], now: datetime.datetime | None = None) -> QuerySet[Workflow]:
    """Workflows with a summary of the last SUMMARY_DAYS days: executions started, succeeded,
    failed; executions live now (pending, running, waiting); the latest start. Each figure is a
    correlated subquery on the (workflow, status, created_at) index, so a page costs one query
    whatever the number of rows or executions."""
    since = (now or timezone.now()) - datetime.timedelta(days=SUMMARY_DAYS)
    mine = Execution.objects.filter(workflow_id=OuterRef("pk"))
    recent = mine.filter(created_at__gte=since)
    last = mine.order_by("-created_at").values("created_at")[:1]
    return (
        queryset.select_related("active_version")
        .defer("active_version__definition")
        .annotate(
            executions_total=_count(recent),
            executions_succeeded=_count(recent.filter(status=ExecutionStatus.SUCCEEDED)),
            executions_failed=_count(recent.filter(status=ExecutionStatus.FAILED)),
            executions_live=_count(mine.filter(status__in=LIVE)),
            last_execution_at=Subquery(last),
            active_version_number=F("active_version__number"),
        )
    )


def workflow_version_list(*, queryset: QuerySet[WorkflowVersion]) -> QuerySet[WorkflowVersion]:
    return queryset.select_related("created_by").annotate(executions_count=_count_versions())


def _count_versions() -> Subquery:
    counted = (
        Execution.objects.filter(version_id=OuterRef("pk")).order_by().values("version_id").annotate(n=Count("pk"))
    )
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), Value(0))


def _p95(durations: QuerySet, total: int) -> int | None:
    """The 95th percentile of `total` durations by nearest rank, read with one ordered OFFSET (any
    database)."""
    if not total:
        return None
    rank = math.ceil(0.95 * total)
    return durations.order_by("duration_ms").values_list("duration_ms", flat=True)[rank - 1]


def workflow_stats(*, workflow: Workflow, days: int = SUMMARY_DAYS, now: datetime.datetime | None = None) -> dict:
    """Executions started in the last `days` days by outcome, the success rate (succeeded over
    succeeded and failed), the average and p95 duration of finished ones, and per day in the
    workspace's time zone the succeeded and failed ones. `running` and `waiting` and `waiting_at`
    (contacts waiting at each node) are as of now, whenever the execution started."""
    now = now or timezone.now()
    zone = workflow.workspace.zone
    today = now.astimezone(zone).date()
    first_day = today - datetime.timedelta(days=days - 1)
    since = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=zone)
    executions = Execution.objects.filter(workflow=workflow)
    window = executions.filter(created_at__gte=since)

    # The window's counts, and the average over finished runs, in one pass over its rows.
    timed = Q(status__in=(ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED), duration_ms__isnull=False)
    figures = window.order_by().aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in ExecutionStatus.values},
        timed=Count("pk", filter=timed),
        average=Avg("duration_ms", filter=timed),
    )
    by_status = {status: figures[status] for status in ExecutionStatus.values}
    live = dict(executions.filter(status__in=LIVE).order_by().values_list("status").annotate(n=Count("pk")))
    succeeded = by_status[ExecutionStatus.SUCCEEDED]
    failed = by_status[ExecutionStatus.FAILED]
    average = figures["average"]

    waiting_at = [
        {"node_id": node_id, "count": count}
        for node_id, count in executions.filter(status=ExecutionStatus.WAITING)
        .order_by()
        .values_list("current_node")
        .annotate(n=Count("pk"))
        .order_by("-n", "current_node")
    ]

    daily = {first_day + datetime.timedelta(days=offset): {"succeeded": 0, "failed": 0} for offset in range(days)}
    rows = (
        window.filter(status__in=(ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED))
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values_list("day", "status")
        .annotate(n=Count("pk"))
    )
    for day, status, count in rows:
        if day in daily:
            daily[day][status] = count

    return {
        "days": days,
        "executions": sum(by_status.values()),
        "succeeded": succeeded,
        "failed": failed,
        "cancelled": by_status.get(ExecutionStatus.CANCELLED, 0),
        "running": live.get(ExecutionStatus.PENDING, 0) + live.get(ExecutionStatus.RUNNING, 0),
        "waiting": live.get(ExecutionStatus.WAITING, 0),
        "success_rate": success_rate(succeeded, failed),
        "avg_duration_ms": round(average) if average is not None else None,
        "p95_duration_ms": _p95(window.filter(timed), figures["timed"]),
        "waiting_at": waiting_at,
        "daily": [{"date": day, **figures} for day, figures in daily.items()],
    }


def execution_list(*, queryset: QuerySet[Execution]) -> QuerySet[Execution]:
    """Execution rows with what a list row names (workflow name, version number, contact email)
    joined in, without loading the version's definition or the contact's row."""
    return queryset.annotate(
        workflow_name=F("workflow__name"),
        version_number=F("version__number"),
        contact_email=F("contact__email"),
    ).defer("state", "trigger_data")


def execution_detail(*, queryset: QuerySet[Execution]) -> QuerySet[Execution]:
    """An execution with its steps in order and the definition of the version it runs."""
    return (
        queryset.select_related("version")
        .annotate(workflow_name=F("workflow__name"), contact_email=F("contact__email"))
        .prefetch_related(Prefetch("steps", queryset=StepRun.objects.order_by("id")))
    )


def execution_rows(*, workspace_id: int, ids=None, after: tuple | None = None, limit: int = 200) -> list[Execution]:
    """Rows for the live monitor: these executions, or those changed after a cursor (updated_at,
    id), oldest change first so the cursor can follow them."""
    executions = execution_list(queryset=Execution.objects.filter(workspace_id=workspace_id))
    if ids is not None:
        executions = executions.filter(pk__in=list(ids))
    if after is not None:
        moment, last_id = after
        executions = executions.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=last_id)).order_by(
            "updated_at", "id"
        )
    return list(executions[:limit])


def component_workflows(*, component) -> QuerySet[Workflow]:
    """The workflows a form component starts: a form_submitted trigger naming it or any form, in
    the draft or in the active version (the copy kept on the row for the handlers)."""
    component_type = REGISTRY.get(component.type)
    if component_type is None or not component_type.is_form:
        return Workflow.objects.none()
    ref = str(component.pk)
    active = Q(trigger_type=FORM_TRIGGER, trigger_ref__in=["", ref])
    draft_config = "definition__trigger__config__component"
    draft = Q(definition__trigger__type=FORM_TRIGGER) & (
        Q(**{draft_config: ref}) | Q(**{draft_config: ""}) | Q(**{f"{draft_config}__isnull": True})
    )
    return Workflow.objects.for_workspace(component.workspace).filter(active | draft).order_by("name", "id")


def execution_for_trigger(*, workflow: Workflow, trigger_key: str) -> int | None:
    """The id of the execution this trigger key already started in the workflow, if any."""
    return Execution.objects.filter(workflow=workflow, trigger_key=trigger_key).values_list("pk", flat=True).first()
