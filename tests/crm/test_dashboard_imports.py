"""Imports in the dashboard: the list, the wizard's shell, and an import's progress until it is done."""

import json

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from crm.models import ContactImportError, JobStatus
from crm.services import imports as import_services
from tests.factories import ContactImportFactory, WorkspaceFactory

LIST = reverse("dashboard:contacts-imports")
NEW = reverse("dashboard:contacts-import-new")
CSV = b"Email,First name,Phone\nada@example.com,Ada,\nnot-an-email,Bob,\ngrace@example.com,Grace,12\n"


def detail_url(contact_import) -> str:
    return reverse("dashboard:contacts-import", args=[contact_import.pk])


@pytest.fixture
def queued(editor, monkeypatch):
    """An import stored and waiting, as the wizard's create call leaves it (not yet run)."""
    monkeypatch.setattr(import_services, "enqueue_contact_import", lambda import_id: None)
    return import_services.contact_import_create(
        workspace=editor.workspace,
        file=ContentFile(CSV),
        filename="people.csv",
        mapping={"Email": "email", "First name": "first_name", "Phone": "phone"},
        actor=editor.user,
    )


def test_list_shows_past_imports_with_their_counts(editor):
    ContactImportFactory(
        workspace=editor.workspace,
        filename="spring.csv",
        status=JobStatus.DONE,
        total=10,
        processed=10,
        created=7,
        updated=2,
        failed=1,
    )
    ContactImportFactory(workspace=WorkspaceFactory(), filename="theirs.csv")
    response = editor.web.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "spring.csv" in html and "theirs.csv" not in html
    assert [job.percent for job in response.context["imports"]] == [100]
    assert NEW in html


def test_empty_imports_list_and_viewers(editor, viewer):
    assert 'data-testid="imports-empty"' in editor.web.get(LIST).content.decode()
    html = viewer.web.get(LIST).content.decode()
    assert 'data-testid="imports-empty"' in html and NEW not in html
    assert viewer.web.get(NEW).status_code == 403


def test_the_wizard_knows_the_targets_and_how_to_reach_the_api(editor):
    response = editor.web.get(NEW)
    assert response.status_code == 200
    html = response.content.decode()
    marker = '<script id="import-wizard-config" type="application/json">'
    start = html.index(marker) + len(marker)
    config = json.loads(html[start : html.index("</script>", start)])
    assert config["workspace"] == editor.workspace.pk and config["csrfToken"]
    assert "email" in [target["value"] for target in config["targets"]]
    assert config["progressUrlPattern"] == reverse("dashboard:contacts-import", args=[0])


def test_progress_polls_while_waiting_then_shows_counts_and_the_report_when_done(editor, queued):
    response = editor.web.get(detail_url(queued))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in html and "Waiting to start" in html
    # A poll answers just the progress block.
    fragment = editor.web.get(detail_url(queued), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'data-testid="import-progress"' in fragment

    import_services.contact_import_process(import_id=queued.pk)
    response = editor.web.get(detail_url(queued), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' not in html  # done: the polling stops
    job = response.context["job"]
    assert (job.status, job.processed, job.created, job.failed, job.percent) == ("done", 3, 1, 2, 100)
    assert reverse("contact-import-errors", args=[queued.pk]) in html
    assert [error.row_number for error in response.context["errors"]] == [3, 4]
    assert "not a valid email address" in html


def test_a_failed_import_says_why(editor):
    job = ContactImportFactory(workspace=editor.workspace, status=JobStatus.FAILED, error="The uploaded file is gone.")
    html = editor.web.get(detail_url(job)).content.decode()
    assert "The import stopped" in html and "The uploaded file is gone." in html
    assert 'hx-trigger="every 1s"' not in html


def test_a_running_import_shows_its_share_done(editor):
    job = ContactImportFactory(workspace=editor.workspace, status=JobStatus.RUNNING, total=200, processed=50)
    response = editor.web.get(detail_url(job))
    assert response.context["job"].percent == 25
    assert 'aria-valuenow="25"' in response.content.decode()


def test_viewers_follow_progress_and_other_workspaces_imports_are_not_found(editor, viewer):
    job = ContactImportFactory(workspace=editor.workspace)
    ContactImportError.objects.create(workspace=editor.workspace, contact_import=job, row_number=2, reason="Bad")
    assert viewer.web.get(detail_url(job)).status_code == 200
    theirs = ContactImportFactory(workspace=WorkspaceFactory())
    assert editor.web.get(detail_url(theirs)).status_code == 404
