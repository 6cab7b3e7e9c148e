"""The audience snapshot on PostgreSQL, where it is one COPY: every sendable contact gets exactly one
ledger row, and two starts racing each other still write them once."""

import threading
from collections import Counter
from unittest import mock

import pytest
from django.db import connection, connections
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, EmailSend, SendingSettings, SendStatus
from campaigns.services import campaigns as services
from campaigns.services.campaigns import campaign_start
from core.models import Event
from crm.models import Contact, ContactStatus
from tests.factories import CampaignFactory, WorkspaceFactory

pytestmark = [pytest.mark.services]

CONTACTS = 3000


def make_contacts(workspace, n: int) -> None:
    """Sendable contacts, and every tenth one unsubscribed, bounced or unconfirmed."""
    unsendable = [ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.UNCONFIRMED]
    Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            email=f"reader{i}@example.com",
            first_name=f"Reader {i}",
            status=unsendable[i // 10 % 3] if i % 10 == 9 else ContactStatus.ACTIVE,
        )
        for i in range(n)
    )


def sending_campaign(**fields) -> Campaign:
    workspace = WorkspaceFactory()
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Street")
    make_contacts(workspace, CONTACTS)
    return CampaignFactory(workspace=workspace, status=CampaignStatus.SENDING, started_at=timezone.now(), **fields)


@pytest.mark.django_db
def test_the_snapshot_copies_every_sendable_contact_once():
    assert connection.vendor == "postgresql"
    campaign = sending_campaign(subject_b="B", ab_test_percent=10)
    with mock.patch.object(services, "campaign_dispatch"):
        assert campaign_start(campaign_id=campaign.pk) == CONTACTS * 9 // 10
    rows = EmailSend.objects.filter(campaign=campaign)
    sendable = Contact.objects.filter(workspace=campaign.workspace).sendable()
    assert set(rows.values_list("contact_id", "to_email")) == set(sendable.values_list("pk", "email"))
    assert rows.values("token").distinct().count() == rows.count()
    assert set(rows.values_list("status", flat=True)) == {SendStatus.QUEUED}
    assert Counter(rows.values_list("variant", flat=True)) == {"a": 135, "b": 135, "": 2430}
    row = rows.first()
    assert row.idempotency_key == f"campaign:{campaign.pk}:{row.contact_id}"
    assert row.body == {} and row.queued_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_starts_racing_write_the_rows_once():
    campaign = sending_campaign()
    barrier = threading.Barrier(2)
    written = []

    def start() -> None:
        try:
            barrier.wait()
            written.append(campaign_start(campaign_id=campaign.pk))
        finally:
            connections.close_all()

    with mock.patch.object(services, "campaign_dispatch") as dispatch:
        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(written) == [0, CONTACTS * 9 // 10]
    assert EmailSend.objects.filter(campaign=campaign).count() == CONTACTS * 9 // 10
    assert Campaign.objects.get(pk=campaign.pk).recipients == CONTACTS * 9 // 10
    assert Event.objects.filter(type="campaign.started").count() == 1
    assert dispatch.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_sweep_while_the_snapshot_is_written_leaves_the_campaign_sending():
    """The sweeper can't see rows the snapshot hasn't committed yet: it must not take the campaign
    for one with nothing left to send."""
    from campaigns.delivery.sending import sends_sweep

    campaign = sending_campaign()
    inserted, swept = threading.Event(), threading.Event()
    insert = services.bulk_insert

    def insert_then_wait(*args, **kwargs):
        result = insert(*args, **kwargs)
        inserted.set()
        swept.wait(10)
        return result

    def start() -> None:
        try:
            campaign_start(campaign_id=campaign.pk)
        finally:
            connections.close_all()

    with mock.patch.object(services, "bulk_insert", insert_then_wait), mock.patch.object(services, "campaign_dispatch"):
        thread = threading.Thread(target=start)
        thread.start()
        assert inserted.wait(10)
        sends_sweep()
        swept.set()
        thread.join()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert campaign.recipients == EmailSend.objects.filter(campaign=campaign, status=SendStatus.QUEUED).count() > 0
