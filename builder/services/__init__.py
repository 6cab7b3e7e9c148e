"""Writes for the builder: keyword-only, typed, transactional. Business rules raise Django's
ValidationError naming the field (a 400); a stale version raises core.concurrency.ConflictError (a 409)."""

from builder.services.components import (
    component_create,
    component_delete,
    component_duplicate,
    component_move,
    component_update,
    page_tree_save,
)
from builder.services.pages import page_create, page_delete, page_update, pages_reorder
from builder.services.revisions import revision_record_page, revision_record_site, revision_restore
from builder.services.sites import site_create, site_delete, site_update

__all__ = [
    "component_create",
    "component_delete",
    "component_duplicate",
    "component_move",
    "component_update",
    "page_create",
    "page_delete",
    "page_tree_save",
    "page_update",
    "pages_reorder",
    "revision_record_page",
    "revision_record_site",
    "revision_restore",
    "site_create",
    "site_delete",
    "site_update",
]
