"""Schedule triggers: one django-celery-beat entry (a PeriodicTask on a CrontabSchedule in the
workspace's time zone) per active workflow whose trigger is a schedule.

`schedule_sync` makes the beat entry match the workflow; the workflow services call it whenever a
workflow is activated, paused, restored or deleted. Each firing runs `schedule_fire`, which starts
the workflow for every contact of the trigger's segment, or once with no contact.

A firing is named by its slot, the cron time it stands for (the latest one at or before the moment
it runs, in the workspace's zone), and every execution it starts carries that slot in its trigger
key. A firing repeated for the same slot (two beats, a redelivered task) starts nothing new; a
worker that picks the task up late still counts it to its own slot.
"""

import datetime
import json
import zoneinfo
from itertools import batched

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from pydantic import ValidationError as PydanticValidationError

from core.logging import get_logger
from crm.models import Segment
from crm.selectors.segments import segment_contacts
from workflows.models import Workflow, WorkflowStatus
from workflows.nodes.external import CRON_FIELDS, ScheduleConfig, cron_parse

log = get_logger(__name__)

FIRE_TASK = "workflows.tasks.schedule.workflow_schedule_fire"
#: Contacts handed to one executions_start_many call.
START_BATCH = 2000
#: A firing that arrives this much before its minute (a beat clock a little ahead of the worker's)
#: still counts to that minute, not the one before.
SLOT_LEEWAY = datetime.timedelta(seconds=30)
#: How far back a slot is looked for: a cron that fires once in four years (29 February) has one.
_SLOT_HORIZON = datetime.timedelta(days=4 * 366)


def _task_name(workflow_id: int) -> str:
    return f"workflow-schedule-{workflow_id}"


def _schedule_config(workflow: Workflow) -> ScheduleConfig | None:
    """The schedule trigger's config when the workflow should have a beat entry, else None."""
    if workflow.pk is None or workflow.status != WorkflowStatus.ACTIVE or workflow.active_version_id is None:
        return None
    trigger = workflow.active_version.definition.get("trigger") or {}
    if trigger.get("type") != "schedule":
        return None
    return ScheduleConfig.model_validate(trigger.get("config") or {})


@transaction.atomic
def schedule_sync(*, workflow: Workflow) -> PeriodicTask | None:
    """Create, update or delete the workflow's beat entry so that it fires exactly while the workflow
    is active with a schedule trigger, on that trigger's cron, in the workspace's time zone. Call it
    after activating, pausing or restoring, and after deleting (the deleted instance will do)."""
    config = _schedule_config(workflow)
    task = PeriodicTask.objects.filter(pk=workflow.schedule_task_id).first() if workflow.schedule_task_id else None
    if task is None and workflow.pk is not None:
        task = PeriodicTask.objects.filter(name=_task_name(workflow.pk)).first()
    if config is None:
        if task is not None:
            task.delete()  # the instance's delete() tells a running beat that its schedule changed
        workflow.schedule_task = None
        return None
    tz = workflow.workspace.timezone
    fields = dict(zip(CRON_FIELDS, config.cron.split(), strict=True))
    cron = CrontabSchedule.objects.filter(**fields, timezone=tz).first() or CrontabSchedule.objects.create(
        **fields, timezone=tz
    )
    task = task or PeriodicTask(name=_task_name(workflow.pk))
    task.task = FIRE_TASK
    task.crontab, task.interval, task.solar, task.clocked = cron, None, None, None
    task.args, task.kwargs = json.dumps([workflow.pk]), "{}"
    task.enabled, task.one_off = True, False
    task.description = f"Schedule trigger of workflow {workflow.pk} (workspace {workflow.workspace_id})."
    task.save()
    if workflow.schedule_task_id != task.pk:
        Workflow.objects.filter(pk=workflow.pk).update(schedule_task=task)
    workflow.schedule_task = task
    return task


def schedule_slot(cron: str, tz: str, now: datetime.datetime) -> datetime.datetime | None:
    """The latest time at or before `now` (give or take SLOT_LEEWAY) that `cron` names, in zone `tz`,
    as Celery beat reads cron: day of month and day of week must both match."""
    spec = cron_parse(cron)
    zone = zoneinfo.ZoneInfo(tz)
    at = (now + SLOT_LEEWAY).astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    oldest = at - _SLOT_HORIZON
    minute = datetime.timedelta(minutes=1)
    while at >= oldest:
        if at.month not in spec.month_of_year:
            at = at.replace(day=1, hour=0, minute=0) - minute
        elif at.day not in spec.day_of_month or at.isoweekday() % 7 not in spec.day_of_week:
            at = at.replace(hour=0, minute=0) - minute
        elif at.hour not in spec.hour:
            earlier = [hour for hour in spec.hour if hour < at.hour]
            at = at.replace(hour=max(earlier), minute=59) if earlier else at.replace(hour=0, minute=0) - minute
        elif at.minute not in spec.minute:
            earlier = [value for value in spec.minute if value < at.minute]
            at = at.replace(minute=max(earlier)) if earlier else at.replace(minute=0) - minute
        else:
            return at.replace(tzinfo=zone)
    return None


def schedule_fire(*, workflow_id: int, now: datetime.datetime | None = None) -> int:
    """One firing of a workflow's schedule: executions started, 0 when the workflow is no longer an
    active scheduled one (its leftover beat entry is then removed) or the slot already ran."""
    from workflows.services.executions import execution_start, executions_start_many

    now = now or timezone.now()
    workflow = Workflow.objects.active().select_related("active_version", "workspace").filter(pk=workflow_id).first()
    try:
        config = _schedule_config(workflow) if workflow is not None else None
    except PydanticValidationError:
        log.warning("workflow_schedule_config_invalid", workflow_id=workflow_id, exc_info=True)
        config = None
    if config is None:
        for task in PeriodicTask.objects.filter(name=_task_name(workflow_id)):
            task.delete()
        return 0
    tz = workflow.workspace.timezone
    slot = schedule_slot(config.cron, tz, now) or now
    slot_key = slot.astimezone(datetime.UTC).strftime("%Y%m%dT%H%MZ")
    trigger_data = {
        "schedule": {"cron": config.cron, "timezone": tz, "slot": slot.isoformat(), "segment": config.segment}
    }
    if config.segment is None:
        started = execution_start(
            workflow=workflow, contact=None, trigger_data=trigger_data, trigger_key=f"schedule:{slot_key}"
        )
        return int(started is not None)
    segment = Segment.objects.filter(workspace_id=workflow.workspace_id, pk=config.segment).first()
    if segment is None:
        log.warning("workflow_schedule_segment_missing", workflow_id=workflow_id, segment_id=config.segment)
        return 0
    try:
        contact_ids = list(segment_contacts(segment=segment, now=now).order_by("pk").values_list("pk", flat=True))
    except ValidationError:  # a tag or field its rules name was deleted: the segment needs fixing
        log.warning("workflow_schedule_segment_invalid", workflow_id=workflow_id, segment_id=segment.pk, exc_info=True)
        return 0
    started = 0
    for batch in batched(contact_ids, START_BATCH):
        started += executions_start_many(
            workflow=workflow,
            contact_ids=list(batch),
            trigger_data=trigger_data,
            trigger_key_prefix=f"schedule:{slot_key}",
        )
    log.info("workflow_schedule_fired", workflow_id=workflow_id, slot=slot_key, started=started)
    return started
