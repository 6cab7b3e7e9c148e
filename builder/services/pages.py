"""Pages of a site: paths, order, the home page, SEO fields; every change bumps the page's version."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from builder.components import clean_url
from builder.models import Page, Site
from builder.services.revisions import revision_record_page
from core.concurrency import check_version

_PATH = re.compile(r"^/(?:[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*)?$")
_RESERVED_PREFIXES = ("/f/", "/static/", "/api/", "/media/")


def clean_path(path: str) -> str:
    path = (path or "").strip().lower()
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1:
        path = path.rstrip("/")
    if not _PATH.match(path) or len(path) > 200:
        raise ValidationError({"path": ["Use / or lowercase words with hyphens, e.g. /pricing or /about/team."]})
    if (path + "/").startswith(_RESERVED_PREFIXES):
        raise ValidationError({"path": [f"{path} is reserved; pick another path."]})
    return path


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": ["A page needs a title."]})
    if len(title) > 200:
        raise ValidationError({"title": ["Keep the title under 200 characters."]})
    return title


def _check_path_free(*, site: Site, path: str, exclude_pk: int | None = None) -> None:
    taken = Page.objects.filter(site=site, path=path)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"path": [f"This site already has a page at {path}."]})


def _clean_seo(fields: dict) -> dict:
    cleaned = {}
    for name, limit in (("seo_title", 200), ("seo_description", 400)):
        if name in fields:
            value = (fields[name] or "").strip()
            if len(value) > limit:
                raise ValidationError({name: [f"Keep it under {limit} characters."]})
            cleaned[name] = value
    if "og_image" in fields:
        try:
            cleaned["og_image"] = clean_url(fields["og_image"] or "")
        except ValueError as exc:
            raise ValidationError({"og_image": [str(exc)]}) from None
    return cleaned


@transaction.atomic
def page_create(*, site: Site, title: str, path: str, actor=None, **seo) -> Page:
    site = Site.objects.select_for_update().get(pk=site.pk)
    path = clean_path(path)
    _check_path_free(site=site, path=path)
    siblings = Page.objects.filter(site=site)
    page = Page.objects.create(
        workspace_id=site.workspace_id,
        site=site,
        title=_clean_title(title),
        path=path,
        order=siblings.count(),
        is_home=not siblings.exists(),
        **_clean_seo(seo),
    )
    revision_record_page(page=page, label="Page created", actor=actor)
    return page


@transaction.atomic
def page_update(*, page: Page, version: int, actor=None, **changes) -> Page:
    page = Page.objects.select_for_update().get(pk=page.pk)
    check_version(page, version)
    if "title" in changes:
        page.title = _clean_title(changes["title"])
    if "path" in changes:
        page.path = clean_path(changes["path"])
        _check_path_free(site=page.site, path=page.path, exclude_pk=page.pk)
    for name, value in _clean_seo(changes).items():
        setattr(page, name, value)
    if changes.get("is_home") and not page.is_home:
        Page.objects.filter(site_id=page.site_id, is_home=True).update(is_home=False)
        page.is_home = True
    elif changes.get("is_home") is False and page.is_home:
        raise ValidationError({"is_home": ["Make another page the home page instead."]})
    page.version += 1
    page.save()
    revision_record_page(page=page, label="Page settings changed", actor=actor)
    return page


@transaction.atomic
def page_delete(*, page: Page) -> None:
    site = Site.objects.select_for_update().get(pk=page.site_id)
    others = Page.objects.filter(site=site).exclude(pk=page.pk).order_by("order", "id")
    if not others.exists():
        raise ValidationError({"page": ["A site keeps at least one page."]})
    page.delete()
    if page.is_home:
        others.filter(pk=others.first().pk).update(is_home=True)
    for order, pk in enumerate(others.values_list("pk", flat=True)):
        Page.objects.filter(pk=pk).update(order=order)


@transaction.atomic
def pages_reorder(*, site: Site, page_ids: list[int]) -> list[Page]:
    site = Site.objects.select_for_update().get(pk=site.pk)
    pages = {page.pk: page for page in Page.objects.filter(site=site)}
    if sorted(page_ids) != sorted(pages) or len(set(page_ids)) != len(page_ids):
        raise ValidationError({"pages": ["List every page of the site exactly once."]})
    for order, pk in enumerate(page_ids):
        pages[pk].order = order
    Page.objects.bulk_update(pages.values(), ["order"])
    return [pages[pk] for pk in page_ids]
