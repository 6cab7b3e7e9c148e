"""Senders: added pending with a verification email, verified once by its link, unique per workspace
whatever the case, kept while campaigns that went out name them; and the workspace's sending
settings through the API."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import Role
from campaigns.models import Campaign, CampaignStatus, EmailSend, Sender, SenderStatus, SendingSettings, SendKind
from campaigns.services.senders import (
    VERIFICATION_MAX_AGE,
    sender_create,
    sender_update,
    sender_verify,
    sending_settings_get,
    sending_settings_update,
)
from tests.factories import CampaignFactory, SenderFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/senders/"


@pytest.fixture
def editor(make_member):
    return make_member(role=Role.EDITOR)


def verification_token(sender: Sender) -> str:
    """The token in the newest verification email to the sender's address."""
    send = EmailSend.objects.filter(to_email=sender.from_email, ref=f"sender:{sender.pk}").order_by("-id").first()
    return re.search(r"/senders/verify/([\w-]+)/", send.body["text"]).group(1)


def test_create_adds_a_pending_sender_and_mails_the_link(editor, settings):
    settings.EMAIL_PUBLIC_URL = "https://mail.example.com"
    response = editor.client.post(
        URL, {"from_name": " Northwind  News ", "from_email": "News@Northwind.example"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["from_name"] == "Northwind News"
    assert body["from_email"] == "news@northwind.example"
    assert body["status"] == SenderStatus.PENDING and body["is_verified"] is False
    send = EmailSend.objects.get(ref=f"sender:{body['id']}")
    assert send.kind == SendKind.TRANSACTIONAL
    assert send.to_email == "news@northwind.example"
    assert send.contact is None
    link = re.search(r"https://mail\.example\.com/senders/verify/[\w-]+/", send.body["text"]).group(0)
    assert link in send.body["html"]
    # Only the token's hash is stored.
    sender = Sender.objects.get(pk=body["id"])
    assert link.rstrip("/").rsplit("/", 1)[1] not in sender.verification_token_hash


def test_the_link_verifies_once(editor):
    sender = sender_create(workspace=editor.workspace, from_name="News", from_email="news@northwind.example")
    token = verification_token(sender)
    verified = sender_verify(token=token)
    assert verified.pk == sender.pk and verified.is_verified and verified.verified_at is not None
    with pytest.raises(ValidationError) as error:
        sender_verify(token=token)
    assert "token" in error.value.message_dict


@pytest.mark.parametrize("token", ["", "nope", "x" * 500])
def test_a_bad_token_verifies_nothing(editor, token):
    sender = sender_create(workspace=editor.workspace, from_name="News", from_email="news@northwind.example")
    with pytest.raises(ValidationError) as error:
        sender_verify(token=token)
    assert "token" in error.value.message_dict
    sender.refresh_from_db()
    assert sender.status == SenderStatus.PENDING


def test_a_stale_link_is_refused(editor):
    sender = sender_create(workspace=editor.workspace, from_name="News", from_email="news@northwind.example")
    token = verification_token(sender)
    Sender.objects.filter(pk=sender.pk).update(
        verification_sent_at=timezone.now() - VERIFICATION_MAX_AGE - datetime.timedelta(minutes=1)
    )
    with pytest.raises(ValidationError, match="expired"):
        sender_verify(token=token)


def test_resending_replaces_the_link(editor):
    sender = sender_create(workspace=editor.workspace, from_name="News", from_email="news@northwind.example")
    first = verification_token(sender)
    response = editor.client.post(f"{URL}{sender.pk}/resend-verification/")
    assert response.status_code == 200, response.json()
    second = verification_token(sender)
    assert second != first
    with pytest.raises(ValidationError):
        sender_verify(token=first)
    assert sender_verify(token=second).is_verified


def test_resending_to_a_verified_sender_is_a_400(editor, assert_error):
    sender = SenderFactory(workspace=editor.workspace)
    assert_error(editor.client.post(f"{URL}{sender.pk}/resend-verification/"), 400, field="status")


def test_an_address_is_unique_per_workspace_whatever_its_case(editor, assert_error):
    SenderFactory(workspace=editor.workspace, from_email="news@northwind.example")
    response = editor.client.post(URL, {"from_name": "N", "from_email": "NEWS@northwind.example"}, format="json")
    assert_error(response, 400, field="from_email")
    assert Sender.objects.filter(workspace=editor.workspace).count() == 1
    # Another workspace may use it.
    other = WorkspaceFactory()
    assert sender_create(workspace=other, from_name="N", from_email="news@northwind.example").pk


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"from_name": "N", "from_email": "not an email"}, "from_email"),
        ({"from_name": "", "from_email": "a@example.com"}, "from_name"),
        ({"from_name": "   ", "from_email": "a@example.com"}, "from_name"),
        ({"from_name": "N", "from_email": "a@example.com", "reply_to": "nope"}, "reply_to"),
        ({"from_name": "N"}, "from_email"),
        ({"from_name": ["N"], "from_email": "a@example.com"}, "from_name"),
        ({"from_name": "N" * 101, "from_email": "a@example.com"}, "from_name"),
        ({"from_name": "N", "from_email": ["a@example.com"]}, "from_email"),
        ({"from_name": "N", "from_email": "x" * 250 + "@example.com"}, "from_email"),
        ({"from_name": "N", "from_email": "a@example.com", "reply_to": "x" * 250 + "@example.com"}, "reply_to"),
    ],
)
def test_bad_sender_input_is_a_400_naming_the_field(editor, assert_error, data, field):
    assert_error(editor.client.post(URL, data, format="json"), 400, field=field)
    assert not Sender.objects.exists()
    assert not EmailSend.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"from_email": "not an email"}, "from_email"),
        ({"from_email": ""}, "from_email"),
        ({"from_name": "  "}, "from_name"),
        ({"reply_to": "nope"}, "reply_to"),
    ],
)
def test_a_bad_sender_patch_is_a_400_naming_the_field_and_keeps_the_sender(editor, assert_error, data, field):
    sender = SenderFactory(workspace=editor.workspace, status=SenderStatus.VERIFIED)
    before = Sender.objects.values().get(pk=sender.pk)
    assert_error(editor.client.patch(f"{URL}{sender.pk}/", data, format="json"), 400, field=field)
    assert Sender.objects.values().get(pk=sender.pk) == before
    assert not EmailSend.objects.exists()


def test_an_address_is_stored_trimmed_and_lower_cased(editor):
    response = editor.client.post(
        URL, {"from_name": "N", "from_email": " News@Northwind.Example ", "reply_to": " Help@X.Example"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["from_email"], response.json()["reply_to"]) == ("news@northwind.example", "help@x.example")


def test_a_new_address_needs_verifying_again(editor):
    sender = SenderFactory(workspace=editor.workspace, from_email="old@northwind.example")
    response = editor.client.patch(f"{URL}{sender.pk}/", {"from_email": "new@northwind.example"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == SenderStatus.PENDING
    sender.refresh_from_db()
    # A name change alone keeps the verification.
    sender_verify(token=verification_token(sender))
    sender = sender_update(sender=sender, from_name="Northwind")
    assert sender.is_verified and sender.from_name == "Northwind"


def test_delete_is_refused_while_a_sent_campaign_names_the_sender(editor, assert_error):
    sender = SenderFactory(workspace=editor.workspace)
    CampaignFactory(workspace=editor.workspace, sender=sender, status=CampaignStatus.SENT, name="Spring news")
    assert_error(editor.client.delete(f"{URL}{sender.pk}/"), 400, field="sender")
    assert Sender.objects.filter(pk=sender.pk).exists()


def test_delete_takes_the_sender_off_drafts_and_unschedules(editor):
    sender = SenderFactory(workspace=editor.workspace)
    draft = CampaignFactory(workspace=editor.workspace, sender=sender)
    scheduled = CampaignFactory(
        workspace=editor.workspace,
        sender=sender,
        status=CampaignStatus.SCHEDULED,
        scheduled_at=timezone.now() + datetime.timedelta(days=1),
    )
    assert editor.client.delete(f"{URL}{sender.pk}/").status_code == 204
    assert not Sender.objects.filter(pk=sender.pk).exists()
    assert Campaign.objects.get(pk=draft.pk).sender is None
    assert Campaign.objects.get(pk=scheduled.pk).status == CampaignStatus.DRAFT


def test_a_viewer_cannot_add_a_sender(make_member, assert_error):
    viewer = make_member(role=Role.VIEWER)
    response = viewer.client.post(URL, {"from_name": "N", "from_email": "a@example.com"}, format="json")
    assert_error(response, 403)
    assert viewer.client.get(URL).status_code == 200


# --- Sending settings ----------------------------------------------------------------------------------


def settings_url(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/sending-settings/"


def test_settings_are_the_defaults_until_changed(owner):
    response = owner.client.get(settings_url(owner.workspace))
    assert response.status_code == 200
    assert response.json() | {"updated_at": None} == {
        "postal_address": "",
        "track_opens": True,
        "track_clicks": True,
        "rate_per_minute": 30_000,
        "updated_at": None,
    }


def test_put_and_patch_change_the_settings(owner):
    url = settings_url(owner.workspace)
    response = owner.client.put(
        url,
        {"postal_address": " 1 Harbour St \n\n Portsmouth ", "track_opens": False, "rate_per_minute": 600},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["postal_address"] == "1 Harbour St\nPortsmouth"
    response = owner.client.patch(url, {"track_clicks": False}, format="json")
    assert response.json()["track_opens"] is False and response.json()["track_clicks"] is False
    stored = SendingSettings.objects.get(workspace=owner.workspace)
    assert (stored.postal_address, stored.rate_per_minute, stored.track_clicks) == (
        "1 Harbour St\nPortsmouth",
        600,
        False,
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"rate_per_minute": 0}, "rate_per_minute"),
        ({"rate_per_minute": 10**7}, "rate_per_minute"),
        ({"rate_per_minute": 10**30}, "rate_per_minute"),
        ({"rate_per_minute": "fast"}, "rate_per_minute"),
        ({"rate_per_minute": 1.5}, "rate_per_minute"),
        ({"rate_per_minute": -5}, "rate_per_minute"),
        ({"track_opens": "maybe"}, "track_opens"),
        ({"track_clicks": [True]}, "track_clicks"),
        ({"postal_address": "x" * 501}, "postal_address"),
        ({"postal_address": ["1 Harbour St"]}, "postal_address"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field(owner, assert_error, data, field):
    sending_settings_update(workspace=owner.workspace, postal_address="1 Harbour St")
    assert_error(owner.client.patch(settings_url(owner.workspace), data, format="json"), 400, field=field)
    stored = sending_settings_get(workspace=owner.workspace)
    assert (stored.postal_address, stored.rate_per_minute, stored.track_opens) == ("1 Harbour St", 30_000, True)


def test_editors_read_the_settings_and_admins_change_them(member, assert_error):
    editor, admin = member(Role.EDITOR), member(Role.ADMIN)
    url = settings_url(editor.workspace)
    assert editor.client.get(url).status_code == 200
    assert_error(editor.client.patch(url, {"postal_address": "x"}, format="json"), 403)
    assert admin.client.patch(url, {"postal_address": "1 Harbour St"}, format="json").status_code == 200
