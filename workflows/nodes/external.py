"""Triggers started by their own entry points, not by outbox events: webhook (POST /hooks/<token>/,
workflows.public_views) and schedule (a cron beat entry, workflows.schedule)."""

import base64
import math
import re
import secrets

from celery.schedules import crontab
from pydantic import Field, field_validator

from crm.models import Segment
from workflows.models import Workflow
from workflows.nodes import register
from workflows.nodes.base import NodeConfig, RowId, TriggerType

CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,-]+")


def hook_secret_ensure(*, workflow_id: int) -> str:
    """The workflow's signing secret (`whsec_` + base64, the Standard Webhooks form), made on first
    use. Two first uses at once agree: only a blank secret is written, and the stored one is read."""
    secret = Workflow.objects.filter(pk=workflow_id).values_list("hook_secret", flat=True).first()
    if secret:
        return secret
    fresh = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    Workflow.objects.filter(pk=workflow_id, hook_secret="").update(hook_secret=fresh)
    return Workflow.objects.filter(pk=workflow_id).values_list("hook_secret", flat=True).get()


def json_problem(value) -> str | None:
    """Why the database would refuse to store this parsed JSON (jsonb takes no NUL character, no
    unpaired surrogate, no NaN or Infinity), or None when it can be stored."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a null character (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "an unpaired surrogate escape"
        elif isinstance(item, float) and not math.isfinite(item):
            return "NaN or Infinity"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class WebhookConfig(NodeConfig):
    hmac: bool = Field(
        False,
        title="Require a signature",
        description="Accept only calls signed per Standard Webhooks with the workflow's secret "
        "(webhook-id, webhook-timestamp and webhook-signature headers).",
    )
    email_field: str = Field(
        "email",
        title="Email field",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="The body's field holding the contact's email (dots reach into objects: data.email). "
        "With a valid address there, the contact is created or updated and the workflow runs for them.",
    )


@register
class WebhookTrigger(TriggerType):
    type = "webhook"
    name = "Webhook"
    description = "Starts when a JSON object is posted to the workflow's secret URL, /hooks/<token>/."
    Config = WebhookConfig


def cron_parse(cron: str) -> crontab:
    """'m h dom mon dow' as Celery beat reads it (day of month AND day of week must both match);
    ValueError naming the bad part otherwise."""
    parts = cron.split()
    if len(parts) != len(CRON_FIELDS):
        raise ValueError("Write five fields: minute hour day-of-month month day-of-week (e.g. '0 9 * * 1').")
    for name, part in zip(CRON_FIELDS, parts, strict=True):
        if not _CRON_FIELD.fullmatch(part):
            raise ValueError(f"The {name.replace('_', ' ')} field {part!r} has characters cron doesn't use.")
    try:
        schedule = crontab(**dict(zip(CRON_FIELDS, parts, strict=True)))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"Not a valid cron expression: {str(exc).rstrip('.') or 'a value is out of range'}.") from None
    if not all((schedule.minute, schedule.hour, schedule.day_of_month, schedule.month_of_year, schedule.day_of_week)):
        raise ValueError("Not a valid cron expression: a field matches nothing.")
    return schedule


class ScheduleConfig(NodeConfig):
    cron: str = Field(
        ...,
        title="Cron schedule",
        min_length=9,
        max_length=200,
        description="When to run, as cron's 'minute hour day-of-month month day-of-week', in the workspace's "
        "time zone. Day of month and day of week must both match.",
    )
    segment: RowId | None = Field(
        None,
        title="Segment",
        description="Run once for each contact in this segment; without one, run once with no contact.",
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        cron_parse(value)
        return " ".join(value.split())


@register
class ScheduleTrigger(TriggerType):
    type = "schedule"
    name = "Schedule"
    description = "Starts on a cron schedule in the workspace's time zone, for each contact of a segment or once."
    Config = ScheduleConfig

    def config_errors(self, config: ScheduleConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if workspace is None or config.segment is None:
            return {}
        if not Segment.objects.filter(workspace=workspace, pk=config.segment).exists():
            return {"segment": [f"No segment with id {config.segment} in this workspace."]}
        return {}
