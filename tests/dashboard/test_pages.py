"""The dashboard shell: who gets in, what the overview and section pages show, the error pages."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.roles import Role
from tests.factories import AuditEventFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_renders_the_styled_form(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="login"' in html and 'name="password"' in html
    assert "css/siteflow.css" in html
    assert "Create an account" in html


@pytest.mark.parametrize(
    "url",
    [
        reverse("account_signup"),
        reverse("account_reset_password"),
        reverse("account_reset_password_done"),
        reverse("account_reset_password_from_key", kwargs={"uidb36": "zz", "key": "bad-key"}),
        reverse("account_email_verification_sent"),
        reverse("account_confirm_email", args=["bad-key"]),
    ],
)
def test_allauth_entrance_pages_render_in_the_siteflow_card(client, url):
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    assert "entrance-card" in response.content.decode()
    assert "css/siteflow.css" in response.content.decode()


def test_dashboard_requires_login(client):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=/")


def test_every_dashboard_page_requires_login(client):
    for name in ("settings", "settings-members", "settings-api-keys", "settings-audit-log", "sites", "workspace-new"):
        response = client.get(reverse(f"dashboard:{name}"))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("account_login")), name


def test_home_shows_current_workspace_and_counts(owner_web):
    response = owner_web.web.get(reverse("dashboard:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert owner_web.workspace.name in html
    assert response.context["member_count"] == 1
    assert response.context["api_key_count"] == 0
    assert "Getting started" in html


def test_home_shows_recent_audit_events_only_to_roles_that_may_read_them(owner_web, viewer_web):
    AuditEventFactory(workspace=owner_web.workspace, target_repr="renamed-to-something")
    assert "renamed-to-something" in owner_web.web.get(reverse("dashboard:home")).content.decode()
    response = viewer_web.web.get(reverse("dashboard:home"))
    assert response.context["recent_events"] is None
    assert "renamed-to-something" not in response.content.decode()


def test_user_without_a_workspace_is_sent_to_create_one(client):
    client.force_login(UserFactory())
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:workspace-new")


@pytest.mark.parametrize("section", ["analytics"])
def test_section_pages_show_a_coming_soon_empty_state(login_as, section):
    member = login_as(Role.VIEWER)
    response = member.web.get(reverse(f"dashboard:{section}"))
    assert response.status_code == 200
    assert "coming soon" in response.content.decode()
    assert response.context["section"].slug == section


def test_navigation_marks_the_current_section(owner_web):
    html = owner_web.web.get(reverse("dashboard:contacts")).content.decode()
    assert f'class="nav-link is-active" href="{reverse("dashboard:contacts")}"' in html


@pytest.mark.parametrize("name", ["account_email", "account_change_password", "account_logout"])
def test_account_management_pages_sit_inside_the_dashboard(owner_web, name):
    response = owner_web.web.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your account" in html and 'class="sidebar"' in html


def test_forbidden_page_uses_the_403_template(viewer_web):
    response = viewer_web.web.get(reverse("dashboard:settings-audit-log"))
    assert response.status_code == 403
    assert "You can't do that here" in response.content.decode()


def test_unknown_page_renders_the_404_template(owner_web):
    response = owner_web.web.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_500_template_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html


def test_first_site_step_is_done_once_the_workspace_has_a_site(owner_web):
    def step():
        checklist = owner_web.web.get(reverse("dashboard:home")).context["checklist"]
        return next(item for item in checklist if item.title == "Build your first site")

    assert step().done is False
    SiteFactory(workspace=owner_web.workspace)
    assert step().done is True


@pytest.mark.parametrize(
    "name",
    [
        "dashboard:sites",
        "dashboard:sites-new",
        "dashboard:contacts-segments",
        "dashboard:campaigns",
        "dashboard:workflows",
    ],
)
def test_list_pages_take_any_search_text(owner_web, name):
    # A NUL (which PostgreSQL refuses in a query) and text far past what anyone types.
    for text in ("a\x00b", "x" * 5000):
        response = owner_web.web.get(reverse(name), {"q": text})
        assert response.status_code == 200, (name, text[:5])
