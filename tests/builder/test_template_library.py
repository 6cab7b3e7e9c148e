"""The template library: every file loads, every page renders as a valid, accessible document with no
broken links, loading is idempotent, and a broken file is refused with its name and the bad field."""

import copy
import json
import re
from functools import cache
from io import StringIO
from pathlib import Path

import html5lib
import pytest
from django.conf import settings
from django.core.management import call_command

from builder.models import Template
from builder.rendering import render_library_page
from builder.services.library import LIBRARY_DIR, TemplateFileError, template_file_parse, template_library_load

FILES = sorted(LIBRARY_DIR.glob("*.json"))
SLUGS = [file.stem for file in FILES]
STATIC = Path(settings.BASE_DIR) / "static"
FORM_CONTROLS = ("input", "select", "textarea")


@cache
def parsed(slug: str) -> dict:
    file = LIBRARY_DIR / f"{slug}.json"
    return template_file_parse(file, file.read_bytes())


def render(template: dict, page: dict) -> str:
    return render_library_page(name=template["name"], theme=template["theme"], content=template["content"], page=page)


def parse_strict(html: str):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


def write(directory: Path, data: dict) -> Path:
    file = directory / f"{data['slug']}.json"
    file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return file


def source(slug: str) -> dict:
    return json.loads((LIBRARY_DIR / f"{slug}.json").read_text(encoding="utf-8"))


# --- The collection ------------------------------------------------------------------------------


def test_library_is_broad():
    templates = [parsed(slug) for slug in SLUGS]
    assert len(templates) >= 30
    assert len({template["industry"] for template in templates}) >= 8
    assert sum(len(template["content"]["pages"]) > 1 for template in templates) >= 12
    assert len({template["name"] for template in templates}) == len(templates)


@pytest.mark.parametrize("file", FILES, ids=SLUGS)
def test_no_placeholder_copy(file):
    text = file.read_text(encoding="utf-8").lower()
    for placeholder in ("lorem", "ipsum", "your brand", "feature 1"):
        assert placeholder not in text


@pytest.mark.parametrize("slug", SLUGS)
def test_template_file_is_valid(slug):
    template = parsed(slug)
    assert template["slug"] == slug
    assert sum(page["is_home"] for page in template["content"]["pages"]) == 1


@pytest.mark.parametrize("slug", SLUGS)
def test_thumbnail_exists(slug):
    thumbnail = STATIC / "builder" / "thumbnails" / f"{slug}.png"
    assert thumbnail.is_file(), "run: manage.py render_template_thumbnails " + slug
    data = thumbnail.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(data[16:20], "big") == 480 and int.from_bytes(data[20:24], "big") == 300
    assert len(data) < 60 * 1024


# --- Rendering -------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_every_page_renders_valid_accessible_and_without_broken_links(slug):
    template = parsed(slug)
    pages = {page["path"]: page for page in template["content"]["pages"]}
    docs = {path: parse_strict(render(template, page)) for path, page in pages.items()}
    ids = {path: {element.get("id") for element in doc.iter() if element.get("id")} for path, doc in docs.items()}

    for path, doc in docs.items():
        where = f"{slug} {path}"
        assert len(list(doc.iter("h1"))) == 1, f"{where}: exactly one h1"

        for img in doc.iter("img"):
            assert img.get("alt") is not None, f"{where}: <img src={img.get('src')}> has no alt"
            src = img.get("src") or ""
            if src.startswith("/static/"):
                assert (STATIC / src.removeprefix("/static/")).is_file(), f"{where}: missing image {src}"

        wrapped = {
            id(control) for label in doc.iter("label") for control in label.iter() if control.tag in FORM_CONTROLS
        }
        labelled = {label.get("for") for label in doc.iter("label")}
        for control in doc.iter():
            if control.tag not in FORM_CONTROLS or control.get("type") == "hidden":
                continue
            assert id(control) in wrapped or (control.get("id") and control.get("id") in labelled), (
                f"{where}: <{control.tag} name={control.get('name')}> has no label"
            )

        for link in doc.iter("a"):
            href = link.get("href") or ""
            if link.get("data-sf-download") is not None:
                continue  # filled in by the form script once a lead magnet is sent
            if href.startswith("#"):
                assert href[1:] in ids[path], f"{where}: {href} names no element on the page"
            elif href.startswith("/") and not href.startswith(("/static/", "/f/")):
                target, _, fragment = href.partition("#")
                target = target.split("?", 1)[0]
                assert target in pages, f"{where}: {href} names no page of the template"
                assert not fragment or fragment in ids[target], f"{where}: {href} names no element on {target}"


# --- Loading ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_loading_twice_is_idempotent():
    first = template_library_load()
    assert (first.created, first.updated, first.unchanged) == (len(SLUGS), 0, 0)
    rows = {template.slug: template for template in Template.objects.filter(slug__in=SLUGS)}
    assert set(rows) == set(SLUGS)
    sample = rows[SLUGS[0]]
    assert sample.content["pages"] == parsed(sample.slug)["content"]["pages"]
    assert sample.content["seo"] == parsed(sample.slug)["content"]["seo"]
    assert sample.thumbnail == f"builder/thumbnails/{sample.slug}.png"
    assert re.fullmatch(r"[0-9a-f]{64}", sample.source_hash)

    second = template_library_load()
    assert (second.created, second.updated, second.unchanged) == (0, 0, len(SLUGS))
    assert Template.objects.count() == len(rows)


@pytest.mark.django_db
def test_load_templates_command_prints_the_counts():
    out = StringIO()
    call_command("load_templates", stdout=out)
    call_command("load_templates", stdout=out)
    assert out.getvalue().splitlines() == [
        f"Templates: {len(SLUGS)} created, 0 updated, 0 unchanged.",
        f"Templates: 0 created, 0 updated, {len(SLUGS)} unchanged.",
    ]


@pytest.mark.django_db
def test_a_changed_file_updates_its_row(tmp_path):
    changed = source(SLUGS[0])
    write(tmp_path, changed)
    write(tmp_path, source(SLUGS[1]))
    assert template_library_load(directory=tmp_path).created == 2

    changed["name"] = "Renamed for the test"
    changed["pages"][0]["components"][0]["config"]["brand"] = "Renamed brand"
    write(tmp_path, changed)
    result = template_library_load(directory=tmp_path)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    row = Template.objects.get(slug=changed["slug"])
    assert row.name == "Renamed for the test"
    assert row.content["pages"][0]["components"][0]["config"]["brand"] == "Renamed brand"


def _bad_type(data):
    data["pages"][0]["components"][1]["type"] = "carousel"
    return "pages.0.components.1.type"


def _bad_config(data):
    data["pages"][0]["components"][0]["config"]["cta"] = {"label": "Go", "url": "javascript:alert(1)"}
    return "pages.0.components.0.config.cta.url"


def _nested_bad_config(data):
    section = next(i for i, node in enumerate(data["pages"][0]["components"]) if node.get("children"))
    data["pages"][0]["components"][section]["children"][0]["config"]["unknown_field"] = True
    return f"pages.0.components.{section}.children.0.config.unknown_field"


def _two_home_pages(data):
    data["pages"][1]["is_home"] = True
    return "pages"


def _children_of_a_non_container(data):
    data["pages"][0]["components"][0]["children"] = [{"type": "heading", "config": {"text": "Stray"}}]
    return "pages.0.components.0.children"


def _link_to_a_missing_page(data):
    data["pages"][0]["components"][0]["config"]["cta"] = {"label": "Go", "url": "/nowhere"}
    return "pages.0.components.0.config.cta.url"


def _bad_industry(data):
    data["industry"] = "space_travel"
    return "industry"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "break_it",
    [
        _bad_type,
        _bad_config,
        _nested_bad_config,
        _two_home_pages,
        _children_of_a_non_container,
        _link_to_a_missing_page,
        _bad_industry,
    ],
)
def test_a_broken_file_is_refused_naming_the_file_and_the_field(tmp_path, break_it):
    slug = next(slug for slug in SLUGS if len(parsed(slug)["content"]["pages"]) > 1)
    write(tmp_path, source(SLUGS[-1]) if SLUGS[-1] != slug else source(SLUGS[0]))
    data = copy.deepcopy(source(slug))
    path = break_it(data)
    write(tmp_path, data)

    with pytest.raises(TemplateFileError) as caught:
        template_library_load(directory=tmp_path)

    assert str(caught.value).startswith(f"{slug}.json: ")
    assert path in caught.value.errors, caught.value.errors
    assert not Template.objects.exists(), "a bad file must leave the library untouched"
