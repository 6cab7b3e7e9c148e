"""The email admin: every page opens for staff; the ledger, campaigns and senders are read-only there,
and no token or token hash is shown."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, EmailEngagement, EmailSend, EngagementKind, OptInRequest, Sender, SendingSettings
from tests.factories import CampaignFactory, ContactFactory, EmailSendFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def objects():
    campaign = CampaignFactory()
    workspace = campaign.workspace
    send = EmailSendFactory(workspace=workspace, campaign=campaign, token="tok-secret-0000000000000000")
    return {
        SendingSettings: SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour St"),
        Sender: campaign.sender,
        Campaign: campaign,
        EmailSend: send,
        EmailEngagement: EmailEngagement.objects.create(workspace=workspace, send=send, kind=EngagementKind.OPEN),
        OptInRequest: OptInRequest.objects.create(
            workspace=workspace, contact=ContactFactory(workspace=workspace), token_hash="f" * 64
        ),
    }


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_page_opens(staff, objects):
    for model, obj in objects.items():
        assert staff.get(url(model, "changelist")).status_code == 200, model
        assert staff.get(url(model, "change", obj.pk)).status_code == 200, model


def test_tokens_and_hashes_are_never_shown(staff, objects):
    Sender.objects.filter(pk=objects[Sender].pk).update(verification_token_hash="e" * 64)
    for model, secret in ((EmailSend, "tok-secret"), (Sender, "e" * 64), (OptInRequest, "f" * 64)):
        page = staff.get(url(model, "change", objects[model].pk)).content.decode()
        assert secret not in page, model


def test_the_ledger_and_campaigns_are_read_only(staff, objects):
    send = objects[EmailSend]
    assert staff.get(url(EmailSend, "add")).status_code == 403
    assert staff.post(url(EmailSend, "change", send.pk), {"status": "queued"}).status_code == 403
    assert staff.post(url(Campaign, "delete", objects[Campaign].pk), {"post": "yes"}).status_code == 403
    assert EmailSend.objects.get(pk=send.pk).status == send.status


def test_sending_settings_can_be_corrected(staff, objects):
    settings_row = objects[SendingSettings]
    response = staff.post(
        url(SendingSettings, "change", settings_row.pk),
        {"postal_address": "2 Dock Road", "track_opens": "on", "rate_per_minute": 100},
    )
    assert response.status_code == 302
    settings_row.refresh_from_db()
    assert (settings_row.postal_address, settings_row.track_clicks, settings_row.rate_per_minute) == (
        "2 Dock Road",
        False,
        100,
    )
