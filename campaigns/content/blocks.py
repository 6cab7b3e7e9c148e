"""The blocks an email is built from, as typed configs the editor gets as JSON Schema.

Mirrors builder.components: unknown keys are errors, rich text is sanitised on write. Every field
that may hold Jinja is compiled when the content is cleaned, so a broken template is refused when
the email is saved, with its line, and never discovered while sending.
"""

from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from pydantic import AfterValidator, Field, StringConstraints, model_validator
from pydantic import ValidationError as PydanticValidationError

from builder.components.base import Color, Config, LongText, Text
from campaigns.content.markup import LINK_SCHEMES, sanitize_rich_text
from core.templating import template_compile

MAX_BLOCKS = 50
MAX_COLUMN_BLOCKS = 10
Align = Literal["left", "center", "right"]


def _template(value: str) -> str:
    try:
        template_compile(value, field="template")
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from None
    return value


def _url(value: str, schemes: tuple[str, ...]) -> str:
    """Only the given schemes, written out before any Jinja tag (`?email={{ contact.email }}` is fine)."""
    value = value.strip()
    if value and not value.lower().startswith(schemes):
        raise ValueError(f"Links must start with one of: {', '.join(schemes)}.")
    if value.lower().startswith(("http://", "https://")) and not value.split("/", 3)[2]:
        raise ValueError("An http(s) URL needs a host.")
    return value


TemplateText = Annotated[Text, AfterValidator(_template)]
TemplateLongText = Annotated[LongText, AfterValidator(_template)]
RichText = Annotated[
    str,
    StringConstraints(max_length=20000),
    AfterValidator(sanitize_rich_text),
    AfterValidator(_template),
    Field(json_schema_extra={"format": "richtext"}),
]
LinkUrl = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(lambda value: _url(value, LINK_SCHEMES)),
    AfterValidator(_template),
    Field(json_schema_extra={"format": "uri"}),
]
ImageUrl = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(lambda value: _url(value, ("https://", "http://"))),
    AfterValidator(_template),
    Field(json_schema_extra={"format": "uri"}),
]


class HeadingBlock(Config):
    type: Literal["heading"] = "heading"
    text: TemplateText = "A heading"
    level: Literal[1, 2, 3] = 1
    align: Align = "left"


class TextBlock(Config):
    type: Literal["text"] = "text"
    text: RichText = '<p>Hi {{ contact.first_name | default("there") }},</p>'
    align: Align = "left"


class ImageBlock(Config):
    type: Literal["image"] = "image"
    src: ImageUrl = ""
    alt: TemplateText = ""
    link: LinkUrl = ""
    #: Pixels on a desktop screen; never wider than the column on a phone.
    width: int = Field(600, ge=16, le=600)
    align: Align = "center"


class ButtonBlock(Config):
    type: Literal["button"] = "button"
    label: TemplateText = "Read more"
    url: LinkUrl = ""
    background: Color = "#2563eb"
    color: Color = "#ffffff"
    align: Align = "center"

    @model_validator(mode="after")
    def _label(self) -> "ButtonBlock":
        if not self.label:
            raise ValueError("A button needs a label.")
        return self


class DividerBlock(Config):
    type: Literal["divider"] = "divider"
    color: Color = "#e5e7eb"


class FooterBlock(Config):
    """Text of the workspace's own; the postal address and unsubscribe link of a marketing email are
    added after it regardless."""

    type: Literal["footer"] = "footer"
    text: TemplateLongText = ""
    align: Align = "center"


ColumnBlock = Annotated[
    HeadingBlock | TextBlock | ImageBlock | ButtonBlock | DividerBlock | FooterBlock, Field(discriminator="type")
]


class Column(Config):
    blocks: list[ColumnBlock] = Field(default_factory=list, max_length=MAX_COLUMN_BLOCKS)


class ColumnsBlock(Config):
    """Side by side on a desktop screen, stacked on a phone."""

    type: Literal["columns"] = "columns"
    columns: list[Column] = Field(default_factory=lambda: [Column(), Column()], min_length=2, max_length=3)


Block = Annotated[
    HeadingBlock | TextBlock | ImageBlock | ButtonBlock | DividerBlock | FooterBlock | ColumnsBlock,
    Field(discriminator="type"),
]


class EmailContent(Config):
    blocks: list[Block] = Field(default_factory=list, max_length=MAX_BLOCKS)


BLOCK_MODELS = (HeadingBlock, TextBlock, ImageBlock, ButtonBlock, DividerBlock, ColumnsBlock, FooterBlock)
BLOCK_TYPES: dict[str, dict] = {model.model_fields["type"].default: model.model_json_schema() for model in BLOCK_MODELS}


def _error_path(field: str, error: dict) -> str:
    loc = error["loc"]
    # A block's type follows its index in pydantic's path; the path to show names the index only.
    parts = [
        str(part)
        for index, part in enumerate(loc)
        if not (index >= 2 and loc[index - 2] == "blocks" and isinstance(loc[index - 1], int))
    ]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        parts.append("type")
    return ".".join([field, *parts])


def _error_message(error: dict) -> str:
    if error["type"] == "union_tag_not_found":
        return "Every block needs a type."
    if error["type"] == "union_tag_invalid":
        if error["ctx"]["tag"] == "columns":
            return "Columns can't hold columns."
        return f"Unknown block type {error['ctx']['tag']!r}. Known types: {error['ctx']['expected_tags']}."
    return error["msg"].removeprefix("Value error, ")


def content_clean(content: dict | None, *, field: str = "content") -> dict:
    """The content checked and normalised (defaults filled, rich text sanitised), every template in it
    compiled; ValidationError keyed by each bad value's path ("content.blocks.2.text") otherwise."""
    if not isinstance(content, dict | None):
        raise ValidationError({field: ["Must be an object."]})
    try:
        return EmailContent.model_validate(content or {}).model_dump(mode="json")
    except PydanticValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False):
            errors.setdefault(_error_path(field, error), []).append(_error_message(error))
        raise ValidationError(errors) from None
