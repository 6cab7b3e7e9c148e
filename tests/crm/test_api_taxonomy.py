"""Tags and custom field definitions through the API. A field's stored values always fit its
definition: a change of type or options converts them all, or is refused and changes nothing."""

import pytest

from accounts.roles import Role
from crm.models import Contact, ContactTag, CustomField, CustomFieldType, Tag
from tests.factories import ContactFactory, CustomFieldFactory, TagFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

TAGS = "/api/v1/tags/"
FIELDS = "/api/v1/custom-fields/"


def values(key: str) -> dict[int, object]:
    return {pk: fields.get(key) for pk, fields in Contact.objects.values_list("pk", "custom_fields")}


# --- Tags -------------------------------------------------------------------------------------------------


def test_tags_list_with_how_many_contacts_each_has(editor):
    ws = editor.workspace
    vip, empty = TagFactory(workspace=ws, name="vip"), TagFactory(workspace=ws, name="alpha")
    for _ in range(2):
        ContactTag.objects.create(workspace=ws, contact=ContactFactory(workspace=ws), tag=vip)
    TagFactory(workspace=WorkspaceFactory(), name="elsewhere")
    response = editor.client.get(TAGS)
    assert response.status_code == 200
    rows = {row["name"]: row["contact_count"] for row in response.json()["results"]}
    assert rows == {"alpha": 0, "vip": 2}
    assert editor.client.get(f"{TAGS}{empty.pk}/").json()["contact_count"] == 0


def test_create_rename_recolour_and_delete_a_tag(editor):
    response = editor.client.post(TAGS, {"name": "  Early   adopter ", "color": "#A1B2C3"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["color"], body["contact_count"]) == ("Early adopter", "#a1b2c3", 0)
    tag = Tag.objects.get(pk=body["id"])
    contact = ContactFactory(workspace=editor.workspace)
    ContactTag.objects.create(workspace=editor.workspace, contact=contact, tag=tag)

    response = editor.client.patch(f"{TAGS}{tag.pk}/", {"name": "Pioneer"})
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["color"], response.json()["contact_count"]) == (
        "Pioneer",
        "#a1b2c3",
        1,
    )
    assert editor.client.delete(f"{TAGS}{tag.pk}/").status_code == 204
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not ContactTag.objects.exists()


def test_renaming_a_tag_to_its_own_name_in_another_case_is_allowed(editor):
    tag = TagFactory(workspace=editor.workspace, name="vip")
    assert editor.client.patch(f"{TAGS}{tag.pk}/", {"name": "VIP"}).json()["name"] == "VIP"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "VIP"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345g"}, "color"),
    ],
)
def test_bad_tag_is_a_400_naming_the_field(editor, assert_error, body, field):
    TagFactory(workspace=editor.workspace, name="vip")
    assert_error(editor.client.post(TAGS, body), 400, code="validation_error", field=field)
    assert Tag.objects.count() == 1


def test_renaming_onto_another_tag_is_a_400_naming_name(editor, assert_error):
    TagFactory(workspace=editor.workspace, name="vip")
    other = TagFactory(workspace=editor.workspace, name="other")
    assert_error(editor.client.patch(f"{TAGS}{other.pk}/", {"name": "Vip"}), 400, field="name")
    other.refresh_from_db()
    assert other.name == "other"


def test_the_same_tag_name_in_another_workspace_is_fine(editor):
    TagFactory(workspace=WorkspaceFactory(), name="vip")
    assert editor.client.post(TAGS, {"name": "vip"}).status_code == 201


# --- Custom fields ------------------------------------------------------------------------------------------


def test_create_each_type_of_field(editor):
    for key, type_ in [("notes", "text"), ("seats", "number"), ("renews", "date"), ("paying", "boolean")]:
        response = editor.client.post(FIELDS, {"key": key, "label": key.title(), "type": type_})
        assert response.status_code == 201, response.content
        assert response.json()["options"] == []
    response = editor.client.post(
        FIELDS, {"key": "plan", "label": "Plan", "type": "select", "options": ["Free", "Pro"]}
    )
    assert response.status_code == 201, response.content
    assert response.json()["options"] == ["Free", "Pro"]
    assert list(CustomField.objects.values_list("key", flat=True)) == ["notes", "seats", "renews", "paying", "plan"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "Plan", "label": "Plan", "type": "text"}, "key"),
        ({"key": "1st", "label": "First", "type": "text"}, "key"),
        ({"key": "has space", "label": "x", "type": "text"}, "key"),
        ({"key": "x" * 64, "label": "x", "type": "text"}, "key"),
        ({"key": "taken", "label": "x", "type": "text"}, "key"),
        ({"label": "x", "type": "text"}, "key"),
        ({"key": "ok", "label": "", "type": "text"}, "label"),
        ({"key": "ok", "label": "x", "type": "colour"}, "type"),
        ({"key": "ok", "label": "x", "type": "select"}, "options"),
        ({"key": "ok", "label": "x", "type": "select", "options": []}, "options"),
        ({"key": "ok", "label": "x", "type": "select", "options": ["A", "a"]}, "options"),
        ({"key": "ok", "label": "x", "type": "select", "options": ["A", " "]}, "options"),
        ({"key": "ok", "label": "x", "type": "text", "options": ["A"]}, "options"),
        ({"key": "ok", "label": "x", "type": "select", "options": "A,B"}, "options"),
        ({"key": "ok", "label": "x", "type": "text", "order": -1}, "order"),
    ],
)
def test_bad_field_definition_is_a_400_naming_the_field(editor, assert_error, body, field):
    CustomFieldFactory(workspace=editor.workspace, key="taken")
    assert_error(editor.client.post(FIELDS, body), 400, code="validation_error", field=field)
    assert CustomField.objects.count() == 1


def test_relabel_and_reorder_leave_values_alone(editor):
    field = CustomFieldFactory(workspace=editor.workspace, key="notes", type=CustomFieldType.TEXT)
    contact = ContactFactory(workspace=editor.workspace, custom_fields={"notes": "hi"})
    response = editor.client.patch(f"{FIELDS}{field.pk}/", {"label": "Remarks", "order": 7, "key": "notes"})
    assert response.status_code == 200, response.content
    assert (response.json()["label"], response.json()["order"]) == ("Remarks", 7)
    contact.refresh_from_db()
    assert contact.custom_fields == {"notes": "hi"}


def test_the_key_never_changes(editor, assert_error):
    field = CustomFieldFactory(workspace=editor.workspace, key="notes")
    assert_error(editor.client.patch(f"{FIELDS}{field.pk}/", {"key": "remarks"}), 400, field="key")
    field.refresh_from_db()
    assert field.key == "notes"


def test_changing_type_converts_values_that_fit(editor):
    field = CustomFieldFactory(workspace=editor.workspace, key="seats", type=CustomFieldType.TEXT)
    a = ContactFactory(workspace=editor.workspace, custom_fields={"seats": "12"})
    b = ContactFactory(workspace=editor.workspace, custom_fields={"seats": "1,500"})
    c = ContactFactory(workspace=editor.workspace, custom_fields={})
    response = editor.client.patch(f"{FIELDS}{field.pk}/", {"type": "number"})
    assert response.status_code == 200, response.content
    assert values("seats") == {a.pk: 12, b.pk: 1500, c.pk: None}
    assert editor.client.patch(f"{FIELDS}{field.pk}/", {"type": "text"}).status_code == 200
    assert values("seats") == {a.pk: "12", b.pk: "1500", c.pk: None}


def test_changing_type_is_refused_when_a_value_would_not_fit(editor, assert_error):
    field = CustomFieldFactory(workspace=editor.workspace, key="seats", type=CustomFieldType.TEXT)
    ContactFactory(workspace=editor.workspace, custom_fields={"seats": "12"})
    bad = ContactFactory(workspace=editor.workspace, custom_fields={"seats": "a dozen"})
    before = values("seats")
    error = assert_error(editor.client.patch(f"{FIELDS}{field.pk}/", {"type": "number"}), 400, field="type")
    assert f"contact {bad.pk}" in error["details"]["type"][0]
    assert values("seats") == before
    field.refresh_from_db()
    assert field.type == CustomFieldType.TEXT


def test_a_select_option_in_use_cannot_be_removed(editor, assert_error):
    field = CustomFieldFactory(
        workspace=editor.workspace, key="plan", type=CustomFieldType.SELECT, options=["Free", "Pro"]
    )
    ContactFactory(workspace=editor.workspace, custom_fields={"plan": "Pro"})
    assert_error(editor.client.patch(f"{FIELDS}{field.pk}/", {"options": ["Free", "Team"]}), 400, field="options")
    field.refresh_from_db()
    assert field.options == ["Free", "Pro"]


def test_recasing_a_select_option_rewrites_the_values(editor):
    field = CustomFieldFactory(
        workspace=editor.workspace, key="plan", type=CustomFieldType.SELECT, options=["free", "pro"]
    )
    contact = ContactFactory(workspace=editor.workspace, custom_fields={"plan": "pro"})
    response = editor.client.patch(f"{FIELDS}{field.pk}/", {"options": ["Free", "Pro", "Team"]})
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.custom_fields == {"plan": "Pro"}


def test_a_select_field_keeps_its_options_and_others_cannot_have_them(editor, assert_error):
    select = CustomFieldFactory(workspace=editor.workspace, key="plan", type=CustomFieldType.SELECT, options=["A"])
    text = CustomFieldFactory(workspace=editor.workspace, key="notes", type=CustomFieldType.TEXT)
    assert editor.client.patch(f"{FIELDS}{select.pk}/", {"label": "Plan"}).json()["options"] == ["A"]
    assert_error(editor.client.patch(f"{FIELDS}{text.pk}/", {"options": ["A"]}), 400, field="options")
    assert_error(editor.client.patch(f"{FIELDS}{text.pk}/", {"type": "select"}), 400, field="options")
    # Becoming a text field drops the options; the values were all valid text anyway.
    assert editor.client.patch(f"{FIELDS}{select.pk}/", {"type": "text"}).json()["options"] == []


def test_deleting_a_field_removes_its_values_from_every_contact(editor):
    field = CustomFieldFactory(workspace=editor.workspace, key="plan")
    contact = ContactFactory(workspace=editor.workspace, custom_fields={"plan": "Pro", "other": 1})
    other_workspace = ContactFactory(workspace=WorkspaceFactory(), custom_fields={"plan": "Pro"})
    assert editor.client.delete(f"{FIELDS}{field.pk}/").status_code == 204
    contact.refresh_from_db()
    other_workspace.refresh_from_db()
    assert contact.custom_fields == {"other": 1}
    assert other_workspace.custom_fields == {"plan": "Pro"}
    assert not CustomField.objects.filter(pk=field.pk).exists()


def test_a_viewer_reads_tags_and_fields_but_cannot_change_them(make_member, assert_error):
    viewer = make_member(role=Role.VIEWER)
    tag = TagFactory(workspace=viewer.workspace)
    field = CustomFieldFactory(workspace=viewer.workspace)
    assert viewer.client.get(TAGS).status_code == 200
    assert viewer.client.get(FIELDS).status_code == 200
    assert_error(viewer.client.post(TAGS, {"name": "new"}), 403)
    assert_error(viewer.client.patch(f"{TAGS}{tag.pk}/", {"name": "new"}), 403)
    assert_error(viewer.client.delete(f"{FIELDS}{field.pk}/"), 403)
    assert_error(viewer.client.post(FIELDS, {"key": "k", "label": "K", "type": "text"}), 403)
    assert Tag.objects.filter(pk=tag.pk).exists() and CustomField.objects.filter(pk=field.pk).exists()
