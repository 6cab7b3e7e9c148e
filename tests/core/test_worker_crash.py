"""Crash safety with real processes: a Celery worker killed mid-batch loses no event."""

import pytest
from django.test import override_settings

from accounts import services
from accounts.roles import Role
from core.events import dispatch
from core.models import DeliveryStatus, Event, EventDelivery
from tests.factories import MembershipFactory
from tests.workers import empty_broker, wait_for, worker_kill, worker_start

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/14"
INVITATIONS = 30


@pytest.fixture
def real_broker():
    with empty_broker(BROKER):
        yield


@override_settings(EVENTS_SWEEP_GRACE_SECONDS=0)
def test_events_survive_a_worker_killed_mid_batch(real_broker, tmp_path):
    admin = MembershipFactory(role=Role.OWNER)
    emails = [f"person{n}@example.com" for n in range(INVITATIONS)]
    for email in emails:  # each commits on its own and publishes its dispatch task
        services.invitation_create(
            workspace=admin.workspace, email=email, role=Role.EDITOR, actor=admin.user, actor_role=Role.OWNER
        )
    outbox = tmp_path / "outbox"

    worker = worker_start(tmp_path, broker=BROKER)
    try:
        wait_for(lambda: outbox.exists() and any(outbox.iterdir()), 60, "the first email")
    finally:
        worker_kill(worker)
    delivered = EventDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
    assert delivered < INVITATIONS, "the worker was meant to die with work left"

    # A fresh worker and the periodic sweeper (run here as beat would) finish the batch: nothing
    # the dead worker held is lost, not even a delivery whose lock died with it.
    pending = Event.objects.filter(type="invitation.created", dispatched_at__isnull=True)

    def swept_and_done() -> bool:
        dispatch.sweep_events()
        return not pending.exists()

    worker = worker_start(tmp_path, broker=BROKER)
    try:
        wait_for(swept_and_done, 90, "every invitation event to be dispatched", interval=1.0)
    finally:
        worker_kill(worker)

    assert EventDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == INVITATIONS
    recipients = {
        line.split(": ", 1)[1].strip()
        for path in outbox.iterdir()
        for line in path.read_text().splitlines()
        if line.startswith("To: ")
    }
    assert recipients == set(emails)
