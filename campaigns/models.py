"""Email: senders, campaigns, and the delivery ledger every message goes through.

`EmailSend` is the ledger: one row per message, written before the message is handed to a backend
and keyed by an idempotency key, so a retry, a resumed campaign or a re-run workflow step finds the
row it already made instead of sending again. Campaign rows are made in one pass when the campaign
starts (its audience snapshot), unique per campaign and contact; workers claim them in batches.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.tenancy import TenantModel, TenantQuerySet


class SendingSettings(TenantModel):
    """A workspace's sending preferences; made with defaults the first time they are read."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="sending_settings")
    #: Printed in the footer of every marketing email (CAN-SPAM, GDPR); a campaign can't go out without it.
    postal_address = models.TextField(blank=True)
    #: Per-recipient open tracking; some countries' consent rules want it off.
    track_opens = models.BooleanField(default=True)
    track_clicks = models.BooleanField(default=True)
    #: Messages per minute this workspace may hand to the backend, across all workers.
    rate_per_minute = models.PositiveIntegerField(default=30_000)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Sending settings of {self.workspace_id}"


class SenderStatus(models.TextChoices):
    PENDING = "pending", "Awaiting verification"
    VERIFIED = "verified", "Verified"


class Sender(TenantModel):
    """A From identity. Verified by a link mailed to the address, proving the workspace receives there."""

    from_name = models.CharField(max_length=100)
    from_email = models.EmailField(max_length=254)
    reply_to = models.EmailField(max_length=254, blank=True)
    status = models.CharField(max_length=16, choices=SenderStatus.choices, default=SenderStatus.PENDING)
    #: SHA-256 of the token in the verification link; the token itself travels once, by email.
    verification_token_hash = models.CharField(max_length=64, blank=True)
    verification_sent_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["from_email", "id"]
        constraints = [
            models.UniqueConstraint("workspace", Lower("from_email"), name="sender_unique_email_ci"),
            models.CheckConstraint(condition=Q(status__in=SenderStatus.values), name="sender_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.from_name} <{self.from_email}>"

    @property
    def is_verified(self) -> bool:
        return self.status == SenderStatus.VERIFIED


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    PAUSED = "paused", "Paused"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class AbMetric(models.TextChoices):
    OPENS = "opens", "Open rate"
    CLICKS = "clicks", "Click rate"


class CampaignQuerySet(TenantQuerySet):
    def editable(self) -> "CampaignQuerySet":
        return self.filter(status__in=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED))


class Campaign(TenantModel):
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=300, blank=True)
    #: The grey line after the subject in most inboxes.
    preheader = models.CharField(max_length=200, blank=True)
    sender = models.ForeignKey(Sender, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns")
    #: {"blocks": [...]} — see campaigns.content for the block types.
    content = models.JSONField(default=dict, blank=True)
    #: {"segments": [id…], "tags": [id…], "exclude_segments": [id…], "exclude_tags": [id…]};
    #: no segment and no tag means every sendable contact.
    audience = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)

    # Subject A/B test: `ab_test_percent` of the audience is split evenly between the two subjects;
    # after `ab_wait_minutes` the better one by `ab_metric` goes to the rest.
    subject_b = models.CharField(max_length=300, blank=True)
    ab_test_percent = models.PositiveSmallIntegerField(default=0)
    ab_metric = models.CharField(max_length=8, choices=AbMetric.choices, default=AbMetric.OPENS)
    ab_wait_minutes = models.PositiveIntegerField(default=240)
    ab_decide_at = models.DateTimeField(null=True, blank=True)
    #: "a" or "b" once decided.
    ab_winner = models.CharField(max_length=1, blank=True)

    #: Rows in the audience snapshot; 0 until the campaign starts.
    recipients = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"),
            models.CheckConstraint(condition=Q(ab_test_percent__lte=50), name="campaign_ab_percent_max"),
            models.CheckConstraint(condition=Q(ab_winner__in=["", "a", "b"]), name="campaign_ab_winner_valid"),
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "-created_at"], name="campaign_workspace_status"),
            # Beat's scans: scheduled campaigns falling due, A/B tests to decide.
            models.Index(fields=["scheduled_at"], condition=Q(status=CampaignStatus.SCHEDULED), name="campaign_due"),
            models.Index(
                fields=["ab_decide_at"],
                condition=Q(status=CampaignStatus.SENDING, ab_winner=""),
                name="campaign_ab_due",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SendKind(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign"
    WORKFLOW = "workflow", "Workflow"
    TRANSACTIONAL = "transactional", "Transactional"


#: Kinds that are marketing: never sent to a contact who isn't sendable (unsubscribed, bounced,
#: complained or unconfirmed), and carrying the unsubscribe headers and footer.
MARKETING_KINDS = frozenset({SendKind.CAMPAIGN, SendKind.WORKFLOW})


class SendStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    #: Being handed to a backend that can't tell whether it took a message cut off mid-call.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    #: Not sent: the contact became unsendable (or was erased) after the row was queued.
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


#: Statuses after which the backend has the message.
HANDED_OVER = frozenset({SendStatus.SENT, SendStatus.DELIVERED, SendStatus.BOUNCED, SendStatus.COMPLAINED})
#: Statuses still waiting for a worker.
PENDING = frozenset({SendStatus.QUEUED, SendStatus.SENDING})


class EmailSendQuerySet(TenantQuerySet):
    def handed_over(self) -> "EmailSendQuerySet":
        return self.filter(status__in=HANDED_OVER)


class EmailSend(TenantModel):
    """One message: claimed and recorded before it is handed to a backend (see module docstring).

    The foreign keys and unique columns have no index of their own: the composite indexes below lead
    with them, and every extra index is paid for on each row of a 100,000-row audience snapshot."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    #: Null once the contact is erased; the row stays, blanked, so campaign counts stay right.
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="email_sends", db_index=False
    )
    kind = models.CharField(max_length=16, choices=SendKind.choices)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="sends", db_index=False
    )
    #: What else sent it: "workflow:<execution>:<node>", "optin:<id>", "test:<campaign>"…
    ref = models.CharField(max_length=100, blank=True)
    #: The A/B subject this row gets: "a", "b", or "" (not in the test; waits for the winner).
    variant = models.CharField(max_length=1, blank=True)
    idempotency_key = models.CharField(max_length=200)
    #: The unguessable public token of this message's pixel, links and unsubscribe page.
    token = models.CharField(max_length=32)
    from_email = models.CharField(max_length=400)
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300, blank=True)
    #: A non-campaign message's own rendered body: {"html": …, "text": …}. Campaign rows render
    #: from the campaign when sent, so the snapshot stays small.
    body = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=SendStatus.choices, default=SendStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    #: A worker's lease on a queued row; once past, another worker may take it back.
    claimed_until = models.DateTimeField(null=True, blank=True)
    #: When a transient failure may be retried.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    #: When its `email_sent` timeline entry and `email.sent` event were written: a worker killed
    #: between sending a batch and recording it leaves this null for the sweeper.
    recorded_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    #: Opens that look like a proxy or scanner fetching the pixel, not a person reading.
    machine_open_count = models.PositiveIntegerField(default=0)
    click_count = models.PositiveIntegerField(default=0)

    objects = EmailSendQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # Constraints rather than unique=True, which on PostgreSQL adds a second, pattern-matching index.
            models.UniqueConstraint(fields=["idempotency_key"], name="send_unique_idempotency_key"),
            models.UniqueConstraint(fields=["token"], name="send_unique_token"),
            models.UniqueConstraint(
                fields=["campaign", "contact"], condition=Q(campaign__isnull=False), name="send_unique_campaign_contact"
            ),
            models.CheckConstraint(condition=Q(status__in=SendStatus.values), name="send_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=SendKind.values), name="send_kind_valid"),
            models.CheckConstraint(condition=Q(variant__in=["", "a", "b"]), name="send_variant_valid"),
        ]
        indexes = [
            # Claiming a campaign's next batch, and its progress counts by status.
            models.Index(fields=["campaign", "status", "id"], name="send_campaign_status"),
            models.Index(fields=["workspace", "-queued_at", "-id"], name="send_recent"),
            models.Index(fields=["contact", "-queued_at"], name="send_contact"),
            models.Index(fields=["message_id"], condition=~Q(message_id=""), name="send_message_id"),
            # The sweeper's scan of rows sent but not yet on the timeline; recorded rows leave it.
            models.Index(
                fields=["sent_at"], condition=Q(recorded_at__isnull=True, sent_at__isnull=False), name="send_unrecorded"
            ),
            # The sweeper's scans: single messages still waiting for a worker, and rows a worker is
            # handing to an ESP. Neither may cover a campaign's queued rows: a partial index the planner
            # believes near-empty would be chosen over the primary key for the per-message
            # "WHERE id = … AND status = 'queued'" and scanned whole while a campaign sends.
            models.Index(
                fields=["claimed_until"],
                condition=Q(status__in=sorted(PENDING), campaign__isnull=True),
                name="send_single_pending",
            ),
            models.Index(fields=["claimed_until"], condition=Q(status=SendStatus.SENDING), name="send_handing_over"),
        ]

    def __str__(self) -> str:
        return f"{self.to_email}: {self.subject} ({self.status})"

    @property
    def is_marketing(self) -> bool:
        return self.kind in MARKETING_KINDS


class EngagementKind(models.TextChoices):
    OPEN = "open", "Open"
    CLICK = "click", "Click"


class EmailEngagement(TenantModel):
    """Each open and click, for the report's charts and per-link counts; the send row keeps totals."""

    send = models.ForeignKey(EmailSend, on_delete=models.CASCADE, related_name="engagements")
    #: Copied from the send so a campaign's report reads one index.
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=EngagementKind.choices)
    url = models.TextField(blank=True)
    machine = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["campaign", "kind", "at"], name="engagement_campaign"),
            models.Index(fields=["send", "kind"], name="engagement_send"),
        ]


class OptInRequest(TenantModel):
    """A double opt-in: the confirmation mailed after a form asked for one. Single use."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="optin_requests")
    #: SHA-256 of the random token in the (signed) confirmation link.
    token_hash = models.CharField(max_length=64, unique=True)
    #: The form component and submission that asked, and the consent words shown.
    component_id = models.CharField(max_length=64, blank=True)
    submission_id = models.BigIntegerField(null=True, blank=True)
    consent_text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Opt-in of {self.contact_id} ({'confirmed' if self.confirmed_at else 'pending'})"
