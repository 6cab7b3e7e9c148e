"""The claim/send loop: how ledger rows become messages, each at most once and, over SMTP, exactly once.

A worker claims a batch of rows (a lease in `claimed_until`, taken with SKIP LOCKED on PostgreSQL so
workers never wait on each other's rows), builds each message, and hands it over:

- over SMTP, through `TwoPhaseSMTPBackend`: the row turns sent in the same instant the server is told
  to accept the message (see its docstring and `commit_then`), so a worker killed at any point leaves
  either a queued row whose message the server discarded, or a sent row whose message went out —
  but for a kill in the microseconds between the COMMIT's write and the dot's, which loses the
  message (sent in the ledger, never delivered) rather than ever sending it twice;
- any other backend (an ESP's HTTP API, the file outbox) can't be asked to hold a message: the row
  turns `sending` before the call and `sent` after. A row found still `sending` once its lease is over
  belonged to a worker that died mid-call: the ESP may or may not have it, so it is marked failed as
  unknown and never sent again (at most once); the ESP's webhooks may still report it delivered.

Rows of contacts who can no longer receive marketing mail are skipped at the claim. Transient
failures go back to the queue with exponential backoff; after SENDING_MAX_ATTEMPTS, or on a
permanent refusal, the row fails with the reason. Each batch's sent rows then get their `email_sent`
activities and `email.sent` events in one transaction. A worker killed between a message going out
and the end of its batch sends it exactly once, but that batch's timeline entries and events are
lost with it: recording them row by row, in the commit that sends, would cost more round trips
than the send itself.
"""

import contextlib
import datetime
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as database
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from psycopg import generators, pq

from campaigns.delivery.backends import (
    DeliveryError,
    TwoPhaseSMTPBackend,
    connection_close,
    delivery_error,
    open_connection,
)
from campaigns.delivery.messages import MessageBuilder
from campaigns.delivery.ratelimit import rate_release, rate_reserve
from campaigns.events import CAMPAIGN_FINISHED, EMAIL_SENT
from campaigns.models import (
    MARKETING_KINDS,
    PENDING,
    Campaign,
    CampaignStatus,
    EmailSend,
    SendStatus,
)
from core.bulk import bulk_insert
from core.events import emit, emit_many
from core.logging import get_logger
from crm.models import ActivityKind, ContactActivity, ContactStatus
from crm.selectors.scoring import scoring_rules_for
from crm.services.activities import activity_record

log = get_logger(__name__)

#: A batch task sends for about this long, then queues itself again, so pausing takes effect and
#: other campaigns' tasks get a turn.
RUN_SECONDS = 20
#: Backoff of the n-th transient failure: 30 s, 1, 2, 4 minutes, then every 5 minutes.
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 300
#: Lone (non-campaign) rows re-enqueued per sweep.
SWEEP_SENDS_MAX = 1000

UNSENDABLE = (
    "Not sent: the contact can't receive marketing email (unsubscribed, bounced, complained, unconfirmed or erased)."
)
OUTCOME_UNKNOWN = (
    "Outcome unknown: the worker stopped while handing it over. Not retried, so it can't arrive twice; "
    "the provider's webhooks may still report it delivered."
)

SUBJECT_MAX = EmailSend._meta.get_field("subject").max_length

# Once per message, on the path that decides whether it goes out: as SQL, it costs a third of what
# building the same UPDATE through the ORM does.
_MARK_SENT = (
    f"UPDATE {EmailSend._meta.db_table} SET status = '{SendStatus.SENT}', sent_at = %s, subject = %s, "  # noqa: S608
    f"message_id = %s, attempts = attempts + 1, error = '' WHERE id = %s AND status = '{SendStatus.QUEUED}'"
)


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def _lease(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(seconds=settings.SENDING_LEASE_SECONDS)


# --- Claiming ---------------------------------------------------------------------------------------


def claimable(now: datetime.datetime) -> QuerySet:
    """Queued rows no live worker holds, whose retry (if any) is due."""
    return EmailSend.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        status=SendStatus.QUEUED,
    )


def campaign_claimable(campaign: Campaign, now: datetime.datetime) -> QuerySet:
    rows = claimable(now).filter(campaign=campaign)
    if campaign.subject_b and not campaign.ab_winner:
        rows = rows.exclude(variant="")  # the rest of the audience waits for the A/B winner
    return rows


def sends_claim(rows: QuerySet, *, limit: int, now: datetime.datetime) -> tuple[list[EmailSend], int]:
    """Lease up to `limit` of `rows` to this worker; marketing rows of unsendable contacts become
    skipped instead. Returns the claimed rows (contacts loaded) and how many were skipped."""
    with transaction.atomic():
        # SKIP LOCKED: rows another worker is claiming at this moment are left to it, not waited on
        # (ignored on SQLite, whose writers take turns anyway).
        found = list(
            rows.select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
            .values_list("id", "kind", "contact__status")[:limit]
        )
        skipped = {pk for pk, kind, status in found if kind in MARKETING_KINDS and status != ContactStatus.ACTIVE}
        claimed = [pk for pk, _, _ in found if pk not in skipped]
        if skipped:
            EmailSend.objects.filter(pk__in=skipped).update(
                status=SendStatus.SKIPPED, claimed_until=None, error=UNSENDABLE
            )
        if claimed:
            EmailSend.objects.filter(pk__in=claimed).update(claimed_until=_lease(now))
    if not claimed:
        return [], len(skipped)
    return list(EmailSend.objects.filter(pk__in=claimed).select_related("contact").order_by("id")), len(skipped)


# --- Handing over -----------------------------------------------------------------------------------


def _failed(send: EmailSend, error: DeliveryError, *, status: str, counted: bool) -> None:
    """Record a failure of `send`, found in `status`: back to the queue with a backoff when it's
    transient and attempts remain, else failed with the reason. `counted`: the attempt was already
    added when the row was marked sending or sent."""
    attempts = send.attempts + 1
    now = timezone.now()
    changes: dict = {"claimed_until": None, "sent_at": None, "error": error.reason}
    if not counted:
        changes["attempts"] = F("attempts") + 1
    if error.transient and attempts < settings.SENDING_MAX_ATTEMPTS:
        changes.update(
            status=SendStatus.QUEUED, next_attempt_at=now + datetime.timedelta(seconds=backoff_seconds(attempts))
        )
    else:
        changes["status"] = SendStatus.FAILED
        if error.transient:
            changes["error"] = f"Gave up after {attempts} attempts. {error.reason}"
    EmailSend.objects.filter(pk=send.pk, status=status).update(**changes)
    log.info("email_send_failed", send_id=send.pk, status=changes["status"], reason=error.reason)


@contextlib.contextmanager
def _held_back(fd: int):
    """Keep what is written to this TCP socket in the kernel until the block ends (TCP_CORK).

    Written at once, the COMMIT wakes PostgreSQL's backend, and on a busy machine the scheduler often
    gives it this process's core right then — between the COMMIT and the dot, the one moment a kill
    loses a message. Held back, it wakes nobody until the dot is out. Killed inside the block, the
    process still sends it: closing a socket sends what it holds before the FIN, and PostgreSQL runs
    a command it received whole. (A Unix-domain socket can't be corked; it goes out at once.)
    """
    sock = socket.socket(fileno=os.dup(fd))
    corked = sock.family in (socket.AF_INET, socket.AF_INET6)
    try:
        if corked:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        yield
    finally:
        if corked:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
        sock.close()  # the duplicate only


def commit_then(write: Callable[[], bool], then: Callable[[], None]) -> bool:
    """Run `write` in a transaction; if it returns True, commit it and call `then`, and return True.

    On PostgreSQL the COMMIT is written before `then` starts (held back until it is done, see
    `_held_back`), and its reply is read after: a worker killed at any instant leaves no commit and no
    `then`, or both, but for the few microseconds between the two writes. Waiting for the commit's
    reply first would leave a window of a whole commit, WAL flush included: a worker sending flat out
    spends a good part of its time there, and about half the kills of one did land in it, each losing
    a message. Elsewhere (SQLite), or inside a caller's transaction (which commits when it decides),
    `write` and `then` simply follow each other.
    """
    if database.vendor != "postgresql" or database.in_atomic_block:
        if not write():
            return False
        then()
        return True
    with database.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            won = write()
        except BaseException:
            with contextlib.suppress(DatabaseError):
                cursor.execute("ROLLBACK")
            raise
        if not won:
            cursor.execute("ROLLBACK")
            return False
        raw = database.connection
        try:
            with _held_back(raw.pgconn.socket):
                raw.pgconn.send_query(b"COMMIT")
                raw.wait(generators.send(raw.pgconn))
                then()
        finally:
            (*_, result) = raw.wait(generators.fetch_many(raw.pgconn))
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise DatabaseError(f"COMMIT failed: {result.get_error_field(pq.DiagnosticField.MESSAGE_PRIMARY)}")
    return True


def _send_two_phase(send: EmailSend, message, smtp: TwoPhaseSMTPBackend) -> bool:
    subject, message_id = send.subject, message.extra_headers["Message-ID"]

    def mark_sent() -> bool:
        with database.cursor() as cursor:
            cursor.execute(_MARK_SENT, [timezone.now(), subject, message_id, send.pk])
            return cursor.rowcount == 1

    try:
        return smtp.send_two_phase(message, lambda send_dot: commit_then(mark_sent, send_dot))
    except DeliveryError as error:
        if error.maybe_delivered:
            EmailSend.objects.filter(pk=send.pk, status=SendStatus.SENT).update(error=error.reason)
            return True
        _failed(send, error, status=SendStatus.SENT if error.committed else SendStatus.QUEUED, counted=error.committed)
        return False


def _send_marked(send: EmailSend, message, connection) -> bool:
    message_id = message.extra_headers["Message-ID"]
    now = timezone.now()
    marked = EmailSend.objects.filter(pk=send.pk, status=SendStatus.QUEUED).update(
        status=SendStatus.SENDING, claimed_until=_lease(now), attempts=F("attempts") + 1, subject=send.subject
    )
    if not marked:  # another worker took it after this one's lease ran out
        return False
    try:
        connection.send_messages([message])
    except Exception as exc:  # noqa: BLE001 — every backend failure is recorded on the row
        _failed(send, delivery_error(exc), status=SendStatus.SENDING, counted=True)
        return False
    status = getattr(message, "anymail_status", None)
    EmailSend.objects.filter(pk=send.pk, status=SendStatus.SENDING).update(
        status=SendStatus.SENT,
        sent_at=timezone.now(),
        message_id=(status and status.message_id) or message_id,
        claimed_until=None,
        error="",
    )
    return True


def sends_deliver(sends: list[EmailSend], *, connection, builder: MessageBuilder) -> list[EmailSend]:
    """Hand each claimed row's message over on `connection`; returns the rows now sent."""
    two_phase = isinstance(connection, TwoPhaseSMTPBackend)
    sent = []
    for send in sends:
        try:
            message = builder.build(send)
        except ValueError as exc:  # a personalisation that fails for this contact's values
            _failed(
                send,
                DeliveryError(f"The message could not be built: {exc}", transient=False),
                status=SendStatus.QUEUED,
                counted=False,
            )
            continue
        send.subject = message.subject[:SUBJECT_MAX]  # what the recipient sees, as the ledger keeps it
        if _send_two_phase(send, message, connection) if two_phase else _send_marked(send, message, connection):
            sent.append(send)
    return sent


@transaction.atomic
def sends_record(*, workspace_id: int, sends: list[EmailSend]) -> None:
    """The `email_sent` timeline entries and `email.sent` events of sent rows, in one transaction.
    Inserted in bulk unless the workspace scores sent emails, whose rules apply per activity."""
    # Rows a concurrent recorder (a slow worker, the sweeper) already took are left to it.
    ids = set(
        EmailSend.objects.select_for_update()
        .filter(pk__in=[send.pk for send in sends], recorded_at__isnull=True)
        .values_list("pk", flat=True)
    )
    sends = [send for send in sends if send.pk in ids]
    if not sends:
        return
    now = timezone.now()
    EmailSend.objects.filter(pk__in=ids).update(recorded_at=now)

    def activity(send: EmailSend) -> dict:
        return {
            "ref": str(send.campaign_id or send.ref)[:64],
            "data": {"send_id": send.pk, "subject": send.subject, "campaign_id": send.campaign_id},
        }

    with_contact = [send for send in sends if send.contact_id]
    if scoring_rules_for(workspace_id=workspace_id, kind=ActivityKind.EMAIL_SENT):
        for send in with_contact:
            activity_record(
                contact=send.contact, kind=ActivityKind.EMAIL_SENT, source="email", at=now, **activity(send)
            )
    else:
        rows = []
        for send in with_contact:
            entry = activity(send)
            rows.append(
                (workspace_id, send.contact_id, ActivityKind.EMAIL_SENT, entry["ref"], entry["data"], "email", now)
            )
        bulk_insert(ContactActivity, ["workspace_id", "contact_id", "kind", "ref", "data", "source", "at"], rows)
    emit_many(
        workspace=workspace_id,
        events=[
            (
                EMAIL_SENT,
                {"send_id": send.pk, "contact_id": send.contact_id, "campaign_id": send.campaign_id, "kind": send.kind},
                send,
            )
            for send in sends
        ],
    )


# --- Campaigns --------------------------------------------------------------------------------------


@transaction.atomic
def campaign_finish_if_done(*, campaign: Campaign) -> bool:
    """Mark a sending campaign sent once none of its rows waits (the A/B holdout's included). One
    without rows has not been snapshotted yet (campaign_start finishes an empty audience itself)."""
    if campaign.sends.filter(status__in=PENDING).exists() or not campaign.sends.exists():
        return False
    finished = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT, finished_at=timezone.now()
    )
    if finished:
        emit(
            workspace=campaign.workspace_id,
            type=CAMPAIGN_FINISHED,
            payload={"campaign_id": campaign.pk, "status": CampaignStatus.SENT},
            subject=campaign,
        )
    return bool(finished)


def campaign_send_run(*, campaign_id: int, seconds: float = RUN_SECONDS) -> float | None:
    """Claim and send a campaign's rows for about `seconds`, over one reused connection.

    Returns the delay after which the caller should run again (0: time's up and rows remain; up to
    60: the workspace's rate is used up for this minute), or None when there is nothing for this run
    to do: the campaign is not sending, it finished, or what remains waits (the A/B holdout, retries
    not yet due, rows other workers hold; the sweeper comes back for those).
    """
    deadline = time.monotonic() + seconds
    builder = connection = None
    try:
        while True:
            campaign = Campaign.objects.select_related("sender").filter(pk=campaign_id).first()
            if campaign is None or campaign.status != CampaignStatus.SENDING:
                return None
            if time.monotonic() >= deadline:
                if campaign_claimable(campaign, timezone.now()).exists():
                    return 0
                # Nothing left to claim: finish now rather than from a next run that may wait in the
                # queue behind this campaign's event dispatches.
                campaign_finish_if_done(campaign=campaign)
                return None
            if builder is None:
                builder = MessageBuilder(workspace_id=campaign.workspace_id, campaign=campaign)
            builder.campaign = campaign  # the A/B winner may have been decided since
            reservation = rate_reserve(
                workspace_id=campaign.workspace_id,
                per_minute=builder.settings.rate_per_minute,
                wanted=settings.SENDING_BATCH_SIZE,
            )
            if not reservation.granted:
                return min(reservation.retry_in, 60)
            now = timezone.now()
            sends, skipped = sends_claim(campaign_claimable(campaign, now), limit=reservation.granted, now=now)
            rate_release(reservation, reservation.granted - len(sends))
            if not sends:
                if skipped:
                    continue
                campaign_finish_if_done(campaign=campaign)
                return None
            connection = connection or open_connection()
            sent = sends_deliver(sends, connection=connection, builder=builder)
            sends_record(workspace_id=campaign.workspace_id, sends=sent)
    finally:
        if connection is not None:
            connection_close(connection)


# --- Single messages (transactional, workflow steps) -----------------------------------------------


def send_deliver(*, send_id: int) -> bool:
    """Send one non-campaign row if it is due and free; True once it is handed over. A transient
    failure, or a workspace over its rate, leaves it queued for the sweeper to bring back."""
    workspace_id = (
        EmailSend.objects.filter(pk=send_id, campaign__isnull=True).values_list("workspace_id", flat=True).first()
    )
    if workspace_id is None:
        return False
    builder = MessageBuilder(workspace_id=workspace_id)
    reservation = rate_reserve(workspace_id=workspace_id, per_minute=builder.settings.rate_per_minute, wanted=1)
    now = timezone.now()
    if not reservation.granted:
        claimable(now).filter(pk=send_id).update(next_attempt_at=now + datetime.timedelta(seconds=reservation.retry_in))
        return False
    sends, _ = sends_claim(claimable(now).filter(pk=send_id), limit=1, now=now)
    rate_release(reservation, 1 - len(sends))
    if not sends:
        return False
    connection = open_connection()
    try:
        sent = sends_deliver(sends, connection=connection, builder=builder)
    finally:
        connection_close(connection)
    sends_record(workspace_id=workspace_id, sends=sent)
    return bool(sent)


# --- Sweeping ---------------------------------------------------------------------------------------


def sends_sweep(*, now: datetime.datetime | None = None) -> tuple[list[Campaign], list[int]]:
    """Crash recovery, run by beat: resolve rows left `sending` by a dead worker (failed, outcome
    unknown), finish campaigns with nothing left, and return the sending campaigns that have rows to
    send but no worker holding a lease (their tasks died with a worker, or their retries fell due),
    and the lone rows whose delivery task was lost or whose retry is due — for the caller to enqueue."""
    now = now or timezone.now()
    EmailSend.objects.filter(status=SendStatus.SENDING, claimed_until__lt=now).update(
        status=SendStatus.FAILED, claimed_until=None, error=OUTCOME_UNKNOWN
    )
    stalled = []
    for campaign in Campaign.objects.filter(status=CampaignStatus.SENDING):
        if campaign_finish_if_done(campaign=campaign):
            continue
        # Rows keep their lease after they are sent: a lease still running means a worker claimed
        # within the last SENDING_LEASE_SECONDS, so the campaign is moving.
        moving = campaign.sends.filter(claimed_until__gt=now).exists()
        if not moving and campaign_claimable(campaign, now).exists():
            stalled.append(campaign)
    # Rows younger than a lease most likely have their task still on its way.
    grace = now - datetime.timedelta(seconds=settings.SENDING_LEASE_SECONDS)
    lone = list(
        claimable(now)
        .filter(campaign__isnull=True)
        .filter(Q(queued_at__lt=grace) | Q(next_attempt_at__isnull=False))
        .order_by("id")
        .values_list("id", flat=True)[:SWEEP_SENDS_MAX]
    )
    sends_record_missed(before=grace)
    return stalled, lone


def sends_record_missed(*, before: datetime.datetime) -> int:
    """Record the sent rows whose worker died between sending and recording them; returns how many."""
    missed = list(
        EmailSend.objects.filter(recorded_at__isnull=True, sent_at__lt=before)
        .select_related("contact")
        .order_by("sent_at")[:SWEEP_SENDS_MAX]
    )
    by_workspace = defaultdict(list)
    for send in missed:
        by_workspace[send.workspace_id].append(send)
    for workspace_id, sends in by_workspace.items():
        sends_record(workspace_id=workspace_id, sends=sends)
    return len(missed)
