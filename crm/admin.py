"""Staff tools for the CRM. Contacts, segments and scoring rules change in the product, where every
change is validated, lands on the contact's timeline and is announced to workflows; the admin lists,
searches and inspects them. The timeline and the consent records are evidence: read-only here."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from crm.models import (
    ConsentRecord,
    Contact,
    ContactActivity,
    ContactImport,
    ContactTag,
    CustomField,
    ScoringRule,
    Segment,
    Tag,
)

#: How much of a contact's timeline its admin page shows; the product pages through the rest.
TIMELINE_ROWS = 50


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ContactTagInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ContactTag
    extra = 0
    fields = ("tag", "added_at")
    readonly_fields = fields
    verbose_name_plural = "tags"


class ConsentRecordInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ConsentRecord
    extra = 0
    fields = ("at", "purpose", "granted", "source", "text")
    readonly_fields = fields


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """View only. Deleting is left to the product too: a GDPR erase also clears form submissions and
    is audited, which a delete here would not be."""

    list_display = ("email", "name", "workspace", "stage", "status", "score", "source", "created_at")
    list_filter = ("stage", "status", "source")
    list_select_related = ("workspace",)
    search_fields = ("email", "first_name", "last_name", "phone", "company", "workspace__name")
    # The table gets large; counting every row for the "N total" link is not worth it.
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("workspace", "email", "first_name", "last_name", "phone", "company")}),
        ("CRM", {"fields": ("stage", "status", "score", "custom_fields", "source", "source_ref")}),
        ("Dates", {"fields": ("created_at", "updated_at", "last_activity_at")}),
        ("Timeline", {"fields": ("timeline",)}),
    )
    readonly_fields = (
        *(field.name for field in Contact._meta.fields if field.name != "id"),
        "timeline",
    )
    inlines = (ContactTagInline, ConsentRecordInline)

    @admin.display(description=f"Latest {TIMELINE_ROWS} activities")
    def timeline(self, obj: Contact) -> str:
        activities = obj.activities.select_related("actor").order_by("-at", "-id")[:TIMELINE_ROWS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            ((f"{a.at:%Y-%m-%d %H:%M}", a.get_kind_display(), a.source, a.actor or "", a.data) for a in activities),
        )
        if not rows:
            return "No activity yet."
        head = mark_safe("<tr><th>At</th><th>What</th><th>Source</th><th>By</th><th>Data</th></tr>")
        return format_html("<table>{}{}</table>", head, rows)


@admin.register(ContactActivity)
class ContactActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "contact", "workspace", "source", "ref")
    list_filter = ("kind",)
    list_select_related = ("contact", "workspace")
    search_fields = ("contact__email", "ref")
    show_full_result_count = False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "contact", "workspace", "purpose", "granted", "source")
    list_filter = ("purpose", "granted")
    list_select_related = ("contact", "workspace")
    search_fields = ("contact__email", "source_ref")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "color", "created_at")
    list_select_related = ("workspace",)
    search_fields = ("name", "workspace__name")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("workspace",)

    def get_readonly_fields(self, request, obj=None):
        # A tag stays in its workspace: its contacts are there.
        return ("workspace", *self.readonly_fields) if obj is not None else self.readonly_fields


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    """Label and order only: a change of key, type or options must re-check every stored value,
    which the product does (crm.services.taxonomy)."""

    list_display = ("key", "label", "type", "workspace", "order")
    list_filter = ("type",)
    list_select_related = ("workspace",)
    search_fields = ("key", "label", "workspace__name")
    fields = ("workspace", "key", "label", "type", "options", "order", "created_at")
    readonly_fields = ("workspace", "key", "type", "options", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting also clears every contact's value: done in the product


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Rules are checked against the workspace when saved in the product; here they are shown only."""

    list_display = ("name", "workspace", "created_by", "updated_at")
    list_select_related = ("workspace", "created_by")
    search_fields = ("name", "description", "workspace__name")
    fields = ("workspace", "name", "description", "rules", "created_by", "created_at", "updated_at")
    readonly_fields = ("workspace", "rules", "created_by", "created_at", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    """Rules can be paused or renamed; what they match and award is edited in the product, which
    checks the conditions."""

    list_display = ("name", "workspace", "event_type", "points", "cap_points", "cap_period", "is_active")
    list_filter = ("event_type", "is_active")
    list_select_related = ("workspace",)
    search_fields = ("name", "workspace__name")
    fields = ("workspace", "name", "event_type", "conditions", "points", "cap_points", "cap_period", "is_active")
    readonly_fields = ("workspace", "event_type", "conditions", "points", "cap_points", "cap_period")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ContactImport)
class ContactImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "filename",
        "workspace",
        "status",
        "total",
        "processed",
        "created",
        "updated",
        "failed",
        "created_at",
    )
    list_filter = ("status",)
    list_select_related = ("workspace",)
    search_fields = ("filename", "workspace__name")
