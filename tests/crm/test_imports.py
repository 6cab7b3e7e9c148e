"""CSV contact imports, through the services: what is imported, what is rejected and why, merging,
counters, and running the task again."""

import codecs
import csv

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from core.models import Event
from crm.events import CONTACT_CREATED, CONTACT_UPDATED, TAG_ADDED
from crm.models import (
    ActivityKind,
    Contact,
    ContactActivity,
    ContactImport,
    ContactImportError,
    ContactStatus,
    CustomFieldType,
    JobStatus,
)
from crm.selectors.imports import import_error_cells
from crm.services import imports
from crm.services.imports import contact_import_create, contact_import_process
from tests.factories import ContactFactory, CustomFieldFactory, TagFactory

pytestmark = pytest.mark.django_db

MAPPING = {
    "Email": "email",
    "First name": "first_name",
    "Last name": "last_name",
    "Phone": "phone",
    "Plan": "custom:plan",
    "Renewal": "custom:renewal",
    "Tags": "tags",
}
HEADER = "Email,First name,Last name,Phone,Plan,Renewal,Tags\n"


@pytest.fixture
def fields(workspace):
    return [
        CustomFieldFactory(
            workspace=workspace, key="plan", label="Plan", type=CustomFieldType.SELECT, options=["Starter", "Pro"]
        ),
        CustomFieldFactory(workspace=workspace, key="renewal", label="Renewal", type=CustomFieldType.DATE),
    ]


def upload(workspace, text: str | bytes, mapping=None, **kwargs) -> ContactImport:
    content = text.encode() if isinstance(text, str) else text
    return contact_import_create(
        workspace=workspace,
        file=ContentFile(content, name="contacts.csv"),
        filename="contacts.csv",
        mapping=MAPPING if mapping is None else mapping,
        **kwargs,
    )


def run(workspace, text, mapping=None, **kwargs) -> ContactImport:
    return contact_import_process(import_id=upload(workspace, text, mapping, **kwargs).pk)


def reasons(job) -> dict[int, str]:
    return dict(ContactImportError.objects.filter(contact_import=job).values_list("row_number", "reason"))


def counters(job) -> tuple:
    return (job.status, job.total, job.processed, job.created, job.updated, job.failed)


def test_bad_rows_are_reported_with_their_reason_and_the_rest_is_imported(workspace, fields):
    text = (
        HEADER + "ada@example.com,Ada,Lovelace,+44 20 7946 0958,pro,2026-03-01,vip\n"
        "bob@,Bob,,,,,\n"
        "carol@example.com,Carol,,12,,,\n"
        "dan@example.com,Dan,,,Gold,,\n"
        "erin@example.com,Erin,,,,31/02/2026,\n"
        ",Nobody,,,,,\n"
        f"fay@example.com,{'F' * 101},,,,,\n"
        '  GRACE@Example.com ,Grace,Hopper,,Starter,,"a, b"\n'
    )
    job = run(workspace, text)

    assert counters(job) == (JobStatus.DONE, 8, 8, 2, 0, 6)
    assert reasons(job) == {
        3: "Email: 'bob@' is not a valid email address.",
        4: "Phone: '12' is not a valid phone number.",
        5: "Plan: 'Gold' is not one of: Starter, Pro.",
        6: "Renewal: '31/02/2026' is not a date (YYYY-MM-DD).",
        7: "Email: empty. Every contact needs an email address.",
        8: "First name: At most 100 characters.",
    }
    error = ContactImportError.objects.get(contact_import=job, row_number=4)
    assert error.row == [
        ["Email", "carol@example.com"],
        ["First name", "Carol"],
        ["Last name", ""],
        ["Phone", "12"],
        ["Plan", ""],
        ["Renewal", ""],
        ["Tags", ""],
    ]
    assert import_error_cells(error.row) == {
        "Email": "carol@example.com",
        "First name": "Carol",
        "Last name": "",
        "Phone": "12",
        "Plan": "",
        "Renewal": "",
        "Tags": "",
    }
    ada = Contact.objects.get(workspace=workspace, email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.phone) == ("Ada", "Lovelace", "+442079460958")
    assert ada.custom_fields == {"plan": "Pro", "renewal": "2026-03-01"}
    assert (ada.source, ada.source_ref) == ("import", str(job.pk))
    assert [tag.name for tag in ada.tags.all()] == ["vip"]
    grace = Contact.objects.get(workspace=workspace, email="grace@example.com")
    assert sorted(tag.name for tag in grace.tags.all()) == ["a", "b"]
    assert Contact.objects.filter(workspace=workspace).count() == 2
    assert not job.file, "the uploaded file is deleted once the import ends"


def test_a_row_with_several_bad_cells_names_each(workspace, fields):
    job = run(workspace, HEADER + "nope,Ann,,12,Gold,,\n")
    assert reasons(job) == {
        2: "Email: 'nope' is not a valid email address. Phone: '12' is not a valid phone number. "
        "Plan: 'Gold' is not one of: Starter, Pro."
    }


def test_reimporting_the_same_file_creates_no_duplicates(workspace, fields):
    text = HEADER + "ada@example.com,Ada,,,Pro,,vip\nbob@example.com,Bob,,,,,\n"
    first = run(workspace, text)
    second = run(workspace, text)
    assert counters(first)[3:] == (2, 0, 0)
    assert counters(second)[3:] == (0, 2, 0)
    assert Contact.objects.filter(workspace=workspace).count() == 2
    assert ContactActivity.objects.filter(kind=ActivityKind.IMPORTED).count() == 2, "nothing changed the second time"
    assert Event.objects.filter(type=CONTACT_CREATED).count() == 2
    assert not Event.objects.filter(type=CONTACT_UPDATED).exists()


def test_merge_keeps_stored_values_where_cells_are_empty(workspace, fields):
    ContactFactory(
        workspace=workspace,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        phone="+14155550100",
        custom_fields={"plan": "Starter"},
    )
    job = run(workspace, HEADER + "ADA@example.com,,Byron,,  ,2027-01-01,\n")
    ada = Contact.objects.get(workspace=workspace, email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.phone) == ("Ada", "Byron", "+14155550100")
    assert ada.custom_fields == {"plan": "Starter", "renewal": "2027-01-01"}
    assert counters(job)[3:] == (0, 1, 0)
    activity = ContactActivity.objects.get(contact=ada, kind=ActivityKind.IMPORTED)
    assert activity.data == {
        "import_id": job.pk,
        "created": False,
        "changed": ["custom_fields.renewal", "last_name"],
        "tags": [],
    }
    event = Event.objects.get(type=CONTACT_UPDATED)
    assert event.payload == {"contact_id": ada.pk, "changed": ["custom_fields.renewal", "last_name"], "tag_ids": []}


def test_rows_of_one_email_merge_in_file_order_and_count_once_as_created(workspace, fields):
    text = (
        HEADER + "ada@example.com,Ada,,,Starter,,one\n"
        "bob@example.com,Bob,,,,,\n"
        "Ada@Example.com,,Lovelace,,Pro,,two\n"
        "ada@example.com,Augusta,,,,,\n"
    )
    job = run(workspace, text)
    ada = Contact.objects.get(workspace=workspace, email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.custom_fields["plan"]) == ("Augusta", "Lovelace", "Pro")
    assert sorted(tag.name for tag in ada.tags.all()) == ["one", "two"]
    assert counters(job) == (JobStatus.DONE, 4, 4, 2, 2, 0)
    assert job.processed == job.created + job.updated + job.failed


def test_duplicates_across_batches_merge_into_the_contact_the_first_batch_created(workspace, fields, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    text = HEADER + "a@example.com,A,,,,,\nb@example.com,B,,,,,\nbad,,,,,,\na@example.com,,Z,,,,\nc@example.com,,,,,,\n"
    job = run(workspace, text)
    assert counters(job) == (JobStatus.DONE, 5, 5, 3, 1, 1)
    assert Contact.objects.get(workspace=workspace, email="a@example.com").name == "A Z"


def test_tags_for_every_row_are_added_once_and_announced_with_the_contact(workspace, fields):
    existing = TagFactory(workspace=workspace, name="VIP")
    contact = ContactFactory(workspace=workspace, email="ada@example.com")
    contact.tags.add(existing, through_defaults={"workspace": workspace})
    job = run(workspace, HEADER + "ada@example.com,,,,,,\nbob@example.com,,,,,,fair\n", tags=["vip", "Spring fair"])
    assert counters(job)[3:] == (1, 1, 0)
    bob = Contact.objects.get(workspace=workspace, email="bob@example.com")
    assert sorted(tag.name for tag in bob.tags.all()) == ["Spring fair", "VIP", "fair"]
    ada = Contact.objects.get(pk=contact.pk)
    assert sorted(tag.name for tag in ada.tags.all()) == ["Spring fair", "VIP"]
    spring = ada.tags.get(name="Spring fair")
    updated = Event.objects.get(type=CONTACT_UPDATED)
    assert updated.payload == {"contact_id": ada.pk, "changed": ["tags"], "tag_ids": [spring.pk]}
    created = Event.objects.get(type=CONTACT_CREATED)
    assert sorted(created.payload["tag_ids"]) == sorted(tag.pk for tag in bob.tags.all())
    assert not Event.objects.filter(type=TAG_ADDED).exists()


def test_import_sets_stage_and_suppression_status_but_never_resubscribes(workspace):
    ContactFactory(workspace=workspace, email="gone@example.com", status=ContactStatus.UNSUBSCRIBED)
    ContactFactory(workspace=workspace, email="here@example.com")
    mapping = {"Email": "email", "Stage": "stage", "Status": "status"}
    text = (
        "Email,Stage,Status\n"
        "gone@example.com,Customer,Active\n"
        "here@example.com,mql,bounced\n"
        "new@example.com,Lead,\n"
        "odd@example.com,Gold,\n"
        "odd2@example.com,,asleep\n"
    )
    job = run(workspace, text, mapping)
    stored = dict(Contact.objects.filter(workspace=workspace).values_list("email", "status"))
    assert stored["gone@example.com"] == ContactStatus.UNSUBSCRIBED
    assert stored["here@example.com"] == ContactStatus.BOUNCED
    stages = dict(Contact.objects.filter(workspace=workspace).values_list("email", "stage"))
    assert (stages["gone@example.com"], stages["here@example.com"], stages["new@example.com"]) == (
        "customer",
        "mql",
        "lead",
    )
    assert reasons(job) == {
        5: "Stage: 'Gold' is not one of: Subscriber, Lead, Marketing qualified lead, Sales qualified lead, Customer.",
        6: "Status: 'asleep' is not one of: Active, Unsubscribed, Bounced, Complained, Awaiting confirmation.",
    }


def test_semicolons_a_byte_order_mark_quoted_newlines_and_blank_lines_are_read(workspace):
    text = 'Email;Company;Notes\r\nada@example.com;"Analytical; Engines";"two\nlines"\r\n;;\r\n\r\nbad;;\r\n'
    job = run(workspace, codecs.BOM_UTF8 + text.encode(), {"Email": "email", "Company": "company", "Notes": ""})
    assert Contact.objects.get(workspace=workspace).company == "Analytical; Engines"
    # Spreadsheet rows: the quoted newline stays in row 2; the blank rows 3 and 4 are skipped.
    assert counters(job) == (JobStatus.DONE, 2, 2, 1, 0, 1)
    assert list(reasons(job)) == [5]


def test_utf16_with_a_byte_order_mark_and_tabs_is_read(workspace):
    text = "Email\tFirst name\r\nzoe@example.com\tZoë\r\n"
    run(workspace, text.encode("utf-16"), {"Email": "email", "First name": "first_name"})
    assert Contact.objects.get(workspace=workspace).first_name == "Zoë"


def test_cells_escaped_by_our_export_import_as_they_were(workspace):
    run(workspace, "Email,Company\nada@example.com,'=Sum Corp\n", {"Email": "email", "Company": "company"})
    assert Contact.objects.get(workspace=workspace).company == "=Sum Corp"


def test_a_row_with_more_cells_than_the_header_is_rejected(workspace):
    job = run(workspace, "Email,Company\nada@example.com,Acme, Inc\nbob@example.com,Bob Co,\n", {"Email": "email"})
    assert reasons(job) == {
        2: "This row has 3 cells but the header has 2: a value holding the delimiter needs quotes around it."
    }
    assert job.created == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"  \n\n", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file: it holds binary data."),
        ("Email,Name\nzoë@example.com,Zoë\n".encode("latin-1"), "The file is not UTF-8 text."),
        (b",,\nada@example.com,,\n", "The first row must name the columns"),
        (b"Email,email\nada@example.com,x\n", "Two columns are named 'email'"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_at_upload_naming_file(workspace, content, message):
    with pytest.raises(ValidationError) as caught:
        upload(workspace, content, {"Email": "email"})
    assert list(caught.value.message_dict) == ["file"]
    assert caught.value.message_dict["file"][0].startswith(message)
    assert not ContactImport.objects.exists()


def test_a_file_not_utf8_after_the_first_block_is_refused_with_its_line(workspace, monkeypatch):
    monkeypatch.setattr(imports, "HEAD_BYTES", 32)
    content = b"Email\n" + b"a@example.com\n" * 5 + "zoë@example.com\n".encode("latin-1")
    with pytest.raises(ValidationError) as caught:
        upload(workspace, content, {"Email": "email"})
    assert "line 7" in caught.value.message_dict["file"][0]


def test_a_file_over_the_size_limit_is_refused(workspace, settings):
    settings.CRM_IMPORT_MAX_BYTES = 1024 * 1024
    with pytest.raises(ValidationError) as caught:
        upload(workspace, "Email\n" + "a@example.com\n" * 80_000, {"Email": "email"})
    assert caught.value.message_dict == {"file": ["The file is larger than 1 MB: split it into smaller files."]}


@pytest.mark.parametrize(
    ("mapping", "errors"),
    [
        (
            {"First name": "first_name"},
            {"mapping": ["Map one column to email: contacts are matched by their email address."]},
        ),
        ({"Email": "email", "Nope": "company"}, {"mapping.Nope": ["The file has no column 'Nope'."]}),
        (
            {"Email": "email", "First name": "nickname"},
            {
                "mapping.First name": [
                    "'nickname' is not a field: use one of email, first_name, last_name, phone, company, stage, "
                    "status, tags, custom:<key>, or an empty value to skip the column."
                ]
            },
        ),
        ({"Email": "email", "Plan": "custom:tier"}, {"mapping.Plan": ["No custom field 'tier'."]}),
        (
            {"Email": "email", "Last name": "email"},
            {"mapping.Last name": ["'email' is already filled from column 'Email'."]},
        ),
        (
            {"Email": "email", "Plan": 3},
            {"mapping.Plan": ["Expected a field name, or an empty value to skip the column."]},
        ),
        (["Email"], {"mapping": ["Expected an object of column name → field."]}),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_column(workspace, fields, mapping, errors):
    with pytest.raises(ValidationError) as caught:
        upload(workspace, HEADER + "ada@example.com,,,,,,\n", mapping)
    assert caught.value.message_dict == errors
    assert not ContactImport.objects.exists()


def test_columns_may_be_skipped_and_several_may_feed_tags(workspace):
    mapping = {"Email": "email", "Interest": "tags", "Source": "tags", "Notes": ""}
    run(workspace, "Email,Interest,Source,Notes\nada@example.com,math,fair,hello\n", mapping)
    contact = Contact.objects.get(workspace=workspace)
    assert sorted(tag.name for tag in contact.tags.all()) == ["fair", "math"]


def test_a_bad_tag_name_for_the_whole_import_is_refused(workspace):
    with pytest.raises(ValidationError) as caught:
        upload(workspace, "Email\nada@example.com\n", {"Email": "email"}, tags=["x" * 65])
    assert list(caught.value.message_dict) == ["tags"]


def test_running_the_task_twice_changes_nothing_the_second_time(workspace, fields):
    job = upload(workspace, HEADER + "ada@example.com,Ada,,,,,\nbad,,,,,,\n")
    first = contact_import_process(import_id=job.pk)
    again = contact_import_process(import_id=job.pk)
    assert counters(first) == counters(again) == (JobStatus.DONE, 2, 2, 1, 0, 1)
    assert ContactImportError.objects.count() == 1
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_a_run_that_died_mid_file_carries_on_after_the_last_committed_batch(workspace, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    text = "Email\n" + "".join(f"c{n}@example.com\n" for n in range(5)) + "bad\n"
    job = upload(workspace, text, {"Email": "email"})
    calls = []
    real = imports._Importer.run_batch

    def dies_on_the_second_batch(self, offset, batch):
        calls.append(offset)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real(self, offset, batch)

    monkeypatch.setattr(imports._Importer, "run_batch", dies_on_the_second_batch)
    with pytest.raises(SystemExit):
        contact_import_process(import_id=job.pk)
    job.refresh_from_db()
    assert counters(job) == (JobStatus.RUNNING, 6, 2, 2, 0, 0)

    monkeypatch.setattr(imports._Importer, "run_batch", real)
    job = contact_import_process(import_id=job.pk)
    assert counters(job) == (JobStatus.DONE, 6, 6, 5, 0, 1)
    assert Contact.objects.filter(workspace=workspace).count() == 5


def test_a_run_that_finds_another_run_ahead_of_it_stops(workspace, monkeypatch):
    job = upload(workspace, "Email\na@example.com\n", {"Email": "email"})
    ContactImport.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, total=1, processed=0)
    real = imports._Importer.run_batch

    def overtaken(self, offset, batch):
        ContactImport.objects.filter(pk=job.pk).update(processed=1, created=1)
        return real(self, offset, batch)

    monkeypatch.setattr(imports._Importer, "run_batch", overtaken)
    result = contact_import_process(import_id=job.pk)
    assert (result.status, result.processed, result.created) == (JobStatus.RUNNING, 1, 1)
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_a_custom_field_deleted_after_the_upload_fails_the_whole_import(workspace, fields):
    job = upload(workspace, HEADER + "ada@example.com,,,,Pro,,\n")
    fields[0].delete()
    job = contact_import_process(import_id=job.pk)
    assert job.status == JobStatus.FAILED
    assert job.error == "The custom field 'plan' was deleted after the upload."
    assert job.finished_at is not None
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_an_unreadable_row_fails_the_whole_import_naming_it_before_anything_is_imported(workspace):
    limit = csv.field_size_limit(100)
    try:
        job = run(workspace, 'Email,Notes\na@example.com,ok\nb@example.com,"' + "x" * 200 + '"\n', {"Email": "email"})
    finally:
        csv.field_size_limit(limit)
    assert job.status == JobStatus.FAILED
    assert job.error == "Row 3 cannot be read as CSV: field larger than field limit (100)."
    assert not Contact.objects.filter(workspace=workspace).exists()


def test_imported_contacts_are_announced_after_commit(workspace, django_capture_on_commit_callbacks):
    job = upload(workspace, "Email\na@example.com\nb@example.com\n", {"Email": "email"})
    with django_capture_on_commit_callbacks() as callbacks:
        contact_import_process(import_id=job.pk)
    events = Event.objects.filter(type=CONTACT_CREATED).order_by("pk")
    assert [event.payload["source"] for event in events] == ["import", "import"]
    assert {event.payload["contact_id"] for event in events} == set(
        Contact.objects.filter(workspace=workspace).values_list("pk", flat=True)
    )
    assert len(callbacks) == 1, "one dispatch for the batch's events"


def test_emails_are_checked_as_strictly_whether_plain_or_unusual(workspace):
    text = (
        "Email\n"
        "Plain.Name+list@Mail.Example.co.uk\n"
        "o'neil@example.com\n"
        "user@localhost\n"
        "a..b@example.com\n"
        "a@-example.com\n"
        "a@example.c0m\n"
        f"{'a' * 250}@example.com\n"
    )
    job = run(workspace, text, mapping={"Email": "email"})

    stored = set(Contact.objects.filter(workspace=workspace).values_list("email", flat=True))
    assert stored == {"plain.name+list@mail.example.co.uk", "o'neil@example.com", "user@localhost"}
    assert sorted(reasons(job)) == [5, 6, 7, 8]
    assert reasons(job)[5] == "Email: 'a..b@example.com' is not a valid email address."
    assert reasons(job)[8].startswith("Email: An email address has at most 254 characters")


def test_a_phone_number_met_again_is_cleaned_and_rejected_the_same_way(workspace):
    text = "Email,Phone\na@example.com,+44 20 7946 0958\nb@example.com,12\nc@example.com,+44 20 7946 0958\n"
    text += "d@example.com,12\n"
    job = run(workspace, text, mapping={"Email": "email", "Phone": "phone"})

    assert reasons(job) == {
        3: "Phone: '12' is not a valid phone number.",
        5: "Phone: '12' is not a valid phone number.",
    }
    phones = dict(Contact.objects.filter(workspace=workspace).values_list("email", "phone"))
    assert phones == {"a@example.com": "+442079460958", "c@example.com": "+442079460958"}
