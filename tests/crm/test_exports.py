"""Contact CSV exports: every contact (or a segment's, or the list's filters) streamed with escaped
cells, each export recorded; an exported file imports back unchanged."""

import csv
import io

import pytest
from django.core.files.base import ContentFile

from accounts.roles import Role
from crm.models import Contact, ContactExport, CustomFieldType, JobStatus, LifecycleStage
from crm.services.exports import contact_export_rows
from crm.services.imports import contact_import_create, contact_import_process
from tests.factories import ContactFactory, CustomFieldFactory, SegmentFactory, TagFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contact-exports/"
HEADER = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "stage",
    "status",
    "score",
    "source",
    "tags",
    "created_at",
    "last_activity_at",
]


def read(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def tag(contact, *names):
    for name in names:
        found = TagFactory._meta.model.objects.filter(workspace=contact.workspace, name=name).first()
        contact.tags.add(
            found or TagFactory(workspace=contact.workspace, name=name),
            through_defaults={"workspace": contact.workspace},
        )


def test_rows_hold_every_contact_with_custom_fields_by_key_and_escaped_formulas(workspace):
    CustomFieldFactory(workspace=workspace, key="plan", label="Plan", order=1)
    CustomFieldFactory(workspace=workspace, key="vip", label="VIP", type=CustomFieldType.BOOLEAN, order=2)
    ada = ContactFactory(
        workspace=workspace,
        email="ada@example.com",
        first_name='=HYPERLINK("http://evil")',
        last_name="Lovelace",
        phone="+14155550100",
        company="@Analytical",
        custom_fields={"plan": "-Pro", "vip": True},
        score=12,
    )
    tag(ada, "b-tag", "a-tag")
    ContactFactory(workspace=workspace, email="bob@example.com")
    ContactFactory(email="other@example.com")  # another workspace's

    rows = list(contact_export_rows(queryset=Contact.objects.for_workspace(workspace)))
    assert rows[0] == [*HEADER, "plan", "vip"]
    assert [row[0] for row in rows[1:]] == ["ada@example.com", "bob@example.com"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["first_name"] == '\'=HYPERLINK("http://evil")'
    assert first["phone"] == "'+14155550100"
    assert first["company"] == "'@Analytical"
    assert (first["plan"], first["vip"], first["score"], first["tags"]) == ("'-Pro", "yes", "12", "a-tag, b-tag")
    assert first["created_at"] == ada.created_at.isoformat(timespec="seconds")
    assert first["last_activity_at"] == ""


def test_export_through_the_api_records_who_and_streams_every_contact(editor, workspace):
    for n in range(5):
        ContactFactory(workspace=workspace, email=f"c{n}@example.com")
    response = editor.client.post(URL, {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["row_count"], body["status"], body["segment"], body["filters"]) == (5, "pending", None, {})
    assert body["download_url"] == f"{URL}{body['id']}/download/"

    download = editor.client.get(body["download_url"])
    assert download["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = read(download)
    assert sorted(row[0] for row in rows[1:]) == [f"c{n}@example.com" for n in range(5)]
    export = ContactExport.objects.get(pk=body["id"])
    assert (export.status, export.row_count, export.created_by) == (JobStatus.DONE, 5, editor.user)
    assert export.finished_at is not None
    assert [row["id"] for row in editor.client.get(URL).json()["results"]] == [export.pk]


def test_export_of_a_segment_narrowed_by_filters(editor, workspace):
    vip = TagFactory(workspace=workspace, name="vip")
    segment = SegmentFactory(
        workspace=workspace,
        name="Customers",
        rules={"match": "all", "rules": [{"field": "stage", "op": "in", "value": ["customer"]}]},
    )
    a = ContactFactory(workspace=workspace, email="a@example.com", stage=LifecycleStage.CUSTOMER)
    b = ContactFactory(workspace=workspace, email="b@example.com", stage=LifecycleStage.CUSTOMER)
    c = ContactFactory(workspace=workspace, email="c@example.com", stage=LifecycleStage.LEAD)
    for contact in (a, c):
        contact.tags.add(vip, through_defaults={"workspace": workspace})
    response = editor.client.post(URL, {"segment": segment.pk, "filters": {"tag": vip.pk}}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["row_count"] == 1
    download = editor.client.get(response.json()["download_url"])
    assert download["Content-Disposition"].startswith('attachment; filename="Customers-')
    assert [row[0] for row in read(download)[1:]] == ["a@example.com"]
    assert b.pk  # in the segment, without the tag


def test_a_search_filter_narrows_the_export(editor, workspace):
    ContactFactory(workspace=workspace, email="ada@example.com", first_name="Ada")
    ContactFactory(workspace=workspace, email="bob@example.com", first_name="Bob")
    response = editor.client.post(URL, {"filters": {"search": "ada"}}, format="json")
    assert [row[0] for row in read(editor.client.get(response.json()["download_url"]))[1:]] == ["ada@example.com"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"segment": 999_999}, "segment"),
        ({"segment": "x"}, "segment"),
        ({"filters": ["tag"]}, "filters"),
        ({"filters": {"score_min": "lots"}}, "filters.score_min"),
        ({"filters": {"stag": "lead"}}, "filters"),
    ],
)
def test_a_bad_export_request_is_a_400_naming_the_field(editor, body, field, assert_error):
    response = editor.client.post(URL, body, format="json")
    assert_error(response, 400, code="validation_error")
    assert list(response.json()["error"]["details"]) == [field]
    assert not ContactExport.objects.exists()


def test_another_workspaces_segment_cannot_be_exported(editor, assert_error):
    segment = SegmentFactory(workspace=WorkspaceFactory(), rules={"match": "all", "rules": []})
    response = editor.client.post(URL, {"segment": segment.pk}, format="json")
    assert_error(response, 400, code="validation_error")
    assert list(response.json()["error"]["details"]) == ["segment"]


def test_a_viewer_may_export_what_they_can_read(make_member):
    viewer = make_member(role=Role.VIEWER)
    response = viewer.client.post(URL, {}, format="json")
    assert response.status_code == 201
    assert ContactExport.objects.get().created_by == viewer.user


def test_an_exported_file_imports_back_unchanged(workspace):
    CustomFieldFactory(workspace=workspace, key="plan", label="Plan")
    original = ContactFactory(
        workspace=workspace,
        email="ada@example.com",
        first_name="=Ada",
        phone="+14155550100",
        stage=LifecycleStage.MQL,
        custom_fields={"plan": "-Pro"},
    )
    tag(original, "a", "b")
    lines = io.StringIO()
    csv.writer(lines).writerows(contact_export_rows(queryset=Contact.objects.for_workspace(workspace)))
    other = WorkspaceFactory()
    CustomFieldFactory(workspace=other, key="plan", label="Plan")
    mapping = {
        "email": "email",
        "first_name": "first_name",
        "last_name": "last_name",
        "phone": "phone",
        "company": "company",
        "stage": "stage",
        "status": "status",
        "tags": "tags",
        "plan": "custom:plan",
    }
    job = contact_import_create(
        workspace=other, file=ContentFile(lines.getvalue().encode()), filename="export.csv", mapping=mapping
    )
    job = contact_import_process(import_id=job.pk)
    assert (job.created, job.failed) == (1, 0)
    copy = Contact.objects.get(workspace=other)
    assert (copy.email, copy.first_name, copy.phone, copy.stage, copy.custom_fields) == (
        "ada@example.com",
        "=Ada",
        "+14155550100",
        "mql",
        {"plan": "-Pro"},
    )
    assert sorted(tag.name for tag in copy.tags.all()) == ["a", "b"]


def test_a_segment_whose_stored_rules_went_stale_is_a_400_naming_segment(editor, workspace, assert_error):
    segment = SegmentFactory(
        workspace=workspace, rules={"match": "all", "rules": [{"field": "stage", "op": "is", "value": "customer"}]}
    )
    response = editor.client.post(URL, {"segment": segment.pk}, format="json")
    assert_error(response, 400, code="validation_error")
    details = response.json()["error"]["details"]
    assert list(details) == ["segment"]
    assert details["segment"][0].startswith("The segment's rules need fixing first: 'is' is not an operator")
