"""The domain-event outbox: events written in the emitter's transaction, delivered after commit."""

from django.db import models
from django.db.models import Q

from core.tenancy import TenantModel


class Event(TenantModel):
    type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    # What the event is about, e.g. "accounts.invitation:42"; a string so any app's rows fit.
    subject = models.CharField(max_length=120, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Null until every handler has succeeded or given up.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # When a failed handler is due again; the sweeper waits for it.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "type", "-created_at"], name="event_workspace_type"),
            # The sweeper's scan: only undispatched rows are in this index.
            models.Index(fields=["created_at"], condition=Q(dispatched_at__isnull=True), name="event_undispatched"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (gave up)"


class EventDelivery(models.Model):
    """One handler's processing of one event: the record that makes it run at most once."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="delivery_unique_handler")]

    def __str__(self) -> str:
        return f"{self.handler} for {self.event_id}: {self.status}"
