"""Reading campaigns: who a campaign's audience is, its progress while it sends, its report, its
list with key figures, and previews.

An audience is {"segments": [id…], "tags": [id…], "exclude_segments": [id…], "exclude_tags": [id…]}:
the sendable contacts in any of the segments or having any of the tags (everyone sendable when it
names neither), minus those in an excluded segment or with an excluded tag.
"""

import datetime
import operator
from functools import reduce

from django.core.exceptions import ValidationError
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDay, TruncHour
from django.utils import timezone

from campaigns.content import RenderedEmail, contact_context
from campaigns.delivery.messages import MessageBuilder
from campaigns.models import (
    HANDED_OVER,
    PENDING,
    Campaign,
    EmailEngagement,
    EmailSend,
    EngagementKind,
    SendStatus,
)
from core.ids import is_object_id
from core.templating import TemplateRenderError
from crm.models import ActivityKind, Contact, ContactActivity, ContactTag, Segment, Tag
from crm.segments import rules_q

AUDIENCE_KEYS = ("segments", "tags", "exclude_segments", "exclude_tags")
AUDIENCE_IDS_MAX = 100
#: The report's chart: hourly buckets for this long after the start, daily after.
HOURLY_FOR = datetime.timedelta(hours=48)
TOP_LINKS = 50
#: Who a preview shows when no contact is picked and the workspace has none yet.
SAMPLE_CONTACT = {"email": "jane.doe@example.com", "first_name": "Jane", "last_name": "Doe", "company": "Example Inc."}


def _audience_resolve(workspace, audience) -> tuple[dict, dict[int, Segment]]:
    """The audience checked against the workspace (ids de-duplicated, every key present), and its
    segments by id. Raises one ValidationError naming each bad entry, e.g. `audience.segments.0`."""
    if audience is None:
        audience = {}
    if not isinstance(audience, dict):
        raise ValidationError({"audience": [f"Expected an object with any of: {', '.join(AUDIENCE_KEYS)}."]})
    errors: dict[str, list[str]] = {}
    for key in audience:
        if key not in AUDIENCE_KEYS:
            errors[f"audience.{key}"] = [f"Unknown key; an audience has: {', '.join(AUDIENCE_KEYS)}."]
    given: dict[str, list] = {}
    for key in AUDIENCE_KEYS:
        values = audience.get(key) or []
        if not isinstance(values, list):
            errors[f"audience.{key}"] = ["Expected a list of ids."]
        elif len(values) > AUDIENCE_IDS_MAX:
            errors[f"audience.{key}"] = [f"At most {AUDIENCE_IDS_MAX} ids."]
        else:
            given[key] = values
    for key, values in given.items():
        for index, value in enumerate(values):
            if not is_object_id(value):
                errors[f"audience.{key}.{index}"] = [f"Expected an id (a positive whole number), not {value!r}."]
    cleaned = {key: list(dict.fromkeys(v for v in given.get(key, []) if is_object_id(v))) for key in AUDIENCE_KEYS}

    segment_ids = cleaned["segments"] + cleaned["exclude_segments"]
    segments = {segment.pk: segment for segment in Segment.objects.for_workspace(workspace).filter(pk__in=segment_ids)}
    tag_ids = set(
        Tag.objects.for_workspace(workspace)
        .filter(pk__in=cleaned["tags"] + cleaned["exclude_tags"])
        .values_list("pk", flat=True)
    )
    for key, values in given.items():
        found, noun = (segments, "segment") if key.endswith("segments") else (tag_ids, "tag")
        for index, value in enumerate(values):
            if is_object_id(value) and value not in found:
                errors[f"audience.{key}.{index}"] = [f"No {noun} with id {value} in this workspace."]
    if errors:
        raise ValidationError(errors)
    return cleaned, segments


def audience_clean(*, workspace, audience) -> dict:
    """The audience as stored: every key present, ids checked to exist in the workspace."""
    return _audience_resolve(workspace, audience)[0]


def _segment_q(workspace, segment: Segment, path: str) -> Q:
    try:
        return rules_q(workspace=workspace, rules=segment.rules)
    except ValidationError as exc:  # a tag or custom field it names was deleted since
        message = f"The segment {segment.name!r} has a rule to fix: {' '.join(exc.messages)}"
        raise ValidationError({path: [message]}) from None


def campaign_audience(workspace, audience) -> QuerySet[Contact]:
    """The sendable contacts an audience reaches (see the module docstring). Checked first: a
    ValidationError names a bad id, or a segment whose rules no longer hold, by its path."""
    audience, segments = _audience_resolve(workspace, audience)
    contacts = Contact.objects.for_workspace(workspace).sendable()
    included, everyone = [], not (audience["segments"] or audience["tags"])
    for index, pk in enumerate(audience["segments"]):
        q = _segment_q(workspace, segments[pk], f"audience.segments.{index}")
        if not q:  # a segment without rules holds everyone
            everyone = True
        included.append(q)
    if audience["tags"]:
        included.append(Q(Exists(ContactTag.objects.filter(contact_id=OuterRef("pk"), tag_id__in=audience["tags"]))))
    if not everyone:
        contacts = contacts.filter(reduce(operator.or_, included))
    for index, pk in enumerate(audience["exclude_segments"]):
        q = _segment_q(workspace, segments[pk], f"audience.exclude_segments.{index}")
        if not q:
            return contacts.none()
        # NOT EXISTS rather than NOT (…): a rule on a missing custom field is NULL, and NOT NULL
        # would drop the contact from the audience instead of keeping it.
        contacts = contacts.filter(~Exists(Contact.objects.filter(q, pk=OuterRef("pk"))))
    if audience["exclude_tags"]:
        excluded = ContactTag.objects.filter(contact_id=OuterRef("pk"), tag_id__in=audience["exclude_tags"])
        contacts = contacts.filter(~Exists(excluded))
    return contacts


def campaign_recipient_count(workspace, audience) -> int:
    """How many contacts the audience reaches now: the editor's live count."""
    return campaign_audience(workspace, audience).order_by().count()


def rate(part: int, whole: int) -> float:
    """part / whole to four places; 0 when there is no whole."""
    return round(part / whole, 4) if whole else 0.0


def campaign_progress(campaign: Campaign) -> dict:
    """Where sending stands, for a live progress bar: rows by status, how many are done (handed
    over, failed, skipped or cancelled), and the share done of the audience snapshot."""
    counts = dict.fromkeys(SendStatus.values, 0)
    for status, n in (
        EmailSend.objects.filter(campaign=campaign).order_by().values_list("status").annotate(n=Count("id"))
    ):
        counts[status] = n
    total = sum(counts.values())
    pending = sum(counts[status] for status in PENDING)
    waiting = 0
    if campaign.ab_test_percent and not campaign.ab_winner:
        waiting = EmailSend.objects.filter(campaign=campaign, variant="", status=SendStatus.QUEUED).count()
    return {
        "status": campaign.status,
        "recipients": campaign.recipients,
        "counts": counts,
        "sent": sum(counts[status] for status in HANDED_OVER),
        "done": total - pending,
        "pending": pending,
        "waiting_for_winner": waiting,
        "percent": round(100 * (total - pending) / total, 1) if total else 0.0,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
        "ab_decide_at": campaign.ab_decide_at,
        "ab_winner": campaign.ab_winner,
    }


def _figures(rows: QuerySet[EmailSend]) -> dict:
    figures = rows.order_by().aggregate(
        recipients=Count("id"),
        sent=Count("id", filter=Q(status__in=HANDED_OVER)),
        delivered=Count("id", filter=Q(delivered_at__isnull=False) | Q(status=SendStatus.DELIVERED)),
        unique_opens=Count("id", filter=Q(first_opened_at__isnull=False)),
        unique_clicks=Count("id", filter=Q(first_clicked_at__isnull=False)),
        opens=Coalesce(Sum("open_count"), 0),
        machine_opens=Coalesce(Sum("machine_open_count"), 0),
        clicks=Coalesce(Sum("click_count"), 0),
        bounces=Count("id", filter=Q(status=SendStatus.BOUNCED)),
        complaints=Count("id", filter=Q(status=SendStatus.COMPLAINED)),
        failed=Count("id", filter=Q(status=SendStatus.FAILED)),
        skipped=Count("id", filter=Q(status=SendStatus.SKIPPED)),
        cancelled=Count("id", filter=Q(status=SendStatus.CANCELLED)),
    )
    # Rates over the messages that reached an inbox: a bounce was never seen.
    reached = figures["sent"] - figures["bounces"]
    figures["open_rate"] = rate(figures["unique_opens"], reached)
    figures["click_rate"] = rate(figures["unique_clicks"], reached)
    figures["click_to_open_rate"] = rate(figures["unique_clicks"], figures["unique_opens"])
    return figures


def _unsubscribes(campaign: Campaign) -> int:
    """Contacts who unsubscribed through one of this campaign's messages: the timeline's unsubscribe
    entry names the message it came from (data.send_id). Read from the workspace's unsubscribes,
    far fewer than a campaign's messages; compared as text, so an odd value can't break the count."""
    sends = EmailSend.objects.filter(campaign=campaign).annotate(pk_text=Cast("pk", CharField())).values("pk_text")
    return (
        ContactActivity.objects.filter(workspace_id=campaign.workspace_id, kind=ActivityKind.UNSUBSCRIBED)
        .annotate(send_ref=KeyTextTransform("send_id", "data"))
        .filter(send_ref__in=sends)
        .values("contact_id")
        .distinct()
        .count()
    )


def _timeline(campaign: Campaign) -> list[dict]:
    """Opens (people, not machines) and clicks over time: per hour for the first 48 hours after the
    start, then per day in the workspace's time zone; hours without any are listed as zeros."""
    if campaign.started_at is None:
        return []
    start = campaign.started_at
    switch = start + HOURLY_FOR
    engagements = EmailEngagement.objects.filter(campaign=campaign).exclude(kind=EngagementKind.OPEN, machine=True)
    zone = campaign.workspace.zone
    buckets: dict[datetime.datetime, dict] = {}
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < min(switch, timezone.now()):
        buckets[hour] = {"at": hour, "period": "hour", "opens": 0, "clicks": 0}
        hour += datetime.timedelta(hours=1)
    for period, rows, trunc in (
        ("hour", engagements.filter(at__lt=switch), TruncHour("at", tzinfo=datetime.UTC)),
        ("day", engagements.filter(at__gte=switch), TruncDay("at", tzinfo=zone)),
    ):
        for bucket, kind, n in (
            rows.order_by().annotate(bucket=trunc).values_list("bucket", "kind").annotate(n=Count("id"))
        ):
            entry = buckets.setdefault(bucket, {"at": bucket, "period": period, "opens": 0, "clicks": 0})
            entry["opens" if kind == EngagementKind.OPEN else "clicks"] += n
    return sorted(buckets.values(), key=operator.itemgetter("at"))


def campaign_problem_sends(*, campaign: Campaign, limit: int = 50) -> QuerySet:
    """The campaign's bounced and complained messages, newest first, with their contacts."""
    return (
        EmailSend.objects.filter(campaign=campaign, status__in=(SendStatus.BOUNCED, SendStatus.COMPLAINED))
        .select_related("contact")
        .order_by("-sent_at", "-id")[:limit]
    )


def campaign_stats(campaign: Campaign) -> dict:
    """The campaign's report: totals and rates, unsubscribes, clicks per link, opens and clicks over
    time, and each A/B subject's figures (after the decision the winner's include the rest of the
    audience, who got its subject)."""
    rows = EmailSend.objects.filter(campaign=campaign)
    stats = _figures(rows)
    stats["unsubscribes"] = _unsubscribes(campaign)
    stats["unsubscribe_rate"] = rate(stats["unsubscribes"], stats["sent"] - stats["bounces"])
    stats["links"] = list(
        EmailEngagement.objects.filter(campaign=campaign, kind=EngagementKind.CLICK)
        .order_by()
        .values("url")
        .annotate(clicks=Count("id"), unique_clicks=Count("send", distinct=True))
        .order_by("-clicks", "url")[:TOP_LINKS]
    )
    stats["timeline"] = _timeline(campaign)
    stats["ab"] = None
    if campaign.ab_test_percent:
        stats["ab"] = {
            "metric": campaign.ab_metric,
            "decide_at": campaign.ab_decide_at,
            "winner": campaign.ab_winner,
            "variants": {
                variant: {"subject": subject, **_figures(rows.filter(variant=variant))}
                for variant, subject in (("a", campaign.subject), ("b", campaign.subject_b))
            },
        }
    return stats


def _count_of(rows: QuerySet[EmailSend]) -> Coalesce:
    counted = rows.filter(campaign_id=OuterRef("pk")).order_by().values("campaign_id").annotate(n=Count("id"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), Value(0))


def campaign_list(*, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """`queryset`'s campaigns (already scoped to a workspace) with their sender and key figures
    annotated — sent, unique opens and clicks, bounces — each a subquery run for the listed rows only."""
    sends = EmailSend.objects.all()
    return queryset.select_related("sender").annotate(
        sent_count=_count_of(sends.filter(status__in=HANDED_OVER)),
        unique_open_count=_count_of(sends.filter(first_opened_at__isnull=False)),
        unique_click_count=_count_of(sends.filter(first_clicked_at__isnull=False)),
        bounce_count=_count_of(sends.filter(status=SendStatus.BOUNCED)),
        reached_count=F("sent_count") - F("bounce_count"),
    )


def campaign_sample_contact(campaign: Campaign) -> Contact:
    """Who a preview or test send shows when no contact is picked: the workspace's newest sendable
    contact, or a made-up one (unsaved) when it has none."""
    contact = Contact.objects.for_workspace(campaign.workspace_id).sendable().order_by("-created_at", "-id").first()
    return contact or Contact(workspace_id=campaign.workspace_id, **SAMPLE_CONTACT)


def campaign_render(
    campaign: Campaign, contact: Contact, *, variant: str = "a", unsubscribe_url: str = "#"
) -> RenderedEmail:
    """The campaign as `contact` would get it. A template that fails at render time (a sandbox
    refusal, a filter given the wrong type) is a ValidationError on `content`."""
    context = {
        "contact": contact_context(contact),
        "workspace": {"name": campaign.workspace.name},
        "unsubscribe_url": unsubscribe_url,
    }
    try:
        # Compiled as delivery compiles it, so what is previewed is what is sent.
        compiled = MessageBuilder(workspace_id=campaign.workspace_id, campaign=campaign).compiled
        return compiled.render(context, variant=variant)
    except TemplateRenderError as exc:
        raise ValidationError({"content": [f"The email could not be rendered: {exc}"]}) from None


def campaign_preview(campaign: Campaign, contact: Contact | None = None) -> RenderedEmail:
    return campaign_render(campaign, contact or campaign_sample_contact(campaign))
