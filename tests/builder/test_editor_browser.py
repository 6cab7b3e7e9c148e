"""A marketer's path through the builder in a real browser: pick a template, drag a contact form onto the
page, rename one of its fields, find the change saved, then fill the form in on the preview."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from accounts.roles import Role
from builder.models import FormSubmission, Page, Site
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, TemplateFactory, UserFactory, WorkspaceFactory

sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

pytestmark = pytest.mark.browser

# A small template of its own, so the test does not depend on the template library being loaded.
CONTENT = {
    "pages": [
        {
            "title": "Home",
            "path": "/",
            "is_home": True,
            "components": [
                {
                    "type": "hero",
                    "config": {
                        "headline": "Bread worth waking up for",
                        "subheadline": "Sourdough, baked every morning in Lisbon.",
                    },
                },
                {"type": "rich_text", "config": {"html": "<p>Open every day from seven.</p>"}},
            ],
        },
        {"title": "About", "path": "/about", "components": [{"type": "heading", "config": {"text": "Our story"}}]},
    ]
}


def center(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_build_a_page_with_a_contact_form_and_receive_a_submission(live_server, browser_page, settings):
    settings.FORM_MIN_SUBMIT_SECONDS = 0
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    user = UserFactory(email="ines@example.com", name="Inês Costa")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    TemplateFactory(
        slug="bakery-test",
        name="Neighbourhood bakery",
        category="website",
        industry="restaurant",
        description="A warm one-pager for a bakery.",
        content=CONTENT,
        theme={"colors": {"primary": "#b45309"}},
    )
    page = browser_page

    page.goto(f"{live_server.url}/accounts/login/?next=/sites/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("[data-testid=sites-empty]")).to_be_visible()

    # The gallery: pick the template, name the site, land in the editor.
    page.locator("[data-testid=sites-empty]").get_by_role("link", name="Browse templates").click()
    card = page.locator("[data-testid=template-card][data-template-slug=bakery-test]")
    card.get_by_role("button", name="Use template").click()
    dialog = page.locator("[data-testid=new-site-dialog]")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Site name").fill("Padaria")
    dialog.get_by_role("button", name="Create site").click()
    expect(page).to_have_url(re.compile(rf"{live_server.url}/sites/\d+/edit/$"))
    site = Site.objects.get(workspace=workspace, name="Padaria")
    home = Page.objects.get(site=site, is_home=True)

    canvas = page.frame_locator("[data-testid=canvas]")
    expect(canvas.locator("body")).to_contain_text("Bread worth waking up for")
    expect(page.locator("[data-testid=save-status]")).to_have_text("All changes saved")

    # Drag a contact form from the palette to below the rich text.
    tile = page.locator("[data-testid=palette-item][data-type=contact_form]")
    target = canvas.locator("[data-component-type=rich_text]")
    tile.scroll_into_view_if_needed()
    start = center(tile.bounding_box())
    box = target.bounding_box()
    end = (box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 30, start[1], steps=4)
    page.mouse.move(*end, steps=12)
    page.mouse.up()

    form = canvas.locator("[data-component-type=contact_form]")
    expect(form).to_have_count(1)
    expect(page.locator("[data-testid=save-status]")).to_have_text("All changes saved")
    types = [row.type for row in home.components.filter(parent=None).order_by("position")]
    assert types == ["hero", "rich_text", "contact_form"]

    # Select it on the canvas and rename its first field.
    form.locator("h2, h3").first.click()
    expect(page.locator("[data-testid=properties-title]")).to_have_text("Contact form")
    expect(form).to_have_class(re.compile("sfe-selected"))
    label = page.locator('[data-testid=properties] input[data-path="fields.0.label"]')
    expect(label).to_have_value("Name")
    label.fill("Your full name")
    expect(canvas.locator("[data-component-type=contact_form]")).to_contain_text("Your full name")
    expect(page.locator("[data-testid=save-status]")).to_have_text("All changes saved")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "editor.png"))

    # A reload reads the saved tree back.
    page.reload()
    expect(page.frame_locator("[data-testid=canvas]").locator("body")).to_contain_text("Your full name")
    component = home.components.get(type="contact_form")
    assert component.config["fields"][0]["label"] == "Your full name"

    # Undo brings back the old label, redo the new one.
    page.locator("[data-testid=undo]").click()
    expect(page.frame_locator("[data-testid=canvas]").locator("[data-component-type=contact_form]")).to_contain_text(
        "Name"
    )
    expect(page.frame_locator("[data-testid=canvas]").locator("body")).not_to_contain_text("Your full name")
    page.locator("[data-testid=redo]").click()
    expect(page.frame_locator("[data-testid=canvas]").locator("body")).to_contain_text("Your full name")

    # The preview is the page as visitors get it: its form works.
    with page.context.expect_page() as opened:
        page.locator("[data-testid=preview]").click()
    preview = opened.value
    expect(preview).to_have_url(f"{live_server.url}/api/v1/pages/{home.pk}/preview/")
    preview.get_by_label("Your full name").fill("Ana Lima")
    preview.get_by_label("Email").fill("ana@example.com")
    preview.get_by_label("Message").fill("Do you bake on Sundays?")
    preview.get_by_role("button", name="Send").click()
    expect(preview.locator("body")).to_contain_text("Thank you")

    submission = FormSubmission.objects.get(site=site)
    assert submission.email == "ana@example.com"
    assert submission.data["name"] == "Ana Lima"
    assert submission.data["message"] == "Do you bake on Sundays?"
    assert submission.component_id == component.pk
