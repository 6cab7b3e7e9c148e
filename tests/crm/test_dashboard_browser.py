"""A marketer's paths through the CRM in a real browser: building a segment while its live count follows
the rules, and importing a CSV through the wizard to its done screen."""

import re
from pathlib import Path

import pytest

from accounts.roles import Role
from crm.models import ContactImport, Segment
from crm.services import imports as import_services
from crm.services.imports import contact_import_process
from crm.services.tags import contact_tags_add, tags_resolve
from tests.factories import DEFAULT_PASSWORD, ContactFactory, MembershipFactory, UserFactory, WorkspaceFactory

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


@pytest.fixture
def marketer(live_server, browser_page):
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    user = UserFactory(email="ines@example.com", name="Inês Costa")
    MembershipFactory(workspace=workspace, user=user, role=Role.EDITOR)
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/contacts/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    sync_api.expect(page.locator("h1")).to_have_text("Contacts")
    return workspace, page


def test_the_segment_builder_counts_as_you_edit_and_saves_the_rules(live_server, marketer):
    expect = sync_api.expect
    workspace, page = marketer
    for score in (10, 55, 70, 90):
        ContactFactory(workspace=workspace, score=score)
    vip = tags_resolve(workspace=workspace, names=["VIP"])[0]
    contact_tags_add(contact=ContactFactory(workspace=workspace, score=95), tags=[vip])

    page.goto(f"{live_server.url}/contacts/segments/new/")
    count = page.locator("[data-testid=live-count]")
    expect(count).to_have_text("5")  # no rules yet: everyone

    page.locator("[data-testid=add-condition]").click()
    row = page.locator("[data-testid=condition]").first
    row.locator("[data-role=field]").select_option("score")
    row.locator("[data-role=op]").select_option("gte")
    row.locator("[data-role=value]").fill("60")
    expect(count).to_have_text("3")
    row.locator("[data-role=value]").fill("80")
    expect(count).to_have_text("2")

    # An "any" group inside: score ≥ 80 and (has VIP or score < 0).
    page.locator("[data-testid=root-group] > .rule-group-actions [data-testid=add-group]").click()
    group = page.locator("[data-testid=rule-group]")
    inner = group.locator("[data-testid=condition]").first
    inner.locator("[data-role=field]").select_option("tag")
    inner.locator("[data-role=value]").select_option(str(vip.pk))
    expect(count).to_have_text("1")
    expect(page.locator("[data-testid=segment-preview]")).to_contain_text("contact matches")

    page.fill("#segment-name", "VIP hot leads")
    page.locator("[data-testid=save-segment]").click()
    expect(page).to_have_url(re.compile(rf"{live_server.url}/contacts/segments/\d+/$"))
    segment = Segment.objects.get(workspace=workspace, name="VIP hot leads")
    assert segment.rules == {
        "match": "all",
        "rules": [
            {"field": "score", "op": "gte", "value": 80},
            {"match": "any", "rules": [{"field": "tag", "op": "has", "value": vip.pk}]},
        ],
    }
    expect(page.locator("[data-testid=live-count]")).to_have_text("1")


def test_a_rule_the_server_refuses_is_marked_where_it_sits(live_server, marketer):
    expect = sync_api.expect
    workspace, page = marketer
    page.goto(f"{live_server.url}/contacts/segments/new/")
    page.locator("[data-testid=add-condition]").click()
    row = page.locator("[data-testid=condition]").first
    row.locator("[data-role=field]").select_option("activity")
    row.locator("[data-role=within-days]").fill("99999999")
    expect(row).to_have_class(re.compile("has-error"))
    expect(row.locator(".errorlist")).not_to_be_empty()
    expect(page.locator("[data-testid=segment-preview]")).to_contain_text("Fix the highlighted rule")
    page.fill("#segment-name", "Broken")
    page.locator("[data-testid=save-segment]").click()
    # Saved through the form: refused by the server, the rule marked again after the reload.
    expect(page.locator("[data-testid=condition]").first).to_have_class(re.compile("has-error"))
    assert not Segment.objects.filter(workspace=workspace).exists()


def test_importing_a_csv_through_the_wizard_to_its_done_screen(live_server, marketer, monkeypatch, tmp_path: Path):
    expect = sync_api.expect
    workspace, page = marketer
    # The import is queued, not run, so the page shows it waiting; the test then runs it.
    monkeypatch.setattr(import_services, "enqueue_contact_import", lambda import_id: None)
    csv_file = tmp_path / "fair-leads.csv"
    csv_file.write_text(
        "E-mail,Given name,Surname,Mobile\n"
        "ana@example.com,Ana,Silva,+351912345678\n"
        "not-an-email,Rui,Costa,\n"
        "joao@example.com,João,Pires,12\n"
        "marta@example.com,Marta,Lopes,\n",
        encoding="utf-8",
    )

    page.goto(f"{live_server.url}/contacts/")
    page.locator("[data-testid=contacts-empty]").get_by_role("link", name="Import a CSV file").click()
    page.set_input_files("[data-testid=import-file]", str(csv_file))
    page.get_by_role("button", name="Continue").click()
    mapping = page.locator("[data-testid=import-map]")
    expect(mapping).to_be_visible()
    expect(mapping.get_by_label("Import E-mail as")).to_have_value("email")
    expect(mapping.get_by_label("Import Surname as")).to_have_value("last_name")
    expect(mapping.get_by_label("Import Mobile as")).to_have_value("phone")
    expect(mapping).to_contain_text("ana@example.com")
    mapping.get_by_label("Import Given name as").select_option("first_name")
    page.fill("[data-import-tags]", "lisbon-fair")
    page.locator("[data-testid=start-import]").click()

    expect(page).to_have_url(re.compile(rf"{live_server.url}/contacts/imports/\d+/$"))
    progress = page.locator("[data-testid=import-progress]")
    expect(progress).to_have_attribute("data-status", "pending")
    job = ContactImport.objects.get(workspace=workspace)
    assert job.mapping == {"E-mail": "email", "Given name": "first_name", "Surname": "last_name", "Mobile": "phone"}
    assert job.tags == ["lisbon-fair"]

    contact_import_process(import_id=job.pk)
    expect(progress).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator("[data-testid=import-created]")).to_have_text("2")
    expect(page.locator("[data-testid=import-failed]")).to_have_text("2")
    expect(page.locator("[data-testid=import-errors]")).to_contain_text("not a valid email address")
    download = page.locator("[data-testid=import-errors-download]")
    expect(download).to_be_visible()
    with page.expect_download() as info:
        download.click()
    report = Path(info.value.path()).read_text(encoding="utf-8")
    assert "not-an-email" in report and "'12' is not a valid phone number" in report
