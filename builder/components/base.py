"""What every component type is made of, and the field types their configs share.

A component type is a typed config (a pydantic model, exported as JSON Schema for the editor's
property panel), a default config, a server-side renderer, and the domain events it can emit. User
text is never trusted as markup: plain text is escaped when rendered, rich text is sanitised with
nh3 on write, and every URL field takes only http(s), mailto, tel and site-relative paths.
"""

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import nh3
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

# --- Shared field types -----------------------------------------------------------------------------

_SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:")
# Control characters and whitespace browsers strip before reading a scheme ("java\tscript:").
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def clean_url(value: str) -> str:
    """http(s), mailto and tel URLs, site-relative paths and #anchors; anything else is refused."""
    value = value.strip()
    if not value:
        return ""
    probe = _URL_NOISE.sub("", value).lower()
    if probe.startswith(_SAFE_SCHEMES):
        if probe.startswith(("http://", "https://")) and len(probe.split("/", 3)[2]) == 0:
            raise ValueError("An http(s) URL needs a host.")
        return value
    if probe.startswith("//"):
        raise ValueError("Protocol-relative URLs are not allowed; write https://…")
    if probe.startswith(("/", "#", "?")) and not probe.startswith("/\\"):
        return value
    if ":" in probe.split("/", 1)[0]:
        raise ValueError("Only http, https, mailto and tel links are allowed.")
    raise ValueError("Enter a full URL (https://…), a path starting with /, or an #anchor.")


def _clean_rich_text(value: str) -> str:
    return nh3.clean(
        value,
        tags=RICH_TEXT_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


RICH_TEXT_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "a",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), Field(json_schema_extra={"format": "textarea"})
]
RichText = Annotated[
    str,
    StringConstraints(max_length=20000),
    AfterValidator(_clean_rich_text),
    Field(json_schema_extra={"format": "richtext"}),
]
Url = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(clean_url),
    Field(json_schema_extra={"format": "uri-reference"}),
]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$"), Field(json_schema_extra={"format": "color"})]


class Config(BaseModel):
    """Base of every component config: unknown keys are an error, so a typo is reported, not dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, validate_default=True)


class Image(Config):
    src: Url = ""
    alt: Text = ""


class Link(Config):
    label: Text = ""
    url: Url = ""


# --- Errors ----------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A config that does not fit its type; `errors` maps each bad field's path to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in errors.items()))
        self.errors = errors


def errors_from_pydantic(exc: PydanticValidationError, prefix: str = "config") -> dict[str, list[str]]:
    """Each error under its dotted path: config.fields.0.label; a whole-object rule under the prefix; a
    bad key of a mapping under the key's own path (pydantic's "[key]" marker left out)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        key = ".".join([prefix, *(str(part) for part in error["loc"] if part != "[key]")])
        errors.setdefault(key, []).append(message)
    return errors


def validate_config(model: type[Config], value: Any, prefix: str = "config") -> dict:
    """`value` checked against `model` and normalised (defaults filled, rich text sanitised), as JSON
    data; ConfigError with each bad field's path under `prefix` otherwise."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError({prefix: ["Must be an object."]})
    try:
        return model.model_validate(value).model_dump(mode="json")
    except PydanticValidationError as exc:
        raise ConfigError(errors_from_pydantic(exc, prefix)) from None


# --- Component types ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentType:
    type: str
    name: str
    category: str
    description: str
    config_model: type[Config]
    emits: tuple[str, ...] = ()
    #: Containers hold child components (a section lays them out in columns).
    is_container: bool = False
    #: Forms post to the public form endpoint and store FormSubmissions.
    is_form: bool = False
    icon: str = "square"
    #: The Jinja2 template that renders it, under builder/jinja2/site/components/.
    template: str = field(default="")

    CATEGORIES: ClassVar[tuple[str, ...]] = ("layout", "content", "media", "marketing", "forms", "social_proof")

    def validate(self, config: Any) -> dict:
        return validate_config(self.config_model, config)

    def default_config(self) -> dict:
        return self.config_model().model_dump(mode="json")

    def json_schema(self) -> dict:
        return self.config_model.model_json_schema()

    def describe(self) -> dict:
        return {
            "type": self.type,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "icon": self.icon,
            "is_container": self.is_container,
            "is_form": self.is_form,
            "schema": self.json_schema(),
            "default_config": self.default_config(),
            "emits": list(self.emits),
        }


REGISTRY: dict[str, ComponentType] = {}


def register(component_type: ComponentType) -> ComponentType:
    if component_type.type in REGISTRY:
        raise ValueError(f"Component type {component_type.type!r} registered twice.")
    if component_type.category not in ComponentType.CATEGORIES:
        raise ValueError(f"Unknown category {component_type.category!r} for {component_type.type!r}.")
    REGISTRY[component_type.type] = component_type
    return component_type


def get_type(type_name: str) -> ComponentType:
    """The registered type; ConfigError naming `type` when there is none."""
    try:
        return REGISTRY[type_name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError({"type": [f"Unknown component type {type_name!r}. Known types: {known}."]}) from None
