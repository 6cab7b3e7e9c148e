"""Components and whole trees over the API: configs validated with field paths, versions, moves, copies."""

import uuid

import pytest

from builder.models import Component, Revision
from builder.selectors import page_tree
from tests.factories import ComponentFactory, PageFactory

pytestmark = pytest.mark.django_db


def _create(client, page, **body):
    return client.post("/api/v1/components/", {"page": page.pk, **body}, format="json")


def _top_types(page) -> list[str]:
    return [node["type"] for node in page_tree(page=page)]


def test_create_with_default_config_and_position(editor, home):
    response = _create(editor.client, home, type="newsletter", position=0)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["config"]["submit_label"] == "Subscribe" and body["position"] == 0 and body["version"] == 1
    assert _top_types(home) == ["newsletter", "hero", "section"]
    assert body["page_version"] == home.version + 1


def test_create_inside_a_section_at_the_end(editor, home):
    section = Component.objects.get(page=home, type="section")
    response = _create(
        editor.client, home, type="button", config={"label": "Go", "url": "/pricing"}, parent=str(section.pk)
    )
    assert response.status_code == 201, response.content
    assert [c.type for c in section.children.order_by("position")] == ["rich_text", "contact_form", "button"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "carousel"}, "type"),
        ({}, "type"),
        ({"type": "button", "config": {"label": ""}}, "config"),
        ({"type": "button", "config": {"url": "javascript:alert(1)"}}, "config.url"),
        ({"type": "button", "config": {"size": "huge"}}, "config.size"),
        ({"type": "button", "config": {"colour": "red"}}, "config.colour"),
        ({"type": "hero", "config": {"primary_cta": {"url": "data:text/html,<script>"}}}, "config.primary_cta.url"),
        (
            {"type": "contact_form", "config": {"fields": [{"kind": "select", "name": "plan", "label": "Plan"}]}},
            "config.fields.0",
        ),
        (
            {"type": "contact_form", "config": {"fields": [{"kind": "text", "name": "Bad Name", "label": "X"}]}},
            "config.fields.0.name",
        ),
        ({"type": "contact_form", "config": {"fields": []}}, "config.fields"),
        ({"type": "section", "config": {"columns": 9}}, "config.columns"),
        ({"type": "video", "config": {"video_id": "<script>"}}, "config.video_id"),
        ({"type": "countdown", "config": {"target": "next tuesday"}}, "config"),
        ({"type": "button", "config": "not an object"}, "config"),
        ({"type": "button", "position": -1}, "position"),
        ({"type": "button", "parent": "not-a-uuid"}, "parent"),
        ({"type": "button", "parent": str(uuid.uuid4())}, "parent"),
    ],
)
def test_bad_component_is_400_naming_the_path(editor, home, assert_error, body, field):
    count = Component.objects.count()
    response = _create(editor.client, home, **body)
    assert_error(response, 400, "validation_error", field)
    assert Component.objects.count() == count


def test_a_non_container_cannot_be_a_parent(editor, home, assert_error):
    hero = Component.objects.get(page=home, type="hero")
    assert_error(_create(editor.client, home, type="button", parent=str(hero.pk)), 400, "validation_error", "parent")


def test_rich_text_is_sanitised_on_write(editor, home):
    html = '<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:alert(1)">there</a><b>!</b></p>'
    config = _create(editor.client, home, type="rich_text", config={"html": html}).json()["config"]
    assert "script" not in config["html"] and "onclick" not in config["html"] and "javascript" not in config["html"]
    assert "<b>!</b>" in config["html"]


def test_patch_merges_config_and_bumps_versions(editor, home):
    hero = Component.objects.get(page=home, type="hero")
    response = editor.client.patch(
        f"/api/v1/components/{hero.pk}/", {"version": hero.version, "config": {"headline": "New words"}}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["config"]["headline"] == "New words" and body["config"]["primary_cta"]["label"] == "Get started"
    assert body["version"] == hero.version + 1


def test_put_replaces_config_with_defaults_for_missing_keys(editor, home):
    hero = Component.objects.get(page=home, type="hero")
    response = editor.client.put(
        f"/api/v1/components/{hero.pk}/", {"version": hero.version, "config": {"eyebrow": "New"}}, format="json"
    )
    assert response.json()["config"]["headline"] == "A headline that says what you do"


def test_stale_component_write_is_409_with_the_current_component(editor, home, assert_error):
    hero = Component.objects.get(page=home, type="hero")
    url = f"/api/v1/components/{hero.pk}/"
    assert editor.client.patch(url, {"version": 1, "config": {"headline": "First"}}, format="json").status_code == 200
    error = assert_error(editor.client.patch(url, {"version": 1, "config": {"headline": "Second"}}, format="json"), 409)
    assert error["code"] == "conflict"
    assert error["details"]["current"]["config"]["headline"] == "First" and error["details"]["current"]["version"] == 2
    hero.refresh_from_db()
    assert hero.config["headline"] == "First"


def test_invalid_patch_keeps_the_stored_config(editor, home, assert_error):
    hero = Component.objects.get(page=home, type="hero")
    before = hero.config
    response = editor.client.patch(
        f"/api/v1/components/{hero.pk}/", {"version": 1, "config": {"layout": "diagonal"}}, format="json"
    )
    assert_error(response, 400, "validation_error", "config.layout")
    hero.refresh_from_db()
    assert hero.config == before and hero.version == 1


def test_move_into_a_section_and_back_repacks_positions(editor, home):
    hero = Component.objects.get(page=home, type="hero")
    section = Component.objects.get(page=home, type="section")
    moved = editor.client.post(
        f"/api/v1/components/{hero.pk}/move/", {"parent": str(section.pk), "position": 1}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert _top_types(home) == ["section"]
    assert [c.type for c in section.children.order_by("position")] == ["rich_text", "hero", "contact_form"]
    assert list(section.children.order_by("position").values_list("position", flat=True)) == [0, 1, 2]
    back = editor.client.post(f"/api/v1/components/{hero.pk}/move/", {"parent": None, "position": 5}, format="json")
    assert back.json()["position"] == 1
    assert _top_types(home) == ["section", "hero"]


def test_reorder_within_the_same_list(editor, home):
    section = Component.objects.get(page=home, type="section")
    editor.client.post(f"/api/v1/components/{section.pk}/move/", {"parent": None, "position": 0}, format="json")
    assert _top_types(home) == ["section", "hero"]


def test_a_section_cannot_move_into_itself(editor, home, assert_error):
    section = Component.objects.get(page=home, type="section")
    inner = _create(editor.client, home, type="section", parent=str(section.pk)).json()
    response = editor.client.post(
        f"/api/v1/components/{section.pk}/move/", {"parent": inner["id"], "position": 0}, format="json"
    )
    assert_error(response, 400, "validation_error", "parent")


def test_duplicate_copies_the_subtree_right_after(editor, home):
    section = Component.objects.get(page=home, type="section")
    response = editor.client.post(f"/api/v1/components/{section.pk}/duplicate/")
    assert response.status_code == 201
    tree = page_tree(page=home)
    assert [node["type"] for node in tree] == ["hero", "section", "section"]
    original, copy = tree[1], tree[2]
    assert copy["id"] == response.json()["id"] != original["id"]
    assert [c["type"] for c in copy["children"]] == ["rich_text", "contact_form"]
    assert {c["id"] for c in copy["children"]}.isdisjoint({c["id"] for c in original["children"]})


def test_delete_takes_the_subtree_and_repacks(editor, home):
    section = Component.objects.get(page=home, type="section")
    assert editor.client.delete(f"/api/v1/components/{section.pk}/").status_code == 204
    assert _top_types(home) == ["hero"] and Component.objects.filter(page=home).count() == 1


def test_list_by_page(editor, home, site):
    other = site.pages.get(path="/pricing")
    rows = editor.client.get(f"/api/v1/components/?page={home.pk}").json()["results"]
    assert len(rows) == 4 and {row["page"] for row in rows} == {home.pk}
    assert editor.client.get(f"/api/v1/components/?page={other.pk}").json()["count"] == 1


# --- Whole trees ----------------------------------------------------------------------------------------------


def test_tree_put_keeps_ids_creates_new_and_deletes_missing(editor, home):
    tree = editor.client.get(f"/api/v1/pages/{home.pk}/tree/").json()
    hero, section = tree["components"]
    new_tree = [
        {"id": section["id"], "type": "section", "config": section["config"], "children": [section["children"][1]]},
        {"type": "faq", "config": {"heading": "Questions"}},
        {"id": hero["id"], "type": "hero", "config": {**hero["config"], "headline": "Moved down"}},
    ]
    response = editor.client.put(
        f"/api/v1/pages/{home.pk}/tree/", {"version": tree["page"]["version"], "components": new_tree}, format="json"
    )
    assert response.status_code == 200, response.content
    saved = response.json()
    assert [node["type"] for node in saved["components"]] == ["section", "faq", "hero"]
    assert saved["components"][0]["id"] == section["id"] and saved["components"][2]["id"] == hero["id"]
    assert saved["components"][0]["children"][0]["id"] == section["children"][1]["id"]
    assert saved["components"][2]["config"]["headline"] == "Moved down"
    assert not Component.objects.filter(pk=section["children"][0]["id"]).exists()
    assert saved["page"]["version"] == tree["page"]["version"] + 1
    assert saved["revision"] == Revision.objects.filter(page=home).latest("id").pk


def test_stale_tree_put_is_409_with_the_current_tree(editor, home, assert_error):
    tree = editor.client.get(f"/api/v1/pages/{home.pk}/tree/").json()
    url = f"/api/v1/pages/{home.pk}/tree/"
    assert (
        editor.client.put(url, {"version": tree["page"]["version"], "components": []}, format="json").status_code == 200
    )
    stale = editor.client.put(
        url, {"version": tree["page"]["version"], "components": tree["components"]}, format="json"
    )
    current = assert_error(stale, 409, "conflict")["details"]["current"]
    assert current["components"] == [] and current["page"]["version"] == tree["page"]["version"] + 1
    assert Component.objects.filter(page=home).count() == 0


@pytest.mark.parametrize(
    "components, field",
    [
        ("not a list", "components"),
        ([{"type": "nope"}], "components.0.type"),
        ([{"type": "hero", "config": {"headline": 5}}], "components.0.config.headline"),
        ([{"type": "hero", "children": [{"type": "button"}]}], "components.0.children"),
        (
            [{"type": "section", "children": [{"type": "button", "config": {"url": "vbscript:x"}}]}],
            "components.0.children.0.config.url",
        ),
        ([{"type": "hero", "id": "not-a-uuid"}], "components.0.id"),
        ([{"type": "hero", "color": "red"}], "components.0"),
        ([5], "components.0"),
        (
            [
                {
                    "type": "section",
                    "children": [
                        {
                            "type": "section",
                            "children": [
                                {
                                    "type": "section",
                                    "children": [{"type": "section", "children": [{"type": "section"}]}],
                                }
                            ],
                        }
                    ],
                }
            ],
            "components.0.children.0.children.0.children.0.children",
        ),
        ([{"type": "spacer"}] * 401, "components"),
    ],
)
def test_bad_tree_is_400_naming_the_path_and_keeps_the_page(editor, home, assert_error, components, field):
    before = page_tree(page=home)
    response = editor.client.put(
        f"/api/v1/pages/{home.pk}/tree/", {"version": home.version, "components": components}, format="json"
    )
    assert_error(response, 400, "validation_error", field)
    assert page_tree(page=home) == before


def test_tree_cannot_adopt_another_pages_component(editor, home, assert_error):
    foreign = ComponentFactory(type="hero")
    same_workspace = ComponentFactory(type="hero", page=PageFactory(site=home.site, path="/other"))
    for stolen in (foreign, same_workspace):
        body = {"version": home.version, "components": [{"id": str(stolen.pk), "type": "hero", "config": {}}]}
        assert_error(editor.client.put(f"/api/v1/pages/{home.pk}/tree/", body, format="json"), 400, "validation_error")
        stolen.refresh_from_db()
        assert stolen.page_id != home.pk


def test_tree_of_a_hundred_components_reads_in_few_queries(editor, home, django_assert_max_num_queries):
    nodes = [
        {"type": "section", "config": {"columns": 2}, "children": [{"type": "heading"}, {"type": "rich_text"}]}
        for _ in range(33)
    ]
    body = {"version": home.version, "components": [*nodes, {"type": "spacer"}]}
    assert editor.client.put(f"/api/v1/pages/{home.pk}/tree/", body, format="json").status_code == 200
    with django_assert_max_num_queries(8):
        response = editor.client.get(f"/api/v1/pages/{home.pk}/tree/")
    assert sum(1 + len(node["children"]) for node in response.json()["components"]) == 100
