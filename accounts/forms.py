"""Dashboard and admin forms. They check shape only (required, email format, known choices);
business rules stay in accounts.services, whose ValidationErrors are put back on the form."""

import zoneinfo
from functools import cache

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import AuditAction, AuditEvent, User
from accounts.roles import GRANTABLE_ROLES, RANK, Role


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def grantable_role_choices(actor_role: str) -> list[tuple[str, str]]:
    """The roles someone with actor_role may hand out, for a role select."""
    ceiling = RANK[Role(actor_role)]
    return [(role.value, role.label) for role in GRANTABLE_ROLES if RANK[role] <= ceiling]


class ServiceForm(forms.Form):
    def add_service_error(self, exc: ValidationError) -> None:
        """Show a service's ValidationError: on the field it names when the form has one, else on top."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class WorkspaceForm(ServiceForm):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "Acme Marketing"}))
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=timezone_choices,
        initial="UTC",
        help_text="Dates in the dashboard, reports and schedules use this time zone.",
    )


class RoleGrantForm(ServiceForm):
    """A form that grants a role: only the roles the acting member may grant are offered."""

    role = forms.ChoiceField(initial=Role.EDITOR)

    def __init__(self, *args, actor_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = grantable_role_choices(actor_role)


class InvitationForm(RoleGrantForm):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"placeholder": "teammate@company.com"}))

    field_order = ["email", "role"]


class ApiKeyForm(RoleGrantForm):
    name = forms.CharField(
        max_length=100, label="Key name", widget=forms.TextInput(attrs={"placeholder": "e.g. Zapier, CRM sync"})
    )

    field_order = ["name", "role"]


class AuditLogFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, choices=[("", "All actions"), *AuditAction.choices])
    actor = forms.CharField(
        required=False, label="Actor email", widget=forms.TextInput(attrs={"placeholder": "name@company.com"})
    )
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filter(self, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """Narrow the queryset by the valid filters; an invalid one is ignored (and shown on the form)."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("actor"):
            queryset = queryset.filter(actor_email__icontains=data["actor"].strip())
        # __date compares in the active time zone, which the dashboard sets to the workspace's.
        if data.get("date_from"):
            queryset = queryset.filter(at__date__gte=data["date_from"])
        if data.get("date_to"):
            queryset = queryset.filter(at__date__lte=data["date_to"])
        return queryset

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)


# --- Admin (users log in with an email address and have no username) ------------------------------


class AdminUserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class AdminUserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
