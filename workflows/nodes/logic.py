"""Logic: branch on rules (condition, switch), split contacts A/B, wait (a while, until a date, until a
weekday's hour, or for an email to be opened), and goals the engine jumps contacts to.

A wait doesn't sleep: its first run returns `wait_until` (and the event that may end it early), the
engine parks the execution in the database, and when it is resumed calls `run()` again with
`ctx.signal` saying why; the node then answers with the port to leave by.
"""

import datetime
import hashlib
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, WithJsonSchema

from workflows.conditions import RULE_SCHEMA, rules_errors
from workflows.conditions import evaluate as rules_evaluate
from workflows.nodes import register
from workflows.nodes.base import OUT, NodeConfig, NodeType, Result, StepContext, StepError

Rules = Annotated[dict, WithJsonSchema(RULE_SCHEMA)]
PortName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The branch's port name.")]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The longest any wait or timeout may be.
MAX_WAIT = datetime.timedelta(days=366)
UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
#: The dates a wait may name: far enough from datetime's limits for any time zone's offset.
UNTIL_MIN, UNTIL_MAX = datetime.datetime(2000, 1, 1), datetime.datetime(2100, 1, 1)


def _rules_default() -> dict:
    return {"all": []}


class Duration(NodeConfig):
    amount: int = Field(default=1, ge=1, le=100_000)
    unit: Literal["minutes", "hours", "days"] = "days"

    def after(self, moment: datetime.datetime, zone: ZoneInfo) -> datetime.datetime:
        """`moment` plus this duration; days count on the workspace's calendar, so "2 days" from 9:00 is
        9:00 two days later across a daylight-saving change."""
        if self.unit == "days":
            # Aware arithmetic in a zone moves the wall clock; the offset is then that date's own.
            return (moment.astimezone(zone) + datetime.timedelta(days=self.amount)).astimezone(datetime.UTC)
        return moment + datetime.timedelta(seconds=self.amount * UNITS[self.unit])

    def too_long(self) -> bool:
        return datetime.timedelta(seconds=self.amount * UNITS[self.unit]) > MAX_WAIT


# --- Branching ------------------------------------------------------------------------------------------


class RulesConfig(NodeConfig):
    rules: Rules = Field(default_factory=_rules_default, description="The rules to check.")


@register
class Condition(NodeType):
    type = "condition"
    kind = "logic"
    name = "Condition"
    description = "Go one way if the rules hold, the other if not."
    Config = RulesConfig

    def ports(self, config: RulesConfig) -> list[str]:
        return ["true", "false"]

    def run(self, ctx: StepContext, config: RulesConfig) -> Result:
        result = rules_evaluate(config.rules, ctx)
        return Result(output={"result": result}, port="true" if result else "false")

    def config_errors(self, config: RulesConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        return rules_errors(config.rules, node_ids=node_ids)


class Branch(NodeConfig):
    port: PortName
    rules: Rules = Field(default_factory=_rules_default)


class SwitchConfig(NodeConfig):
    branches: list[Branch] = Field(
        default_factory=lambda: [Branch(port="branch_1")],
        min_length=1,
        max_length=20,
        description="Checked in order; the first whose rules hold is taken, else default.",
    )


@register
class Switch(NodeType):
    type = "switch"
    kind = "logic"
    name = "Switch"
    description = "Several branches, each with its rules, and a default."
    Config = SwitchConfig
    dynamic_ports = True

    def ports(self, config: SwitchConfig) -> list[str]:
        return [branch.port for branch in config.branches] + ["default"]

    def run(self, ctx: StepContext, config: SwitchConfig) -> Result:
        for branch in config.branches:
            if rules_evaluate(branch.rules, ctx):
                return Result(output={"branch": branch.port}, port=branch.port)
        return Result(output={"branch": "default"}, port="default")

    def config_errors(self, config: SwitchConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        seen = set()
        for index, branch in enumerate(config.branches):
            if branch.port == "default" or branch.port in seen:
                errors[f"branches.{index}.port"] = [f"{branch.port!r} is taken: each branch needs its own port."]
            seen.add(branch.port)
            errors |= rules_errors(branch.rules, path=f"branches.{index}.rules", node_ids=node_ids)
        return errors


class Variant(NodeConfig):
    port: PortName
    weight: int = Field(default=50, ge=0, le=10_000)


class SplitConfig(NodeConfig):
    variants: list[Variant] = Field(
        default_factory=lambda: [Variant(port="a", weight=50), Variant(port="b", weight=50)],
        min_length=2,
        max_length=10,
        description="Each contact goes down one variant, chosen by weight, always the same one.",
    )


@register
class Split(NodeType):
    type = "split"
    kind = "logic"
    name = "A/B split"
    description = "Send contacts down weighted paths; each contact always gets the same one."
    Config = SplitConfig
    dynamic_ports = True

    def ports(self, config: SplitConfig) -> list[str]:
        return [variant.port for variant in config.variants]

    def run(self, ctx: StepContext, config: SplitConfig) -> Result:
        execution = ctx.execution
        workflow = execution.workflow_id if execution is not None else "dry"
        who = ctx.contact.pk if ctx.contact is not None else (execution.pk if execution is not None else "none")
        digest = hashlib.sha256(f"{workflow}:{who}:{ctx.node_id}".encode()).hexdigest()
        total = sum(variant.weight for variant in config.variants)
        if total <= 0:
            raise StepError("No variant has a weight above 0.")
        point = int(digest[:15], 16) % total
        for variant in config.variants:
            if point < variant.weight:
                return Result(output={"variant": variant.port}, port=variant.port)
            point -= variant.weight
        raise AssertionError("unreachable: the point is below the total weight")

    def config_errors(self, config: SplitConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        seen = set()
        for index, variant in enumerate(config.variants):
            if variant.port in seen:
                errors[f"variants.{index}.port"] = [f"{variant.port!r} is taken: each variant needs its own port."]
            seen.add(variant.port)
        if not sum(variant.weight for variant in config.variants):
            errors["variants"] = ["At least one variant needs a weight above 0."]
        return errors


# --- Waiting ----------------------------------------------------------------------------------------------


class WaitConfig(NodeConfig):
    mode: Literal["duration", "until", "weekday"] = Field(
        default="duration", description="Wait a while, until a date and time, or until a weekday's hour."
    )
    duration: Duration = Field(default_factory=Duration, description="How long (mode duration).")
    until: datetime.datetime | None = Field(
        default=None, description="Until when (mode until); without an offset, in the workspace's time zone."
    )
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=list, max_length=7, description="On which days (mode weekday)."
    )
    hour: int = Field(default=9, ge=0, le=23, description="At what hour, in the workspace's time zone (mode weekday).")
    minute: int = Field(default=0, ge=0, le=59)


def next_weekday_time(now: datetime.datetime, zone: ZoneInfo, weekdays, hour: int, minute: int) -> datetime.datetime:
    """The first moment after `now` that falls on one of `weekdays` at hour:minute, local time."""
    local = now.astimezone(zone)
    days = {WEEKDAYS.index(day) for day in weekdays}
    for ahead in range(8):
        date = local.date() + datetime.timedelta(days=ahead)
        if date.weekday() not in days:
            continue
        candidate = datetime.datetime.combine(date, datetime.time(hour, minute), tzinfo=zone)
        # A time skipped by a daylight-saving change resolves forward, as a wall clock would read it.
        candidate = candidate.astimezone(datetime.UTC)
        if candidate > now:
            return candidate
    raise ValueError("No weekday chosen.")


@register
class Wait(NodeType):
    type = "wait"
    kind = "logic"
    name = "Wait"
    description = "Pause for a while, until a date, or until a weekday's hour in your time zone."
    Config = WaitConfig

    def until(self, ctx: StepContext, config: WaitConfig) -> datetime.datetime:
        zone = ctx.workspace.zone
        if config.mode == "duration":
            return config.duration.after(ctx.now, zone)
        problems = self.config_errors(config)
        if problems:
            # Checked when the definition was saved; one that skipped that fails here, cleanly.
            raise StepError(" ".join(message for messages in problems.values() for message in messages))
        if config.mode == "until":
            until = config.until
            if until.tzinfo is None:
                until = until.replace(tzinfo=zone)
            return until.astimezone(datetime.UTC)
        return next_weekday_time(ctx.now, zone, config.weekdays, config.hour, config.minute)

    def run(self, ctx: StepContext, config: WaitConfig) -> Result:
        if ctx.signal is not None:
            return Result(output={"waited": True, "resumed": ctx.signal.get("reason", "time")})
        until = self.until(ctx, config)
        if until <= ctx.now:
            return Result(output={"waited": False, "until": until.isoformat()})
        return Result(output={"until": until.isoformat()}, wait_until=until)

    def config_errors(self, config: WaitConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if config.mode == "duration" and config.duration.too_long():
            return {"duration.amount": ["A wait lasts at most a year."]}
        if config.mode == "until" and config.until is None:
            return {"until": ["Choose the date and time to wait until."]}
        if config.mode == "until" and not UNTIL_MIN <= config.until.replace(tzinfo=None) < UNTIL_MAX:
            return {"until": [f"A date from {UNTIL_MIN.year} to {UNTIL_MAX.year - 1}."]}
        if config.mode == "weekday" and not config.weekdays:
            return {"weekdays": ["Choose at least one day."]}
        return {}


WAIT_EVENTS = {"email_opened": "email.opened", "email_clicked": "email.clicked"}


class WaitForEventConfig(NodeConfig):
    event: Literal["email_opened", "email_clicked"] = Field(
        default="email_opened", description="What the contact does: open an email, or click a link in one."
    )
    timeout: Duration = Field(
        default_factory=lambda: Duration(amount=2, unit="days"), description="How long to wait before giving up."
    )


@register
class WaitForEvent(NodeType):
    type = "wait_for_event"
    kind = "logic"
    name = "Wait for event"
    description = "Wait until the contact opens (or clicks) an email, or the timeout passes."
    Config = WaitForEventConfig

    def ports(self, config: WaitForEventConfig) -> list[str]:
        return ["event", "timeout"]

    def run(self, ctx: StepContext, config: WaitForEventConfig) -> Result:
        if ctx.signal is not None:
            if ctx.signal.get("reason") == "event":
                return Result(output={"event": ctx.signal.get("event") or {}}, port="event")
            return Result(output={"timed_out": True}, port="timeout")
        until = config.timeout.after(ctx.now, ctx.workspace.zone)
        return Result(
            output={"until": until.isoformat(), "event": config.event},
            wait_until=until,
            wait_event=WAIT_EVENTS[config.event],
        )

    def config_errors(self, config: WaitForEventConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if config.timeout.too_long():
            return {"timeout.amount": ["A timeout lasts at most a year."]}
        return {}


@register
class Goal(NodeType):
    type = "goal"
    kind = "logic"
    name = "Goal"
    description = "When its rules hold, the contact jumps here, leaving the steps before it."
    Config = RulesConfig

    def ports(self, config: RulesConfig) -> list[str]:
        return [OUT]

    def run(self, ctx: StepContext, config: RulesConfig) -> Result:
        return Result(output={"reached": True})

    def config_errors(self, config: RulesConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        return rules_errors(config.rules, node_ids=node_ids)
