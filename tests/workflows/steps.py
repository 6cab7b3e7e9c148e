"""Building a StepContext and running one node the way the engine does, for the node type tests."""

import datetime

from django.utils import timezone

from workflows.nodes import get_node_type
from workflows.nodes.base import Result, StepContext


def step_context(
    workspace,
    *,
    contact=None,
    trigger=None,
    steps=None,
    node_id="node",
    now=None,
    execution=None,
    dry_run=False,
    signal=None,
) -> StepContext:
    return StepContext(
        workspace=workspace,
        contact=contact,
        trigger=trigger if trigger is not None else {},
        steps=steps if steps is not None else {},
        node_id=node_id,
        now=now or timezone.now(),
        execution=execution,
        dry_run=dry_run,
        signal=signal,
    )


def run_node(type_name: str, config: dict, ctx: StepContext) -> Result:
    """Validates the config as the engine's Graph does, then runs (or, in a dry run of a side-effect
    node, simulates) the node."""
    node_type = get_node_type(type_name)
    parsed = node_type.Config.model_validate(config)
    if ctx.dry_run and node_type.side_effect:
        return node_type.simulate(ctx, parsed)
    return node_type.run(ctx, parsed)


def ports_of(type_name: str, config: dict) -> list[str]:
    node_type = get_node_type(type_name)
    return node_type.ports(node_type.Config.model_validate(config))


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)
