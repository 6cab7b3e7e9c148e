"""The template library: one JSON file per template under builder/template_library/, upserted by slug.

Every file is validated completely (file format, each component config through the registry, page
paths, internal links) before anything is written, so a bad file leaves the library as it was.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from builder.components import ConfigError
from builder.components.base import errors_from_pydantic
from builder.models import Template
from builder.services.trees import tree_as_data, tree_clean
from builder.theme import seo_clean, theme_clean

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "template_library"
THUMBNAIL_DIR = "builder/thumbnails"

Category = Literal["landing_page", "website", "lead_generation", "event", "product_launch", "portfolio", "newsletter"]
Industry = Literal[
    "saas",
    "agency",
    "professional_services",
    "restaurant",
    "fitness",
    "real_estate",
    "events",
    "education",
    "nonprofit",
    "app",
    "portfolio",
    "coaching",
    "ecommerce",
    "healthcare",
]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
PagePath = Annotated[str, StringConstraints(pattern=r"^/([a-z0-9-]+(/[a-z0-9-]+)*)?$", max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageFile(_Strict):
    title: ShortText
    path: PagePath
    is_home: bool = False
    seo_title: Annotated[str, StringConstraints(max_length=200)] = ""
    seo_description: Annotated[str, StringConstraints(max_length=400)] = ""
    #: Checked node by node against the component registry, not here.
    components: list[dict] = Field(min_length=1)


class TemplateFile(_Strict):
    slug: Slug
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    category: Category
    industry: Industry
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
    tags: list[Annotated[str, StringConstraints(max_length=40)]] = Field(default_factory=list, max_length=12)
    order: int = Field(0, ge=0)
    theme: dict = Field(default_factory=dict)
    seo: dict = Field(default_factory=dict)
    pages: list[PageFile] = Field(min_length=1, max_length=12)


class TemplateFileError(ValueError):
    """A library file that does not load; names the file and each bad field's path."""

    def __init__(self, file: Path, errors: dict[str, list[str]]):
        self.file = file
        self.errors = errors
        detail = "; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items())
        super().__init__(f"{file.name}: {detail}")


@dataclass(frozen=True)
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


#: Config keys that hold a link a visitor follows (Link.url, ImageConfig.link, form redirects).
_LINK_KEYS = {"url", "link", "redirect_url"}


def _walk(nodes: list[dict], where: str):
    """(path, node) for every node of a tree, depth first."""
    for index, node in enumerate(nodes):
        at = f"{where}.{index}"
        yield at, node
        yield from _walk(node["children"], f"{at}.children")


def _links(value, where: str):
    """(path, url) for every followable link inside a config."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _LINK_KEYS and isinstance(item, str) and item:
                yield f"{where}.{key}", item
            else:
                yield from _links(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _links(item, f"{where}.{index}")


def _check_pages(pages: list[dict], errors: dict[str, list[str]]) -> None:
    homes = [page for page in pages if page["is_home"]]
    if len(homes) != 1:
        errors["pages"] = [f"Exactly one page must be the home page; found {len(homes)}."]
    elif homes[0]["path"] != "/":
        errors["pages"] = ["The home page's path must be /."]
    paths: set[str] = set()
    for index, page in enumerate(pages):
        if page["path"] in paths:
            errors[f"pages.{index}.path"] = [f"Another page already has the path {page['path']}."]
        paths.add(page["path"])

    # A template is copied into a workspace as is: a link to a page or an anchor it lacks would
    # ship broken on every site made from it.
    anchors = {
        page["path"]: {node["config"].get("anchor") for _, node in _walk(page["components"], "")} - {None, ""}
        for page in pages
    }
    for index, page in enumerate(pages):
        for at, node in _walk(page["components"], f"pages.{index}.components"):
            for link_at, url in _links(node["config"], f"{at}.config"):
                if not url.startswith(("#", "/")) or url.startswith("/static/"):
                    continue
                target, _, fragment = url.partition("#")
                path = target.split("?", 1)[0] or page["path"]
                if path not in paths:
                    errors[link_at] = [f"The template has no page {path}."]
                elif fragment and fragment not in anchors[path]:
                    errors[link_at] = [f"No section on the page {path} has the anchor {fragment!r}."]


def template_file_parse(file: Path, source: bytes) -> dict:
    """A library file's bytes, validated and normalised into the fields of a Template row."""
    try:
        raw = json.loads(source.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TemplateFileError(file, {"file": [f"Not valid JSON: {exc}"]}) from None
    if not isinstance(raw, dict):
        raise TemplateFileError(file, {"file": ["Must hold one JSON object."]})
    try:
        spec = TemplateFile.model_validate(raw)
    except PydanticValidationError as exc:
        errors = errors_from_pydantic(exc, prefix="file")
        raise TemplateFileError(
            file, {path.removeprefix("file."): messages for path, messages in errors.items()}
        ) from None

    errors: dict[str, list[str]] = {}
    if spec.slug != file.stem:
        errors["slug"] = [f"Must match the file name ({file.stem!r})."]
    try:
        theme = theme_clean(spec.theme)
    except ConfigError as exc:
        errors.update(exc.errors)
    try:
        seo = seo_clean(spec.seo)
    except ConfigError as exc:
        errors.update(exc.errors)
    pages = []
    for index, page in enumerate(spec.pages):
        try:
            # A template's nodes carry no ids: every site made from it gets components of its own.
            nodes = tree_clean(page.components, prefix=f"pages.{index}.components", with_ids=False)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            nodes = []
        pages.append({**page.model_dump(exclude={"components"}), "components": tree_as_data(nodes)})
    if not errors:
        _check_pages(pages, errors)
    if errors:
        raise TemplateFileError(file, errors)

    return {
        "slug": spec.slug,
        "name": spec.name,
        "category": spec.category,
        "industry": spec.industry,
        "description": spec.description,
        "tags": spec.tags,
        "order": spec.order,
        "theme": theme,
        "content": {"pages": pages, "seo": seo},
    }


def _thumbnail(slug: str) -> str:
    relative = f"{THUMBNAIL_DIR}/{slug}.png"
    return relative if (Path(settings.BASE_DIR) / "static" / relative).is_file() else ""


@transaction.atomic
def template_library_load(*, directory: Path | None = None) -> LoadResult:
    """Create or update a Template for every JSON file in the library; files unchanged since the last
    load are skipped. Raises TemplateFileError, and writes nothing, if any file is invalid."""
    directory = directory or LIBRARY_DIR
    parsed = []
    # Slugs are unique: each must equal its file's name.
    for file in sorted(directory.glob("*.json")):
        source = file.read_bytes()
        fields = template_file_parse(file, source)
        fields["source_hash"] = hashlib.sha256(source).hexdigest()
        fields["thumbnail"] = _thumbnail(fields["slug"])
        parsed.append(fields)

    existing = {
        template.slug: template
        for template in Template.objects.filter(slug__in=[fields["slug"] for fields in parsed]).select_for_update()
    }
    created = updated = unchanged = 0
    for fields in parsed:
        template = existing.get(fields["slug"])
        if template is None:
            Template.objects.create(**fields)
            created += 1
        elif template.source_hash == fields["source_hash"] and template.thumbnail == fields["thumbnail"]:
            unchanged += 1
        else:
            for name, value in fields.items():
                setattr(template, name, value)
            template.save()
            updated += 1
    return LoadResult(created=created, updated=updated, unchanged=unchanged)
