"""Staff tools for accounts. Invitations and API keys are created only through the product (their
secret is shown once, to the person who made them), and the audit log is read-only."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, Q
from django.utils import timezone

from accounts import services
from accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from accounts.models import ApiKey, AuditEvent, Invitation, Membership, User, Workspace
from core.request_context import client_ip

SECRET_HASH_FIELDS = ("token_hash", "key_hash")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user", "workspace")
    readonly_fields = ("created_at",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "default_workspace")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    list_display = ("email", "name", "default_workspace", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    list_select_related = ("default_workspace",)
    search_fields = ("email", "name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    autocomplete_fields = ("default_workspace",)
    inlines = (MembershipInline,)

    def get_inlines(self, request, obj):
        # The add page is email and password only, like Django's own; memberships come after.
        return self.inlines if obj is not None else ()


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone", "member_count", "created_at")
    search_fields = ("name", "slug")
    list_filter = ("created_at",)
    readonly_fields = ("created_at",)
    inlines = (MembershipInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("memberships"))

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj: Workspace) -> int:
        return obj._member_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("user", "workspace")
    search_fields = ("user__email", "user__name", "workspace__name", "workspace__slug")
    autocomplete_fields = ("user", "workspace")
    readonly_fields = ("created_at",)


class InvitationStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status, status.capitalize()) for status in ("pending", "accepted", "revoked", "expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        conditions = {
            "pending": open_ & Q(expires_at__gt=now),
            "accepted": Q(accepted_at__isnull=False),
            "revoked": Q(accepted_at__isnull=True, revoked_at__isnull=False),
            "expired": open_ & Q(expires_at__lte=now),
        }
        condition = conditions.get(self.value())
        return queryset.filter(condition) if condition is not None else queryset


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "workspace", "role", "status", "invited_by", "created_at", "expires_at")
    list_filter = (InvitationStatusFilter, "role")
    list_select_related = ("workspace", "invited_by")
    search_fields = ("email", "workspace__name", "workspace__slug")
    readonly_fields = (
        "workspace",
        "email",
        "token_hash",
        "invited_by",
        "created_at",
        "accepted_at",
        "accepted_by",
    )
    fields = (*readonly_fields, "role", "expires_at", "revoked_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "masked_key", "workspace", "role", "created_by", "created_at", "last_used_at", "is_active")
    list_filter = ("role", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("workspace", "created_by")
    search_fields = ("name", "prefix", "workspace__name", "workspace__slug")
    readonly_fields = ("workspace", "prefix", "key_hash", "created_by", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "role", *readonly_fields)
    actions = ("revoke_keys",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Key")
    def masked_key(self, obj: ApiKey) -> str:
        return f"sf_{obj.prefix}_…"

    @admin.display(description="Active", boolean=True, ordering="revoked_at")
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request, queryset):
        # Through the service, so each revocation lands in the workspace's audit log.
        keys = list(queryset.filter(revoked_at__isnull=True).select_related("workspace"))
        for api_key in keys:
            services.api_key_revoke(api_key=api_key, actor=request.user, ip=client_ip(request))
        self.message_user(request, f"Revoked {len(keys)} API key(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "workspace", "actor_email", "action", "target_repr", "ip")
    list_filter = ("action", "at")
    list_select_related = ("workspace",)
    search_fields = ("actor_email", "target_repr", "target_id", "workspace__name", "workspace__slug", "ip")
    date_hierarchy = "at"

    # The log is evidence: nobody edits or deletes it, not even a superuser.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
