"""The segments API: CRUD with rules checked, count, members, preview of unsaved rules, the builder's
catalog, and every kind of bad rule answered with a 400 naming its path."""

import pytest

from accounts.roles import Role
from crm.models import ActivityKind, ContactTag, CustomFieldType, Segment
from tests.factories import ContactActivityFactory, ContactFactory, CustomFieldFactory, SegmentFactory, TagFactory

URL = "/api/v1/segments/"


@pytest.fixture
def member(make_member):
    return make_member(role=Role.EDITOR)


@pytest.fixture
def data(member):
    workspace = member.workspace
    CustomFieldFactory(
        workspace=workspace, key="plan", label="Plan", type=CustomFieldType.SELECT, options=["Free", "Pro"]
    )
    CustomFieldFactory(workspace=workspace, key="seats", label="Seats", type=CustomFieldType.NUMBER)
    vip = TagFactory(workspace=workspace, name="VIP")
    contacts = [
        ContactFactory(workspace=workspace, email=f"c{n}@example.com", company="Acme" if n % 2 else "", score=n)
        for n in range(12)
    ]
    for contact in contacts[:3]:
        ContactTag.objects.create(workspace=workspace, contact=contact, tag=vip)
    ContactActivityFactory(contact=contacts[1], kind=ActivityKind.EMAIL_CLICKED)
    return {"vip": vip, "contacts": contacts}


def acme() -> dict:
    return {"match": "all", "rules": [{"field": "company", "op": "eq", "value": "acme"}]}


def test_create_stores_the_cleaned_rules_and_lists_the_segment(member, data):
    rules = {
        "rules": [
            {"field": "company", "op": "contains", "value": "  acme "},
            {"field": "company", "op": "is_set", "value": "x"},
        ]
    }
    response = member.client.post(URL, {"name": "Acme people", "rules": rules}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["rules"] == {
        "match": "all",
        "rules": [
            {"field": "company", "op": "contains", "value": "acme"},
            {"field": "company", "op": "is_set", "value": None},
        ],
    }
    assert body["created_by"] == member.user.pk
    listed = member.client.get(URL).json()["results"]
    assert [segment["name"] for segment in listed] == ["Acme people"]


def test_count_and_contacts_follow_the_rules(member, data):
    segment = SegmentFactory(workspace=member.workspace, rules=acme())
    assert member.client.get(f"{URL}{segment.pk}/count/").json() == {"count": 6}
    page = member.client.get(f"{URL}{segment.pk}/contacts/", {"page_size": 4}).json()
    assert page["count"] == 6
    assert len(page["results"]) == 4
    assert {row["company"] for row in page["results"]} == {"Acme"}
    assert {"email", "score", "stage"} <= set(page["results"][0])


def test_preview_counts_unsaved_rules_and_samples_ten(member, data):
    rules = {"match": "any", "rules": [{"field": "score", "op": "gte", "value": 0}]}
    response = member.client.post(f"{URL}preview/", {"rules": rules}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 12
    assert len(body["sample"]) == 10
    assert not Segment.objects.exists()


def test_preview_with_tag_and_activity(member, data):
    rules = {
        "match": "all",
        "rules": [
            {"field": "tag", "op": "has", "value": data["vip"].pk},
            {"field": "activity", "op": "performed", "value": {"kind": "email_clicked", "within_days": 7}},
        ],
    }
    body = member.client.post(f"{URL}preview/", {"rules": rules}, format="json").json()
    assert body["count"] == 1
    assert body["sample"][0]["email"] == data["contacts"][1].email


def test_a_viewer_may_preview_but_not_create(make_member, data, member):
    viewer = make_member(workspace=member.workspace, role=Role.VIEWER)
    assert viewer.client.post(f"{URL}preview/", {"rules": acme()}, format="json").status_code == 200
    assert viewer.client.post(URL, {"name": "Nope", "rules": acme()}, format="json").status_code == 403


def test_names_are_unique_whatever_their_case(member, data):
    SegmentFactory(workspace=member.workspace, name="Hot leads")
    response = member.client.post(URL, {"name": "  HOT   leads ", "rules": acme()}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]
    # The same name in another workspace is fine.
    SegmentFactory(name="Acme")
    assert member.client.post(URL, {"name": "Acme", "rules": acme()}, format="json").status_code == 201


def test_update_renames_and_replaces_rules_and_refuses_a_taken_name(member, data):
    segment = SegmentFactory(workspace=member.workspace, name="One", rules=acme())
    SegmentFactory(workspace=member.workspace, name="Two")
    new_rules = {"match": "any", "rules": [{"field": "score", "op": "gt", "value": 10}]}
    response = member.client.patch(f"{URL}{segment.pk}/", {"name": "one", "rules": new_rules}, format="json")
    assert response.status_code == 200, response.json()
    assert member.client.get(f"{URL}{segment.pk}/count/").json() == {"count": 1}
    response = member.client.patch(f"{URL}{segment.pk}/", {"name": "TWO"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]
    segment.refresh_from_db()
    assert segment.name == "one"


def test_a_put_needs_the_whole_segment_and_leaves_it_as_it_was_without(member, data):
    segment = SegmentFactory(workspace=member.workspace, name="One", rules=acme())
    response = member.client.put(f"{URL}{segment.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert "rules" in response.json()["error"]["details"]
    segment.refresh_from_db()
    assert (segment.name, segment.rules) == ("One", acme())


def test_delete(member, data):
    segment = SegmentFactory(workspace=member.workspace)
    assert member.client.delete(f"{URL}{segment.pk}/").status_code == 204
    assert not Segment.objects.filter(pk=segment.pk).exists()


def _deep(levels: int) -> dict:
    group = {"match": "all", "rules": [{"field": "score", "op": "gt", "value": 1}]}
    for _ in range(levels - 1):
        group = {"match": "all", "rules": [group]}
    return group


BAD_RULES = [
    ("not a group", [], "rules"),
    ("bad match", {"match": "some", "rules": []}, "rules.match"),
    ("rules not a list", {"match": "all", "rules": {}}, "rules.rules"),
    ("unknown key", {"match": "all", "rules": [], "extra": 1}, "rules"),
    ("condition not an object", {"rules": ["score > 1"]}, "rules.rules.0"),
    ("unknown field", {"rules": [{"field": "age", "op": "gt", "value": 1}]}, "rules.rules.0.field"),
    (
        "unknown custom field",
        {"rules": [{"field": "custom.color", "op": "in", "value": ["red"]}]},
        "rules.rules.0.field",
    ),
    ("op for another field", {"rules": [{"field": "company", "op": "gt", "value": 1}]}, "rules.rules.0.op"),
    (
        "op of another custom type",
        {"rules": [{"field": "custom.plan", "op": "contains", "value": "P"}]},
        "rules.rules.0.op",
    ),
    ("text for a number", {"rules": [{"field": "score", "op": "gt", "value": "10"}]}, "rules.rules.0.value"),
    ("bool for a number", {"rules": [{"field": "custom.seats", "op": "eq", "value": True}]}, "rules.rules.0.value"),
    ("empty text", {"rules": [{"field": "company", "op": "eq", "value": "  "}]}, "rules.rules.0.value"),
    ("unknown choice", {"rules": [{"field": "stage", "op": "in", "value": ["vip"]}]}, "rules.rules.0.value"),
    (
        "unknown select option",
        {"rules": [{"field": "custom.plan", "op": "in", "value": ["Gold"]}]},
        "rules.rules.0.value",
    ),
    ("empty choices", {"rules": [{"field": "status", "op": "not_in", "value": []}]}, "rules.rules.0.value"),
    ("bad date", {"rules": [{"field": "created_at", "op": "before", "value": "31/12/2026"}]}, "rules.rules.0.value"),
    (
        "date in year 1",
        {"rules": [{"field": "created_at", "op": "before", "value": "0001-01-01"}]},
        "rules.rules.0.value",
    ),
    (
        "date at the end of time",
        {"rules": [{"field": "last_activity_at", "op": "after", "value": "9999-12-31"}]},
        "rules.rules.0.value",
    ),
    ("NUL in text", {"rules": [{"field": "company", "op": "contains", "value": "a\x00b"}]}, "rules.rules.0.value"),
    (
        "NUL in an activity ref",
        {"rules": [{"field": "activity", "op": "performed", "value": {"kind": "note", "ref": "\x00"}}]},
        "rules.rules.0.value",
    ),
    ("huge number", {"rules": [{"field": "custom.seats", "op": "gt", "value": 10**30}]}, "rules.rules.0.value"),
    ("zero days", {"rules": [{"field": "created_at", "op": "within_last_days", "value": 0}]}, "rules.rules.0.value"),
    ("unknown tag", {"rules": [{"field": "tag", "op": "has", "value": 999999}]}, "rules.rules.0.value"),
    ("tag by name", {"rules": [{"field": "tag", "op": "has", "value": "VIP"}]}, "rules.rules.0.value"),
    (
        "unknown activity kind",
        {"rules": [{"field": "activity", "op": "performed", "value": {"kind": "email_liked"}}]},
        "rules.rules.0.value",
    ),
    (
        "bad activity window",
        {"rules": [{"field": "activity", "op": "performed", "value": {"kind": "note", "within_days": "7"}}]},
        "rules.rules.0.value",
    ),
    (
        "nested bad value",
        {
            "rules": [
                {"rules": [{"field": "score", "op": "gt", "value": 1}, {"field": "score", "op": "lt", "value": None}]}
            ]
        },
        "rules.rules.0.rules.1.value",
    ),
    ("six levels deep", _deep(6), "rules.rules.0.rules.0.rules.0.rules.0.rules.0"),
    ("over 100 conditions", {"rules": [{"field": "score", "op": "gt", "value": n} for n in range(101)]}, "rules"),
]


@pytest.mark.parametrize(("rules", "path"), [case[1:] for case in BAD_RULES], ids=[case[0] for case in BAD_RULES])
def test_bad_rules_are_a_400_naming_the_rule(member, data, rules, path):
    for response in (
        member.client.post(URL, {"name": "Bad", "rules": rules}, format="json"),
        member.client.post(f"{URL}preview/", {"rules": rules}, format="json"),
    ):
        assert response.status_code == 400, response.json()
        details = response.json()["error"]["details"]
        assert path in details, details
    assert not Segment.objects.exists()


def test_a_bad_rule_in_a_change_leaves_the_segment_as_it_was(member, data):
    segment = SegmentFactory(workspace=member.workspace, name="One", rules=acme())
    bad = {"rules": [{"field": "score", "op": "gt", "value": "lots"}]}
    response = member.client.patch(f"{URL}{segment.pk}/", {"name": "Renamed", "rules": bad}, format="json")
    assert response.status_code == 400
    assert "rules.rules.0.value" in response.json()["error"]["details"]
    segment.refresh_from_db()
    assert (segment.name, segment.rules) == ("One", acme())


def test_five_levels_and_a_hundred_conditions_are_allowed(member, data):
    assert member.client.post(f"{URL}preview/", {"rules": _deep(5)}, format="json").status_code == 200
    hundred = {"match": "any", "rules": [{"field": "score", "op": "eq", "value": n} for n in range(100)]}
    assert member.client.post(f"{URL}preview/", {"rules": hundred}, format="json").json()["count"] == 12


def test_a_stored_segment_whose_tag_was_deleted_counts_with_a_400_naming_the_rule(member, data):
    rules = {"match": "all", "rules": [{"field": "tag", "op": "has", "value": data["vip"].pk}]}
    segment = SegmentFactory(workspace=member.workspace, rules=rules)
    data["vip"].delete()
    response = member.client.get(f"{URL}{segment.pk}/count/")
    assert response.status_code == 400
    assert "rules.rules.0.value" in response.json()["error"]["details"]


def test_another_workspaces_tag_is_unknown(member, data):
    foreign = TagFactory()
    rules = {"rules": [{"field": "tag", "op": "has", "value": foreign.pk}]}
    response = member.client.post(f"{URL}preview/", {"rules": rules}, format="json")
    assert response.status_code == 400
    assert "rules.rules.0.value" in response.json()["error"]["details"]


def test_catalog_lists_fields_ops_and_the_workspaces_choices(member, data):
    response = member.client.get(f"{URL}catalog/")
    assert response.status_code == 200
    catalog = {entry["field"]: entry for entry in response.json()}
    assert {
        "email",
        "company",
        "score",
        "stage",
        "created_at",
        "tag",
        "activity",
        "custom.plan",
        "custom.seats",
    } <= set(catalog)
    assert catalog["tag"]["choices"] == [{"value": data["vip"].pk, "label": "VIP"}]
    assert {"value": "email_clicked", "label": "Email clicked"} in catalog["activity"]["choices"]
    assert catalog["custom.plan"]["choices"] == [{"value": "Free", "label": "Free"}, {"value": "Pro", "label": "Pro"}]
    assert [op["op"] for op in catalog["custom.plan"]["ops"]] == ["in", "not_in"]
    seats_ops = {op["op"]: op["value"] for op in catalog["custom.seats"]["ops"]}
    assert seats_ops["eq"] == "number"
    assert seats_ops["is_set"] == "none"
    company_ops = {op["op"]: op for op in catalog["company"]["ops"]}
    assert company_ops["neq"] == {"op": "neq", "label": "is not", "value": "text"}
    assert {op["value"] for op in catalog["activity"]["ops"]} == {"activity"}
    assert catalog["stage"]["choices"][0] == {"value": "subscriber", "label": "Subscriber"}


def test_contacts_list_filters_by_segment(member, data):
    segment = SegmentFactory(workspace=member.workspace, rules=acme())
    response = member.client.get("/api/v1/contacts/", {"segment": segment.pk, "score_min": 5})
    assert response.status_code == 200, response.json()
    assert sorted(row["score"] for row in response.json()["results"]) == [5, 7, 9, 11]


def test_contacts_list_refuses_another_workspaces_segment_naming_the_parameter(member, data):
    foreign = SegmentFactory(rules=acme())
    response = member.client.get("/api/v1/contacts/", {"segment": foreign.pk})
    assert response.status_code == 400
    assert "segment" in response.json()["error"]["details"]


def test_contacts_list_with_a_segment_whose_tag_is_gone_is_a_400_naming_the_segment(member, data):
    rules = {"match": "all", "rules": [{"field": "tag", "op": "has_not", "value": data["vip"].pk}]}
    segment = SegmentFactory(workspace=member.workspace, rules=rules)
    data["vip"].delete()
    response = member.client.get("/api/v1/contacts/", {"segment": segment.pk})
    assert response.status_code == 400
    assert "has a rule to fix" in response.json()["error"]["details"]["segment"][0]


def test_segment_members_carry_their_tags(member, data):
    segment = SegmentFactory(workspace=member.workspace, rules={"match": "all", "rules": []})
    rows = member.client.get(f"{URL}{segment.pk}/contacts/", {"page_size": 100}).json()["results"]
    tagged = [row for row in rows if row["tags"]]
    assert len(tagged) == 3
    assert tagged[0]["tags"][0]["name"] == "VIP"


def test_members_and_preview_read_a_fixed_number_of_queries_whatever_the_page_size(
    member, data, django_assert_max_num_queries
):
    segment = SegmentFactory(workspace=member.workspace, rules={"match": "all", "rules": []})
    # Membership, rule checking (custom fields), segment, count, page, tags of the page.
    with django_assert_max_num_queries(10):
        assert len(member.client.get(f"{URL}{segment.pk}/contacts/", {"page_size": 12}).json()["results"]) == 12
    with django_assert_max_num_queries(10):
        assert len(member.client.post(f"{URL}preview/", {"rules": segment.rules}, format="json").json()["sample"]) == 10
