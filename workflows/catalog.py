"""The node types as the editor sees them: what each is, its config's JSON Schema, and its ports."""

import copy
from functools import lru_cache

from workflows.nodes import NODE_TYPES
from workflows.nodes.base import NodeType

_KIND_ORDER = {"trigger": 0, "action": 1, "logic": 2}


def _ports(node_type: NodeType) -> list[str]:
    """The ports of the type's default config; a type whose config has required fields (and so no
    default) has the ports every config of it has."""
    try:
        config = node_type.Config()
    except ValueError:
        config = node_type.Config.model_construct()
    return node_type.ports(config)


@lru_cache(maxsize=1)
def _catalog() -> tuple[dict, ...]:
    rows = []
    for node_type in sorted(NODE_TYPES.values(), key=lambda t: (_KIND_ORDER.get(t.kind, 9), t.name)):
        rows.append(
            {
                "type": node_type.type,
                "kind": node_type.kind,
                "name": node_type.name,
                "description": node_type.description,
                "schema": node_type.schema(),
                "ports": _ports(node_type),
                "dynamic_ports": node_type.dynamic_ports,
                "side_effect": node_type.side_effect,
            }
        )
    return tuple(rows)


def node_type_catalog() -> list[dict]:
    """[{type, kind, name, description, schema, ports, dynamic_ports, side_effect}], triggers first, then
    actions, then logic, each by name. Built once per process: the registry is fixed at import."""
    return copy.deepcopy(list(_catalog()))
