"""Staff tools for email. Campaigns, senders and sends change in the product, where every change is
checked (templates, audiences, verification) and the ledger's guarantees hold; here they are listed,
searched and inspected. Sending settings may be corrected. Tokens and their hashes are never shown:
they are credentials (unsubscribe, verification, confirmation links)."""

from django.contrib import admin

from campaigns.models import Campaign, EmailEngagement, EmailSend, OptInRequest, Sender, SendingSettings
from crm.admin import ReadOnlyAdminMixin


def _fields_but(model, *hidden: str) -> tuple[str, ...]:
    return tuple(field.name for field in model._meta.fields if field.name not in ("id", *hidden))


@admin.register(SendingSettings)
class SendingSettingsAdmin(admin.ModelAdmin):
    list_display = ("workspace", "track_opens", "track_clicks", "rate_per_minute", "updated_at")
    list_filter = ("track_opens", "track_clicks")
    list_select_related = ("workspace",)
    search_fields = ("workspace__name", "postal_address")
    fields = ("workspace", "postal_address", "track_opens", "track_clicks", "rate_per_minute", "updated_at")
    readonly_fields = ("workspace", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False  # made with the defaults the first time a workspace's settings are read


@admin.register(Sender)
class SenderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("from_email", "from_name", "workspace", "status", "verified_at", "created_at")
    list_filter = ("status",)
    list_select_related = ("workspace",)
    search_fields = ("from_email", "from_name", "workspace__name")
    fields = readonly_fields = _fields_but(Sender, "verification_token_hash")


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "workspace", "status", "sender", "recipients", "scheduled_at", "started_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("workspace", "sender")
    search_fields = ("name", "subject", "workspace__name")
    date_hierarchy = "created_at"
    fields = readonly_fields = _fields_but(Campaign)


@admin.register(EmailSend)
class EmailSendAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The delivery ledger, read only: a row changed by hand could send twice or never."""

    list_display = ("queued_at", "to_email", "subject", "kind", "status", "campaign", "workspace", "attempts")
    list_filter = ("status", "kind", "variant")
    list_select_related = ("campaign", "workspace")
    search_fields = ("to_email", "subject", "message_id", "idempotency_key", "ref")
    raw_id_fields = ("contact", "campaign")
    # The ledger gets large; counting every row for the "N total" link is not worth it.
    show_full_result_count = False
    fields = readonly_fields = _fields_but(EmailSend, "token")


@admin.register(EmailEngagement)
class EmailEngagementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "send", "campaign", "machine", "url")
    list_filter = ("kind", "machine")
    list_select_related = ("send", "campaign")
    search_fields = ("url", "send__to_email")
    show_full_result_count = False


@admin.register(OptInRequest)
class OptInRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "contact", "workspace", "confirmed_at")
    list_select_related = ("contact", "workspace")
    search_fields = ("contact__email",)
    fields = readonly_fields = _fields_but(OptInRequest, "token_hash")
