"""Revisions: one per save, undo by restoring, exact trees back (ids included), site rollback."""

import pytest

from builder import services
from builder.models import Component, FormSubmission, Page, Revision
from builder.selectors import page_tree
from builder.services.revisions import PAGE_REVISIONS_KEPT
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def _revisions(client, site, **params) -> list[dict]:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.get(f"/api/v1/sites/{site.pk}/revisions/?{query}").json()["results"]


def test_every_save_records_a_page_revision(editor, site, home):
    hero = Component.objects.get(page=home, type="hero")
    editor.client.patch(f"/api/v1/components/{hero.pk}/", {"version": 1, "config": {"headline": "A"}}, format="json")
    editor.client.post(f"/api/v1/components/{hero.pk}/duplicate/")
    rows = _revisions(editor.client, site, page=home.pk)
    assert [row["label"] for row in rows] == ["Duplicated Hero", "Edited Hero"]
    assert rows[0]["created_by"] == editor.user.email and rows[0]["kind"] == "page"
    assert len(_revisions(editor.client, site)) == 3  # and the site's creation


def test_restoring_a_page_revision_brings_back_the_exact_tree(editor, site, home):
    original = page_tree(page=home)
    baseline = services.revision_record_page(page=home, label="Baseline")
    submission_component = Component.objects.get(page=home, type="contact_form")
    FormSubmission.objects.create(workspace=home.workspace, site=site, page=home, component=submission_component)
    hero = Component.objects.get(page=home, type="hero")
    editor.client.patch(
        f"/api/v1/components/{hero.pk}/", {"version": 1, "config": {"headline": "Changed"}}, format="json"
    )
    editor.client.post(f"/api/v1/components/{hero.pk}/move/", {"parent": None, "position": 1}, format="json")
    home.refresh_from_db()
    editor.client.put(f"/api/v1/pages/{home.pk}/tree/", {"version": home.version, "components": []}, format="json")
    assert page_tree(page=home) == []

    response = editor.client.post(f"/api/v1/sites/{site.pk}/revisions/{baseline.pk}/restore/")
    assert response.status_code == 200, response.content
    restored = page_tree(page=home)
    strip = lambda nodes: [{**n, "version": None, "children": strip(n["children"])} for n in nodes]  # noqa: E731
    assert strip(restored) == strip(original)
    # The form kept its id, so its public URL and its submissions still point at it.
    assert FormSubmission.objects.get().component_id == submission_component.pk
    assert response.json()["restored_from"] == baseline.pk
    assert Revision.objects.filter(page=home).latest("id").label == f"Restored revision {baseline.pk}"


def test_undo_then_redo_through_revisions(editor, site, home):
    hero = Component.objects.get(page=home, type="hero")
    first = editor.client.patch(
        f"/api/v1/components/{hero.pk}/", {"version": 1, "config": {"headline": "One"}}, format="json"
    )
    assert first.status_code == 200
    rev_one = Revision.objects.filter(page=home).latest("id")
    editor.client.patch(f"/api/v1/components/{hero.pk}/", {"version": 2, "config": {"headline": "Two"}}, format="json")
    rev_two = Revision.objects.filter(page=home).latest("id")
    editor.client.post(f"/api/v1/sites/{site.pk}/revisions/{rev_one.pk}/restore/")
    assert Component.objects.get(pk=hero.pk).config["headline"] == "One"
    editor.client.post(f"/api/v1/sites/{site.pk}/revisions/{rev_two.pk}/restore/")
    assert Component.objects.get(pk=hero.pk).config["headline"] == "Two"


def test_restoring_a_site_revision_rolls_back_theme_and_pages(editor, site, home):
    created = Revision.objects.get(site=site, kind="site")
    pricing = site.pages.get(path="/pricing")
    pricing_tree = page_tree(page=pricing)
    editor.client.patch(f"/api/v1/sites/{site.pk}/", {"version": site.version, "theme": {"radius": 0}}, format="json")
    editor.client.delete(f"/api/v1/pages/{pricing.pk}/")
    editor.client.post("/api/v1/pages/", {"site": site.pk, "title": "New", "path": "/new"}, format="json")
    editor.client.post("/api/v1/pages/", {"site": site.pk, "title": "Pricing 2", "path": "/pricing"}, format="json")

    response = editor.client.post(f"/api/v1/sites/{site.pk}/revisions/{created.pk}/restore/")
    assert response.status_code == 200, response.content
    site.refresh_from_db()
    assert site.theme["radius"] == 8
    assert list(Page.objects.filter(site=site).order_by("order").values_list("pk", "path", "is_home")) == [
        (home.pk, "/", True),
        (pricing.pk, "/pricing", False),
    ]
    assert [n["id"] for n in page_tree(page=Page.objects.get(pk=pricing.pk))] == [n["id"] for n in pricing_tree]


def test_restoring_a_page_whose_path_was_taken_is_a_400(editor, site, home, assert_error):
    pricing = site.pages.get(path="/pricing")
    revision = services.revision_record_page(page=pricing, label="Before")
    editor.client.patch(f"/api/v1/pages/{pricing.pk}/", {"version": pricing.version, "path": "/plans"}, format="json")
    editor.client.post("/api/v1/pages/", {"site": site.pk, "title": "Other", "path": "/pricing"}, format="json")
    response = editor.client.post(f"/api/v1/sites/{site.pk}/revisions/{revision.pk}/restore/")
    assert_error(response, 400, "validation_error", "path")
    assert Page.objects.get(pk=pricing.pk).path == "/plans"


def test_revision_detail_has_the_snapshot_and_other_sites_are_404(editor, site, assert_error):
    revision = Revision.objects.get(site=site, kind="site")
    detail = editor.client.get(f"/api/v1/sites/{site.pk}/revisions/{revision.pk}/").json()
    assert [page["path"] for page in detail["snapshot"]["pages"]] == ["/", "/pricing"]
    other = SiteFactory(workspace=site.workspace)
    assert_error(editor.client.get(f"/api/v1/sites/{other.pk}/revisions/{revision.pk}/"), 404)
    assert_error(editor.client.get("/api/v1/sites/99999999/revisions/"), 404)


def test_old_page_revisions_are_pruned(editor, home):
    for index in range(PAGE_REVISIONS_KEPT + 5):
        services.revision_record_page(page=home, label=f"Save {index}")
    assert Revision.objects.filter(page=home).count() == PAGE_REVISIONS_KEPT
    assert Revision.objects.filter(page=home).latest("id").label == f"Save {PAGE_REVISIONS_KEPT + 4}"


def test_restoring_a_page_revision_leaves_the_sites_home_and_order_alone(editor, site, home):
    pricing = site.pages.get(path="/pricing")
    before_home = services.revision_record_page(page=pricing, label="Before it was home")
    editor.client.patch(f"/api/v1/pages/{pricing.pk}/", {"version": pricing.version, "is_home": True}, format="json")
    editor.client.post("/api/v1/pages/reorder/", {"site": site.pk, "pages": [pricing.pk, home.pk]}, format="json")

    assert editor.client.post(f"/api/v1/sites/{site.pk}/revisions/{before_home.pk}/restore/").status_code == 200
    assert list(site.pages.order_by("order").values_list("pk", "is_home")) == [(pricing.pk, True), (home.pk, False)]


def test_restoring_a_deleted_page_appends_it_without_stealing_home(editor, site, home):
    pricing = site.pages.get(path="/pricing")
    revision = services.revision_record_page(page=pricing, label="Before deletion")
    editor.client.delete(f"/api/v1/pages/{pricing.pk}/")
    assert editor.client.post(f"/api/v1/sites/{site.pk}/revisions/{revision.pk}/restore/").status_code == 200
    restored = Page.objects.get(pk=pricing.pk)
    assert (restored.path, restored.is_home, restored.order) == ("/pricing", False, 1)
    assert [n["type"] for n in page_tree(page=restored)] == ["pricing"]
