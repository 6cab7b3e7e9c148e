"""Exactly once under crashes: a campaign to 5,000 contacts sent by a real Celery worker that is
SIGKILLed again and again while it sends, with a local SMTP server counting what arrives: nobody gets
a message twice, the suppressed get none, the ledger has every eligible contact sent, and the server
got every one of those but the few a kill caught between the COMMIT and the final dot."""

import random
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone

from campaigns.delivery.messages import sender_address
from campaigns.delivery.sending import sends_record_missed
from campaigns.models import Campaign, CampaignStatus, EmailSend, SendingSettings, SendKind, SendStatus
from campaigns.services.sends import campaign_dispatch
from campaigns.tasks.delivery import email_sends_sweep
from campaigns.tracking import new_send_token
from crm.models import ActivityKind, Contact, ContactActivity, ContactStatus
from tests.campaigns.test_delivery import smtp_sink
from tests.conftest import celery_broker
from tests.factories import CampaignFactory, WorkspaceFactory
from tests.workers import empty_broker, wait_for, worker_kill, worker_start

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/12"
CONTACTS = 5000
KILLS = 6
LEASE_SECONDS = 2
WORKER_PROCESSES = 2


def _start_worker(var_dir: Path, smtp_port: int) -> subprocess.Popen:
    return worker_start(
        var_dir,
        broker=BROKER,
        concurrency=WORKER_PROCESSES,
        smtp_port=smtp_port,
        SENDING_LEASE_SECONDS=str(LEASE_SECONDS),
        # Small batches: a kill lands mid-batch, with rows claimed, sent and still to send.
        SENDING_BATCH_SIZE="40",
    )


def _campaign_with_audience() -> tuple[Campaign, set[str], set[str]]:
    """A sending campaign snapshotted over 5,000 contacts, as campaign_start does. Some were
    suppressed before the snapshot (left out of it), some after (their rows are queued and must be
    skipped). Returns the campaign, the addresses that must get one message and those that must get none."""
    workspace = WorkspaceFactory()
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Street", rate_per_minute=1_000_000)
    statuses = [ContactStatus.ACTIVE] * 19 + [ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED]
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"person{n}@example.com", first_name=f"P{n}", status=statuses[n % 21])
        for n in range(CONTACTS)
    )
    campaign = CampaignFactory(workspace=workspace, status=CampaignStatus.SENDING, started_at=timezone.now())
    EmailSend.objects.bulk_create(
        EmailSend(
            workspace=workspace,
            contact=contact,
            kind=SendKind.CAMPAIGN,
            campaign=campaign,
            idempotency_key=f"campaign:{campaign.pk}:{contact.pk}",
            token=new_send_token(),
            from_email=sender_address(campaign.sender),
            to_email=contact.email,
            subject=campaign.subject,
        )
        for contact in contacts
        if contact.status == ContactStatus.ACTIVE
    )
    with celery_broker(BROKER):
        campaign_dispatch(campaign=campaign)  # its batch tasks wait on the broker for the first worker
    late = [contact.pk for contact in contacts[3::50] if contact.status == ContactStatus.ACTIVE]
    Contact.objects.filter(pk__in=late).update(status=ContactStatus.UNSUBSCRIBED)
    sendable = Contact.objects.filter(workspace=workspace, status=ContactStatus.ACTIVE)
    eligible = set(sendable.values_list("email", flat=True))
    suppressed = {contact.email for contact in contacts} - eligible
    assert len(eligible) > 4000 and len(suppressed) > 500
    assert EmailSend.objects.filter(campaign=campaign, contact_id__in=late).count() == len(late)
    return campaign, eligible, suppressed


@pytest.fixture
def real_broker():
    with empty_broker(BROKER):
        yield


@override_settings(SENDING_LEASE_SECONDS=LEASE_SECONDS)
def test_every_contact_gets_exactly_one_message_though_the_worker_is_killed_again_and_again(real_broker, tmp_path):
    with smtp_sink() as (sink, port):
        campaign, eligible, suppressed = _campaign_with_audience()
        chance = random.Random(5)
        kills = 0
        while kills < KILLS:
            worker = _start_worker(tmp_path, port)
            target = len(sink.messages) + chance.randint(150, 450)
            try:
                wait_for(lambda t=target: len(sink.messages) >= t, 60, f"{target} messages at the sink", interval=0.05)
            finally:
                worker_kill(worker)
            kills += 1
            # What the dead worker held comes back once its leases lapse: the sweeper (run here as
            # beat would) re-dispatches the campaign to the next worker.
            time.sleep(LEASE_SECONDS + 0.2)
            email_sends_sweep()
            assert len(sink.messages) < len(eligible), "the worker was meant to die with work left"

        worker = _start_worker(tmp_path, port)
        try:

            def finished() -> bool:
                email_sends_sweep()
                return Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENT).exists()

            wait_for(finished, 60, "the campaign to finish", interval=1.0)
        finally:
            worker_kill(worker)

        received = Counter(rcpt for rcpt, _ in sink.messages)
    assert kills >= 5
    assert {address for address, count in received.items() if count > 1} == set(), "sent twice"
    assert not set(received) & suppressed
    rows = EmailSend.objects.filter(campaign=campaign)
    assert set(rows.values_list("status", flat=True)) == {SendStatus.SENT, SendStatus.SKIPPED}
    sent = set(rows.filter(status=SendStatus.SENT).values_list("to_email", flat=True))
    assert sent == eligible
    assert set(received) <= sent, "delivered without its ledger row saying so"
    # The ledger and the server agree exactly. (A kill in the microseconds between writing the COMMIT
    # that marks a row sent and writing its final dot would lose that one message, never send it
    # twice; see campaigns.delivery.sending.commit_then, which holds the COMMIT back until the dot is
    # written so that the two go out back to back.)
    assert set(received) == sent, {"lost": sent - set(received)}
    # Each message is on its contact's timeline once, including those whose worker died before
    # recording its batch (the sweeper records them).
    sends_record_missed(before=timezone.now())
    assert not rows.filter(status=SendStatus.SENT, recorded_at__isnull=True).exists()
    timeline = ContactActivity.objects.filter(kind=ActivityKind.EMAIL_SENT, ref=str(campaign.pk))
    assert timeline.count() == len(sent)
    assert timeline.values("contact").distinct().count() == len(sent)
