"""Revisions: a snapshot at each save, for undo/redo and rollback.

A page revision holds the page's fields and its whole tree with ids; a site revision holds the site's
settings and every page. Restoring writes the snapshot back exactly (ids included, so form URLs and
submission links survive) and records a new revision, so a restore can itself be undone.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from builder.models import Page, Revision, RevisionKind, Site
from builder.selectors import page_tree
from builder.services.trees import tree_clean, tree_snapshot, tree_write

#: Page revisions kept per page; autosave writes one per save, so older ones are pruned.
PAGE_REVISIONS_KEPT = 100
#: What a page revision puts back. Where the page sits in its site (order, home) is the site's
#: structure: a site revision restores it, a page revision leaves it as the site has it now.
PAGE_CONTENT_FIELDS = ("title", "path", "seo_title", "seo_description", "og_image")
PAGE_FIELDS = (*PAGE_CONTENT_FIELDS, "order", "is_home")
SITE_FIELDS = ("name", "theme", "seo", "favicon")


def _page_state(page: Page) -> dict:
    return {
        "id": page.pk,
        **{name: getattr(page, name) for name in PAGE_FIELDS},
        "components": tree_snapshot(page_tree(page=page)),
    }


def revision_record_page(*, page: Page, label: str, actor=None, restored_from: Revision | None = None) -> Revision:
    revision = Revision.objects.create(
        workspace_id=page.workspace_id,
        site_id=page.site_id,
        page=page,
        kind=RevisionKind.PAGE,
        label=label[:200],
        snapshot=_page_state(page),
        restored_from=restored_from,
        created_by=_user(actor),
    )
    stale = Revision.objects.filter(page=page, kind=RevisionKind.PAGE).order_by("-id")[PAGE_REVISIONS_KEPT:]
    Revision.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    return revision


def revision_record_site(*, site: Site, label: str, actor=None, restored_from: Revision | None = None) -> Revision:
    pages = Page.objects.filter(site=site).order_by("order", "id")
    return Revision.objects.create(
        workspace_id=site.workspace_id,
        site=site,
        kind=RevisionKind.SITE,
        label=label[:200],
        snapshot={
            "site": {name: getattr(site, name) for name in SITE_FIELDS},
            "pages": [_page_state(page) for page in pages],
        },
        restored_from=restored_from,
        created_by=_user(actor),
    )


def _user(actor):
    from accounts.models import User

    return actor if isinstance(actor, User) else None


def _page_restore(*, site: Site, state: dict, fields: tuple[str, ...] = PAGE_FIELDS) -> Page:
    """Put one page back as `state` says, recreating it with its old id if it was deleted."""
    page = Page.objects.select_for_update().filter(site=site, pk=state["id"]).first()
    if page is None:
        siblings = Page.objects.filter(site=site)
        page = Page(
            pk=state["id"],
            workspace_id=site.workspace_id,
            site=site,
            order=siblings.count(),
            is_home=not siblings.filter(is_home=True).exists(),
        )
    for name in fields:
        setattr(page, name, state[name])
    page.version = (page.version or 0) + 1
    page.save()
    tree_write(page=page, nodes=tree_clean(state["components"]))
    return page


@transaction.atomic
def revision_restore(*, revision: Revision, actor=None) -> Revision:
    """Write the revision's snapshot back and record the result as a new revision."""
    site = Site.objects.select_for_update().get(pk=revision.site_id)
    snapshot = revision.snapshot
    if revision.kind == RevisionKind.PAGE:
        _check_path_free(site=site, state=snapshot)
        page = _page_restore(site=site, state=snapshot, fields=PAGE_CONTENT_FIELDS)
        return revision_record_page(
            page=page, label=f"Restored revision {revision.pk}", actor=actor, restored_from=revision
        )

    for name in SITE_FIELDS:
        setattr(site, name, snapshot["site"][name])
    site.version += 1
    site.save()
    keep = [state["id"] for state in snapshot["pages"]]
    Page.objects.filter(site=site).exclude(pk__in=keep).delete()
    # Paths and the home flag are unique per site: clear them before the pages take theirs back.
    Page.objects.filter(site=site).update(is_home=False)
    for state in snapshot["pages"]:
        Page.objects.filter(site=site, pk=state["id"]).update(path=f"/__restoring-{state['id']}")
    for state in snapshot["pages"]:
        _page_restore(site=site, state=state)
    return revision_record_site(
        site=site, label=f"Restored revision {revision.pk}", actor=actor, restored_from=revision
    )


def _check_path_free(*, site: Site, state: dict) -> None:
    if Page.objects.filter(site=site, path=state["path"]).exclude(pk=state["id"]).exists():
        raise ValidationError(
            {"path": [f"Another page now uses {state['path']}; change its path before restoring this revision."]}
        )
