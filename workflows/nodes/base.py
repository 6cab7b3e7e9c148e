"""What every node type is made of: a pydantic config (exported as JSON Schema for the editor), its
output ports, and `run()`, which does the step's work and says where to go next.

The engine (workflows.engine) calls `run()` inside the transaction that records the step and moves
the execution on, so a step's database writes and the execution's progress commit together, and a
step cut off by a killed worker is run again from scratch. Actions with effects outside the
database make them idempotent by key (the email ledger's `execution + node`), or are signed with a
stable id for the receiver to de-duplicate (http_request).
"""

import datetime
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from django.core.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field

from core.ids import ID_MAX
from core.templating import TemplateRenderError, template_compile, template_render

Kind = Literal["trigger", "action", "logic"]
#: The port a node leaves by when it has only one, and the one an edge without "port" starts from.
OUT = "out"
#: The node id edges start from for the trigger.
TRIGGER_ID = "trigger"
#: A config field naming a database row: an id past the 64-bit keys is refused with the field's
#: error here, not by the database when the workspace's rows are looked up.
RowId = Annotated[int, Field(ge=1, le=ID_MAX)]


class NodeConfig(BaseModel):
    """Base of every node's config: unknown keys are an error, so a typo is reported, not dropped."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


def custom_field_errors(key: str, *, workspace) -> dict[str, list[str]]:
    """For a config's `field` that is no standard contact field: the workspace must have a custom
    field by that key."""
    from crm.models import CustomField

    if CustomField.objects.filter(workspace=workspace, key=key).exists():
        return {}
    return {"field": [f"No contact field or custom field {key!r}."]}


class StepError(Exception):
    """The step failed for good: its message becomes the step's and the execution's error."""


class TransientStepError(StepError):
    """The step may succeed later (a timeout, a 5xx): retried with backoff up to
    WORKFLOW_STEP_MAX_ATTEMPTS, then failed with this message."""


@dataclass
class Result:
    """What a step did and where the execution goes next."""

    #: Stored as the StepRun's output and offered to later steps as `steps.<node id>.output`.
    output: dict = field(default_factory=dict)
    #: The port to leave by; None is the node's only port, OUT.
    port: str | None = None
    #: Suspend the execution until then. When it resumes, `run()` is called again for the same node
    #: with `ctx.signal` set, and returns where to go.
    wait_until: datetime.datetime | None = None
    #: With wait_until: the event type that resumes it early ("email.opened").
    wait_event: str = ""
    #: End the execution (successfully) here; queued branches are dropped.
    exit: bool = False


@dataclass
class StepContext:
    """What a step sees. `contact`, `trigger` and `steps` are also the template context's names."""

    workspace: Any  # accounts.Workspace
    contact: Any | None  # crm.Contact
    trigger: dict
    #: Outputs of the steps that ran so far, by node id.
    steps: dict[str, dict]
    node_id: str
    now: datetime.datetime
    #: The running Execution; None in a dry run.
    execution: Any | None = None
    dry_run: bool = False
    #: Set when a waiting node is resumed: {"reason": "time"} or {"reason": "event", "event": {…}}.
    signal: dict | None = None

    @property
    def key(self) -> str:
        """Stable per execution and node: the idempotency key of the step's outside effects."""
        return f"workflow:{self.execution.pk if self.execution else 'dry'}:{self.node_id}"

    def template_context(self) -> dict:
        from workflows.expressions import template_context

        return template_context(self)

    def render(self, source: str, *, html: bool = False) -> str:
        """A config value rendered as a template; its failure is this step's error."""
        if "{" not in source:
            return source
        try:
            template = template_compile(source, field="template", html=html)
        except ValidationError as exc:
            # Checked when the definition was saved; a definition that skipped that still fails cleanly.
            raise StepError(f"Template error: {' '.join(exc.messages)}") from None
        try:
            return template_render(template, self.template_context())
        except TemplateRenderError as exc:
            raise StepError(f"Template error: {exc}") from None


class NodeType:
    """One kind of node. Subclasses set the class attributes and implement `run()`; register with
    `@register` in workflows.nodes."""

    type: ClassVar[str]
    kind: ClassVar[Kind]
    name: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[NodeConfig]] = NodeConfig
    #: A step with effects outside the execution: a dry run calls `simulate()` instead of `run()`.
    side_effect: ClassVar[bool] = False
    #: Config fields holding templates, checked to parse when the definition is validated.
    template_fields: ClassVar[tuple[str, ...]] = ()
    #: Template fields rendered as HTML (autoescaped), e.g. an email's content.
    html_fields: ClassVar[tuple[str, ...]] = ()
    #: Whether the ports depend on the config (switch branches, split variants).
    dynamic_ports: ClassVar[bool] = False

    def ports(self, config: NodeConfig) -> list[str]:
        """Output ports; a trigger and most actions have one, `exit` none."""
        return [OUT]

    def run(self, ctx: StepContext, config: NodeConfig) -> Result:
        raise NotImplementedError

    def simulate(self, ctx: StepContext, config: NodeConfig) -> Result:
        """A dry run's stand-in for a side-effect step: what it would do, with nothing done."""
        return Result(output={"simulated": True, "input": self.describe_input(ctx, config)})

    def describe_input(self, ctx: StepContext, config: NodeConfig) -> dict:
        """The StepRun's recorded input: the config as this step saw it."""
        return config.model_dump(mode="json")

    def config_errors(self, config: NodeConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        """Problems the config's schema can't see, keyed by field path within the config ("until",
        "rules.all.0.op"): rules across fields, and, given the workspace, whether the objects it names
        are that workspace's. `node_ids` are the definition's node ids, for configs that name nodes."""
        return {}

    def schema(self) -> dict:
        return self.Config.model_json_schema()


class TriggerType(NodeType):
    """A trigger: subscribed to outbox events, it says whether an event starts this workflow, for
    which contact, and with what trigger data. Triggers without events (webhook, schedule, manual)
    are started by their own entry points."""

    kind: ClassVar[Kind] = "trigger"
    #: Outbox event types this trigger listens to.
    events: ClassVar[tuple[str, ...]] = ()

    def ref(self, config: NodeConfig) -> str:
        """The value copied to Workflow.trigger_ref to narrow the lookup ("" matches every event)."""
        return ""

    def event_ref(self, event) -> str | None:
        """The same value read off an event; None when this trigger type does not narrow by ref."""
        return None

    def matches(self, config: NodeConfig, event) -> bool:
        """Whether this event starts the workflow (after the ref lookup): by default, a config with a
        ref matches the events with the same."""
        ref = self.ref(config)
        return not ref or ref == self.event_ref(event)

    def contact_id(self, event) -> int | None:
        return event.payload.get("contact_id")

    def trigger_data(self, event) -> dict:
        return dict(event.payload)

    def run(self, ctx: StepContext, config: NodeConfig) -> Result:
        return Result(output=ctx.trigger)
