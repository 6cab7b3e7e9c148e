"""Component trees as the API and revisions carry them: validation, and writing one onto a page.

A tree is a list of nodes `{"id"?, "type", "config", "children"?}`. Writing keeps the ids it is
given, so a form's public URL (/f/<id>/) and its submissions' links survive an edit or a restore.
"""

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from builder.components import ConfigError, get_type
from builder.models import Component, Page

MAX_DEPTH = 4
MAX_NODES = 400


@dataclass
class CleanNode:
    id: uuid.UUID | None
    type: str
    config: dict
    children: list["CleanNode"] = field(default_factory=list)


def tree_clean(nodes, *, prefix: str = "components", with_ids: bool = True) -> list[CleanNode]:
    """Check every node (known type, valid config, children only in containers, depth, size, ids well
    formed and not repeated); one ValidationError naming every bad path, e.g. components.2.config.url.
    Without ids (template files), a node naming one is refused."""
    allowed_keys = {"id", "type", "config", "children", "version"} if with_ids else {"type", "config", "children"}
    errors: dict[str, list[str]] = {}
    seen_ids: set[uuid.UUID] = set()
    count = 0

    def clean_list(items, path: str, depth: int) -> list[CleanNode]:
        nonlocal count
        if not isinstance(items, list):
            errors.setdefault(path, []).append("Must be a list of components.")
            return []
        if depth > MAX_DEPTH:
            errors.setdefault(path, []).append(f"Components nest at most {MAX_DEPTH} levels deep.")
            return []
        cleaned = []
        for index, item in enumerate(items):
            count += 1
            node = clean_node(item, f"{path}.{index}", depth)
            if node is not None:
                cleaned.append(node)
        return cleaned

    def clean_node(item, path: str, depth: int) -> CleanNode | None:
        if not isinstance(item, dict):
            errors.setdefault(path, []).append("Must be an object with type and config.")
            return None
        unknown = set(item) - allowed_keys
        if unknown:
            errors.setdefault(path, []).append(f"Unknown keys: {', '.join(sorted(map(str, unknown)))}.")
        node_id = None
        if with_ids and item.get("id") not in (None, ""):
            try:
                node_id = uuid.UUID(str(item["id"]))
            except ValueError:
                errors.setdefault(f"{path}.id", []).append("Must be a component id (a UUID) or omitted.")
            else:
                if node_id in seen_ids:
                    errors.setdefault(f"{path}.id", []).append("This id appears twice in the tree.")
                seen_ids.add(node_id)
        try:
            component_type = get_type(item.get("type"))
        except ConfigError as exc:
            errors.setdefault(f"{path}.type", []).extend(exc.errors["type"])
            return None
        try:
            config = component_type.validate(item.get("config"))
        except ConfigError as exc:
            for key, messages in exc.errors.items():
                errors.setdefault(f"{path}.{key}", []).extend(messages)
            config = {}
        children_raw = item.get("children") or []
        if children_raw and not component_type.is_container:
            errors.setdefault(f"{path}.children", []).append(f"A {component_type.name} cannot hold other components.")
            children_raw = []
        children = clean_list(children_raw, f"{path}.children", depth + 1)
        return CleanNode(id=node_id, type=component_type.type, config=config, children=children)

    cleaned = clean_list(nodes, prefix, 1)
    if count > MAX_NODES:
        errors.setdefault(prefix, []).append(f"A page holds at most {MAX_NODES} components; this tree has {count}.")
    if errors:
        raise ValidationError(errors)
    return cleaned


def tree_write(*, page: Page, nodes: list[CleanNode]) -> None:
    """Make the page's components exactly `nodes`: update the ones whose id is already on the page,
    create the rest (with their id when given), delete what the tree no longer has."""
    existing = {row.id: row for row in Component.objects.filter(page=page)}
    to_create: list[Component] = []
    to_update: list[Component] = []
    kept: set[uuid.UUID] = set()
    now = timezone.now()

    def place(items: list[CleanNode], parent_id: uuid.UUID | None) -> None:
        for position, node in enumerate(items):
            row = existing.get(node.id) if node.id else None
            if row is None:
                row = Component(
                    id=node.id or uuid.uuid4(),
                    workspace_id=page.workspace_id,
                    page=page,
                    parent_id=parent_id,
                    type=node.type,
                    config=node.config,
                    position=position,
                )
                to_create.append(row)
            else:
                changed = (row.parent_id, row.type, row.config, row.position) != (
                    parent_id,
                    node.type,
                    node.config,
                    position,
                )
                if changed:
                    row.parent_id, row.type, row.config, row.position = parent_id, node.type, node.config, position
                    row.version += 1
                    row.updated_at = now
                    to_update.append(row)
            kept.add(row.id)
            place(node.children, row.id)

    place(nodes, None)
    doomed = [pk for pk in existing if pk not in kept]
    if doomed:
        # Children first is not needed: deleting a parent cascades, and every doomed child is in the list anyway.
        Component.objects.filter(page=page, pk__in=doomed).delete()
    if to_update:
        Component.objects.bulk_update(to_update, ["parent_id", "type", "config", "position", "version", "updated_at"])
    if to_create:
        _check_ids_free([row.id for row in to_create if row.id])
        Component.objects.bulk_create(to_create)


def _check_ids_free(ids: list[uuid.UUID]) -> None:
    """A tree may only name ids of its own page; an id taken elsewhere is refused rather than stolen."""
    taken = set(Component.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if taken:
        raise ValidationError({"components": [f"Component {sorted(map(str, taken))[0]} is not on this page."]})


def tree_as_data(nodes: list[CleanNode]) -> list[dict]:
    """Cleaned nodes as plain data, the shape template files and the template library store."""
    return [{"type": node.type, "config": node.config, "children": tree_as_data(node.children)} for node in nodes]


def tree_snapshot(nodes) -> list[dict]:
    """A tree (selector nodes) as revisions store it: ids, types, configs; no versions."""
    return [
        {"id": node["id"], "type": node["type"], "config": node["config"], "children": tree_snapshot(node["children"])}
        for node in nodes
    ]
