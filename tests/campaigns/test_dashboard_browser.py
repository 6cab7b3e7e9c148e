"""A marketer's path through the campaign editor in a real browser: building an email from two blocks
while the preview follows, personalising it, and sending a test."""

import pytest

from accounts.roles import Role
from campaigns.models import Campaign, EmailSend, SendingSettings
from tests.factories import (
    DEFAULT_PASSWORD,
    CampaignFactory,
    ContactFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
)

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


@pytest.fixture
def marketer(live_server, browser_page):
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    SendingSettings.objects.create(workspace=workspace, postal_address="Rua das Flores 28, Lisboa")
    ContactFactory(workspace=workspace, first_name="Inês")
    user = UserFactory(email="ines@example.com", name="Inês Costa")
    MembershipFactory(workspace=workspace, user=user, role=Role.EDITOR)
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/campaigns/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    sync_api.expect(page.locator("h1")).to_have_text("Campaigns")
    return workspace, page


def test_building_an_email_updates_the_preview_and_a_test_goes_out(live_server, marketer):
    expect = sync_api.expect
    workspace, page = marketer
    campaign = CampaignFactory(workspace=workspace, name="Bread club", subject="Fresh this week", content={})
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/edit/")
    preview = page.frame_locator("[data-testid=preview-frame]").locator("body")

    page.locator("[data-testid=add-heading]").click()
    heading = page.locator("[data-testid=block][data-type=heading]")
    heading.locator("input[type=text]").fill("Sourdough is back")
    expect(preview).to_contain_text("Sourdough is back")

    page.locator("[data-testid=add-text]").click()
    text = page.locator("[data-testid=block][data-type=text] [contenteditable=true]")
    text.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("Bom dia ")
    page.locator("[data-testid=personalize] [data-insert='contact.first_name']").click()
    expect(preview).to_contain_text("Bom dia Inês")
    expect(page.locator("[data-testid=blocks] > [data-testid=block]")).to_have_count(2)

    page.fill("input[name=email]", "ines@example.com")
    page.locator("[data-testid=send-test]").click()
    expect(page.locator(".flash-success")).to_contain_text("a test sent to ines@example.com")
    test = EmailSend.objects.get(ref=f"test:{campaign.pk}")
    assert test.to_email == "ines@example.com" and "Sourdough is back" in test.body["html"]
    saved = Campaign.objects.get(pk=campaign.pk)
    assert [block["type"] for block in saved.content["blocks"]] == ["heading", "text"]
    assert '{{ contact.first_name | default("there") }}' in saved.content["blocks"][1]["text"]
