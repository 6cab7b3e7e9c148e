"""The CRM dashboard's forms. They check shape only; the services clean and validate values (an
email, a phone number, a custom field's type), and their ValidationErrors come back onto the field
they name. Custom field inputs are named `custom_fields.<key>`, the path the services use in errors.
"""

from django import forms

from accounts.forms import ServiceForm
from crm.models import Contact, ContactStatus, CustomField, CustomFieldType, LifecycleStage

CUSTOM_PREFIX = "custom_fields."
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
