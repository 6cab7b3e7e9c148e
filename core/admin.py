"""Staff tools for the event outbox: see what was emitted, who handled it, and retry what gave up."""

from django.contrib import admin, messages
from django.db.models import Count, Q

from core.events import dispatch
from core.models import DeliveryStatus, Event, EventDelivery

DELIVERY_FIELDS = ("handler", "status", "attempts", "last_error", "next_attempt_at", "completed_at")


class EventDeliveryInline(admin.TabularInline):
    model = EventDelivery
    extra = 0
    can_delete = False
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "workspace", "subject", "created_at", "dispatched_at", "failed_deliveries")
    list_filter = ("type", ("dispatched_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("workspace",)
    search_fields = ("type", "subject", "request_id", "workspace__name", "workspace__slug")
    date_hierarchy = "created_at"
    readonly_fields = (
        "workspace",
        "type",
        "payload",
        "subject",
        "request_id",
        "created_at",
        "dispatched_at",
        "next_attempt_at",
    )
    inlines = (EventDeliveryInline,)
    actions = ("retry_failed_deliveries",)

    def has_add_permission(self, request) -> bool:
        # Events are emitted by the code that owns them, in its own transaction.
        return False

    def get_queryset(self, request):
        failed = Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED))
        return super().get_queryset(request).annotate(_failed_deliveries=failed)

    @admin.display(description="Failed", ordering="_failed_deliveries")
    def failed_deliveries(self, obj: Event) -> int:
        return obj._failed_deliveries

    @admin.action(description="Retry failed deliveries", permissions=["change"])
    def retry_failed_deliveries(self, request, queryset):
        event_ids = dispatch.retry_failed_deliveries(event_ids=list(queryset.values_list("pk", flat=True)))
        if event_ids:
            self.message_user(request, f"Retrying failed deliveries of {len(event_ids)} event(s).", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected events has a failed delivery.", messages.WARNING)


@admin.register(EventDelivery)
class EventDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "event", "handler", "status", "attempts", "next_attempt_at", "completed_at")
    list_filter = ("status", "handler")
    list_select_related = ("event",)
    search_fields = ("handler", "last_error", "event__type", "event__subject")
    readonly_fields = ("event", *DELIVERY_FIELDS)

    def has_add_permission(self, request) -> bool:
        return False
