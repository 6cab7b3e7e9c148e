"""Sites and pages over the API: creation from templates, settings with versions, paths and order."""

import pytest

from accounts.roles import Role
from builder.components import REGISTRY
from builder.models import Component, Page, Revision, Site, Template
from tests.factories import SiteFactory, TemplateFactory

pytestmark = pytest.mark.django_db

REQUIRED_TYPES = {
    "navbar",
    "hero",
    "heading",
    "rich_text",
    "image",
    "gallery",
    "button",
    "contact_form",
    "newsletter",
    "lead_magnet",
    "pricing",
    "testimonials",
    "faq",
    "features",
    "logo_cloud",
    "stats",
    "video",
    "countdown",
    "footer",
    "section",
}


def test_component_types_describe_every_registered_type(editor):
    response = editor.client.get("/api/v1/component-types/")
    assert response.status_code == 200
    types = {row["type"]: row for row in response.json()}
    assert len(types) >= 18 and set(types) >= REQUIRED_TYPES
    for row in types.values():
        assert row["schema"]["type"] == "object" and row["schema"]["properties"]
        assert isinstance(row["default_config"], dict)
        assert row["category"] and row["name"]
    assert types["contact_form"]["emits"] == ["form.submitted"] and types["contact_form"]["is_form"]
    assert types["section"]["is_container"] and not types["hero"]["is_container"]
    assert set(types) == set(REGISTRY)


def test_component_types_need_authentication(api_client, assert_error):
    assert_error(api_client.get("/api/v1/component-types/"), 401)


def test_template_list_filters_by_category_industry_and_search(editor):
    TemplateFactory(slug="bistro", name="Bistro", category="website", industry="restaurant", description="Menus")
    TemplateFactory(slug="gym", name="Gym", category="landing_page", industry="fitness", description="Classes")

    def by(query: str) -> list[str]:
        return [row["slug"] for row in editor.client.get(f"/api/v1/templates/?{query}").json()["results"]]

    assert by("industry=restaurant") == ["bistro"]
    assert by("category=landing_page&industry=fitness") == ["gym"]
    assert by("search=menus") == ["bistro"]
    assert by("industry=nothing") == []
    detail = editor.client.get(f"/api/v1/templates/{Template.objects.get(slug='gym').pk}/").json()
    assert detail["content"]["pages"] and detail["theme"] is not None


@pytest.mark.parametrize("ref", ["id", "slug"])
def test_create_site_from_template_copies_its_pages(editor, template, ref):
    value = template.pk if ref == "id" else template.slug
    response = editor.client.post("/api/v1/sites/", {"name": "Spring launch", "template": value}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Spring launch" and body["slug"] == "spring-launch" and body["template"] == template.slug
    assert [(page["title"], page["path"], page["is_home"]) for page in body["pages"]] == [
        ("Home", "/", True),
        ("Pricing", "/pricing", False),
    ]
    site = Site.objects.get(pk=body["id"])
    assert site.workspace == editor.workspace
    assert site.theme["colors"]["primary"] == "#0f766e" and site.theme["radius"] == 8  # template + defaults
    assert site.seo["title_suffix"] == "Acme"
    home = site.pages.get(is_home=True)
    assert Component.objects.filter(page=home).count() == 4
    section = Component.objects.get(page=home, type="section")
    assert [c.type for c in section.children.order_by("position")] == ["rich_text", "contact_form"]
    assert Revision.objects.filter(site=site, kind="site").count() == 1


def test_two_sites_from_one_template_get_their_own_components(editor, template):
    first = editor.client.post("/api/v1/sites/", {"name": "A", "template": template.slug}, format="json").json()
    second = editor.client.post("/api/v1/sites/", {"name": "A", "template": template.slug}, format="json").json()
    assert first["slug"] != second["slug"]
    ids_first = set(Component.objects.filter(page__site_id=first["id"]).values_list("id", flat=True))
    ids_second = set(Component.objects.filter(page__site_id=second["id"]).values_list("id", flat=True))
    assert ids_first and not ids_first & ids_second


def test_blank_site_has_an_empty_home_page(editor):
    response = editor.client.post("/api/v1/sites/", {"name": "Blank"}, format="json")
    assert response.status_code == 201
    assert [(p["path"], p["is_home"]) for p in response.json()["pages"]] == [("/", True)]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"template": "launch"}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 200}, "name"),
        ({"name": "Ok", "template": "no-such-template"}, "template"),
        ({"name": "Ok", "template": "999999"}, "template"),
        ({"name": ["not", "a", "string"]}, "name"),
    ],
)
def test_bad_site_creation_is_400_naming_the_field(editor, template, assert_error, body, field):
    assert_error(editor.client.post("/api/v1/sites/", body, format="json"), 400, "validation_error", field)
    assert not Site.objects.exists()


def test_viewer_cannot_create_or_change_sites(make_member, site, assert_error):
    viewer = make_member(workspace=site.workspace, role=Role.VIEWER)
    assert viewer.client.get("/api/v1/sites/").status_code == 200
    assert_error(viewer.client.post("/api/v1/sites/", {"name": "Nope"}, format="json"), 403)
    assert_error(viewer.client.patch(f"/api/v1/sites/{site.pk}/", {"version": 1, "name": "X"}, format="json"), 403)
    assert_error(viewer.client.delete(f"/api/v1/sites/{site.pk}/"), 403)


def test_site_theme_update_with_current_version(editor, site):
    body = {"version": site.version, "theme": {"colors": {"primary": "#ff0066"}, "fonts": {"heading": "serif"}}}
    response = editor.client.patch(f"/api/v1/sites/{site.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["version"] == site.version + 1
    assert data["theme"]["colors"]["primary"] == "#ff0066" and data["theme"]["fonts"]["heading"] == "serif"
    assert data["theme"]["colors"]["background"] == "#ffffff"  # defaults fill what was not sent
    assert Revision.objects.filter(site=site, kind="site").count() == 2


def test_stale_site_version_is_409_with_the_current_site(editor, site, assert_error):
    fresh = editor.client.patch(f"/api/v1/sites/{site.pk}/", {"version": 1, "name": "New"}, format="json")
    assert fresh.status_code == 200
    stale = editor.client.patch(f"/api/v1/sites/{site.pk}/", {"version": 1, "name": "Old"}, format="json")
    error = assert_error(stale, 409, "conflict")
    assert error["details"]["current"]["name"] == "New" and error["details"]["current"]["version"] == 2
    site.refresh_from_db()
    assert site.name == "New"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "No version"}, "version"),
        ({"version": "two"}, "version"),
        ({"version": 1, "theme": {"colors": {"primary": "red"}}}, "theme.colors.primary"),
        ({"version": 1, "theme": {"radius": 400}}, "theme.radius"),
        ({"version": 1, "theme": {"fonts": {"body": "comic-sans"}}}, "theme.fonts.body"),
        ({"version": 1, "theme": {"unknown": 1}}, "theme.unknown"),
        ({"version": 1, "theme": "dark"}, "theme"),
        ({"version": 1, "seo": {"og_image": "javascript:alert(1)"}}, "seo.og_image"),
        ({"version": 1, "favicon": "data:image/png;base64,AAAA"}, "favicon"),
        ({"version": 1, "turnstile_site_key": "<script>"}, "turnstile_site_key"),
    ],
)
def test_bad_site_settings_are_400_naming_the_field(editor, site, assert_error, body, field):
    before = Site.objects.filter(pk=site.pk).values().get()
    assert_error(editor.client.patch(f"/api/v1/sites/{site.pk}/", body, format="json"), 400, "validation_error", field)
    assert Site.objects.filter(pk=site.pk).values().get() == before


def test_turnstile_secret_is_write_only(editor, site):
    body = {"version": site.version, "turnstile_site_key": "0x4AAA", "turnstile_secret_key": "0x4BBB-secret"}
    data = editor.client.patch(f"/api/v1/sites/{site.pk}/", body, format="json").json()
    assert data["turnstile_enabled"] is True and data["turnstile_site_key"] == "0x4AAA"
    assert "0x4BBB-secret" not in str(data)


def test_site_list_searches_and_stays_in_its_workspace(editor):
    SiteFactory(workspace=editor.workspace, name="Summer promo")
    SiteFactory(workspace=editor.workspace, name="Winter sale")
    SiteFactory(name="Summer elsewhere")
    names = [row["name"] for row in editor.client.get("/api/v1/sites/?search=summer").json()["results"]]
    assert names == ["Summer promo"]


def test_deleting_a_site_removes_its_pages(editor, site):
    assert editor.client.delete(f"/api/v1/sites/{site.pk}/").status_code == 204
    assert not Page.objects.filter(site_id=site.pk).exists()


# --- Pages --------------------------------------------------------------------------------------------------


def test_create_page_normalises_the_path_and_appends_it(editor, site):
    response = editor.client.post(
        "/api/v1/pages/", {"site": site.pk, "title": "About us", "path": "About/Team/"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["path"] == "/about/team" and response.json()["order"] == 2
    assert response.json()["is_home"] is False
    listed = editor.client.get(f"/api/v1/pages/?site={site.pk}").json()["results"]
    assert [row["path"] for row in listed] == ["/", "/pricing", "/about/team"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "Dup", "path": "/pricing"}, "path"),
        ({"title": "Bad", "path": "/has space"}, "path"),
        ({"title": "Bad", "path": "/../etc"}, "path"),
        ({"title": "Bad", "path": "/f/anything"}, "path"),
        ({"title": "Bad", "path": "/UPPER_case!"}, "path"),
        ({"title": "", "path": "/ok"}, "title"),
        ({"path": "/ok"}, "title"),
        ({"title": "Ok", "path": "/ok", "og_image": "javascript:alert(1)"}, "og_image"),
    ],
)
def test_bad_page_is_400_naming_the_field(editor, site, assert_error, body, field):
    count = Page.objects.count()
    response = editor.client.post("/api/v1/pages/", {"site": site.pk, **body}, format="json")
    assert_error(response, 400, "validation_error", field)
    assert Page.objects.count() == count


def test_page_in_another_workspaces_site_is_refused(editor, assert_error):
    foreign = SiteFactory()
    response = editor.client.post("/api/v1/pages/", {"site": foreign.pk, "title": "X", "path": "/x"}, format="json")
    assert_error(response, 400, "validation_error", "site")
    assert not Page.objects.filter(site=foreign).exists()


def test_page_update_moves_home_and_checks_version(editor, site, home, assert_error):
    pricing = site.pages.get(path="/pricing")
    response = editor.client.patch(
        f"/api/v1/pages/{pricing.pk}/", {"version": pricing.version, "is_home": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["is_home"] is True
    home.refresh_from_db()
    assert home.is_home is False
    stale = editor.client.patch(
        f"/api/v1/pages/{pricing.pk}/", {"version": pricing.version, "title": "X"}, format="json"
    )
    assert assert_error(stale, 409, "conflict")["details"]["current"]["is_home"] is True


def test_pages_reorder_needs_every_page_once(editor, site, home, assert_error):
    pricing = site.pages.get(path="/pricing")
    response = editor.client.post(
        "/api/v1/pages/reorder/", {"site": site.pk, "pages": [pricing.pk, home.pk]}, format="json"
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [pricing.pk, home.pk]
    for pages in ([home.pk], [home.pk, home.pk], [home.pk, pricing.pk, 999999]):
        bad = editor.client.post("/api/v1/pages/reorder/", {"site": site.pk, "pages": pages}, format="json")
        assert_error(bad, 400, "validation_error", "pages")
    assert list(site.pages.order_by("order").values_list("pk", flat=True)) == [pricing.pk, home.pk]


def test_deleting_the_home_page_promotes_the_next_and_the_last_page_stays(editor, site, home, assert_error):
    assert editor.client.delete(f"/api/v1/pages/{home.pk}/").status_code == 204
    remaining = site.pages.get()
    assert remaining.is_home and remaining.order == 0
    assert_error(editor.client.delete(f"/api/v1/pages/{remaining.pk}/"), 400, "validation_error", "page")
    assert site.pages.count() == 1


def test_preview_is_a_sandboxed_html_document(editor, home):
    response = editor.client.get(f"/api/v1/pages/{home.pk}/preview/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"].startswith("sandbox")
    html = response.content.decode()
    assert html.lower().startswith("<!doctype html>") and "Ship faster" in html
    assert "data-component-id" not in html
    editor_mode = editor.client.get(f"/api/v1/pages/{home.pk}/preview/?mode=editor").content.decode()
    assert "data-component-id" in editor_mode


def test_preview_answers_a_browser_asking_for_html(editor, home, assert_error):
    response = editor.client.get(f"/api/v1/pages/{home.pk}/preview/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    missing = editor.client.get("/api/v1/pages/99999999/preview/", HTTP_ACCEPT="text/html")
    assert_error(missing, 404, "not_found")


def test_preview_mode_must_be_known(editor, home, assert_error):
    assert_error(editor.client.get(f"/api/v1/pages/{home.pk}/preview/?mode=publish"), 400, "validation_error", "mode")
