"""The contact import API end to end: upload with a mapping, progress, the rejected rows report,
the mapping preview, and bad uploads answered 400 naming the field."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from freezegun import freeze_time

from accounts.roles import Role
from crm.models import Contact, ContactImport, CustomFieldType, JobStatus
from crm.tasks import contact_imports_resume
from tests.conftest import celery_broker
from tests.factories import ContactImportFactory, CustomFieldFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contact-imports/"


def csv_file(text: str, name: str = "leads.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def post_import(client, text: str, mapping, **extra):
    body = {"file": csv_file(text), "mapping": json.dumps(mapping) if not isinstance(mapping, str) else mapping}
    return client.post(URL, {**body, **extra}, format="multipart")


def test_upload_is_accepted_processed_and_shows_its_progress(
    editor, workspace, celery_eager, django_capture_on_commit_callbacks
):
    CustomFieldFactory(workspace=workspace, key="plan", label="Plan", type=CustomFieldType.SELECT, options=["Pro"])
    text = "E-mail,Name,Plan\nada@example.com,Ada,pro\nbob@,Bob,\ncarol@example.com,Carol,Gold\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_import(
            editor.client,
            text,
            {"E-mail": "email", "Name": "first_name", "Plan": "custom:plan"},
            tags=["Fair 2026, vip"],
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["filename"], body["tags"]) == (JobStatus.PENDING, "leads.csv", ["Fair 2026", "vip"])
    assert body["errors_url"] == f"{URL}{body['id']}/errors/"

    progress = editor.client.get(f"{URL}{body['id']}/").json()
    assert {key: progress[key] for key in ("status", "total", "processed", "created", "updated", "failed")} == {
        "status": "done",
        "total": 3,
        "processed": 3,
        "created": 1,
        "updated": 0,
        "failed": 2,
    }
    assert progress["created_by"] == editor.user.pk
    ada = Contact.objects.get(workspace=workspace)
    assert sorted(tag.name for tag in ada.tags.all()) == ["Fair 2026", "vip"]

    report = editor.client.get(body["errors_url"])
    assert report.status_code == 200
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert report["Content-Disposition"] == 'attachment; filename="leads-rejected-rows.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows == [
        ["row", "reason", "E-mail", "Name", "Plan"],
        ["3", "E-mail: 'bob@' is not a valid email address.", "bob@", "Bob", ""],
        ["4", "Plan: 'Gold' is not one of: Pro.", "carol@example.com", "Carol", "Gold"],
    ]
    as_json = editor.client.get(body["errors_url"], {"format": "json"}).json()
    assert [row["row_number"] for row in as_json["results"]] == [3, 4]
    assert as_json["results"][0]["row"] == {"E-mail": "bob@", "Name": "Bob", "Plan": ""}


def test_the_report_escapes_cells_that_would_run_as_formulas(editor, workspace):
    job = ContactImportFactory(workspace=workspace)
    job.errors.create(
        workspace=workspace, row_number=2, reason="Email: '=1+1' is not a valid email address.", row={"Email": "=1+1"}
    )
    rows = list(
        csv.reader(io.StringIO(b"".join(editor.client.get(f"{URL}{job.pk}/errors/").streaming_content).decode()))
    )
    assert rows[1] == ["2", "Email: '=1+1' is not a valid email address.", "'=1+1"]


def test_list_shows_the_workspaces_imports_newest_first(editor, workspace):
    older = ContactImportFactory(workspace=workspace)
    newer = ContactImportFactory(workspace=workspace)
    ContactImportFactory()  # another workspace's
    ids = [row["id"] for row in editor.client.get(URL).json()["results"]]
    assert ids == [newer.pk, older.pk]


def test_another_workspaces_import_and_its_report_are_404s(editor, assert_error):
    other = ContactImportFactory()
    assert_error(editor.client.get(f"{URL}{other.pk}/"), 404)
    assert_error(editor.client.get(f"{URL}{other.pk}/errors/"), 404)


def test_mapping_to_a_custom_field_only_another_workspace_has_is_a_400_naming_the_column(editor, assert_error):
    CustomFieldFactory(key="plan", label="Plan")  # another workspace's
    response = post_import(editor.client, "Email,Plan\na@b.co,Pro\n", {"Email": "email", "Plan": "custom:plan"})
    assert_error(response, 400, code="validation_error", field="mapping.Plan")
    assert not ContactImport.objects.exists()


def test_preview_reads_columns_and_first_rows_and_suggests_targets(editor, workspace):
    CustomFieldFactory(workspace=workspace, key="plan", label="Subscription plan")
    CustomFieldFactory(workspace=workspace, key="industry", label="Industry")
    text = "E-mail;First Name;Surname;Phone number;Subscription Plan;industry;Tags;Notes;Mail\n" + "".join(
        f"p{n}@example.com;P{n};Q;;Pro;Tech;a;hi;\n" for n in range(8)
    )
    response = editor.client.post(f"{URL}preview/", {"file": csv_file(text)}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["columns"][:3] == ["E-mail", "First Name", "Surname"]
    assert body["delimiter"] == ";"
    assert len(body["sample_rows"]) == 5
    assert body["sample_rows"][0] == ["p0@example.com", "P0", "Q", "", "Pro", "Tech", "a", "hi", ""]
    assert body["suggested_mapping"] == {
        "E-mail": "email",
        "First Name": "first_name",
        "Surname": "last_name",
        "Phone number": "phone",
        "Subscription Plan": "custom:plan",
        "industry": "custom:industry",
        "Tags": "tags",
        "Notes": "",
        "Mail": "",  # email is taken by the first column that fits
    }
    assert {"value": "custom:plan", "label": "Subscription plan"} in body["targets"]
    assert not ContactImport.objects.exists(), "a preview stores nothing"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"mapping": '{"Email": "email"}'}, "file", "No file was submitted."),
        ({"file": "not a file", "mapping": '{"Email": "email"}'}, "file", "The submitted data was not a file."),
        ({"file": csv_file(""), "mapping": '{"Email": "email"}'}, "file", "The submitted file is empty."),
        ({"file": csv_file("\n\n"), "mapping": '{"Email": "email"}'}, "file", "The file is empty."),
        ({"file": csv_file("Email,email\na@b.co,x\n"), "mapping": '{"Email": "email"}'}, "file", "Two columns"),
        ({"file": csv_file("Email\na@b.co\n"), "mapping": "{nope"}, "mapping", "Expected a JSON object"),
        ({"file": csv_file("Email\na@b.co\n"), "mapping": '["Email"]'}, "mapping", "Expected a JSON object"),
        ({"file": csv_file("Email\na@b.co\n"), "mapping": '{"Mail": "email"}'}, "mapping.Mail", "The file has no"),
        ({"file": csv_file("Email\na@b.co\n"), "mapping": '{"Email": "e-mail"}'}, "mapping.Email", "'e-mail' is not"),
        ({"file": csv_file("Email\na@b.co\n"), "mapping": "{}"}, "mapping", "Map one column to email"),
        (
            {"file": csv_file("Email\na@b.co\n"), "mapping": '{"Email": "email"}', "tags": "x" * 65},
            "tags",
            "A tag name has",
        ),
    ],
)
def test_a_bad_upload_is_a_400_naming_the_field(editor, body, field, message, assert_error):
    response = editor.client.post(URL, body, format="multipart")
    assert_error(response, 400, code="validation_error")
    details = response.json()["error"]["details"]
    assert list(details) == [field]
    assert details[field][0].startswith(message)
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize("body", [{}, {"file": "not a file"}])
def test_a_preview_without_a_file_is_a_400_naming_file(editor, body, assert_error):
    response = editor.client.post(f"{URL}preview/", body, format="multipart")
    assert_error(response, 400, code="validation_error", field="file")


def test_a_binary_file_is_refused_by_the_preview_too(editor, assert_error):
    upload = SimpleUploadedFile("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", content_type="text/csv")
    response = editor.client.post(f"{URL}preview/", {"file": upload}, format="multipart")
    assert_error(response, 400, code="validation_error")
    assert response.json()["error"]["details"] == {"file": ["This is not a CSV file: it holds binary data."]}


def test_an_upload_larger_than_the_api_body_limit_but_within_the_import_limit_is_accepted(editor, workspace, settings):
    settings.API_MAX_BODY_BYTES = 1024
    text = "Email\n" + "".join(f"c{n}@example.com\n" for n in range(200))
    assert len(text) > 2048
    response = post_import(editor.client, text, {"Email": "email"})
    assert response.status_code == 202, response.content


def test_an_upload_over_the_import_limit_is_refused(editor, settings, assert_error):
    settings.API_MAX_BODY_BYTES = 1024
    settings.CRM_IMPORT_MAX_BYTES = 2048
    text = "Email\n" + "".join(f"c{n}@example.com\n" for n in range(200))
    response = post_import(editor.client, text, {"Email": "email"})
    assert_error(response, 400, code="validation_error")
    assert response.json()["error"]["details"] == {
        "file": ["The file is larger than 0 MB: split it into smaller files."]
    }
    settings.CRM_IMPORT_MAX_BYTES = 1024
    huge = "Email\n" + "".join(f"c{n}@example.com\n" for n in range(20_000))
    response = post_import(editor.client, huge, {"Email": "email"})
    assert_error(response, 413, code="payload_too_large")


def test_other_api_endpoints_keep_the_small_body_limit(editor, settings, assert_error):
    settings.API_MAX_BODY_BYTES = 64
    response = editor.client.post("/api/v1/tags/", {"name": "x" * 200}, format="json")
    assert_error(response, 413, code="payload_too_large")


def test_a_viewer_may_not_import(make_member, assert_error):
    viewer = make_member(role=Role.VIEWER)
    response = post_import(viewer.client, "Email\na@example.com\n", {"Email": "email"})
    assert_error(response, 403, code="permission_denied")
    response = viewer.client.post(f"{URL}preview/", {"file": csv_file("Email\na@b.co\n")}, format="multipart")
    assert_error(response, 403, code="permission_denied")


def test_an_upload_while_the_broker_is_down_is_still_accepted_and_stays_pending(
    editor, workspace, celery_eager, django_capture_on_commit_callbacks
):
    with celery_broker("redis://127.0.0.1:9/0"), django_capture_on_commit_callbacks(execute=True):
        response = post_import(editor.client, "Email\na@example.com\n", {"Email": "email"})
    assert response.status_code == 202, response.content
    assert ContactImport.objects.get().status == JobStatus.PENDING

    assert contact_imports_resume() == 0, "too fresh: its task may still be on its way"
    with freeze_time(timezone.now() + timedelta(minutes=6)):
        assert contact_imports_resume() == 1
    job = ContactImport.objects.get()
    assert (job.status, job.created) == (JobStatus.DONE, 1)
