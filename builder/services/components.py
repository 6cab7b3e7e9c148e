"""Edits to a page's component tree. Each one locks the page, bumps its version and records a revision,
so concurrent editors see a 409 instead of silently overwriting each other, and every step can be undone."""

import copy
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from builder.components import ConfigError, get_type
from builder.models import Component, Page
from builder.services.revisions import revision_record_page
from builder.services.trees import MAX_DEPTH, MAX_NODES, CleanNode, tree_clean, tree_write
from core.concurrency import check_version


def _lock_page(page_id: int) -> Page:
    return Page.objects.select_for_update().get(pk=page_id)


def _touch(page: Page, *, label: str, actor) -> None:
    Page.objects.filter(pk=page.pk).update(version=F("version") + 1)
    page.refresh_from_db(fields=["version"])
    revision_record_page(page=page, label=label, actor=actor)


def _validated(type_name: str, config) -> dict:
    try:
        return get_type(type_name).validate(config)
    except ConfigError as exc:
        raise ValidationError(exc.errors) from None


def _check_parent(*, page: Page, parent: Component | None) -> None:
    if parent is None:
        return
    if parent.page_id != page.pk:
        raise ValidationError({"parent": ["The parent must be on the same page."]})
    if not get_type(parent.type).is_container:
        raise ValidationError({"parent": [f"A {get_type(parent.type).name} cannot hold other components."]})
    if _depth(parent) >= MAX_DEPTH:
        raise ValidationError({"parent": [f"Components nest at most {MAX_DEPTH} levels deep."]})


def _depth(component: Component) -> int:
    depth, parent_id = 1, component.parent_id
    while parent_id:
        depth += 1
        parent_id = Component.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return depth


def _siblings(*, page: Page, parent_id, exclude=None):
    return Component.objects.filter(page=page, parent_id=parent_id).exclude(pk=exclude)


def _open_slot(*, page: Page, parent_id, position: int | None, exclude=None) -> int:
    """Make room at `position` among the siblings (clamped; None appends) and return it."""
    siblings = _siblings(page=page, parent_id=parent_id, exclude=exclude)
    count = siblings.count()
    position = count if position is None else max(0, min(position, count))
    siblings.filter(position__gte=position).update(position=F("position") + 1)
    return position


def _close_gap(*, page: Page, parent_id, exclude=None) -> None:
    rows = list(_siblings(page=page, parent_id=parent_id, exclude=exclude).order_by("position", "created_at"))
    for index, row in enumerate(rows):
        row.position = index
    Component.objects.bulk_update(rows, ["position"])


@transaction.atomic
def component_create(
    *,
    page: Page,
    type: str,
    config: dict | None = None,
    parent: Component | None = None,
    position: int | None = None,
    actor=None,
) -> Component:
    page = _lock_page(page.pk)
    component_type = get_type_or_400(type)
    config = _validated(type, config) if config is not None else component_type.default_config()
    _check_parent(page=page, parent=parent)
    if Component.objects.filter(page=page).count() >= MAX_NODES:
        raise ValidationError({"page": [f"A page holds at most {MAX_NODES} components."]})
    parent_id = parent.pk if parent else None
    component = Component.objects.create(
        workspace_id=page.workspace_id,
        page=page,
        parent_id=parent_id,
        type=component_type.type,
        config=config,
        position=_open_slot(page=page, parent_id=parent_id, position=position),
    )
    _touch(page, label=f"Added {component_type.name}", actor=actor)
    return component


def get_type_or_400(type_name: str):
    try:
        return get_type(type_name)
    except ConfigError as exc:
        raise ValidationError(exc.errors) from None


@transaction.atomic
def component_update(
    *, component: Component, version: int, config: dict, partial: bool = True, actor=None
) -> Component:
    """New config for a component. Partial: the given top-level keys replace the stored ones."""
    page = _lock_page(component.page_id)
    component = Component.objects.select_for_update().get(pk=component.pk)
    check_version(component, version)
    if not isinstance(config, dict):
        raise ValidationError({"config": ["Must be an object."]})
    merged = {**component.config, **config} if partial else config
    component.config = _validated(component.type, merged)
    component.version += 1
    component.save(update_fields=["config", "version", "updated_at"])
    _touch(page, label=f"Edited {get_type(component.type).name}", actor=actor)
    return component


@transaction.atomic
def component_delete(*, component: Component, actor=None) -> None:
    page = _lock_page(component.page_id)
    parent_id = component.parent_id
    name = get_type(component.type).name
    component.delete()
    _close_gap(page=page, parent_id=parent_id)
    _touch(page, label=f"Removed {name}", actor=actor)


@transaction.atomic
def component_move(
    *, component: Component, parent: Component | None, position: int, version: int | None = None, actor=None
) -> Component:
    page = _lock_page(component.page_id)
    component = Component.objects.select_for_update().get(pk=component.pk)
    check_version(component, version)
    _check_parent(page=page, parent=parent)
    ancestor = parent
    while ancestor is not None:
        if ancestor.pk == component.pk:
            raise ValidationError({"parent": ["A component cannot move into itself."]})
        ancestor = ancestor.parent
    # The position is counted in the target list without the component, as the editor shows it mid-drag.
    _close_gap(page=page, parent_id=component.parent_id, exclude=component.pk)
    new_parent_id = parent.pk if parent else None
    component.parent_id = new_parent_id
    component.position = _open_slot(page=page, parent_id=new_parent_id, position=position, exclude=component.pk)
    component.version += 1
    component.save(update_fields=["parent_id", "position", "version", "updated_at"])
    _touch(page, label=f"Moved {get_type(component.type).name}", actor=actor)
    component.refresh_from_db()
    return component


@transaction.atomic
def component_duplicate(*, component: Component, actor=None) -> Component:
    """A deep copy of the component and everything in it, placed right after it."""
    page = _lock_page(component.page_id)
    rows = list(Component.objects.filter(page=page))
    if len(rows) + _subtree_size(component, rows) > MAX_NODES:
        raise ValidationError({"page": [f"A page holds at most {MAX_NODES} components."]})
    by_parent: dict = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    position = _open_slot(page=page, parent_id=component.parent_id, position=component.position + 1)
    copies: list[Component] = []

    def clone(source: Component, parent_id, at: int) -> Component:
        duplicate = Component(
            id=uuid.uuid4(),
            workspace_id=page.workspace_id,
            page=page,
            parent_id=parent_id,
            type=source.type,
            config=copy.deepcopy(source.config),
            position=at,
        )
        copies.append(duplicate)
        for child in sorted(by_parent.get(source.pk, ()), key=lambda row: row.position):
            clone(child, duplicate.id, child.position)
        return duplicate

    top = clone(component, component.parent_id, position)
    Component.objects.bulk_create(copies)
    _touch(page, label=f"Duplicated {get_type(component.type).name}", actor=actor)
    return top


def _subtree_size(component: Component, rows: list[Component]) -> int:
    children: dict = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row.pk)
    size, stack = 0, [component.pk]
    while stack:
        size += 1
        stack.extend(children.get(stack.pop(), ()))
    return size


@transaction.atomic
def page_tree_save(*, page: Page, version: int, components, actor=None, label: str = "Saved") -> Page:
    """Replace the page's whole tree with `components` (the editor's bulk save)."""
    page = _lock_page(page.pk)
    check_version(page, version)
    nodes: list[CleanNode] = tree_clean(components)
    tree_write(page=page, nodes=nodes)
    _touch(page, label=label, actor=actor)
    return page
