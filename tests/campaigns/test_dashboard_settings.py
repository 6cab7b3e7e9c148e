"""Email settings in the dashboard: senders (add, resend the link, remove) and sending settings
(postal address, tracking, rate); bad input is an error on its field."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from campaigns.models import EmailSend, Sender, SenderStatus, SendingSettings
from tests.factories import SenderFactory, WorkspaceFactory

SENDERS = reverse("dashboard:campaigns-senders")
SETTINGS = reverse("dashboard:campaigns-settings")


@pytest.fixture
def editor(member):
    return member(Role.EDITOR)


def verification_sends(sender) -> list[str]:
    return list(EmailSend.objects.filter(ref=f"sender:{sender.pk}").values_list("to_email", flat=True))


def test_adding_a_sender_mails_its_verification_link(editor):
    response = editor.web.post(SENDERS, {"from_name": "Maya", "from_email": "Maya@Northwind.example"})
    assert response.status_code == 302
    sender = Sender.objects.get(workspace=editor.workspace)
    assert sender.from_email == "maya@northwind.example" and sender.status == SenderStatus.PENDING
    assert verification_sends(sender) == ["maya@northwind.example"]
    html = editor.web.get(SENDERS).content.decode()
    assert "Awaiting verification" in html and reverse("dashboard:campaigns-sender-resend", args=[sender.pk]) in html


def test_resending_makes_a_new_link_and_a_verified_sender_needs_none(editor):
    pending = SenderFactory(workspace=editor.workspace, status=SenderStatus.PENDING, verified_at=None)
    editor.web.post(reverse("dashboard:campaigns-sender-resend", args=[pending.pk]))
    pending.refresh_from_db()
    assert pending.verification_token_hash and len(verification_sends(pending)) == 1
    verified = SenderFactory(workspace=editor.workspace)
    response = editor.web.post(reverse("dashboard:campaigns-sender-resend", args=[verified.pk]), follow=True)
    assert "already verified" in response.content.decode() and not verification_sends(verified)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"from_name": "", "from_email": "a@example.com"}, "from_name"),
        ({"from_name": "A", "from_email": "not an email"}, "from_email"),
        ({"from_name": "A", "from_email": "a@example.com", "reply_to": "nope"}, "reply_to"),
        ({"from_name": "A" * 500, "from_email": "a@example.com"}, "from_name"),
        ({"from_name": "A\x00B", "from_email": "a@example.com"}, "from_name"),
        ({"from_name": "A", "from_email": "a" * 250 + "@example.com"}, "from_email"),
    ],
)
def test_a_bad_sender_is_an_error_on_its_field(editor, data, field):
    response = editor.web.post(SENDERS, data)
    assert response.status_code == 400 and response.context["form"].errors[field]
    assert not Sender.objects.filter(workspace=editor.workspace).exists()


def test_a_taken_address_is_refused(editor):
    SenderFactory(workspace=editor.workspace, from_email="news@northwind.example")
    response = editor.web.post(SENDERS, {"from_name": "Again", "from_email": "NEWS@northwind.example"})
    assert response.status_code == 400 and "already a sender" in response.context["form"].errors["from_email"][0]


def test_removing_a_sender(editor):
    sender = SenderFactory(workspace=editor.workspace)
    html = editor.web.get(SENDERS).content.decode()
    delete = reverse("dashboard:campaigns-sender-delete", args=[sender.pk])
    assert f'action="{delete}" data-confirm="Remove the sender {sender.from_email}?' in html
    editor.web.post(reverse("dashboard:campaigns-sender-delete", args=[sender.pk]))
    assert not Sender.objects.filter(pk=sender.pk).exists()


def test_another_workspaces_sender_is_not_found(editor):
    other = SenderFactory(workspace=WorkspaceFactory())
    for name in ("resend", "delete"):
        assert editor.web.post(reverse(f"dashboard:campaigns-sender-{name}", args=[other.pk])).status_code == 404
    assert Sender.objects.filter(pk=other.pk).exists()


def test_sending_settings_are_saved_and_checked(editor):
    assert editor.web.get(SETTINGS).status_code == 200
    data = {"postal_address": "1 Harbour St\nLisbon", "track_opens": "", "track_clicks": "on", "rate_per_minute": "600"}
    assert editor.web.post(SETTINGS, data).status_code == 302
    saved = SendingSettings.objects.get(workspace=editor.workspace)
    assert (saved.postal_address, saved.track_opens, saved.track_clicks, saved.rate_per_minute) == (
        "1 Harbour St\nLisbon",
        False,
        True,
        600,
    )
    for bad in ({"rate_per_minute": "0"}, {"rate_per_minute": "lots"}, {"postal_address": "x" * 600}):
        response = editor.web.post(SETTINGS, {**data, **bad})
        assert response.status_code == 400 and response.context["form"].errors[next(iter(bad))]
    saved.refresh_from_db()
    assert saved.rate_per_minute == 600


def test_viewers_see_settings_but_cannot_change_them(editor, viewer):
    sender = SenderFactory(workspace=editor.workspace)
    html = viewer.web.get(SENDERS).content.decode()
    assert sender.from_email in html and 'data-testid="sender-form"' not in html
    response = viewer.web.get(SETTINGS)
    assert response.status_code == 200 and response.context["form"].fields["postal_address"].disabled
    assert viewer.web.post(SENDERS, {"from_name": "V", "from_email": "v@example.com"}).status_code == 403
    assert viewer.web.post(SETTINGS, {"rate_per_minute": "5"}).status_code == 403
    assert viewer.web.post(reverse("dashboard:campaigns-sender-delete", args=[sender.pk])).status_code == 403
