"""The node type registry. Each module of this package registers its types with `@register`."""

from workflows.nodes.base import NodeType, TriggerType

NODE_TYPES: dict[str, NodeType] = {}


def register(cls: type[NodeType]) -> type[NodeType]:
    NODE_TYPES[cls.type] = cls()
    return cls


def get_node_type(type: str) -> NodeType | None:
    return NODE_TYPES.get(type)


def trigger_types() -> dict[str, TriggerType]:
    return {name: node for name, node in NODE_TYPES.items() if isinstance(node, TriggerType)}


# Imported for their registrations, after `register` exists.
from workflows.nodes import actions, external, http, logic, triggers  # noqa: E402, F401
