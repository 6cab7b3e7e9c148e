"""The ledger (email-sends, read only, filtered) and the suppression list through the API."""

import pytest

from accounts.roles import Role
from campaigns.models import EmailSend, SendKind, SendStatus
from crm.models import ActivityKind, Contact, ContactStatus
from crm.services.gdpr import contact_suppress
from tests.factories import CampaignFactory, ContactFactory, EmailSendFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

SENDS = "/api/v1/email-sends/"
SUPPRESSIONS = "/api/v1/suppressions/"


@pytest.fixture
def editor(member):
    return member(Role.EDITOR)


@pytest.fixture
def sends(editor):
    workspace = editor.workspace
    campaign = CampaignFactory(workspace=workspace)
    ann, bob = ContactFactory(workspace=workspace, email="ann@example.com"), ContactFactory(workspace=workspace)
    return {
        "campaign": campaign,
        "ann": ann,
        "to_ann": EmailSendFactory(
            workspace=workspace, contact=ann, campaign=campaign, kind=SendKind.CAMPAIGN, status=SendStatus.SENT
        ),
        "to_bob": EmailSendFactory(
            workspace=workspace, contact=bob, campaign=campaign, kind=SendKind.CAMPAIGN, status=SendStatus.BOUNCED
        ),
        "welcome": EmailSendFactory(workspace=workspace, contact=ann, subject="Welcome"),
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_sends_filter_by_campaign_contact_status_and_kind(editor, sends):
    client = editor.client
    assert ids(client.get(SENDS)) == {sends["to_ann"].pk, sends["to_bob"].pk, sends["welcome"].pk}
    assert ids(client.get(SENDS, {"campaign": sends["campaign"].pk})) == {sends["to_ann"].pk, sends["to_bob"].pk}
    assert ids(client.get(SENDS, {"contact": sends["ann"].pk})) == {sends["to_ann"].pk, sends["welcome"].pk}
    assert ids(client.get(SENDS, {"status": ["bounced", "sent"], "kind": "campaign"})) == {
        sends["to_ann"].pk,
        sends["to_bob"].pk,
    }
    assert ids(client.get(SENDS, {"kind": "transactional"})) == {sends["welcome"].pk}
    assert ids(client.get(SENDS, {"search": "welcome"})) == {sends["welcome"].pk}


def test_a_send_reads_without_its_token_or_body(editor, sends):
    body = editor.client.get(f"{SENDS}{sends['to_ann'].pk}/").json()
    assert body["to_email"] == "ann@example.com" and body["status"] == "sent"
    assert not {"token", "body"} & set(body)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"campaign": "abc"}, "campaign"),
        ({"campaign": "99999999999999999999999"}, "campaign"),
        ({"contact": "-1"}, "contact"),
        ({"status": "lost"}, "status"),
        ({"kind": "spam"}, "kind"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(editor, sends, assert_error, params, field):
    assert_error(editor.client.get(SENDS, params), 400, field=field)


def test_another_workspaces_campaign_is_not_a_filter(editor, sends, assert_error):
    foreign = CampaignFactory(workspace=WorkspaceFactory())
    assert_error(editor.client.get(SENDS, {"campaign": foreign.pk}), 400, field="campaign")


def test_the_ledger_is_read_only(editor, sends):
    for method in ("post", "put", "patch", "delete"):
        url = SENDS if method == "post" else f"{SENDS}{sends['to_ann'].pk}/"
        assert getattr(editor.client, method)(url, {}, format="json").status_code == 405
    assert EmailSend.objects.count() == 3


# --- Suppressions -------------------------------------------------------------------------------------------


def test_suppressions_list_who_mail_cannot_reach(editor):
    workspace = editor.workspace
    active = ContactFactory(workspace=workspace)
    gone = {
        status: ContactFactory(workspace=workspace, email=f"{status}@example.com", status=status)
        for status in (ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED)
    }
    ContactFactory(workspace=workspace, status=ContactStatus.UNCONFIRMED)
    listed = ids(editor.client.get(SUPPRESSIONS))
    assert listed == {contact.pk for contact in gone.values()}
    assert active.pk not in listed
    assert ids(editor.client.get(SUPPRESSIONS, {"reason": "bounced"})) == {gone["bounced"].pk}
    assert ids(editor.client.get(SUPPRESSIONS, {"search": "complained@"})) == {gone["complained"].pk}
    row = editor.client.get(f"{SUPPRESSIONS}{gone['bounced'].pk}/").json()
    assert row["reason"] == "bounced" and row["email"] == "bounced@example.com"


def test_suppressing_a_new_address_creates_its_contact(editor):
    response = editor.client.post(
        SUPPRESSIONS, {"email": " Someone@Example.com ", "reason": "complained", "note": "Reported spam"}, format="json"
    )
    assert response.status_code == 201, response.json()
    contact = Contact.objects.get(workspace=editor.workspace, email="someone@example.com")
    assert contact.status == ContactStatus.COMPLAINED
    assert response.json()["id"] == contact.pk and response.json()["reason"] == "complained"
    change = contact.activities.get(kind=ActivityKind.FIELD_CHANGED, ref="status")
    assert change.data["reason"] == "Reported spam" and change.source == "api"


def test_suppressing_defaults_to_an_unsubscribe_of_a_known_contact(editor):
    contact = ContactFactory(workspace=editor.workspace, email="ann@example.com")
    assert editor.client.post(SUPPRESSIONS, {"email": "ann@example.com"}, format="json").status_code == 201
    contact.refresh_from_db()
    assert contact.status == ContactStatus.UNSUBSCRIBED
    assert contact.consents.get().granted is False


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({}, "email"),
        ({"email": "a@example.com", "reason": "angry"}, "reason"),
        ({"email": "a@example.com", "note": "x" * 501}, "note"),
        ({"email": ["a@example.com"]}, "email"),
        ({"email": ""}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"email": "a@example.com", "reason": ["bounced"]}, "reason"),
        ({"email": "a@example.com", "note": {"why": "x"}}, "note"),
    ],
)
def test_bad_suppressions_are_a_400_naming_the_field(editor, assert_error, data, field):
    assert_error(editor.client.post(SUPPRESSIONS, data, format="json"), 400, field=field)
    assert not Contact.objects.exists()


def test_lifting_a_bounce_makes_the_contact_sendable(editor):
    contact = ContactFactory(workspace=editor.workspace)
    contact_suppress(contact=contact, status=ContactStatus.BOUNCED, reason="Mailbox full")
    assert editor.client.delete(f"{SUPPRESSIONS}{contact.pk}/").status_code == 204
    contact.refresh_from_db()
    assert contact.status == ContactStatus.ACTIVE
    assert contact.activities.filter(kind=ActivityKind.FIELD_CHANGED, data__to="active").exists()


def test_an_unsubscribe_is_lifted_only_by_the_contact(editor, assert_error):
    contact = ContactFactory(workspace=editor.workspace)
    contact_suppress(contact=contact, status=ContactStatus.UNSUBSCRIBED)
    error = assert_error(editor.client.delete(f"{SUPPRESSIONS}{contact.pk}/"), 400, field="reason")
    assert "resubscribe" in error["details"]["reason"][0]
    contact.refresh_from_db()
    assert contact.status == ContactStatus.UNSUBSCRIBED


def test_an_active_contact_is_not_on_the_list(editor, assert_error):
    contact = ContactFactory(workspace=editor.workspace)
    assert_error(editor.client.delete(f"{SUPPRESSIONS}{contact.pk}/"), 404)


def test_a_viewer_cannot_change_the_list(member, editor, assert_error):
    viewer = member(Role.VIEWER)
    assert viewer.client.get(SUPPRESSIONS).status_code == 200
    assert_error(viewer.client.post(SUPPRESSIONS, {"email": "a@example.com"}, format="json"), 403)
