"""Staff tools for the builder. Trees are edited in the product (the editor keeps revisions and
versions straight); the admin lists, searches and inspects, and submissions are read-only."""

from django.contrib import admin

from builder.models import Component, FormSubmission, Page, Revision, Site, Template


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "category", "industry", "page_count", "order", "updated_at")
    list_filter = ("category", "industry")
    search_fields = ("name", "slug", "description")
    readonly_fields = ("source_hash", "created_at", "updated_at")


class PageInline(admin.TabularInline):
    model = Page
    extra = 0
    fields = ("title", "path", "is_home", "order", "version")
    readonly_fields = ("version",)
    show_change_link = True


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "slug", "template", "version", "updated_at")
    list_filter = ("template",)
    list_select_related = ("workspace", "template")
    search_fields = ("name", "slug", "workspace__name")
    readonly_fields = ("version", "created_by", "created_at", "updated_at")
    exclude = ("turnstile_secret_key",)
    autocomplete_fields = ("workspace",)
    inlines = (PageInline,)


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ("title", "path", "site", "workspace", "is_home", "order", "version", "updated_at")
    list_filter = ("is_home",)
    list_select_related = ("site", "workspace")
    search_fields = ("title", "path", "site__name")
    readonly_fields = ("version", "created_at", "updated_at")
    raw_id_fields = ("site", "workspace")


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "page", "parent", "position", "version", "updated_at")
    list_filter = ("type",)
    list_select_related = ("page",)
    search_fields = ("id", "page__title", "page__site__name")
    readonly_fields = ("version", "created_at", "updated_at")
    raw_id_fields = ("page", "parent", "workspace")


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "label", "site", "page", "created_by", "created_at")
    list_filter = ("kind",)
    list_select_related = ("site", "page", "created_by")
    search_fields = ("label", "site__name")
    readonly_fields = [field.name for field in Revision._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FormSubmission)
class FormSubmissionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "form_name", "email", "site", "consent_given")
    list_filter = ("consent_given",)
    list_select_related = ("site",)
    search_fields = ("email", "form_name", "site__name")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in FormSubmission._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
