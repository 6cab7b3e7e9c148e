"""The definition format (the API's contract) and the graph the engine walks.

    {"name"?, "trigger": {"type", "config"}, "nodes": [{"id", "type", "config", "position"?, "name"?}],
     "edges": [{"source", "target", "port"?}], "reentry"?: {"policy": "always|once|interval", "days"?}}

Edges start at "trigger" or a node id; an edge without "port" leaves by the node's only port, "out".
`definition_clean()` checks a definition in full; `Graph` is the engine's read-only view of one that
passed.
"""

from functools import cached_property

from django.core.exceptions import ValidationError

from workflows.nodes import get_node_type
from workflows.nodes.base import OUT, TRIGGER_ID, NodeConfig, NodeType


def definition_clean(definition, *, workspace=None) -> dict:
    """The definition checked and normalised (configs with defaults filled); ValidationError keyed by
    path ("nodes.<id>.config.<field>", "edges.3.target", "trigger.type") otherwise."""
    raise NotImplementedError  # filled in by the node-types work


class Graph:
    """A checked definition, indexed for the engine. Build one per version and keep it."""

    def __init__(self, definition: dict):
        self.definition = definition
        self.nodes: dict[str, dict] = {node["id"]: node for node in definition.get("nodes", [])}
        self.trigger: dict = definition["trigger"]
        self._edges: dict[tuple[str, str], list[str]] = {}
        for edge in definition.get("edges", []):
            self._edges.setdefault((edge["source"], edge.get("port") or OUT), []).append(edge["target"])
        self._configs: dict[str, NodeConfig] = {}

    def node_type(self, node_id: str) -> NodeType:
        spec = self.trigger if node_id == TRIGGER_ID else self.nodes[node_id]
        return get_node_type(spec["type"])

    def config(self, node_id: str) -> NodeConfig:
        if node_id not in self._configs:
            spec = self.trigger if node_id == TRIGGER_ID else self.nodes[node_id]
            self._configs[node_id] = self.node_type(node_id).Config.model_validate(spec.get("config") or {})
        return self._configs[node_id]

    def targets(self, node_id: str, port: str | None = None) -> list[str]:
        """The nodes an edge leads to from this node's port, in the definition's order."""
        return list(self._edges.get((node_id, port or OUT), []))

    @cached_property
    def goals(self) -> list[str]:
        return [node_id for node_id, node in self.nodes.items() if node["type"] == "goal"]

    @cached_property
    def reentry(self) -> dict:
        return self.definition.get("reentry") or {"policy": "always"}


def error(path: str, message: str) -> ValidationError:
    return ValidationError({path: [message]})
