"""Contacts and everything known about them: tags, custom fields, the activity timeline, consent,
segments, lead scoring, imports and exports.

Every row carries its workspace, so each table is scoped by one indexed filter. Emails are stored
normalised (trimmed, lower case) and unique per workspace, which is what makes an upsert by email
safe when two workers race on the same address.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from core.tenancy import TenantModel, TenantQuerySet

#: Keys of custom fields: what a segment rule, an import mapping and the API name them by.
FIELD_KEY_REGEX = r"^[a-z][a-z0-9_]{0,62}$"


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "Marketing qualified lead"
    SQL = "sql", "Sales qualified lead"
    CUSTOMER = "customer", "Customer"


class ContactStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    #: Signed up through a double opt-in form and hasn't clicked the confirmation link yet.
    UNCONFIRMED = "unconfirmed", "Awaiting confirmation"


class ContactSource(models.TextChoices):
    FORM = "form", "Form"
    WORKFLOW = "workflow", "Workflow"
    IMPORT = "import", "Import"
    API = "api", "API"
    MANUAL = "manual", "Manual"


class Tag(TenantModel):
    name = models.CharField(max_length=64)
    color = models.CharField(max_length=7, blank=True, help_text="#rrggbb, or blank for the default.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint("workspace", Lower("name"), name="tag_unique_name_ci")]

    def __str__(self) -> str:
        return self.name


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    BOOLEAN = "boolean", "Yes / no"
    SELECT = "select", "Select"


class CustomField(TenantModel):
    """A field the workspace adds to every contact. Values live in `Contact.custom_fields[key]` as
    JSON: strings, numbers, booleans, and dates as ISO `YYYY-MM-DD` (so they compare in order)."""

    key = models.CharField(max_length=63)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=CustomFieldType.choices)
    #: The allowed values of a select field.
    options = models.JSONField(default=list, blank=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="custom_field_unique_key"),
            models.CheckConstraint(condition=Q(key__regex=FIELD_KEY_REGEX), name="custom_field_key_format"),
            models.CheckConstraint(condition=Q(type__in=CustomFieldType.values), name="custom_field_type_valid"),
        ]

    def __str__(self) -> str:
        return self.label


class ContactQuerySet(TenantQuerySet):
    def sendable(self) -> "ContactQuerySet":
        """Contacts marketing mail may go to: not unsubscribed, bounced, complained or unconfirmed."""
        return self.filter(status=ContactStatus.ACTIVE)


class Contact(TenantModel):
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    #: E.164, e.g. +14155550123; blank when unknown.
    phone = models.CharField(max_length=16, blank=True)
    company = models.CharField(max_length=200, blank=True)
    tags = models.ManyToManyField(Tag, through="ContactTag", related_name="contacts", blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    score = models.IntegerField(default=0)
    stage = models.CharField(max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.SUBSCRIBER)
    status = models.CharField(max_length=16, choices=ContactStatus.choices, default=ContactStatus.ACTIVE)
    source = models.CharField(max_length=16, choices=ContactSource.choices, default=ContactSource.MANUAL)
    #: What brought the contact in, within its source: a form's component id, an import's id…
    source_ref = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "email"], name="contact_unique_email"),
            # Stored normalised, so the plain unique index above is also case- and space-insensitive.
            models.CheckConstraint(condition=Q(email=Lower(Trim("email"))), name="contact_email_normalised"),
            models.CheckConstraint(condition=Q(stage__in=LifecycleStage.values), name="contact_stage_valid"),
            models.CheckConstraint(condition=Q(status__in=ContactStatus.values), name="contact_status_valid"),
            models.CheckConstraint(condition=Q(source__in=ContactSource.values), name="contact_source_valid"),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_recent"),
            models.Index(fields=["workspace", "score"], name="contact_score"),
            models.Index(fields=["workspace", "stage"], name="contact_stage"),
            # Also serves status alone; with the score, a count of "active, score ≥ n" reads this index only.
            models.Index(fields=["workspace", "status", "score"], name="contact_status_score"),
            # Lets a count under a tag or segment join the contacts' ids without reading their rows.
            models.Index(fields=["workspace", "id"], name="contact_workspace_id"),
            models.Index(fields=["workspace", "last_activity_at"], name="contact_last_activity"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class ContactTag(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_tags")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="contact_tag_unique")]
        # "Has tag X" in a segment reads this index from the tag's side.
        indexes = [models.Index(fields=["tag", "contact"], name="contact_tag_by_tag")]


class ActivityKind(models.TextChoices):
    CONTACT_CREATED = "contact_created", "Contact created"
    FORM_SUBMITTED = "form_submitted", "Form submitted"
    PAGE_VISITED = "page_visited", "Page visited"
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_OPENED = "email_opened", "Email opened"
    EMAIL_CLICKED = "email_clicked", "Email clicked"
    EMAIL_BOUNCED = "email_bounced", "Email bounced"
    TAG_ADDED = "tag_added", "Tag added"
    TAG_REMOVED = "tag_removed", "Tag removed"
    FIELD_CHANGED = "field_changed", "Field changed"
    SCORE_CHANGED = "score_changed", "Score changed"
    NOTE = "note", "Note"
    WORKFLOW_ENTERED = "workflow_entered", "Entered a workflow"
    WORKFLOW_EXITED = "workflow_exited", "Left a workflow"
    CONSENT_GIVEN = "consent_given", "Consent given"
    CONSENT_WITHDRAWN = "consent_withdrawn", "Consent withdrawn"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    IMPORTED = "imported", "Imported"


class ContactActivity(TenantModel):
    """The append-only timeline. Services add rows; nothing updates them."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=24, choices=ActivityKind.choices)
    #: What the activity is about, for rules like "submitted form X": a component id, a campaign id…
    ref = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    #: Where it came from, e.g. "form", "api", "import", "workflow", "system".
    source = models.CharField(max_length=32, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "contact activities"
        indexes = [
            models.Index(fields=["contact", "-at", "-id"], name="activity_timeline"),
            # Segment rules on activity ("clicked an email in the last 7 days", "submitted form X").
            models.Index(fields=["workspace", "kind", "ref", "at"], name="activity_kind_ref_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"


class ConsentRecord(TenantModel):
    """The GDPR audit trail: each grant and withdrawal, with the words the contact was shown."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=64, default="marketing_email")
    granted = models.BooleanField()
    text = models.TextField(blank=True)
    source = models.CharField(max_length=32, blank=True)
    source_ref = models.CharField(max_length=64, blank=True)
    #: A keyed hash of the visitor's address (as on form submissions), never the address itself.
    ip_hash = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact", "purpose", "-at"], name="consent_latest")]

    def __str__(self) -> str:
        return f"{self.purpose}: {'granted' if self.granted else 'withdrawn'}"


class Segment(TenantModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    #: A rule group (crm.segments): {"match": "all"|"any", "rules": [condition or group, …]}.
    rules = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint("workspace", Lower("name"), name="segment_unique_name_ci")]

    def __str__(self) -> str:
        return self.name


class ScorePeriod(models.TextChoices):
    DAY = "day", "Per day"
    WEEK = "week", "Per week"
    MONTH = "month", "Per month"
    EVER = "ever", "In total"


class ScoringRule(TenantModel):
    """When an activity of `event_type` happens (and matches `conditions`), add `points`."""

    name = models.CharField(max_length=120)
    event_type = models.CharField(max_length=24, choices=ActivityKind.choices)
    #: Optional narrowing, e.g. {"ref": "<component id>"}; validated by crm.services.scoring.
    conditions = models.JSONField(default=dict, blank=True)
    points = models.IntegerField()
    #: At most this many points from this rule per contact per `cap_period`; null for no cap.
    cap_points = models.PositiveIntegerField(null=True, blank=True)
    cap_period = models.CharField(max_length=8, choices=ScorePeriod.choices, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "event_type"], name="scoring_rule_event")]
        constraints = [
            models.CheckConstraint(
                condition=Q(cap_points__isnull=True) | ~Q(cap_period=""), name="scoring_rule_cap_has_period"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScoringSettings(TenantModel):
    """Per workspace: how scores decay when a contact goes quiet (run daily by Celery beat)."""

    decay_enabled = models.BooleanField(default=False)
    #: After this many days without activity…
    decay_after_days = models.PositiveIntegerField(default=30)
    #: …lose this many points, once per `decay_after_days` of further silence, never below zero.
    decay_points = models.PositiveIntegerField(default=5)

    class Meta:
        verbose_name_plural = "scoring settings"
        constraints = [models.UniqueConstraint(fields=["workspace"], name="scoring_settings_one_per_workspace")]


class ScoreReason(models.TextChoices):
    RULE = "rule", "Scoring rule"
    DECAY = "decay", "Inactivity decay"
    MANUAL = "manual", "Set by hand"


class ScoreChange(TenantModel):
    """Every change to a contact's score, so the score can be explained: the sum of a contact's
    changes is its score."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="score_changes")
    points = models.IntegerField()
    reason = models.CharField(max_length=8, choices=ScoreReason.choices)
    rule = models.ForeignKey(ScoringRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes")
    #: The rule's name when it applied, kept when the rule is renamed or deleted.
    rule_name = models.CharField(max_length=120, blank=True)
    activity = models.ForeignKey(
        ContactActivity, null=True, blank=True, on_delete=models.SET_NULL, related_name="score_changes"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact", "rule", "at"], name="score_change_rule_at")]


class JobStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ContactImport(TenantModel):
    """A CSV upload, processed in batches by a Celery task; counters show its progress."""

    file = models.FileField(upload_to="contact-imports/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255)
    #: CSV column header → target: "email", "first_name", …, "custom:<key>", "tags", or "" to skip.
    mapping = models.JSONField(default=dict)
    #: Tags added to every imported contact.
    tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole import failed, if it did.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class ContactImportError(TenantModel):
    """A rejected row and why; the import's downloadable report."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="errors")
    row_number = models.PositiveIntegerField()
    reason = models.TextField()
    row = models.JSONField(default=dict)

    class Meta:
        ordering = ["row_number", "id"]


class ContactExport(TenantModel):
    """A record of who exported which contacts, and the file when it was built in the background."""

    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: The contact-list filters that were applied, as query parameters.
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    row_count = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="contact-exports/%Y/%m/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
