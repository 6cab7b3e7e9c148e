"""The definition format (the API's contract) and the graph the engine walks.

    {"name"?, "trigger": {"type", "config"}, "nodes": [{"id", "type", "config", "position"?, "name"?}],
     "edges": [{"source", "target", "port"?}], "reentry"?: {"policy": "always|once|interval", "days"?}}

Edges start at "trigger" or a node id; an edge without "port" leaves by the node's only port, "out".
`definition_clean()` checks a definition in full; `Graph` is the engine's read-only view of one that
passed.
"""

import re
from functools import cached_property

from django.core.exceptions import ValidationError
from pydantic import ValidationError as PydanticValidationError

from builder.components.base import errors_from_pydantic
from core.templating import template_compile
from workflows.nodes import get_node_type
from workflows.nodes.base import OUT, TRIGGER_ID, NodeConfig, NodeType, TriggerType

MAX_NODES = 200
MAX_EDGES = 1000
NODE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NAME_MAX = 200
REENTRY_POLICIES = ("always", "once", "interval")
REENTRY_DAYS_MAX = 3650
_TOP_KEYS = {"name", "trigger", "nodes", "edges", "reentry"}
_NODE_KEYS = {"id", "type", "config", "position", "name"}
_EDGE_KEYS = {"source", "target", "port"}


class _Errors(dict):
    def add(self, path: str, message: str) -> None:
        self.setdefault(path, []).append(message)

    def unknown(self, parent: str, given: dict, known: set[str]) -> None:
        """Each key of `given` that isn't known, under its own path when it reads as a name, under the
        parent's otherwise (an empty or odd key makes no usable path)."""
        for key in sorted(set(given) - known, key=str):
            if isinstance(key, str) and NODE_ID_RE.match(key):
                self.add(f"{parent}.{key}" if parent else key, "Unknown key.")
            else:
                self.add(parent or "definition", f"Unknown key {str(key)[:40]!r}.")

    def merge(self, prefix: str, errors: dict[str, list[str]]) -> None:
        for path, messages in errors.items():
            for message in messages:
                self.add(".".join(part for part in (prefix, path) if part), message)


def definition_clean(definition, *, workspace=None, workflow=None) -> dict:
    """The definition checked and normalised (configs with defaults filled); ValidationError keyed by
    path ("nodes.<id>.config.<field>", "edges.3.target", "trigger.type") otherwise.

    Every problem is reported at once, so the editor can mark each node. With `workspace`, the objects
    configs name (a form, a sender, a segment, a campaign, a workflow to enroll in) must be that
    workspace's; with `workflow`, an enroll_workflow step may not name the workflow itself."""
    errors = _Errors()
    if not isinstance(definition, dict):
        raise ValidationError({"definition": ["Must be an object."]})
    errors.unknown("", definition, _TOP_KEYS)
    clean: dict = {}
    if "name" in definition:
        name = definition["name"]
        if not isinstance(name, str) or len(name) > NAME_MAX:
            errors.add("name", f"Text of at most {NAME_MAX} characters.")
        else:
            clean["name"] = name.strip()

    raw_nodes = definition.get("nodes", [])
    if not isinstance(raw_nodes, list):
        errors.add("nodes", "Must be a list.")
        raw_nodes = []
    elif len(raw_nodes) > MAX_NODES:
        errors.add("nodes", f"At most {MAX_NODES} nodes.")
        raw_nodes = raw_nodes[:MAX_NODES]
    node_ids = _node_ids(raw_nodes, errors)

    trigger = _trigger_clean(definition.get("trigger"), errors, workspace=workspace, node_ids=node_ids)
    clean["trigger"] = trigger["spec"] if trigger else None
    nodes: dict[str, dict] = {}
    configs: dict[str, tuple[NodeType, NodeConfig | None]] = {}
    if trigger:
        configs[TRIGGER_ID] = (trigger["type"], trigger["config"])
    for index, raw in enumerate(raw_nodes):
        node = _node_clean(raw, index, errors, workspace=workspace, workflow=workflow, node_ids=node_ids)
        if node is None:
            continue
        spec, node_type, config = node
        if spec["id"] in nodes:
            continue  # reported by _node_ids
        nodes[spec["id"]] = spec
        configs[spec["id"]] = (node_type, config)
    clean["nodes"] = list(nodes.values())

    clean["edges"] = _edges_clean(definition.get("edges", []), errors, configs=configs, node_ids=node_ids)
    if trigger is not None:
        _graph_check(clean["edges"], list(nodes), errors)
    reentry = _reentry_clean(definition.get("reentry"), errors)
    if reentry is not None:
        clean["reentry"] = reentry
    if errors:
        raise ValidationError(dict(errors))
    return clean


def _node_ids(raw_nodes: list, errors: _Errors) -> set[str]:
    """The ids of well-formed nodes (for the checks that refer to them); duplicates are reported once."""
    seen: set[str] = set()
    for index, raw in enumerate(raw_nodes):
        node_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(node_id, str) or not NODE_ID_RE.match(node_id) or node_id == TRIGGER_ID:
            continue
        if node_id in seen:
            errors.add(f"nodes.{node_id}", f"Another node already has the id {node_id!r} (node {index + 1}).")
        seen.add(node_id)
    return seen


def _config_clean(node_type: NodeType, raw, prefix: str, errors: _Errors, *, workspace, node_ids) -> NodeConfig | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.add(prefix, "Must be an object.")
        return None
    try:
        config = node_type.Config.model_validate(raw)
    except PydanticValidationError as exc:
        errors.merge("", errors_from_pydantic(exc, prefix))
        return None
    found = _Errors()
    for field in node_type.template_fields:
        _templates_check(getattr(config, field, None), field, found, html=field in node_type.html_fields)
    if not found:
        found.update(node_type.config_errors(config, workspace=workspace, node_ids=node_ids))
    errors.merge(prefix, found)
    return None if found else config


def _templates_check(value, path: str, errors: _Errors, *, html: bool) -> None:
    """Every string in a template field (or in its lists and objects, as an http body) parses."""
    if isinstance(value, str):
        try:
            template_compile(value, field=path, html=html)
        except ValidationError as exc:
            errors.merge("", exc.message_dict)
    elif isinstance(value, dict):
        for key, item in value.items():
            _templates_check(item, f"{path}.{key}", errors, html=html)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _templates_check(item, f"{path}.{index}", errors, html=html)


def _position_clean(raw, prefix: str, errors: _Errors) -> dict | None:
    if not isinstance(raw, dict) or set(raw) - {"x", "y"}:
        errors.add(prefix, "An object {x, y}.")
        return None
    position = {}
    for axis in ("x", "y"):
        value = raw.get(axis, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1_000_000:
            errors.add(f"{prefix}.{axis}", "A number.")
            return None
        position[axis] = value
    return position


def _trigger_clean(raw, errors: _Errors, *, workspace, node_ids) -> dict | None:
    if raw is None:
        errors.add("trigger", "A workflow needs a trigger.")
        return None
    if not isinstance(raw, dict):
        errors.add("trigger", "Must be an object {type, config}.")
        return None
    errors.unknown("trigger", raw, {"type", "config", "position", "id", "name"})
    if raw.get("id", TRIGGER_ID) != TRIGGER_ID:
        errors.add("trigger.id", f"The trigger's id is {TRIGGER_ID!r}.")
    type_name = raw.get("type")
    node_type = get_node_type(type_name) if isinstance(type_name, str) else None
    if not isinstance(node_type, TriggerType):
        known = ", ".join(sorted(t.type for t in _all_types() if isinstance(t, TriggerType)))
        errors.add("trigger.type", f"Unknown trigger {type_name!r}. Known triggers: {known}.")
        return None
    config = _config_clean(
        node_type, raw.get("config"), "trigger.config", errors, workspace=workspace, node_ids=node_ids
    )
    spec: dict = {"type": node_type.type, "config": config.model_dump(mode="json") if config else raw.get("config")}
    if "position" in raw:
        spec["position"] = _position_clean(raw["position"], "trigger.position", errors)
    if "name" in raw:
        spec["name"] = _name_clean(raw["name"], "trigger.name", errors)
    return {"spec": spec, "type": node_type, "config": config}


def _name_clean(raw, path: str, errors: _Errors) -> str:
    if not isinstance(raw, str) or len(raw) > NAME_MAX:
        errors.add(path, f"Text of at most {NAME_MAX} characters.")
        return ""
    return raw.strip()


def _node_clean(raw, index: int, errors: _Errors, *, workspace, workflow, node_ids):
    if not isinstance(raw, dict):
        errors.add(f"nodes.{index}", "Must be an object {id, type, config}.")
        return None
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not NODE_ID_RE.match(node_id):
        errors.add(f"nodes.{index}.id", "Letters, digits, - and _, at most 64 characters.")
        return None
    if node_id == TRIGGER_ID:
        errors.add(f"nodes.{index}.id", f"{TRIGGER_ID!r} is the trigger's id; choose another.")
        return None
    prefix = f"nodes.{node_id}"
    errors.unknown(prefix, raw, _NODE_KEYS)
    type_name = raw.get("type")
    node_type = get_node_type(type_name) if isinstance(type_name, str) else None
    if node_type is None or isinstance(node_type, TriggerType):
        known = ", ".join(sorted(t.type for t in _all_types() if not isinstance(t, TriggerType)))
        reason = "A trigger can only start the workflow" if node_type else f"Unknown node type {type_name!r}"
        errors.add(f"{prefix}.type", f"{reason}. Known types: {known}.")
        return None
    config = _config_clean(
        node_type, raw.get("config"), f"{prefix}.config", errors, workspace=workspace, node_ids=node_ids
    )
    enrolls_itself = workflow is not None and getattr(config, "workflow", None) == workflow.pk
    if config is not None and node_type.type == "enroll_workflow" and enrolls_itself:
        errors.add(f"{prefix}.config.workflow", "A workflow can't enroll contacts into itself.")
    spec: dict = {
        "id": node_id,
        "type": node_type.type,
        "config": config.model_dump(mode="json") if config else raw.get("config"),
    }
    if "position" in raw:
        spec["position"] = _position_clean(raw["position"], f"{prefix}.position", errors)
    if "name" in raw:
        spec["name"] = _name_clean(raw["name"], f"{prefix}.name", errors)
    return spec, node_type, config


def _edges_clean(raw_edges, errors: _Errors, *, configs: dict, node_ids: set[str]) -> list[dict]:
    if not isinstance(raw_edges, list):
        errors.add("edges", "Must be a list.")
        return []
    if len(raw_edges) > MAX_EDGES:
        errors.add("edges", f"At most {MAX_EDGES} connections.")
        return []
    edges, seen = [], set()
    for index, raw in enumerate(raw_edges):
        prefix = f"edges.{index}"
        if not isinstance(raw, dict):
            errors.add(prefix, "Must be an object {source, target, port?}.")
            continue
        errors.unknown(prefix, raw, _EDGE_KEYS)
        source, target, port = raw.get("source"), raw.get("target"), raw.get("port") or OUT
        ok = True
        if not isinstance(source, str) or (source != TRIGGER_ID and source not in node_ids):
            errors.add(f"{prefix}.source", f"There is no node {source!r}.")
            ok = False
        if target == TRIGGER_ID:
            errors.add(f"{prefix}.target", "Nothing can lead back to the trigger.")
            ok = False
        elif not isinstance(target, str) or target not in node_ids:
            errors.add(f"{prefix}.target", f"There is no node {target!r}.")
            ok = False
        if not isinstance(port, str):
            errors.add(f"{prefix}.port", "A port name.")
            continue
        if ok and source in configs:
            node_type, config = configs[source]
            if config is not None:
                ports = node_type.ports(config)
                if port not in ports:
                    offered = ", ".join(ports) if ports else "none"
                    errors.add(f"{prefix}.port", f"{source!r} has no port {port!r}. Its ports: {offered}.")
                    ok = False
        if not ok:
            continue
        if (source, port, target) in seen:
            errors.add(prefix, "The same connection is already there.")
            continue
        seen.add((source, port, target))
        edge = {"source": source, "target": target}
        if port != OUT:
            edge["port"] = port
        edges.append(edge)
    return edges


def _graph_check(edges: list[dict], node_ids: list[str], errors: _Errors) -> None:
    """Every node reachable from the trigger, and no way back to a node already passed."""
    following: dict[str, list[str]] = {}
    for edge in edges:
        following.setdefault(edge["source"], []).append(edge["target"])
    reached, stack = {TRIGGER_ID}, [TRIGGER_ID]
    while stack:
        for target in following.get(stack.pop(), []):
            if target not in reached:
                reached.add(target)
                stack.append(target)
    for node_id in node_ids:
        if node_id not in reached and f"nodes.{node_id}" not in errors:
            errors.add(f"nodes.{node_id}", "Not connected: no path leads here from the trigger.")
    # Iterative depth-first search; a node met again while still on the path closes a cycle.
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in [TRIGGER_ID, *node_ids]:
        if start in state:
            continue
        path, iterators = [start], [iter(following.get(start, []))]
        state[start] = 1
        while path:
            target = next(iterators[-1], None)
            if target is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                for node_id in set(cycle[:-1]):
                    key = f"nodes.{node_id}"
                    if not any("cycle" in message for message in errors.get(key, [])):
                        errors.add(key, f"Part of a cycle: {' → '.join(cycle)}. Workflows can't loop.")
            elif target not in state:
                state[target] = 1
                path.append(target)
                iterators.append(iter(following.get(target, [])))


def _reentry_clean(raw, errors: _Errors) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("reentry", 'An object {"policy": "always" | "once" | "interval", "days"?}.')
        return None
    errors.unknown("reentry", raw, {"policy", "days"})
    policy = raw.get("policy", "always")
    if policy not in REENTRY_POLICIES:
        errors.add("reentry.policy", f"One of: {', '.join(REENTRY_POLICIES)}.")
        return None
    if policy != "interval":
        return {"policy": policy}
    days = raw.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= REENTRY_DAYS_MAX:
        errors.add("reentry.days", f"A whole number of days from 1 to {REENTRY_DAYS_MAX}.")
        return None
    return {"policy": policy, "days": days}


def _all_types() -> list[NodeType]:
    from workflows.nodes import NODE_TYPES

    return list(NODE_TYPES.values())


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
