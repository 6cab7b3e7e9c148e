"""A page's component tree, read in one query and nested in Python."""

from collections import defaultdict
from typing import TypedDict

from builder.models import Component, Page


class Node(TypedDict):
    id: str
    type: str
    config: dict
    version: int
    children: list["Node"]


def tree_from_rows(rows) -> list[Node]:
    """Nest components (anything with id, parent_id, position, type, config, version) into a tree."""
    by_parent: dict[str | None, list] = defaultdict(list)
    for row in rows:
        by_parent[str(row.parent_id) if row.parent_id else None].append(row)

    def build(parent_id: str | None) -> list[Node]:
        children = sorted(by_parent.get(parent_id, ()), key=lambda row: row.position)
        return [
            Node(id=str(row.id), type=row.type, config=row.config, version=row.version, children=build(str(row.id)))
            for row in children
        ]

    return build(None)


def page_tree(*, page: Page) -> list[Node]:
    # Plain rows, not model instances: building 100 instances was a third of a tree request's time.
    rows = (
        Component.objects.filter(page=page)
        .order_by()
        .values_list("id", "parent_id", "position", "type", "config", "version", named=True)
    )
    return tree_from_rows(rows)
