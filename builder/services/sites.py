"""Sites: created from a template (a deep copy of its pages) or blank; settings changed by version."""

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from builder.components import ConfigError, clean_url
from builder.models import Page, Site, Template
from builder.services.revisions import revision_record_site
from builder.services.trees import tree_clean, tree_write
from builder.theme import seo_clean, theme_clean
from core.concurrency import check_version

_TURNSTILE_KEY = re.compile(r"^[A-Za-z0-9_.-]{0,100}$")


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["A site needs a name."]})
    if len(name) > 120:
        raise ValidationError({"name": ["Keep the name under 120 characters."]})
    return name


def _unique_slug(*, workspace, name: str, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:60] or "site"
    slug = base
    taken = Site.objects.filter(workspace=workspace)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    while taken.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


def _config_error(exc: ConfigError) -> ValidationError:
    return ValidationError(exc.errors)


@transaction.atomic
def site_create(*, workspace, name: str, template: Template | None = None, actor=None) -> Site:
    """A new site. From a template it gets a copy of the template's theme, SEO defaults and pages;
    blank, it gets the default theme and an empty home page."""
    content = template.content if template else {}
    site = Site.objects.create(
        workspace=workspace,
        name=_clean_name(name),
        slug=_unique_slug(workspace=workspace, name=name),
        template=template,
        theme=theme_clean(template.theme if template else {}),
        seo=seo_clean(content.get("seo") or {}),
        created_by=actor if getattr(actor, "pk", None) and not hasattr(actor, "api_key") else None,
    )
    pages = content.get("pages") or [{"title": "Home", "path": "/", "is_home": True, "components": []}]
    for order, spec in enumerate(pages):
        page = Page.objects.create(
            workspace=workspace,
            site=site,
            title=spec["title"],
            path=spec["path"],
            seo_title=spec.get("seo_title", ""),
            seo_description=spec.get("seo_description", ""),
            og_image=spec.get("og_image", ""),
            is_home=spec.get("is_home", False),
            order=order,
        )
        # Template nodes carry no ids; each site gets components of its own.
        tree_write(page=page, nodes=tree_clean(spec.get("components") or []))
    label = f"Created from the template {template.name}" if template else "Created"
    revision_record_site(site=site, label=label, actor=actor)
    return site


@transaction.atomic
def site_update(*, site: Site, version: int, actor=None, **changes) -> Site:
    """Change name, theme, seo, favicon or Turnstile keys; `version` must be the one the caller read."""
    site = Site.objects.select_for_update().get(pk=site.pk)
    check_version(site, version)
    if "name" in changes:
        site.name = _clean_name(changes["name"])
    try:
        if "theme" in changes:
            site.theme = theme_clean(changes["theme"])
        if "seo" in changes:
            site.seo = seo_clean(changes["seo"])
    except ConfigError as exc:
        raise _config_error(exc) from None
    if "favicon" in changes:
        try:
            site.favicon = clean_url(changes["favicon"] or "")
        except ValueError as exc:
            raise ValidationError({"favicon": [str(exc)]}) from None
    for key in ("turnstile_site_key", "turnstile_secret_key"):
        if key in changes:
            value = (changes[key] or "").strip()
            if not _TURNSTILE_KEY.match(value):
                raise ValidationError({key: ["Paste the key exactly as Cloudflare shows it."]})
            setattr(site, key, value)
    site.version += 1
    site.save()
    revision_record_site(site=site, label=_change_label(changes), actor=actor)
    return site


def _change_label(changes: dict) -> str:
    names = {"theme": "theme", "seo": "SEO defaults", "name": "name", "favicon": "favicon"}
    changed = [label for key, label in names.items() if key in changes]
    if any(key.startswith("turnstile") for key in changes):
        changed.append("spam protection")
    return "Changed " + ", ".join(changed) if changed else "Saved settings"


@transaction.atomic
def site_delete(*, site: Site) -> None:
    site.delete()
