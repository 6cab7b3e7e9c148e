"""The CRM dashboard's forms. They check shape only; the services clean and validate values (an
email, a phone number, a custom field's type), and their ValidationErrors come back onto the field
they name. Custom field inputs are named `custom_fields.<key>`, the path the services use in errors.
"""

from django import forms

from accounts.forms import ServiceForm
from crm.models import (
    ActivityKind,
    Contact,
    ContactStatus,
    CustomField,
    CustomFieldType,
    LifecycleStage,
    ScorePeriod,
    ScoringRule,
)

CUSTOM_PREFIX = "custom_fields."
#: Scoring rules can't be about score changes: a rule would score its own scoring.
SCORABLE_KINDS = [(kind, label) for kind, label in ActivityKind.choices if kind != ActivityKind.SCORE_CHANGED]
_BOOLEAN_CHOICES = [("", "—"), ("true", "Yes"), ("false", "No")]


def _custom_form_field(field: CustomField) -> forms.Field:
    common = {"label": field.label, "required": False}
    match field.type:
        case CustomFieldType.NUMBER:
            return forms.CharField(**common, widget=forms.NumberInput(attrs={"step": "any"}))
        case CustomFieldType.DATE:
            return forms.CharField(**common, widget=forms.DateInput(attrs={"type": "date"}))
        case CustomFieldType.BOOLEAN:
            return forms.ChoiceField(**common, choices=_BOOLEAN_CHOICES)
        case CustomFieldType.SELECT:
            return forms.ChoiceField(**common, choices=[("", "—"), *((str(o), str(o)) for o in field.options)])
    return forms.CharField(**common, max_length=1000)


def _initial_custom(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class ContactForm(ServiceForm):
    first_name = forms.CharField(required=False, max_length=100)
    last_name = forms.CharField(required=False, max_length=100)
    email = forms.CharField(max_length=254, widget=forms.EmailInput)
    phone = forms.CharField(
        required=False, max_length=40, widget=forms.TextInput(attrs={"type": "tel", "placeholder": "+1 415 555 0123"})
    )
    company = forms.CharField(required=False, max_length=200)
    stage = forms.ChoiceField(label="Lifecycle stage", choices=LifecycleStage.choices)
    status = forms.ChoiceField(
        choices=ContactStatus.choices, help_text="Only active contacts are sent marketing email."
    )

    def __init__(self, *args, custom_fields: list[CustomField], contact: Contact | None = None, **kwargs):
        if contact is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(contact, name) for name in ("first_name", "last_name", "email", "phone", "company")},
                "stage": contact.stage,
                "status": contact.status,
                **{CUSTOM_PREFIX + key: _initial_custom(value) for key, value in (contact.custom_fields or {}).items()},
            }
        super().__init__(*args, **kwargs)
        for field in custom_fields:
            self.fields[CUSTOM_PREFIX + field.key] = _custom_form_field(field)

    def profile_fields(self):
        return [self[name] for name in self.fields if not name.startswith(CUSTOM_PREFIX)]

    def custom_fields(self):
        return [self[name] for name in self.fields if name.startswith(CUSTOM_PREFIX)]

    def service_data(self) -> dict:
        """cleaned_data in the shape `contact_update(data=…)` takes."""
        data = {name: value for name, value in self.cleaned_data.items() if not name.startswith(CUSTOM_PREFIX)}
        custom = {
            name.removeprefix(CUSTOM_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(CUSTOM_PREFIX)
        }
        if custom:
            data["custom_fields"] = custom
        return data


class ContactCreateForm(ContactForm):
    """A contact added by hand: its status starts active, and tags may be given by name."""

    tags = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Comma separated; new tags are created.",
        widget=forms.TextInput(attrs={"list": "tag-names", "autocomplete": "off"}),
    )

    field_order = ["email", "first_name", "last_name", "phone", "company", "stage", "tags"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["status"]

    def service_data(self) -> dict:
        data = super().service_data()
        data["tags"] = [name.strip() for name in data.pop("tags", "").split(",") if name.strip()]
        return data


class NoteForm(ServiceForm):
    text = forms.CharField(
        label="Note",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Called about pricing; follow up next week…"}),
    )


class ScoreAdjustForm(ServiceForm):
    points = forms.IntegerField(
        label="Points", widget=forms.NumberInput(attrs={"placeholder": "+10 or -5", "step": "1"})
    )
    note = forms.CharField(
        label="Why", required=False, max_length=500, widget=forms.TextInput(attrs={"placeholder": "Met at the fair"})
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


class CustomFieldForm(ServiceForm):
    label = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "e.g. Plan"}))
    key = forms.CharField(
        max_length=63,
        help_text="Lower-case letters, digits and underscores. Imports, segments and the API use it; it can't change.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. plan", "class": "mono"}),
    )
    type = forms.ChoiceField(choices=CustomFieldType.choices, initial=CustomFieldType.TEXT)
    options = forms.CharField(
        required=False,
        help_text="For a select field: one option per line.",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Free\nStarter\nPro"}),
    )

    def __init__(self, *args, field: CustomField | None = None, **kwargs):
        if field is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "label": field.label,
                "key": field.key,
                "type": field.type,
                "options": "\n".join(map(str, field.options or [])),
            }
        super().__init__(*args, **kwargs)
        if field is not None:
            self.fields["key"].disabled = True

    def service_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ("label", "type")}
        data["options"] = _lines(self.cleaned_data["options"]) if data["type"] == CustomFieldType.SELECT else []
        if not self.fields["key"].disabled:
            data["key"] = self.cleaned_data["key"]
        return data


class ScoringRuleForm(ServiceForm):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"placeholder": "e.g. Clicked an email"}))
    event_type = forms.ChoiceField(
        label="When a contact…",
        choices=[(kind, label.lower()) for kind, label in SCORABLE_KINDS],
        initial=ActivityKind.FORM_SUBMITTED,
    )
    form = forms.ChoiceField(label="Which form", required=False, help_text="For form submissions: one form, or any.")
    points = forms.IntegerField(help_text="Negative points lower the score.")
    cap_points = forms.IntegerField(
        label="At most",
        required=False,
        help_text="Points from this rule per contact; blank for no cap.",
        widget=forms.NumberInput(attrs={"min": 1}),
    )
    cap_period = forms.ChoiceField(label="Per", required=False, choices=[("", "—"), *ScorePeriod.choices])
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args, forms_choices: list[tuple[str, str]], rule: ScoringRule | None = None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": rule.name,
                "event_type": rule.event_type,
                "form": (rule.conditions or {}).get("ref", ""),
                "points": rule.points,
                "cap_points": rule.cap_points,
                "cap_period": rule.cap_period,
                "is_active": rule.is_active,
            }
        super().__init__(*args, **kwargs)
        self.fields["form"].choices = [("", "Any form"), *forms_choices]
        self.other_conditions = {
            key: value for key, value in ((rule.conditions or {}) if rule else {}).items() if key != "ref"
        }

    def add_service_error(self, exc) -> None:
        # A condition's error is about the form picked (the only condition edited here).
        if hasattr(exc, "error_dict") and any(key.startswith("conditions") for key in exc.error_dict):
            exc = type(exc)(
                {("form" if key.startswith("conditions") else key): value for key, value in exc.message_dict.items()}
            )
        super().add_service_error(exc)

    def service_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ("name", "event_type", "points", "cap_points", "is_active")}
        data["cap_period"] = self.cleaned_data["cap_period"] or ""
        conditions = dict(self.other_conditions)
        if data["event_type"] == ActivityKind.FORM_SUBMITTED and self.cleaned_data["form"]:
            conditions["ref"] = self.cleaned_data["form"]
        data["conditions"] = conditions
        return data


class ScoringSettingsForm(ServiceForm):
    decay_enabled = forms.BooleanField(label="Lower the scores of contacts who go quiet", required=False)
    decay_after_days = forms.IntegerField(
        label="After this many days without activity", widget=forms.NumberInput(attrs={"min": 1})
    )
    decay_points = forms.IntegerField(
        label="Take away this many points",
        help_text="Again for every further period of silence; never below zero.",
        widget=forms.NumberInput(attrs={"min": 1}),
    )
