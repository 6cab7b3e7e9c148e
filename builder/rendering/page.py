"""Render a stored page: its site, its tree and the site's page list, read in at most three queries."""

from builder.models import Page, Site
from builder.rendering.document import Mode, NavPage, PageData, SiteData, render_document
from builder.selectors import page_tree


def render_page(page: Page, *, mode: Mode = "preview") -> str:
    site = page.site if Page.site.is_cached(page) else Site.objects.get(pk=page.site_id)
    nav_pages = [
        NavPage(title=title, path=path)
        for title, path in Page.objects.filter(site_id=page.site_id)
        .order_by("order", "id")
        .values_list("title", "path")
    ]
    return render_document(
        site=SiteData(
            name=site.name,
            theme=site.theme,
            seo=site.seo,
            favicon=site.favicon,
            # A site key without its secret would show a widget whose answer nobody checks.
            turnstile_site_key=site.turnstile_site_key if site.turnstile_enabled else "",
        ),
        page=PageData(
            title=page.title,
            path=page.path,
            seo_title=page.seo_title,
            seo_description=page.seo_description,
            og_image=page.og_image,
        ),
        tree=page_tree(page=page),
        mode=mode,
        nav_pages=nav_pages,
    )


def render_library_page(*, name: str, theme: dict, content: dict, page: dict) -> str:
    """A template library page (its stored content: pages of id-less nodes) as a preview document,
    for thumbnails and the gallery; forms in it render disabled, having no id to post to."""
    return render_document(
        site=SiteData(name=name, theme=theme, seo=content.get("seo") or {}),
        page=PageData(
            title=page["title"],
            path=page["path"],
            seo_title=page.get("seo_title", ""),
            seo_description=page.get("seo_description", ""),
        ),
        tree=page["components"],
        mode="preview",
        nav_pages=[NavPage(title=other["title"], path=other["path"]) for other in content["pages"]],
    )
