"""What templates and conditions see: {contact, trigger, steps.<node id>.output, workspace}."""

from campaigns.content.personalization import contact_context


def template_context(ctx) -> dict:
    return {
        "contact": contact_context(ctx.contact) if ctx.contact is not None else {},
        "trigger": ctx.trigger,
        "steps": {node_id: {"output": output} for node_id, output in ctx.steps.items()},
        "workspace": {"id": ctx.workspace.pk, "name": ctx.workspace.name, "timezone": ctx.workspace.timezone},
    }
