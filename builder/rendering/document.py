"""A page's component tree as one complete HTML5 document, rendered with Jinja2.

Used by the API preview, the editor canvas, the template gallery's thumbnails and publishing; one
renderer, so what a marketer sees is what visitors get. Everything the page needs is inline (one
stylesheet, at most two small scripts): no CDN, no web fonts, no build step. The only external
script is Cloudflare Turnstile's, on forms that ask for it.

Each node's config is validated against its type again before it is rendered: a config written
before a type gained a field gets its default, and rich text is sanitised right where it is marked
safe, not only when it was saved.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal, get_args, get_origin

import jinja2
from django.conf import settings
from django.utils import timezone
from markupsafe import Markup
from pydantic import BaseModel

from builder.components import REGISTRY, ConfigError, clean_url
from builder.form_tokens import form_token
from builder.rendering.icons import SOCIAL_NAMES, icon, stars
from builder.theme import FONT_STACKS, seo_clean, theme_clean
from core.logging import get_logger

log = get_logger(__name__)

Mode = Literal["published", "preview", "editor"]
MODES = ("published", "preview", "editor")

_ASSETS = Path(__file__).resolve().parent


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8").strip()


#: The base stylesheet and the inline scripts, read once. Their text never varies with content,
#: so a test can tell the renderer's own scripts from anything injected.
SITE_CSS = _asset("site.css")
EDITOR_CSS = _asset("editor.css")
FORMS_SCRIPT = _asset("forms.js")
COUNTDOWN_SCRIPT = _asset("countdown.js")
TURNSTILE_SCRIPT_URL = "https://challenges.cloudflare.com/turnstile/v0/api.js"


@dataclass(frozen=True)
class SiteData:
    name: str
    theme: dict
    seo: dict
    favicon: str = ""
    turnstile_site_key: str = ""
    #: The site's public origin (https://www.example.com) once it is published; gives the canonical URL.
    base_url: str = ""


@dataclass(frozen=True)
class PageData:
    title: str
    path: str = "/"
    seo_title: str = ""
    seo_description: str = ""
    og_image: str = ""


@dataclass(frozen=True)
class NavPage:
    title: str
    path: str


@dataclass
class _Render:
    """What every node of one document render shares."""

    mode: Mode
    page_path: str
    #: The site's pages as navbar links, for a navbar that lists none of its own.
    nav_links: list[dict]
    turnstile_site_key: str
    form_base: str
    counter: int = 0
    uses: set[str] = field(default_factory=set)


# --- Theme ----------------------------------------------------------------------------------------------

_SPACING = {"compact": "0.75", "comfortable": "1", "spacious": "1.3"}
_DARK = "#0f172a"
_LIGHT = "#ffffff"


def _luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _text_on(color: str) -> str:
    """White or near-black, whichever reads better on `color` (WCAG contrast)."""
    return _LIGHT if _contrast(color, _LIGHT) >= _contrast(color, _DARK) else _DARK


def _clean_theme(theme) -> dict:
    try:
        return theme_clean(theme)
    except ConfigError as exc:
        # A stored theme from an older schema must not take the page down; it gets the defaults.
        log.warning("render_theme_invalid", errors=exc.errors)
        return theme_clean({})


def theme_css(theme: dict) -> str:
    """The theme's tokens as CSS custom properties on :root, defaults filled in.

    Only validated values reach the stylesheet (colours are #rrggbb, fonts are keys of FONT_STACKS,
    the radius an integer), so nothing a user types can close the <style> element.
    """
    tokens = _clean_theme(theme)
    colors, fonts = tokens["colors"], tokens["fonts"]
    # Dark bands reuse the theme's text colour when it is dark enough, so they match the palette.
    dark = colors["text"] if _luminance(colors["text"]) < 0.05 else _DARK
    props = {
        "primary": colors["primary"],
        "on-primary": _text_on(colors["primary"]),
        "secondary": colors["secondary"],
        "on-secondary": _text_on(colors["secondary"]),
        "bg": colors["background"],
        "surface": colors["surface"],
        "text": colors["text"],
        "muted": colors["muted"],
        "dark": dark,
        "font-heading": FONT_STACKS[fonts["heading"]],
        "font-body": FONT_STACKS[fonts["body"]],
        "radius": f"{tokens['radius']}px",
        "space": _SPACING[tokens["spacing"]],
    }
    return ":root{" + ";".join(f"--sf-{name}:{value}" for name, value in props.items()) + "}"


# --- Template helpers -------------------------------------------------------------------------------------


def _safe_url(value) -> str:
    """A URL from a model field that was cleaned on write; cleaned again here, dropped when bad."""
    try:
        return clean_url(str(value or ""))
    except ValueError:
        return ""


def _moment_text(value: str) -> str:
    moment = datetime.fromisoformat(value)
    offset = moment.strftime("%z")
    zone = "UTC" if offset in ("+0000", "-0000") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} {zone}"


def _remaining(value: str) -> dict[str, int]:
    seconds = max(math.floor((datetime.fromisoformat(value) - timezone.now()).total_seconds()), 0)
    return {
        "days": seconds // 86400,
        "hours": seconds // 3600 % 24,
        "minutes": seconds // 60 % 60,
        "seconds": seconds % 60,
    }


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.split()[:2]).upper()


def _is_external(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("builder", "jinja2"),
    # Templates ship with the code and a deploy restarts the processes: outside development, skip the
    # stat() of every template file on every lookup.
    auto_reload=settings.DEBUG,
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(icon=icon, stars=stars, social_names=SOCIAL_NAMES)
_env.filters.update(moment_text=_moment_text, remaining=_remaining, initials=_initials)
_env.tests["external"] = _is_external


# --- Rendering ----------------------------------------------------------------------------------------------

RichTextPath = tuple[str, ...]


@cache
def _rich_text_paths(model: type[BaseModel]) -> tuple[RichTextPath, ...]:
    """Where a config model keeps RichText (sanitised HTML): ("html",), ("items", "*", "answer")…"""
    paths: list[RichTextPath] = []
    for name, info in model.model_fields.items():
        if (info.json_schema_extra or {}).get("format") == "richtext":
            paths.append((name,))
            continue
        annotation, prefix = info.annotation, (name,)
        if get_origin(annotation) is list:
            annotation, prefix = get_args(annotation)[0], (name, "*")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(prefix + path for path in _rich_text_paths(annotation))
    return tuple(paths)


def _mark_rich_text(data, path: RichTextPath) -> None:
    """Mark the sanitised HTML at `path` safe: the one place user content reaches the page unescaped,
    and only after ComponentType.validate() ran it through nh3 for this very render."""
    head, rest = path[0], path[1:]
    if head == "*":
        for item in data:
            _mark_rich_text(item, rest)
    elif not rest:
        data[head] = Markup(data[head])  # noqa: S704 (nh3-sanitised RichText)
    else:
        _mark_rich_text(data[head], rest)


def _editor_attrs(node_id: str, type_name: str) -> Markup:
    attrs = Markup(' data-component-type="{}"').format(type_name)
    if node_id:
        attrs = Markup(' data-component-id="{}"').format(node_id) + attrs
    return attrs


def _form_context(node_id: str, config: dict, state: _Render) -> dict:
    """Where a form posts and what it carries. A node without an id (a template-library page) cannot
    be submitted: its form renders disabled, without an action or token."""
    submittable = bool(node_id)
    action = ""
    if submittable and state.mode != "editor":
        action = f"{state.form_base}/f/{node_id}/"
        state.uses.add("forms")
    turnstile = ""
    if state.turnstile_site_key and config["use_turnstile"] and state.mode != "editor":
        turnstile = state.turnstile_site_key
        state.uses.add("turnstile")
    return {
        "action": action,
        "token": form_token(node_id) if submittable else "",
        "disabled": not submittable,
        "turnstile": turnstile,
    }


def _render_node(node: dict, state: _Render) -> Markup:
    type_name = node.get("type")
    component_type = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    node_id = str(node.get("id") or "")
    if component_type is None:
        log.warning("render_unknown_component", type=type_name, component_id=node_id)
        return Markup("")
    try:
        config = component_type.validate(node.get("config"))
    except ConfigError as exc:
        log.warning("render_invalid_config", type=type_name, component_id=node_id, errors=exc.errors)
        return Markup("")
    for path in _rich_text_paths(component_type.config_model):
        _mark_rich_text(config, path)
    state.counter += 1
    editor = state.mode == "editor"
    context = {
        "c": config,
        "node_id": node_id,
        # Element ids for labels and error slots; unique in the document even without component ids.
        "uid": f"sf-{node_id or f'n{state.counter}'}",
        "attrs": _editor_attrs(node_id, type_name) if editor else Markup(""),
        "editor": editor,
        "page_path": state.page_path,
        "nav_links": state.nav_links,
        "children": _render_nodes(node.get("children") or (), state) if component_type.is_container else Markup(""),
    }
    if component_type.is_form:
        context["form"] = _form_context(node_id, config, state)
    if type_name == "countdown" and not editor:
        state.uses.add("countdown")
    return Markup(_env.get_template(component_type.template).render(context))  # noqa: S704 (autoescaped output)


def _render_nodes(nodes, state: _Render) -> Markup:
    return Markup("").join(_render_node(node, state) for node in nodes)


def _split_chrome(tree: list) -> tuple[list, list, list]:
    """Leading navbars go before <main> and trailing footers after it, so they are the page's banner
    and contentinfo landmarks; the rest stays in tree order inside <main>."""
    start, end = 0, len(tree)
    while start < end and tree[start].get("type") == "navbar":
        start += 1
    while end > start and tree[end - 1].get("type") == "footer":
        end -= 1
    return tree[:start], tree[start:end], tree[end:]


def _title(site: SiteData, page: PageData, seo: dict) -> str:
    title = (page.seo_title or page.title or "").strip()
    suffix = seo["title_suffix"]
    if not title:
        return suffix or site.name
    if not suffix or title.endswith(suffix):
        return title
    # A suffix may bring its own separator ("| Acme"); otherwise one is put in.
    return f"{title} {suffix}" if not suffix[0].isalnum() else f"{title} · {suffix}"


def _clean_seo(seo) -> dict:
    try:
        return seo_clean(seo)
    except ConfigError as exc:
        log.warning("render_seo_invalid", errors=exc.errors)
        return seo_clean({})


def render_document(
    *,
    site: SiteData,
    page: PageData,
    tree: list,
    mode: Mode = "preview",
    nav_pages: list[NavPage] | None = None,
) -> str:
    """The page as a complete HTML5 document. Pure: reads no database, only settings.SITE_URL.

    - published: what visitors get; forms post to absolute URLs on SITE_URL (the page may be served
      from a custom domain).
    - preview: the same page, served by the app; relative form actions.
    - editor: the editor canvas: no scripts, forms without action, and every component marked with
      data-component-id/-type, every container's children wrapped in [data-children-of].
    """
    if mode not in MODES:
        raise ValueError(f"Unknown render mode {mode!r}.")
    seo = _clean_seo(site.seo)
    state = _Render(
        mode=mode,
        page_path=page.path,
        nav_links=[{"label": nav.title, "url": _safe_url(nav.path)} for nav in nav_pages or ()],
        turnstile_site_key=site.turnstile_site_key,
        form_base=settings.SITE_URL.rstrip("/") if mode == "published" else "",
    )
    if mode == "editor":
        header, body, footer = [], tree, []
    else:
        header, body, footer = _split_chrome(tree)
    base_url = _safe_url(site.base_url)
    context = {
        "mode": mode,
        "editor": mode == "editor",
        "site_name": site.name,
        "title": _title(site, page, seo),
        "og_title": (page.seo_title or page.title or site.name).strip(),
        "description": page.seo_description or seo["description"],
        "og_image": _safe_url(page.og_image) or seo["og_image"],
        "favicon": _safe_url(site.favicon),
        "canonical": f"{base_url.rstrip('/')}{page.path}" if mode == "published" and _is_external(base_url) else "",
        "css": Markup(SITE_CSS + theme_css(site.theme) + (EDITOR_CSS if mode == "editor" else "")),  # noqa: S704
        "header": _render_nodes(header, state),
        "main": _render_nodes(body, state),
        "footer": _render_nodes(footer, state),
    }
    context["scripts"] = {
        "forms": Markup(FORMS_SCRIPT) if "forms" in state.uses else "",  # noqa: S704 (constant)
        "countdown": Markup(COUNTDOWN_SCRIPT) if "countdown" in state.uses else "",  # noqa: S704 (constant)
        "turnstile": TURNSTILE_SCRIPT_URL if "turnstile" in state.uses else "",
    }
    return _env.get_template("site/document.html").render(context)
