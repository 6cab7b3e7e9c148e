"""The demo workspace's email: sending settings with a postal address, a verified sender, a campaign
sent nine days ago with the opens, clicks, bounces and unsubscribes of a real send, and a draft.

Like crm.demo, rows are bulk-created rather than sent through the services: the ledger and its
engagements are shaped like delivery's and tracking's own, spread over time the way replies to a
newsletter arrive (most in the first hours, a tail over the following days), so the report's charts
look like a real campaign's. Draws come from a seeded generator; a run only adds what is missing.
"""

import datetime
import random
import secrets
import zoneinfo

from django.conf import settings
from django.templatetags.static import static
from django.utils import timezone

from campaigns.content import content_clean
from campaigns.models import (
    AbMetric,
    Campaign,
    CampaignStatus,
    EmailEngagement,
    EmailSend,
    EngagementKind,
    Sender,
    SenderStatus,
    SendKind,
    SendStatus,
)
from campaigns.services.engagement import UNSUBSCRIBE_SOURCE
from campaigns.services.senders import sending_settings_get
from campaigns.tracking import new_send_token
from crm.demo import NEWSLETTER_NO_PURCHASE
from crm.models import ActivityKind, Contact, ContactActivity, ContactStatus, Segment

SEED = 2027
POSTAL_ADDRESS = "Acme Marketing Lda.\nRua das Flores 28, 2º\n1200-195 Lisboa\nPortugal"
SENDER = ("Maya at Acme", "hello@acme-marketing.example")
SENT_NAME = "Spring newsletter"
DRAFT_NAME = "Summer offer: free performance audit"
SITE = "https://acme-marketing.example"

SENT_DAYS_AGO = 9
#: Shares of the delivered messages opened and clicked by a person (clicks are a share of all delivered).
OPEN_RATE = 0.41
CLICK_RATE = 0.085
#: Of the openers, how many open again, and the share of opens fetched by a privacy proxy on arrival.
REOPEN_RATE = 0.35
MACHINE_OPEN_RATE = 0.12
BOUNCES = 3
COMPLAINTS = 1
UNSUBSCRIBES = 2
AB_PERCENT = 20
AB_WAIT_MINUTES = 240

SENT_LINKS = (
    (f"{SITE}/blog/landing-page-tests", 0.55),
    (f"{SITE}/webinar", 0.3),
    (f"{SITE}/case-studies/lumen-health", 0.15),
)


def _content(blocks: list[dict]) -> dict:
    return {"blocks": blocks}


def _columns(*columns: list[dict]) -> dict:
    return {"type": "columns", "columns": [{"blocks": blocks} for blocks in columns]}


def _sent_content() -> dict:
    image = f"{settings.EMAIL_PUBLIC_URL}{static('builder/media/saas-dashboard.svg')}"
    return _content(
        [
            {"type": "heading", "text": "5 landing page tests worth running this spring", "level": 1},
            {
                "type": "text",
                "text": '<p>Hi {{ contact.first_name | default("there") }},</p><p>We ran 212 landing page '
                "experiments for our clients last quarter. Five of them moved conversion rates by more than 20%, "
                "and <strong>none needed a redesign</strong>. Here is what they were, and how to run them on your "
                "own pages.</p>",
            },
            {
                "type": "image",
                "src": image,
                "alt": "Five highlighted areas of a landing page",
                "link": SENT_LINKS[0][0],
            },
            {"type": "button", "label": "Read the five tests", "url": SENT_LINKS[0][0], "background": "#5046e5"},
            {"type": "divider"},
            _columns(
                [
                    {"type": "heading", "text": "Live webinar, 45 minutes", "level": 3},
                    {
                        "type": "text",
                        "text": "<p>Paid social that pays back: what we changed for three clients in 2026. "
                        f'<a href="{SENT_LINKS[1][0]}">Save your seat</a></p>',
                    },
                ],
                [
                    {"type": "heading", "text": "Case study", "level": 3},
                    {
                        "type": "text",
                        "text": "<p>How Lumen Health cut its cost per lead by 38% in one quarter. "
                        f'<a href="{SENT_LINKS[2][0]}">Read the story</a></p>',
                    },
                ],
            ),
            {"type": "footer", "text": "You get this because you subscribed to Signal & Noise on our site."},
        ]
    )


DRAFT_CONTENT = _content(
    [
        {"type": "heading", "text": "Is your ad spend working as hard as you are?", "level": 1},
        {
            "type": "text",
            "text": '<p>Hi {{ contact.first_name | default("there") }},</p><p>This summer we are opening ten free '
            'performance audits for {{ contact.company | default("growing teams") }}. In one call we look at your '
            "paid search and social accounts and come back with <strong>the three changes that would save you the "
            "most</strong>, yours to keep whether or not you work with us.</p>",
        },
        {"type": "button", "label": "Book my free audit", "url": f"{SITE}/#contact", "background": "#5046e5"},
        {"type": "divider"},
        _columns(
            [
                {"type": "heading", "text": "What you get", "level": 3},
                {"type": "text", "text": "<p>A 30-minute call, a written summary and a prioritised list of fixes.</p>"},
            ],
            [
                {"type": "heading", "text": "What we need", "level": 3},
                {"type": "text", "text": "<p>Read-only access to your ad accounts for one week. Nothing else.</p>"},
            ],
        ),
        {"type": "footer", "text": "Questions? Reply to this email; it reaches Maya directly."},
    ]
)


def _sending_setup(workspace) -> Sender:
    sending = sending_settings_get(workspace=workspace)
    if not sending.postal_address:
        sending.postal_address = POSTAL_ADDRESS
        sending.save(update_fields=["postal_address", "updated_at"])
    from_name, from_email = SENDER
    sender = Sender.objects.for_workspace(workspace).filter(from_email__iexact=from_email).first()
    if sender is None:
        now = timezone.now()
        sender = Sender.objects.create(
            workspace=workspace,
            from_name=from_name,
            from_email=from_email,
            reply_to=from_email,
            status=SenderStatus.VERIFIED,
            verification_sent_at=now,
            verified_at=now,
        )
    return sender


def _start(workspace, now: datetime.datetime) -> datetime.datetime:
    """Nine days ago at 10:00 in the workspace's time zone: when newsletters go out."""
    local = now.astimezone(zoneinfo.ZoneInfo(workspace.timezone)) - datetime.timedelta(days=SENT_DAYS_AGO)
    return local.replace(hour=10, minute=0, second=0, microsecond=0)


def _reply_delay(rng: random.Random) -> datetime.timedelta:
    """How long after arrival a person opens: half within about three hours, a tail over four days."""
    return datetime.timedelta(minutes=min(rng.expovariate(1 / 260), 4 * 24 * 60))


class _SentCampaign:
    def __init__(self, rng: random.Random, campaign: Campaign, now: datetime.datetime):
        self.rng = rng
        self.campaign = campaign
        self.now = now
        self.sends: list[EmailSend] = []
        self.engagements: list[EmailEngagement] = []

    def send(self, contact: Contact, *, variant: str, at: datetime.datetime, status: str) -> EmailSend:
        campaign = self.campaign
        row = EmailSend(
            workspace_id=campaign.workspace_id,
            contact=contact,
            kind=SendKind.CAMPAIGN,
            campaign=campaign,
            variant=variant,
            idempotency_key=f"campaign:{campaign.pk}:{contact.pk}",
            token=new_send_token(),
            from_email=f"{campaign.sender.from_name} <{campaign.sender.from_email}>",
            to_email=contact.email,
            subject=campaign.subject_b if variant == "b" else campaign.subject,
            message_id=f"<{secrets.token_hex(12)}@acme-marketing.example>",
            status=status,
            attempts=1,
            queued_at=campaign.started_at,
            sent_at=at,
            # Recorded: the demo's timelines come from the CRM demo, whose scores add up without these.
            recorded_at=at,
        )
        if status == SendStatus.BOUNCED:
            row.error = "550 5.1.1 The email account that you tried to reach does not exist."
        else:
            row.delivered_at = at + datetime.timedelta(seconds=self.rng.randint(1, 20))
        self.sends.append(row)
        return row

    def engage(self, row: EmailSend, kind: str, at: datetime.datetime, *, url: str = "", machine: bool = False):
        self.engagements.append(
            EmailEngagement(
                workspace_id=row.workspace_id,
                send=row,
                campaign=self.campaign,
                kind=kind,
                url=url,
                machine=machine,
                at=at,
            )
        )

    def opens(self, row: EmailSend, *, clicks: bool) -> None:
        rng = self.rng
        arrived = row.delivered_at
        if rng.random() < MACHINE_OPEN_RATE:
            row.machine_open_count = 1
            fetched = arrived + datetime.timedelta(seconds=rng.randint(2, 40))
            self.engage(row, EngagementKind.OPEN, fetched, machine=True)
        opened = min(arrived + _reply_delay(rng), self.now)
        row.first_opened_at, row.open_count = opened, 1
        self.engage(row, EngagementKind.OPEN, opened)
        if rng.random() < REOPEN_RATE:
            for _ in range(rng.randint(1, 3)):
                row.open_count += 1
                self.engage(row, EngagementKind.OPEN, min(opened + _reply_delay(rng) * 3, self.now))
        if clicks:
            links, weights = zip(*SENT_LINKS, strict=True)
            for index in range(1 if rng.random() < 0.75 else 2):
                clicked = min(opened + datetime.timedelta(seconds=rng.randint(20, 900) * (index + 1)), self.now)
                row.first_clicked_at = row.first_clicked_at or clicked
                row.click_count += 1
                self.engage(row, EngagementKind.CLICK, clicked, url=rng.choices(links, weights=weights)[0])


def _sent_campaign(rng: random.Random, workspace, sender: Sender, actor, now: datetime.datetime) -> None:
    start = _start(workspace, now)
    contacts = list(Contact.objects.for_workspace(workspace).order_by("pk"))
    active = [contact for contact in contacts if contact.status == ContactStatus.ACTIVE]
    # Some of the contacts who are suppressed today were suppressed by this campaign.
    bounced = [contact for contact in contacts if contact.status == ContactStatus.BOUNCED][:BOUNCES]
    complained = [contact for contact in contacts if contact.status == ContactStatus.COMPLAINED][:COMPLAINTS]
    unsubscribed = [contact for contact in contacts if contact.status == ContactStatus.UNSUBSCRIBED][:UNSUBSCRIBES]
    audience = active + complained + unsubscribed + bounced
    rng.shuffle(audience)

    test_size = len(audience) * AB_PERCENT // 100 // 2
    decided = start + datetime.timedelta(minutes=AB_WAIT_MINUTES)
    campaign = Campaign.objects.create(
        workspace=workspace,
        name=SENT_NAME,
        subject="5 landing page tests worth running this spring",
        subject_b='{{ contact.first_name | default("Hi") }}, these 5 tests lifted conversions 20%+',
        preheader="No redesign needed: what 212 experiments taught us.",
        sender=sender,
        content=content_clean(_sent_content()),
        audience={},
        status=CampaignStatus.SENT,
        ab_test_percent=AB_PERCENT,
        ab_metric=AbMetric.OPENS,
        ab_wait_minutes=AB_WAIT_MINUTES,
        ab_decide_at=decided,
        ab_winner="b",
        recipients=len(audience),
        started_at=start,
        finished_at=decided + datetime.timedelta(minutes=3),
        created_by=actor,
    )
    built = _SentCampaign(rng, campaign, now)
    for index, contact in enumerate(audience):
        variant = "a" if index < test_size else "b" if index < 2 * test_size else ""
        sent_at = (start if variant else decided) + datetime.timedelta(milliseconds=40 * index)
        status = SendStatus.BOUNCED if contact in bounced else SendStatus.DELIVERED
        row = built.send(contact, variant=variant, at=sent_at, status=status)
        if status == SendStatus.BOUNCED:
            continue
        # Subject B won its test: its group opened a little more.
        lift = 1.15 if variant == "b" else 1.0
        suppressed_later = contact in complained or contact in unsubscribed
        if suppressed_later or rng.random() < OPEN_RATE * lift:
            built.opens(row, clicks=rng.random() < CLICK_RATE / OPEN_RATE)
        if contact in complained:
            row.status = SendStatus.COMPLAINED
    EmailSend.objects.bulk_create(built.sends, batch_size=500)
    EmailEngagement.objects.bulk_create(built.engagements, batch_size=1000)
    _unsubscribed_from([row for row in built.sends if row.contact in unsubscribed])
    created = start - datetime.timedelta(days=2)
    Campaign.objects.filter(pk=campaign.pk).update(created_at=created, updated_at=campaign.finished_at)


def _unsubscribed_from(rows: list[EmailSend]) -> None:
    """The unsubscribe on these contacts' timelines (the CRM's demo made one at a random moment) now
    follows their reading this campaign, and names the message, as the unsubscribe page records it."""
    for row in rows:
        at = (row.first_opened_at or row.delivered_at) + datetime.timedelta(minutes=3)
        entry = {
            "ref": "status",
            "at": at,
            "source": UNSUBSCRIBE_SOURCE,
            "data": {
                "field": "status",
                "from": ContactStatus.ACTIVE,
                "to": ContactStatus.UNSUBSCRIBED,
                "reason": f"Unsubscribed from the email “{row.subject}”.",
                "send_id": row.pk,
            },
        }
        timeline = ContactActivity.objects.filter(contact=row.contact, kind=ActivityKind.UNSUBSCRIBED)
        if not timeline.update(**entry):
            ContactActivity.objects.create(
                workspace_id=row.workspace_id, contact=row.contact, kind=ActivityKind.UNSUBSCRIBED, **entry
            )


def _draft_campaign(workspace, sender: Sender, actor) -> None:
    segment = Segment.objects.for_workspace(workspace).filter(name=NEWSLETTER_NO_PURCHASE).first()
    Campaign.objects.create(
        workspace=workspace,
        name=DRAFT_NAME,
        subject='{{ contact.first_name | default("Hi") }}, a free audit of your ad accounts',
        preheader="Ten spots this summer: three fixes you keep, whether or not we work together.",
        sender=sender,
        content=content_clean(DRAFT_CONTENT),
        audience={"segments": [segment.pk]} if segment else {},
        created_by=actor,
    )


def demo_campaigns_seed(*, workspace, actor) -> int:
    """Seed the workspace's email (after the CRM's, whose contacts it sends to); returns how many
    campaigns were added (0 when both exist)."""
    rng = random.Random(SEED)  # noqa: S311 -- demo data wants repeatable draws, not secrecy
    now = timezone.now()
    sender = _sending_setup(workspace)
    campaigns = Campaign.objects.for_workspace(workspace)
    added = 0
    if not campaigns.filter(name=SENT_NAME).exists():
        _sent_campaign(rng, workspace, sender, actor, now)
        added += 1
    if not campaigns.filter(name=DRAFT_NAME).exists():
        _draft_campaign(workspace, sender, actor)
        added += 1
    return added
