"""Crash safety with real processes: a Celery worker killed mid-batch loses no event."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from accounts import services
from accounts.roles import Role
from core.events import dispatch
from core.models import DeliveryStatus, Event, EventDelivery
from tests.conftest import celery_broker, live_database_url
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/14"
INVITATIONS = 30


def _start_worker(var_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": live_database_url(),
        "CELERY_BROKER_URL": BROKER,
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
    }
    log = open(var_dir / "worker.log", "a")  # noqa: SIM115 — closed by _kill(); read it when this test fails
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "-l", "warning"],
        cwd=settings.BASE_DIR,
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker.log = log
    return worker


def _kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    worker.log.close()


def _wait_for(condition, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def real_broker():
    with celery_broker(BROKER) as app:
        with app.connection_for_write() as conn:
            conn.default_channel.client.flushdb()
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

    worker = _start_worker(tmp_path)
    try:
        _wait_for(lambda: outbox.exists() and any(outbox.iterdir()), 60, "the first email")
    finally:
        _kill(worker)
    delivered = EventDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
    assert delivered < INVITATIONS, "the worker was meant to die with work left"

    # A fresh worker and the periodic sweeper (run here as beat would) finish the batch: nothing
    # the dead worker held is lost, not even a delivery whose lock died with it.
    pending = Event.objects.filter(type="invitation.created", dispatched_at__isnull=True)

    def swept_and_done() -> bool:
        dispatch.sweep_events()
        return not pending.exists()

    worker = _start_worker(tmp_path)
    try:
        _wait_for(swept_and_done, 90, "every invitation event to be dispatched", interval=1.0)
    finally:
        _kill(worker)

    assert EventDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == INVITATIONS
    recipients = {
        line.split(": ", 1)[1].strip()
        for path in outbox.iterdir()
        for line in path.read_text().splitlines()
        if line.startswith("To: ")
    }
    assert recipients == set(emails)
