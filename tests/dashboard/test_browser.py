"""A person's path through the dashboard in a real browser: sign in, find the team, invite someone."""

import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Invitation
from accounts.roles import Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOT = Path(settings.BASE_DIR) / "var" / "screenshots" / "dashboard.png"

pytestmark = pytest.mark.browser


@pytest.fixture
def no_broker(monkeypatch):
    """The invitation email would be queued on the development broker; the browser test needs no worker."""
    # The package re-exports emit(), which hides the module of the same name from dotted paths.
    monkeypatch.setattr(importlib.import_module("core.events.emit"), "enqueue_dispatch", lambda event_id: True)


def test_sign_in_and_invite_a_teammate(live_server, browser_page, no_broker):
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Northwind Studio")
    user = UserFactory(email="ada@example.com", name="Ada Lovelace")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    page = browser_page

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".topbar [data-testid=workspace-switcher] summary")).to_contain_text("Northwind Studio")
    expect(page.locator(".hero")).to_contain_text("Northwind Studio")

    page.locator(".sidebar").get_by_role("link", name="Settings").click()
    page.locator(".tabs").get_by_role("link", name="Members").click()
    expect(page).to_have_url(f"{live_server.url}/settings/members/")

    page.fill("input[name=email]", "grace@example.com")
    page.select_option("select[name=role]", Role.ADMIN)
    page.get_by_role("button", name="Send invite").click()

    invitations = page.locator("[data-testid=invitations]")
    expect(invitations).to_contain_text("grace@example.com")
    expect(invitations).to_contain_text("Admin")
    expect(page.locator(".flash-info input")).to_have_value(re.compile(rf"^{live_server.url}/invitations/[\w-]+/$"))
    assert Invitation.objects.filter(workspace=workspace, email="grace@example.com", role=Role.ADMIN).exists()

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
