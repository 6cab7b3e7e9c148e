"""Crash safety with real processes: 500 executions of send_email → a short wait → send_email →
add_tag, run by a real Celery worker that is SIGKILLed and restarted again and again, with the
sweeper run as beat would. Every execution ends, none stays running past its lease and a sweep, and
each send_email step made exactly one ledger row and one message at a local SMTP server."""

import datetime
import random
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone

from campaigns.models import EmailSend, SendingSettings, SendStatus
from campaigns.tasks.delivery import email_sends_sweep
from crm.models import Contact, ContactTag
from tests.campaigns.test_delivery import smtp_sink
from tests.conftest import celery_broker
from tests.factories import WorkflowFactory, WorkspaceFactory
from tests.workers import empty_broker, wait_for, worker_kill, worker_start
from tests.workflows.engine_kit import activate, definition, node
from workflows import engine
from workflows.models import Execution, ExecutionStatus, StepRun, StepStatus
from workflows.services.executions import executions_start_many
from workflows.tasks import engine as engine_tasks  # noqa: F401

# The tasks module is imported up front: celery_broker() closes the app, and an app closed no longer
# takes in shared tasks imported after it (a worker registers them all by autodiscovery).

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/11"
EXECUTIONS = 500
KILLS = 5
LEASE_SECONDS = 2
# Longer than a lease: a pending execution waits behind the broker's backlog for a while, and
# re-enqueuing it every sweep would only pile duplicates in front of the email deliveries.
GRACE_SECONDS = 10
SWEEP_SECONDS = 0.5
WAIT_SECONDS = 4


def _start_worker(var_dir: Path, smtp_port: int) -> subprocess.Popen:
    return worker_start(
        var_dir,
        broker=BROKER,
        concurrency=4,
        smtp_port=smtp_port,
        WORKFLOW_LEASE_SECONDS=str(LEASE_SECONDS),
        WORKFLOW_PENDING_GRACE_SECONDS=str(GRACE_SECONDS),
        SENDING_LEASE_SECONDS=str(LEASE_SECONDS),
    )


def _sweep() -> None:
    """What beat does, every SWEEP_SECONDS here."""
    engine.executions_sweep()
    email_sends_sweep()


def _overdue() -> int:
    """Executions still running past their lease and one sweep: nobody would ever take them back."""
    late = timezone.now() - datetime.timedelta(seconds=SWEEP_SECONDS + 1)
    return Execution.objects.filter(status=ExecutionStatus.RUNNING, lease_expires_at__lt=late).count()


@pytest.fixture
def real_broker():
    with empty_broker(BROKER):
        yield


def _workflow():
    workspace = WorkspaceFactory(timezone="Europe/Paris")
    SendingSettings.objects.create(workspace=workspace, postal_address="1 Harbour Street", rate_per_minute=1_000_000)
    Contact.objects.bulk_create(
        Contact(workspace=workspace, email=f"person{n}@example.com", first_name=f"P{n}") for n in range(EXECUTIONS)
    )
    until = (timezone.now() + datetime.timedelta(seconds=WAIT_SECONDS)).isoformat()
    spec = definition(
        [
            node("welcome", "send_email", subject="Welcome {{ contact.first_name }}", content="Hello"),
            node("pause", "wait", mode="until", until=until),
            node("followup", "send_email", subject="Still there, {{ contact.first_name }}?", content="Hi again"),
            node("done", "add_tag", tag="nurtured"),
        ],
        [("trigger", "welcome"), ("welcome", "pause"), ("pause", "followup"), ("followup", "done")],
        trigger="manual",
    )
    workflow = WorkflowFactory(workspace=workspace, definition=spec)
    activate(workflow, spec)
    return workflow


@override_settings(WORKFLOW_LEASE_SECONDS=LEASE_SECONDS, WORKFLOW_PENDING_GRACE_SECONDS=GRACE_SECONDS)
def test_every_execution_ends_and_every_email_goes_once_though_the_worker_is_killed(real_broker, tmp_path):
    workflow = _workflow()
    contacts = list(Contact.objects.filter(workspace=workflow.workspace).values_list("pk", flat=True))
    expected = EXECUTIONS * 2
    with smtp_sink() as (sink, port):
        with celery_broker(BROKER):
            assert (
                executions_start_many(workflow=workflow, contact_ids=contacts, trigger_data={}, trigger_key_prefix="t")
                == EXECUTIONS
            )
        chance = random.Random(6)
        kills = 0
        last_sweep = 0.0
        steps = StepRun.objects.filter(execution__workflow=workflow)

        def progressed(target: int) -> bool:
            nonlocal last_sweep
            if time.monotonic() - last_sweep > SWEEP_SECONDS:
                with celery_broker(BROKER):
                    _sweep()
                last_sweep = time.monotonic()
            return steps.count() >= target

        while kills < KILLS:
            worker = _start_worker(tmp_path, port)
            # Killed a few hundred steps on: mid-execution, some sending, some waiting, some resuming.
            target = steps.count() + chance.randint(100, 250)
            try:
                wait_for(lambda t=target: progressed(t), 90, f"{target} steps", interval=0.05)
            finally:
                worker_kill(worker)
            kills += 1
            # What the dead worker held comes back once its leases lapse, with the next sweep.
            time.sleep(LEASE_SECONDS + 0.2)
            with celery_broker(BROKER):
                _sweep()
            assert _overdue() == 0
            assert Execution.objects.filter(workflow=workflow).live().exists(), "meant to die with work left"

        worker = _start_worker(tmp_path, port)
        try:

            def finished() -> bool:
                progressed(0)
                assert _overdue() == 0
                return not Execution.objects.filter(workflow=workflow).live().exists() and not (
                    EmailSend.objects.filter(workspace=workflow.workspace, status=SendStatus.QUEUED).exists()
                )

            try:
                wait_for(finished, 240, "every execution to end", interval=0.25)
            except AssertionError:
                statuses = Counter(Execution.objects.filter(workflow=workflow).values_list("status", flat=True))
                sends = EmailSend.objects.filter(workspace=workflow.workspace)
                emails = Counter(sends.values_list("status", flat=True))
                raise AssertionError(f"not all ended: executions {dict(statuses)}, emails {dict(emails)}") from None
            wait_for(lambda: len(sink.messages) >= expected, 10, "the last messages", interval=0.1)
        finally:
            worker_kill(worker)
        received = Counter(rcpt for rcpt, _ in sink.messages)

    assert kills >= 5
    executions = Execution.objects.filter(workflow=workflow)
    assert executions.count() == EXECUTIONS
    statuses = Counter(executions.values_list("status", flat=True))
    assert statuses == {ExecutionStatus.SUCCEEDED: EXECUTIONS}, (
        statuses,
        list(executions.exclude(status=ExecutionStatus.SUCCEEDED).values_list("error", flat=True)[:5]),
    )
    # Each send_email step: exactly one ledger row, keyed by execution and node, sent.
    sends = EmailSend.objects.filter(workspace=workflow.workspace)
    keys = Counter(sends.values_list("idempotency_key", flat=True))
    assert len(keys) == expected and set(keys.values()) == {1}
    assert keys.keys() == {
        f"workflow:{pk}:{n}" for pk in executions.values_list("pk", flat=True) for n in ("welcome", "followup")
    }
    assert set(sends.values_list("status", flat=True)) == {SendStatus.SENT}
    # … and one message at the server: two per person, the welcome and the follow-up.
    assert len(sink.messages) == expected
    assert set(received.values()) == {2} and len(received) == EXECUTIONS
    # Each step succeeded once (a step cut off by a kill was rolled back and run again, leaving no trace).
    steps = StepRun.objects.filter(execution__workflow=workflow, status=StepStatus.SUCCEEDED)
    per_node = Counter(steps.values_list("node_id", flat=True))
    assert per_node == {"welcome": EXECUTIONS, "pause": EXECUTIONS, "followup": EXECUTIONS, "done": EXECUTIONS}
    assert not StepRun.objects.filter(execution__workflow=workflow).exclude(status=StepStatus.SUCCEEDED).exists()
    assert ContactTag.objects.filter(workspace=workflow.workspace, tag__name="nurtured").count() == EXECUTIONS
