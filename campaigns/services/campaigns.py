"""Campaigns: editing, sending, scheduling, pausing, the audience snapshot and the A/B decision.

Lifecycle: draft → (scheduled →) sending ⇄ paused → sent, or cancelled from scheduled, sending or
paused. Only draft and scheduled campaigns can be edited; only drafts deleted. Sending checks every
prerequisite first and names each one missing. The snapshot (`campaign_start`, run by a task) turns
the audience into ledger rows in one pass, once: a second run finds the rows and does nothing.
"""

import datetime
import random
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from campaigns.content import content_clean
from campaigns.delivery.messages import sender_address
from campaigns.events import CAMPAIGN_FINISHED, CAMPAIGN_STARTED
from campaigns.models import (
    AbMetric,
    Campaign,
    CampaignStatus,
    EmailSend,
    Sender,
    SendKind,
    SendStatus,
)
from campaigns.selectors import (
    audience_clean,
    campaign_audience,
    campaign_render,
    campaign_sample_contact,
)
from campaigns.services.senders import sending_settings_get
from campaigns.services.sends import campaign_dispatch, email_send_create
from campaigns.tracking import new_send_token
from core.bulk import bulk_insert
from core.enqueue import enqueue
from core.events import emit
from core.ids import is_object_id
from core.logging import get_logger
from core.templating import template_compile
from crm.services.fields import email_normalize

log = get_logger(__name__)

NAME_MAX = Campaign._meta.get_field("name").max_length
SUBJECT_MAX = Campaign._meta.get_field("subject").max_length
PREHEADER_MAX = Campaign._meta.get_field("preheader").max_length
AB_PERCENT_MAX = 50
AB_WAIT_MIN, AB_WAIT_MAX = 10, 7 * 24 * 60
SCHEDULE_AHEAD_MAX = datetime.timedelta(days=365)
#: A campaign marked sending this long ago without its snapshot lost its task: start it again.
START_GRACE = datetime.timedelta(seconds=60)
DUE_BATCH = 100
#: Test sends reach any address: a workspace gets this many an hour, so they can't carry a mailing.
TEST_SENDS_MAX, TEST_SENDS_PER = 30, datetime.timedelta(hours=1)
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
#: Rows per COPY of a snapshot (one transaction whatever the audience's size).
SNAPSHOT_SLICE = 50_000
#: The ledger columns a snapshot row fills; the rest keep their NULLs.
SNAPSHOT_FIELDS = (
    "workspace_id",
    "contact_id",
    "kind",
    "campaign_id",
    "ref",
    "variant",
    "idempotency_key",
    "token",
    "from_email",
    "to_email",
    "subject",
    "body",
    "message_id",
    "status",
    "attempts",
    "error",
    "queued_at",
    "open_count",
    "machine_open_count",
    "click_count",
)


# --- Fields ------------------------------------------------------------------------------------------


def _text(field: str, value, limit: int, *, required: str = "") -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError({field: ["Expected text."]})
    text = " ".join((value or "").split())
    if required and not text:
        raise ValidationError({field: [required]})
    if len(text) > limit:
        raise ValidationError({field: [f"At most {limit} characters."]})
    return text


def _template(field: str, value, limit: int) -> str:
    text = _text(field, value, limit)
    if text:
        template_compile(text, field=field)  # a syntax error names its line, at save
    return text


def _whole(field: str, value, low: int, high: int, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError({field: [f"A whole number from {low} to {high}{unit}."]})
    return value


def _sender(workspace, value) -> Sender | None:
    if value is None or value == "":
        return None
    pk = value.pk if isinstance(value, Sender) else value
    sender = Sender.objects.for_workspace(workspace).filter(pk=pk).first() if is_object_id(pk) else None
    if sender is None:
        raise ValidationError({"sender": [f"No sender with id {pk!r} in this workspace."]})
    return sender


def _metric(value) -> str:
    if value not in AbMetric.values:
        raise ValidationError({"ab_metric": [f"{value!r} is not one of: {', '.join(AbMetric.values)}."]})
    return value


def _cleaners(workspace) -> dict:
    return {
        "name": lambda v: _text("name", v, NAME_MAX, required="A campaign needs a name."),
        "subject": lambda v: _template("subject", v, SUBJECT_MAX),
        "preheader": lambda v: _template("preheader", v, PREHEADER_MAX),
        "subject_b": lambda v: _template("subject_b", v, SUBJECT_MAX),
        "sender": lambda v: _sender(workspace, v),
        "content": lambda v: content_clean(v if v is not None else {"blocks": []}, field="content"),
        "audience": lambda v: audience_clean(workspace=workspace, audience=v),
        "ab_test_percent": lambda v: _whole("ab_test_percent", v, 0, AB_PERCENT_MAX, " (% of the audience)"),
        "ab_metric": _metric,
        "ab_wait_minutes": lambda v: _whole("ab_wait_minutes", v, AB_WAIT_MIN, AB_WAIT_MAX, " minutes"),
    }


def _apply(campaign: Campaign, changes: dict) -> None:
    """Clean every given field (one ValidationError naming each bad one), check the A/B fields
    together, and set them on the instance."""
    cleaners = _cleaners(campaign.workspace)
    unknown = set(changes) - set(cleaners)
    if unknown:
        raise TypeError(f"Not a campaign field: {', '.join(sorted(unknown))}")
    cleaned, errors = {}, {}
    for name, value in changes.items():
        try:
            cleaned[name] = cleaners[name](value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not errors:
        percent = cleaned.get("ab_test_percent", campaign.ab_test_percent)
        if percent and not cleaned.get("subject_b", campaign.subject_b):
            errors["subject_b"] = ["An A/B test needs a second subject."]
    if errors:
        raise ValidationError(errors)
    for name, value in cleaned.items():
        setattr(campaign, name, value)


def _for_update(*, skip_locked: bool = False):
    """Campaigns locked for a change, their workspace and sender read along (only the campaign's row
    is locked: the sender, an outer join, can't be)."""
    return Campaign.objects.select_for_update(of=("self",), skip_locked=skip_locked).select_related(
        "workspace", "sender"
    )


def _locked(campaign: Campaign) -> Campaign:
    return _for_update().get(pk=campaign.pk)


def _require_status(campaign: Campaign, allowed, doing: str) -> None:
    if campaign.status not in allowed:
        wanted = " or ".join(CampaignStatus(status).label.lower() for status in allowed)
        current = campaign.get_status_display().lower()
        raise ValidationError({"status": [f"This campaign is {current}; only a {wanted} campaign can be {doing}."]})


@transaction.atomic
def campaign_create(
    *,
    workspace,
    name: str,
    subject: str = "",
    preheader: str = "",
    sender: Sender | int | None = None,
    content: dict | None = None,
    audience: dict | None = None,
    subject_b: str = "",
    ab_test_percent: int = 0,
    ab_metric: str = AbMetric.OPENS,
    ab_wait_minutes: int = 240,
    actor=None,
) -> Campaign:
    """A draft. Templates in the subject, preheader and content are compiled here, so a broken one
    is refused at save with its line named; audience ids must exist in the workspace."""
    campaign = Campaign(workspace=workspace, created_by=actor if isinstance(actor, User) else None)
    _apply(
        campaign,
        {
            "name": name,
            "subject": subject,
            "preheader": preheader,
            "sender": sender,
            "content": content,
            "audience": audience,
            "subject_b": subject_b,
            "ab_test_percent": ab_test_percent,
            "ab_metric": ab_metric,
            "ab_wait_minutes": ab_wait_minutes,
        },
    )
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, **changes) -> Campaign:
    """Change the given fields (any of campaign_create's). A draft or scheduled campaign only; a
    scheduled one must still be ready to go out after the change."""
    campaign = _locked(campaign)
    _require_status(campaign, EDITABLE, "changed")
    _apply(campaign, changes)
    if campaign.status == CampaignStatus.SCHEDULED:
        _raise_problems(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    campaign = _locked(campaign)
    _require_status(campaign, (CampaignStatus.DRAFT,), "deleted")
    campaign.delete()


# --- Sending -----------------------------------------------------------------------------------------


def campaign_problems(campaign: Campaign) -> dict[str, list[str]]:
    """What stops the campaign from going out, by field; empty when it is ready."""
    problems: dict[str, list[str]] = {}
    if not sending_settings_get(workspace=campaign.workspace).postal_address.strip():
        problems["postal_address"] = [
            "Add the workspace's postal address in the sending settings: every marketing email prints it."
        ]
    if campaign.sender is None:
        problems["sender"] = ["Choose a sender."]
    elif not campaign.sender.is_verified:
        problems["sender"] = [
            f"{campaign.sender.from_email} is not verified yet: click the link mailed to it, or send it again."
        ]
    if not campaign.subject.strip():
        problems["subject"] = ["A campaign needs a subject."]
    if campaign.ab_test_percent and not campaign.subject_b.strip():
        problems["subject_b"] = ["An A/B test needs a second subject."]
    if not (campaign.content or {}).get("blocks"):
        problems["content"] = ["Add at least one block to the email."]
    try:
        if not campaign_audience(campaign.workspace, campaign.audience).exists():
            problems["audience"] = ["Nobody to send to: the audience has no sendable contacts."]
    except ValidationError as exc:
        problems.update(exc.message_dict)
    if "content" not in problems and "subject" not in problems:
        try:  # a template that only fails when rendered (a sandbox refusal, a bad filter argument)
            campaign_render(campaign, campaign_sample_contact(campaign))
        except ValidationError as exc:
            problems.update(exc.message_dict)
    return problems


def _raise_problems(campaign: Campaign) -> None:
    if problems := campaign_problems(campaign):
        raise ValidationError(problems)


def _enqueue_start(campaign_id: int) -> None:
    from campaigns.tasks.lifecycle import campaign_start as campaign_start_task

    # The campaign is marked sending; campaigns_start_due retries a lost start.
    enqueue(campaign_start_task, campaign_id)


def _mark_sending(campaign: Campaign, now: datetime.datetime) -> None:
    campaign.status = CampaignStatus.SENDING
    campaign.started_at = now
    campaign.save(update_fields=["status", "started_at", "updated_at"])
    transaction.on_commit(lambda: _enqueue_start(campaign.pk))


@transaction.atomic
def campaign_send(*, campaign: Campaign) -> Campaign:
    """Send now: a ValidationError lists every missing prerequisite (postal address, verified sender,
    subject, content, a non-empty audience) and nothing changes; otherwise the campaign is sending
    and its snapshot task is queued."""
    campaign = _locked(campaign)
    _require_status(campaign, EDITABLE, "sent")
    _raise_problems(campaign)
    _mark_sending(campaign, timezone.now())
    return campaign


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, scheduled_at: datetime.datetime) -> Campaign:
    """Send at `scheduled_at` (a time without an offset is in the workspace's time zone). It must be
    in the future, and the campaign ready to go out, as for campaign_send."""
    if not isinstance(scheduled_at, datetime.datetime):
        raise ValidationError({"scheduled_at": ["A date and time, e.g. 2026-05-01T09:00:00+02:00."]})
    campaign = _locked(campaign)
    zone = campaign.workspace.zone
    if timezone.is_naive(scheduled_at):
        scheduled_at = scheduled_at.replace(tzinfo=zone)
    now = timezone.now()
    if scheduled_at <= now:
        local_now = now.astimezone(zone)
        raise ValidationError(
            {"scheduled_at": [f"Pick a time in the future: it is {local_now:%Y-%m-%d %H:%M} in {zone.key} now."]}
        )
    if scheduled_at > now + SCHEDULE_AHEAD_MAX:
        raise ValidationError({"scheduled_at": [f"At most {SCHEDULE_AHEAD_MAX.days} days ahead."]})
    _require_status(campaign, EDITABLE, "scheduled")
    _raise_problems(campaign)
    campaign.status = CampaignStatus.SCHEDULED
    campaign.scheduled_at = scheduled_at
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    return campaign


def campaigns_start_due(*, now: datetime.datetime | None = None) -> int:
    """Celery beat: start the scheduled campaigns that fell due, each under its row lock so two beats
    can't both start one; one no longer ready goes back to draft, with the reasons logged. Also
    re-queues the snapshot of a campaign whose start task was lost. Returns how many it started."""
    now = now or timezone.now()
    started = 0
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
    for pk in due.order_by("scheduled_at").values_list("pk", flat=True)[:DUE_BATCH]:
        with transaction.atomic():
            campaign = (
                _for_update(skip_locked=True)
                .filter(pk=pk, status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
                .first()
            )
            if campaign is None:
                continue
            if problems := campaign_problems(campaign):
                log.warning("campaign_schedule_not_ready", campaign_id=pk, problems=problems)
                campaign.status = CampaignStatus.DRAFT
                campaign.save(update_fields=["status", "updated_at"])
                continue
            _mark_sending(campaign, now)
            started += 1
    stalled = Campaign.objects.filter(
        status__in=(CampaignStatus.SENDING, CampaignStatus.PAUSED), recipients=0, started_at__lt=now - START_GRACE
    )
    for pk in stalled.values_list("pk", flat=True)[:DUE_BATCH]:
        _enqueue_start(pk)
    return started


def _variants(campaign: Campaign, n: int) -> list[str]:
    """Each row's subject: with an A/B test, `ab_test_percent`% of rows (an even number, picked at
    random but the same for the same campaign) split a/b, the rest "" to wait for the winner;
    without one, all "a". A share too small to split means no test."""
    test = n * campaign.ab_test_percent // 100
    test -= test % 2
    if test < 2:
        return ["a"] * n
    order = list(range(n))
    random.Random(campaign.pk).shuffle(order)  # noqa: S311 — reproducible on purpose, nothing secret
    variants = [""] * n
    for k, index in enumerate(order[:test]):
        variants[index] = "ab"[k % 2]
    return variants


def campaign_start(*, campaign_id: int) -> int:
    """The audience snapshot: one ledger row per sendable contact, written in one pass (COPY on
    PostgreSQL) in the transaction that records the recipients and emits campaign.started; delivery
    is dispatched once it commits. Returns the rows written: 0 when the campaign is not sending (or
    paused) or already has its rows, so running it twice is harmless."""
    with transaction.atomic():
        campaign = _for_update().filter(pk=campaign_id).first()
        if (
            campaign is None
            or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED)
            or campaign.recipients
            or EmailSend.objects.filter(campaign=campaign).exists()
        ):
            return 0
        try:
            if campaign.sender is None:
                raise ValidationError({"sender": ["The campaign lost its sender."]})
            audience = campaign_audience(campaign.workspace, campaign.audience).order_by("pk")
            contacts = list(audience.values_list("pk", "email"))
        except ValidationError as exc:  # a segment's tag or field was deleted since it was sent
            log.warning("campaign_start_refused", campaign_id=campaign_id, problems=exc.message_dict)
            campaign.status = CampaignStatus.DRAFT
            campaign.save(update_fields=["status", "updated_at"])
            return 0
        now = timezone.now()
        if not contacts:
            campaign.status, campaign.finished_at = CampaignStatus.SENT, now
            campaign.save(update_fields=["status", "finished_at", "updated_at"])
            emit(
                workspace=campaign.workspace_id,
                type=CAMPAIGN_FINISHED,
                payload={"campaign_id": campaign.pk, "status": campaign.status},
                subject=campaign,
            )
            return 0

        variants = _variants(campaign, len(contacts))
        subjects = {"a": campaign.subject, "b": campaign.subject_b, "": campaign.subject}
        from_email, workspace_id, pk = sender_address(campaign.sender), campaign.workspace_id, campaign.pk
        kind, queued = SendKind.CAMPAIGN.value, SendStatus.QUEUED.value
        # Written in slices, all in this transaction: a large audience's rows never sit in memory at once.
        for first in range(0, len(contacts), SNAPSHOT_SLICE):
            rows = [
                (
                    workspace_id,
                    contact_id,
                    kind,
                    pk,
                    "",
                    variant,
                    f"campaign:{pk}:{contact_id}",
                    new_send_token(),
                    from_email,
                    email,
                    subjects[variant],
                    {},
                    "",
                    queued,
                    0,
                    "",
                    now,
                    0,
                    0,
                    0,
                )
                for (contact_id, email), variant in zip(
                    contacts[first : first + SNAPSHOT_SLICE], variants[first : first + SNAPSHOT_SLICE], strict=True
                )
            ]
            bulk_insert(EmailSend, SNAPSHOT_FIELDS, rows)
        campaign.recipients = len(contacts)
        fields = ["recipients", "updated_at"]
        if "" in variants:
            campaign.ab_decide_at = now + datetime.timedelta(minutes=campaign.ab_wait_minutes)
            fields.append("ab_decide_at")
        campaign.save(update_fields=fields)
        emit(
            workspace=workspace_id,
            type=CAMPAIGN_STARTED,
            payload={"campaign_id": pk, "recipients": len(contacts)},
            subject=campaign,
        )
        if campaign.status == CampaignStatus.SENDING:
            campaign_dispatch(campaign=campaign)
    return len(contacts)


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Workers stop claiming its rows; those already handed to a backend are sent."""
    campaign = _locked(campaign)
    _require_status(campaign, (CampaignStatus.SENDING,), "paused")
    campaign.status = CampaignStatus.PAUSED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    campaign = _locked(campaign)
    _require_status(campaign, (CampaignStatus.PAUSED,), "resumed")
    campaign.status = CampaignStatus.SENDING
    campaign.save(update_fields=["status", "updated_at"])
    if campaign.recipients:
        campaign_dispatch(campaign=campaign)
    else:  # paused before its snapshot was taken
        transaction.on_commit(lambda: _enqueue_start(campaign.pk))
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """Stop for good: rows still queued are cancelled in one UPDATE; rows a worker is handing over
    finish."""
    campaign = _locked(campaign)
    _require_status(campaign, (CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED), "cancelled")
    campaign.status = CampaignStatus.CANCELLED
    campaign.finished_at = timezone.now()
    campaign.save(update_fields=["status", "finished_at", "updated_at"])
    EmailSend.objects.filter(campaign=campaign, status=SendStatus.QUEUED).update(status=SendStatus.CANCELLED)
    emit(
        workspace=campaign.workspace_id,
        type=CAMPAIGN_FINISHED,
        payload={"campaign_id": campaign.pk, "status": campaign.status},
        subject=campaign,
    )
    return campaign


@transaction.atomic
def campaign_test_send(*, campaign: Campaign, email: str) -> EmailSend:
    """The campaign as the sample contact would get it, to `email`, its subject marked "[Test] ".
    Sent as a transactional message (it reaches any address), from the campaign's sender once that
    is verified, from the platform's address before."""
    address = email_normalize(email)
    campaign = Campaign.objects.select_related("workspace", "sender").get(pk=campaign.pk)
    recent = EmailSend.objects.filter(
        workspace_id=campaign.workspace_id, ref__startswith="test:", queued_at__gte=timezone.now() - TEST_SENDS_PER
    )
    if recent.count() >= TEST_SENDS_MAX:
        raise ValidationError({"email": [f"At most {TEST_SENDS_MAX} test emails an hour; try again later."]})
    if not (campaign.content or {}).get("blocks"):
        raise ValidationError({"content": ["Add at least one block to the email."]})
    rendered = campaign_render(campaign, campaign_sample_contact(campaign))
    sender = campaign.sender if campaign.sender is not None and campaign.sender.is_verified else None
    send, _ = email_send_create(
        workspace=campaign.workspace,
        kind=SendKind.TRANSACTIONAL,
        idempotency_key=f"test:{campaign.pk}:{uuid.uuid4().hex}",
        subject=f"[Test] {rendered.subject or campaign.name}"[:SUBJECT_MAX],
        html=rendered.html,
        text=rendered.text,
        to_email=address,
        sender=sender,
        ref=f"test:{campaign.pk}",
    )
    return send


# --- A/B ---------------------------------------------------------------------------------------------


def _winner(campaign: Campaign) -> str:
    """The better subject by the campaign's metric (unique opens or clicks over messages handed
    over); a tie, or nothing to compare yet, goes to a."""
    counted = "first_opened_at" if campaign.ab_metric == AbMetric.OPENS else "first_clicked_at"
    rates = {}
    for variant in ("a", "b"):
        rows = EmailSend.objects.filter(campaign=campaign, variant=variant).handed_over()
        sent = rows.count()
        rates[variant] = rows.filter(**{f"{counted}__isnull": False}).count() / sent if sent else 0.0
    return "b" if rates["b"] > rates["a"] else "a"


def _ab_due(now: datetime.datetime) -> Q:
    return Q(status=CampaignStatus.SENDING, ab_winner="", ab_decide_at__lte=now)


def campaign_ab_decide(*, campaign_id: int, now: datetime.datetime | None = None) -> str:
    """Once the test's wait is over: record the winner, give the rows waiting for it the winner's
    subject, and dispatch them. Returns the winner, or "" when there was nothing to decide."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(_ab_due(now), pk=campaign_id).first()
        if campaign is None:
            return ""
        winner = _winner(campaign)
        campaign.ab_winner = winner
        campaign.save(update_fields=["ab_winner", "updated_at"])
        EmailSend.objects.filter(campaign=campaign, variant="").update(
            variant=winner, subject=campaign.subject if winner == "a" else campaign.subject_b
        )
        campaign_dispatch(campaign=campaign)
    return winner


def campaigns_ab_decide_due(*, now: datetime.datetime | None = None) -> int:
    """Celery beat: decide every A/B test whose wait is over. Returns how many it decided."""
    now = now or timezone.now()
    due = Campaign.objects.filter(_ab_due(now))
    return sum(bool(campaign_ab_decide(campaign_id=pk, now=now)) for pk in due.values_list("pk", flat=True)[:DUE_BATCH])
