"""Blocks to an email: responsive table HTML with its CSS inlined, a plain-text part, and subjects.

Everything that is the same for every recipient happens once, in compile_email: the layout, the
inlining (css-inline), the compiling of the three templates. Per recipient, CompiledEmail.render
only renders them. The layout is a 600px table (columns stacked and images scaled down on a phone,
by the media query that stays in the <head>), dark text on light, as email clients expect.
"""

from dataclasses import dataclass
from typing import Literal

import css_inline
from jinja2 import Template
from markupsafe import escape

from campaigns.content.blocks import content_clean
from campaigns.content.markup import escape_text, jinja_protected, literal, rich_text_to_plain
from core.templating import template_compile, template_render

# Side padding of a block, of the columns row, and of a block in a column: with the 600px container
# they give the room an image has, set as its width too since Outlook ignores max-width.
_PADDING, _COLUMNS_PADDING, _COLUMN_BLOCK_PADDING = 32, 20, 12
_CONTENT_WIDTH = 600 - 2 * _PADDING
_COLUMNS_WIDTH = 600 - 2 * _COLUMNS_PADDING
_FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
_CSS = f"""
body {{ margin: 0; padding: 0; background-color: #f4f5f7; }}
.wrapper {{ background-color: #f4f5f7; }}
.container {{ width: 600px; max-width: 600px; background-color: #ffffff; }}
.block {{ padding: 12px {_PADDING}px; font-family: {_FONT}; font-size: 16px; line-height: 1.5; color: #1f2937; }}
.block-columns {{ padding: 0 {_COLUMNS_PADDING}px; }}
.column .block {{ padding: {_COLUMN_BLOCK_PADDING}px; }}
.heading {{ margin: 0; font-weight: 700; line-height: 1.25; color: #111827; }}
.h1 {{ font-size: 28px; }}
.h2 {{ font-size: 22px; }}
.h3 {{ font-size: 18px; }}
.text p {{ margin: 0 0 12px; }}
.text ul, .text ol {{ margin: 0 0 12px; padding-left: 24px; }}
a {{ color: #2563eb; }}
.image {{ border: 0; height: auto; max-width: 100%; }}
.button {{ border-radius: 6px; }}
.button a {{ display: inline-block; padding: 12px 24px; border-radius: 6px; font-weight: 600; text-decoration: none; }}
.divider {{ height: 1px; font-size: 0; line-height: 0; border-top-width: 1px; border-top-style: solid; }}
.footer {{ font-size: 13px; color: #6b7280; }}
.legal {{ padding: 24px {_PADDING}px; font-family: {_FONT}; font-size: 12px; line-height: 1.5; color: #6b7280; }}
.legal a {{ color: #6b7280; text-decoration: underline; }}
.preheader {{ display: none; max-height: 0; overflow: hidden; opacity: 0; font-size: 1px; line-height: 1px; }}
@media only screen and (max-width: 620px) {{
  .container {{ width: 100% !important; }}
  .column {{ display: block !important; width: 100% !important; }}
  .block {{ padding-left: 16px !important; padding-right: 16px !important; }}
  .block-columns {{ padding-left: 0 !important; padding-right: 0 !important; }}
}}
"""
_TABLE = '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
# Keeps the text after the preheader out of the inbox preview.
_PREHEADER_FILL = "&#847;&zwnj;&nbsp;" * 40


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class CompiledEmail:
    subject: Template
    subject_b: Template | None
    html: Template
    text: Template

    def render(self, context: dict, *, variant: Literal["a", "b"] = "a") -> RenderedEmail:
        """One recipient's message. TemplateRenderError when a template fails on this context."""
        subject = self.subject_b if variant == "b" and self.subject_b else self.subject
        return RenderedEmail(
            # A header: one line, whatever the contact's data holds.
            subject=" ".join(template_render(subject, context).split()),
            html=template_render(self.html, context),
            text=template_render(self.text, context),
        )


# --- HTML ---------------------------------------------------------------------------------------------


def _heading(block: dict) -> str:
    level = block["level"]
    return f'<h{level} class="heading h{level}">{escape_text(block["text"])}</h{level}>'


def _image(block: dict) -> str:
    if not block["src"]:
        return ""
    width = block["width"]
    image = (
        f'<img class="image" src="{escape_text(block["src"])}" alt="{escape_text(block["alt"])}" width="{width}"'
        f' style="width: {width}px;">'
    )
    return f'<a href="{escape_text(block["link"])}">{image}</a>' if block["link"] else image


def _button(block: dict) -> str:
    if not block["url"]:
        return ""
    colours = f"background-color: {block['background']}; color: {block['color']};"
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0"><tr>'
        f'<td class="button" bgcolor="{block["background"]}" style="{colours}">'
        f'<a href="{escape_text(block["url"])}" style="{colours}">{escape_text(block["label"])}</a>'
        "</td></tr></table>"
    )


def _columns(block: dict) -> str:
    count = len(block["columns"])
    cells = "".join(
        f'<td class="column" width="{100 // count}%" valign="top">'
        f"{_table(column['blocks'], width=_COLUMNS_WIDTH // count - 2 * _COLUMN_BLOCK_PADDING)}</td>"
        for column in block["columns"]
    )
    return f"{_TABLE}<tr>{cells}</tr></table>"


_HTML = {
    "heading": _heading,
    "text": lambda block: f'<div class="text">{block["text"]}</div>',
    "image": _image,
    "button": _button,
    "divider": lambda block: f'<div class="divider" style="border-top-color: {block["color"]};">&nbsp;</div>',
    "columns": _columns,
    "footer": lambda block: f'<div class="footer">{escape_text(block["text"], line_breaks=True)}</div>',
}


def _table(blocks: list[dict], *, width: int = _CONTENT_WIDTH) -> str:
    rows = []
    for block in blocks:
        if block["type"] == "image":
            block = {**block, "width": min(block["width"], width)}
        rows.append(
            f'<tr><td class="block block-{block["type"]}" align="{block.get("align", "left")}">'
            f"{_HTML[block['type']](block)}</td></tr>"
        )
    return f"{_TABLE}{''.join(rows)}</table>"


def _legal_html(postal_address: str, workspace_name: str) -> str:
    lines = [literal(str(escape(line))) for line in (workspace_name, *postal_address.splitlines()) if line]
    lines.append('<a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    return f'<tr><td class="legal" align="center">{"<br>".join(lines)}</td></tr>'


def _document(blocks: list[dict], *, preheader: str, legal: str, title: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="x-apple-disable-message-reformatting"><meta name="color-scheme" content="light">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f'<div class="preheader">{escape_text(preheader)}{_PREHEADER_FILL}</div>'
        '<table role="presentation" class="wrapper" width="100%" cellpadding="0" cellspacing="0"><tr>'
        '<td align="center" style="padding: 24px 0;">'
        '<table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0">'
        f"<tr><td>{_table(blocks)}</td></tr>{legal}</table></td></tr></table></body></html>"
    )


def _inline(html: str) -> str:
    return jinja_protected(html, lambda value: css_inline.inline(value, keep_at_rules=True))


# --- Plain text ---------------------------------------------------------------------------------------------


def _labelled(label: str, url: str) -> str:
    return f"{label} ({url})" if label and url else label or url


_TEXT = {
    "heading": lambda block: block["text"],
    "text": lambda block: rich_text_to_plain(block["text"]),
    "image": lambda block: _labelled(block["alt"], block["link"]),
    "button": lambda block: _labelled(block["label"], block["url"]),
    "divider": lambda block: "---",
    "columns": lambda block: _plain([inner for column in block["columns"] for inner in column["blocks"]]),
    "footer": lambda block: block["text"],
}


def _plain(blocks: list[dict]) -> str:
    return "\n\n".join(part for part in (_TEXT[block["type"]](block) for block in blocks) if part)


def _legal_text(postal_address: str, workspace_name: str) -> str:
    lines = [literal(line) for line in (workspace_name, *postal_address.splitlines()) if line]
    return "\n\n--\n" + "\n".join([*lines, "Unsubscribe: {{ unsubscribe_url }}"])


# --- Compiling ----------------------------------------------------------------------------------------------


def compile_email(
    *,
    content: dict,
    subject: str,
    subject_b: str = "",
    preheader: str = "",
    postal_address: str = "",
    workspace_name: str = "",
    marketing: bool = True,
) -> CompiledEmail:
    """ValidationError keyed by field (subject, preheader, content.blocks.…) when a part doesn't compile.
    A marketing email ends with the workspace's name, postal address and an unsubscribe link to the
    render context's `unsubscribe_url`."""
    blocks = content_clean(content)["blocks"]
    template_compile(preheader, field="preheader")
    legal_html = _legal_html(postal_address, workspace_name) if marketing else ""
    legal_text = _legal_text(postal_address, workspace_name) if marketing else ""
    html = _inline(_document(blocks, preheader=preheader, legal=legal_html, title=literal(str(escape(workspace_name)))))
    return CompiledEmail(
        subject=template_compile(subject, field="subject"),
        subject_b=template_compile(subject_b, field="subject_b") if subject_b else None,
        html=template_compile(html, field="content", html=True),
        text=template_compile(_plain(blocks) + legal_text, field="content"),
    )
