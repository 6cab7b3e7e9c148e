"""Text that mixes markup with Jinja tags, handled so that neither breaks the other.

An HTML sanitiser, serializer or CSS inliner would escape the quotes and `>` inside a Jinja tag, or
move a tag that sits where HTML allows no text; `jinja_protected` swaps every tag for an inert
placeholder while such a tool runs and puts the tags back after.
"""

import re
import secrets
from collections.abc import Callable
from html.parser import HTMLParser

import nh3
from markupsafe import escape

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
RICH_TEXT_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li"}
LINK_SCHEMES = ("http://", "https://", "mailto:")


def jinja_protected(text: str, transform: Callable[[str], str]) -> str:
    tags: list[str] = []
    # Unpredictable, so text that happens to look like a placeholder is left alone.
    marker = f"jinja{secrets.token_hex(4)}x"

    def stash(match: re.Match) -> str:
        tags.append(match.group())
        return f"{marker}{len(tags) - 1}x"

    result = transform(_JINJA.sub(stash, text))
    return re.sub(rf"{marker}(\d+)x", lambda match: tags[int(match.group(1))], result) if tags else result


def escape_text(text: str, *, line_breaks: bool = False) -> str:
    """Plain text that may hold Jinja, as HTML: the text escaped, its Jinja tags kept as written."""

    def to_html(value: str) -> str:
        value = str(escape(value))
        return value.replace("\n", "<br>\n") if line_breaks else value

    return jinja_protected(text, to_html)


def literal(text: str) -> str:
    """Text that is not a template (a postal address) made inert inside one: each "{" printed by Jinja."""
    return text.replace("{", '{{ "{" }}')


def _link_filter(tag: str, attribute: str, value: str) -> str | None:
    # The scheme must be written out before any Jinja tag, so contact data can't choose it.
    return value if value.lower().startswith(LINK_SCHEMES) else None


def sanitize_rich_text(html: str) -> str:
    return jinja_protected(
        html,
        lambda value: nh3.clean(
            value,
            tags=RICH_TEXT_TAGS,
            attributes={"a": {"href"}},
            url_schemes={"http", "https", "mailto"},
            attribute_filter=_link_filter,
            link_rel=None,
        ),
    ).strip()


class _PlainText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("p", "ul", "ol"):
            self.parts.append("\n\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag):
        if tag in ("p", "ul", "ol"):
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            if href and "".join(self.parts[start:]).strip() != href:
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        self.parts.append(re.sub(r"\s+", " ", data))


def rich_text_to_plain(html: str) -> str:
    """Sanitised rich text as plain text: paragraphs apart, list items dashed, links as "label (url)"."""

    def convert(value: str) -> str:
        parser = _PlainText()
        parser.feed(value)
        parser.close()
        lines = (line.strip() for line in "".join(parser.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

    return jinja_protected(html, convert)
