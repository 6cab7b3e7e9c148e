"""The builder's dashboard pages: sites list, template gallery, editor shell, submissions and their CSV export."""

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from builder import services
from builder.views import csv_safe
from tests.factories import (
    ComponentFactory,
    FormSubmissionFactory,
    PageFactory,
    SiteFactory,
    TemplateFactory,
    WorkspaceFactory,
)


@pytest.fixture
def site(editor):
    return services.site_create(
        workspace=editor.workspace, name="Spring launch", template=TemplateFactory(slug="launch"), actor=editor.user
    )


def html_of(response) -> str:
    return response.content.decode()


def editor_config(response) -> dict:
    html = html_of(response)
    start = html.index('<script id="editor-config" type="application/json">') + len(
        '<script id="editor-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


# --- Sites list --------------------------------------------------------------------------------------


def test_sites_list_shows_the_workspaces_sites_with_page_counts_and_links(editor, site):
    SiteFactory(workspace=WorkspaceFactory(), name="Someone else's site")
    form = ComponentFactory(page=site.pages.get(is_home=True), type="contact_form")
    FormSubmissionFactory.create_batch(2, component=form)
    response = editor.web.get(reverse("dashboard:sites"))
    assert response.status_code == 200
    html = html_of(response)
    assert "Spring launch" in html
    assert "Someone else" not in html
    assert "2 pages" in html
    assert "2 submissions" in html
    assert reverse("dashboard:sites-editor", args=[site.pk]) in html
    assert reverse("dashboard:sites-submissions", args=[site.pk]) in html
    home = site.pages.get(is_home=True)
    assert f"/api/v1/pages/{home.pk}/preview/" in html
    assert 'class="nav-link is-active" href="/sites/"' in html


def test_sites_list_empty_state_points_editors_to_the_gallery(editor):
    html = html_of(editor.web.get(reverse("dashboard:sites")))
    assert 'data-testid="sites-empty"' in html
    assert reverse("dashboard:sites-new") in html


def test_viewers_see_sites_but_no_way_to_create_one(viewer, site):
    html = html_of(viewer.web.get(reverse("dashboard:sites")))
    assert "Spring launch" in html
    assert reverse("dashboard:sites-new") not in html


def test_viewers_empty_state_has_no_call_to_action(viewer):
    html = html_of(viewer.web.get(reverse("dashboard:sites")))
    assert 'data-testid="sites-empty"' in html
    assert reverse("dashboard:sites-new") not in html


def test_sites_list_searches_by_name(editor, site):
    SiteFactory(workspace=editor.workspace, name="Autumn sale")
    response = editor.web.get(reverse("dashboard:sites"), {"q": "autumn"})
    names = [each.name for each in response.context["sites"]]
    assert names == ["Autumn sale"]
    response = editor.web.get(reverse("dashboard:sites"), {"q": "nothing like it"})
    assert "No sites match" in html_of(response)
    assert 'data-testid="sites-empty"' not in html_of(response)


def test_sites_list_paginates(editor):
    for number in range(27):
        SiteFactory(workspace=editor.workspace, name=f"Site {number:02}")
    response = editor.web.get(reverse("dashboard:sites"))
    assert len(response.context["sites"]) == 25
    assert "?page=2" in html_of(response)
    assert len(editor.web.get(reverse("dashboard:sites"), {"page": 2}).context["sites"]) == 2


@pytest.mark.parametrize("count", [1, 20])
def test_sites_list_runs_a_bounded_number_of_queries(editor, django_assert_max_num_queries, count):
    for number in range(count):
        page = PageFactory(site=SiteFactory(workspace=editor.workspace, name=f"Site {number}"), is_home=True, path="/")
        PageFactory(site=page.site)
    # Session, user, membership, the count and the page of sites, the switcher: none per site.
    with django_assert_max_num_queries(6):
        response = editor.web.get(reverse("dashboard:sites"))
    assert len(response.context["sites"]) == count
    assert all(each.page_count == 2 for each in response.context["sites"])


def test_builder_pages_require_sign_in(client, site):
    for url in (
        reverse("dashboard:sites"),
        reverse("dashboard:sites-new"),
        reverse("dashboard:sites-editor", args=[site.pk]),
        reverse("dashboard:sites-submissions", args=[site.pk]),
        reverse("dashboard:sites-submissions-csv", args=[site.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


def test_home_checklist_sends_editors_to_the_gallery(editor, viewer):
    assert reverse("dashboard:sites-new") in html_of(editor.web.get(reverse("dashboard:home")))
    assert reverse("dashboard:sites-new") not in html_of(viewer.web.get(reverse("dashboard:home")))


# --- Template gallery ----------------------------------------------------------------------------------


def test_gallery_lists_templates_with_thumbnails_or_a_placeholder(editor):
    TemplateFactory(name="Bakery", slug="bakery", thumbnail="builder/thumbnails/bakery.png", industry="restaurant")
    TemplateFactory(name="Studio", slug="studio", thumbnail="")
    response = editor.web.get(reverse("dashboard:sites-new"))
    assert response.status_code == 200
    html = html_of(response)
    assert "Bakery" in html and "Studio" in html
    assert 'src="/static/builder/thumbnails/bakery.png"' in html
    assert 'class="thumb-wire"' in html
    assert 'data-testid="pick-blank"' in html
    config = json.loads(html.split('<script id="builder-config" type="application/json">')[1].split("</script>")[0])
    assert config["workspace"] == editor.workspace.pk
    assert config["editorUrlPattern"] == reverse("dashboard:sites-editor", args=[0])


def test_gallery_filters_by_category_industry_and_search(editor):
    TemplateFactory(name="Bakery", category="website", industry="restaurant", description="Fresh bread daily")
    TemplateFactory(name="Gym", category="landing_page", industry="fitness", description="Classes and trainers")
    TemplateFactory(name="Webinar", category="event", industry="saas", description="Sign up for the live session")
    url = reverse("dashboard:sites-new")

    def names(**params):
        return [template.name for template in editor.web.get(url, params).context["templates"]]

    assert names(category="website") == ["Bakery"]
    assert names(industry="fitness") == ["Gym"]
    assert names(q="live session") == ["Webinar"]
    assert names(category="event", industry="fitness") == []
    html = html_of(editor.web.get(url, {"category": "event", "industry": "fitness"}))
    assert "No templates match" in html
    assert '<option value="landing_page">Landing page</option>' in html_of(editor.web.get(url))


def test_viewers_cannot_open_the_gallery(viewer):
    assert viewer.web.get(reverse("dashboard:sites-new")).status_code == 403


# --- Editor -----------------------------------------------------------------------------------------------


def test_editor_opens_the_home_page_with_its_configuration(editor, site):
    response = editor.web.get(reverse("dashboard:sites-editor", args=[site.pk]))
    assert response.status_code == 200
    config = editor_config(response)
    home = site.pages.get(is_home=True)
    assert config["page"] == home.pk
    assert config["site"] == {"id": site.pk, "name": "Spring launch", "version": site.version}
    assert config["workspace"] == editor.workspace.pk
    assert config["canWrite"] is True
    assert config["csrfToken"]
    assert config["themeSchema"]["properties"]["colors"]
    html = html_of(response)
    assert 'data-testid="canvas-frame"' in html
    assert "vendor/sortablejs/Sortable.min.js" in html
    assert 'data-testid="readonly-banner"' not in html


def test_editor_opens_a_given_page(editor, site):
    pricing = site.pages.get(path="/pricing")
    response = editor.web.get(reverse("dashboard:sites-editor-page", args=[site.pk, pricing.pk]))
    assert editor_config(response)["page"] == pricing.pk


def test_editor_refuses_a_page_of_another_site(editor, site):
    other = PageFactory(site=SiteFactory(workspace=editor.workspace))
    response = editor.web.get(reverse("dashboard:sites-editor-page", args=[site.pk, other.pk]))
    assert response.status_code == 404


def test_viewers_get_a_read_only_editor(viewer, site):
    response = viewer.web.get(reverse("dashboard:sites-editor", args=[site.pk]))
    assert response.status_code == 200
    assert editor_config(response)["canWrite"] is False
    assert 'data-testid="readonly-banner"' in html_of(response)


def test_another_workspaces_site_is_not_found_on_every_page(editor):
    stranger = SiteFactory(workspace=WorkspaceFactory())
    page = PageFactory(site=stranger, is_home=True, path="/")
    for url in (
        reverse("dashboard:sites-editor", args=[stranger.pk]),
        reverse("dashboard:sites-editor-page", args=[stranger.pk, page.pk]),
        reverse("dashboard:sites-submissions", args=[stranger.pk]),
        reverse("dashboard:sites-submissions-csv", args=[stranger.pk]),
    ):
        assert editor.web.get(url).status_code == 404, url


# --- Submissions -------------------------------------------------------------------------------------------


@pytest.fixture
def form(site):
    page = site.pages.get(is_home=True)
    return ComponentFactory(page=page, type="contact_form")


def test_submissions_page_lists_answers_newest_first(editor, form):
    FormSubmissionFactory(component=form, email="ada@example.com", data={"name": "Ada", "message": "Hello"})
    FormSubmissionFactory(component=form, email="grace@example.com", data={"name": "Grace", "message": "Hi there"})
    FormSubmissionFactory(component=ComponentFactory(page=PageFactory(site=SiteFactory(workspace=editor.workspace))))
    response = editor.web.get(reverse("dashboard:sites-submissions", args=[form.page.site_id]))
    assert response.status_code == 200
    emails = [submission.email for submission in response.context["submissions"]]
    assert emails == ["grace@example.com", "ada@example.com"]
    html = html_of(response)
    assert "Hi there" in html and "Grace" in html
    assert 'data-testid="export-csv"' in html


def test_submissions_filter_by_form_and_search_by_email(editor, form):
    FormSubmissionFactory(component=form, form_name="Contact us", email="ada@example.com")
    FormSubmissionFactory(component=form, form_name="Newsletter", email="grace@example.com")
    url = reverse("dashboard:sites-submissions", args=[form.page.site_id])

    def emails(**params):
        return [submission.email for submission in editor.web.get(url, params).context["submissions"]]

    assert emails(form="Newsletter") == ["grace@example.com"]
    assert emails(email="ADA@") == ["ada@example.com"]
    assert emails(form="Contact us", email="grace") == []
    assert "No matching submissions" in html_of(editor.web.get(url, {"email": "nobody"}))
    response = editor.web.get(url, {"form": "Newsletter"})
    assert response.context["form_names"] == ["Contact us", "Newsletter"]
    export = reverse("dashboard:sites-submissions-csv", args=[form.page.site_id])
    assert f"{export}?form=Newsletter" in html_of(response)


def test_submissions_empty_state(viewer, site):
    response = viewer.web.get(reverse("dashboard:sites-submissions", args=[site.pk]))
    assert response.status_code == 200
    html = html_of(response)
    assert 'data-testid="submissions-empty"' in html
    assert 'data-testid="export-csv"' not in html


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="spring-launch-submissions-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_has_the_forms_fields_in_order_then_other_answers_and_escapes_formulas(editor, form):
    FormSubmissionFactory(
        component=form,
        form_name="Contact us",
        email="ada@example.com",
        consent_given=True,
        data={"name": "Ada", "email": "ada@example.com", "message": "Hello"},
    )
    FormSubmissionFactory(
        component=form,
        form_name='=HYPERLINK("http://evil")',
        email="mallory@example.com",
        data={"name": "=1+2", "company": "+SUM(A1)", "notes": "-2", "handle": "@me", "tags": ["a", "b"]},
    )
    response = editor.web.get(reverse("dashboard:sites-submissions-csv", args=[form.page.site_id]))
    assert response.status_code == 200
    header, first, second = read_csv(response)
    assert header == [
        "submitted at",
        "form",
        "page",
        "email",
        "consent",
        "name",
        "email",
        "message",
        "company",
        "handle",
        "notes",
        "tags",
    ]
    assert first[1:] == ["Contact us", "/", "ada@example.com", "yes", "Ada", "ada@example.com", "Hello", "", "", "", ""]
    assert second[1] == '\'=HYPERLINK("http://evil")'
    assert second[5:] == ["'=1+2", "", "", "'+SUM(A1)", "'@me", "'-2", "a; b"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", first[0])


def test_csv_export_follows_the_filters(editor, form):
    FormSubmissionFactory(component=form, form_name="Contact us", email="ada@example.com")
    FormSubmissionFactory(component=form, form_name="Newsletter", email="grace@example.com")
    url = reverse("dashboard:sites-submissions-csv", args=[form.page.site_id])
    rows = read_csv(editor.web.get(url, {"form": "Newsletter"}))
    assert [row[3] for row in rows[1:]] == ["grace@example.com"]


def test_csv_export_with_no_submissions_is_just_the_header(viewer, site):
    rows = read_csv(viewer.web.get(reverse("dashboard:sites-submissions-csv", args=[site.pk])))
    assert rows == [["submitted at", "form", "page", "email", "consent"]]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd", "'=cmd"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM", "'@SUM"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (None, ""),
        (True, "yes"),
        (["=a", "b"], "'=a; b"),
    ],
)
def test_csv_cells_cannot_start_a_formula(value, cell):
    assert csv_safe(value) == cell
