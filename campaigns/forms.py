"""The email dashboard's forms. They check shape only; the campaign and sender services validate
values (a template's syntax, an A/B share, a sender of this workspace), and their ValidationErrors
come back onto the field they name. The email's blocks travel as one JSON field, `content`, whose
errors are keyed by path ("content.blocks.2.text") and shown by the block editor next to the block.
"""

import json

from django import forms
from django.core.exceptions import ValidationError

from accounts.forms import ServiceForm
from campaigns.models import AbMetric, Campaign, Sender, SendingSettings

#: The audience's four lists, as Campaign.audience stores them.
AUDIENCE_KEYS = ("segments", "tags", "exclude_segments", "exclude_tags")
#: The model's check constraint (campaign_ab_percent_max): at most half the audience is in a test.
AB_MAX_PERCENT = 50
#: The largest value a PositiveIntegerField column holds.
_INT_MAX = 2**31 - 1
CAMPAIGN_FIELDS = ("name", "subject", "preheader", "subject_b", "ab_test_percent", "ab_metric", "ab_wait_minutes")


class JsonField(forms.CharField):
    """A hidden input holding JSON that a script keeps up to date."""

    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return json.loads(value)
        except ValueError:
            raise ValidationError("This could not be read; reload the page and try again.") from None


def _ids(label: str) -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(label=label, coerce=int, required=False, widget=forms.CheckboxSelectMultiple)


class AudienceForm(ServiceForm):
    """Who gets the campaign: segments and tags, minus excluded ones. Nothing picked means every
    contact who may be sent marketing email."""

    segments = _ids("Segments")
    tags = _ids("Tags")
    exclude_segments = _ids("Leave out segments")
    exclude_tags = _ids("Leave out tags")

    def __init__(self, *args, segments: list[tuple[int, str]], tags: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        for name in AUDIENCE_KEYS:
            self.fields[name].choices = segments if name.endswith("segments") else tags

    def audience(self) -> dict:
        return {name: self.cleaned_data[name] for name in AUDIENCE_KEYS if self.cleaned_data.get(name)}


class CampaignForm(AudienceForm):
    name = forms.CharField(max_length=Campaign._meta.get_field("name").max_length)
    subject = forms.CharField(
        required=False,
        max_length=Campaign._meta.get_field("subject").max_length,
        widget=forms.TextInput(attrs={"placeholder": "What the inbox shows first", "data-personalize": ""}),
    )
    preheader = forms.CharField(
        required=False,
        max_length=Campaign._meta.get_field("preheader").max_length,
        help_text="The grey line after the subject in most inboxes.",
        widget=forms.TextInput(attrs={"data-personalize": ""}),
    )
    sender = forms.ModelChoiceField(queryset=Sender.objects.none(), required=False, empty_label="Choose a sender…")
    subject_b = forms.CharField(
        label="Subject B",
        required=False,
        max_length=Campaign._meta.get_field("subject_b").max_length,
        widget=forms.TextInput(attrs={"placeholder": "Another subject to test", "data-personalize": ""}),
    )
    ab_test_percent = forms.IntegerField(
        label="Test share (%)",
        min_value=0,
        max_value=AB_MAX_PERCENT,
        initial=0,
        required=False,
        help_text="Half get each subject; the winner goes to the rest. 0 turns the test off.",
    )
    ab_metric = forms.ChoiceField(label="Winner by", choices=AbMetric.choices, initial=AbMetric.OPENS)
    ab_wait_minutes = forms.IntegerField(label="Decide after (minutes)", min_value=1, max_value=_INT_MAX, initial=240)
    content = JsonField()

    field_order = ["name", "subject", "preheader", "sender", "subject_b", "ab_test_percent", "ab_metric"]

    def __init__(self, *args, workspace, campaign: Campaign | None = None, **kwargs):
        if campaign is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(campaign, name) for name in CAMPAIGN_FIELDS},
                "sender": campaign.sender_id,
                "content": json.dumps(campaign.content or {"blocks": []}),
                **{name: (campaign.audience or {}).get(name, []) for name in AUDIENCE_KEYS},
            }
        super().__init__(*args, **kwargs)
        self.fields["sender"].queryset = Sender.objects.for_workspace(workspace)
        self.fields["sender"].label_from_instance = _sender_label

    def service_data(self) -> dict:
        """cleaned_data in the shape `campaign_update(campaign=…, **data)` takes."""
        data = {name: self.cleaned_data[name] for name in CAMPAIGN_FIELDS}
        data["ab_test_percent"] = data["ab_test_percent"] or 0
        data["sender"] = self.cleaned_data["sender"]
        data["content"] = self.cleaned_data["content"]
        data["audience"] = self.audience()
        return data


def _sender_label(sender: Sender) -> str:
    return str(sender) if sender.is_verified else f"{sender} (awaiting verification)"


class ScheduleForm(ServiceForm):
    scheduled_at = forms.DateTimeField(
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class TestSendForm(ServiceForm):
    email = forms.EmailField(
        label="Send a test to", max_length=254, widget=forms.EmailInput(attrs={"placeholder": "you@company.com"})
    )


class SenderForm(ServiceForm):
    from_name = forms.CharField(
        label="From name",
        max_length=Sender._meta.get_field("from_name").max_length,
        widget=forms.TextInput(attrs={"placeholder": "Maya at Acme"}),
    )
    from_email = forms.EmailField(
        label="From address",
        max_length=254,
        widget=forms.EmailInput(attrs={"placeholder": "hello@yourcompany.com"}),
        help_text="We email a link to this address; the sender can be used once it is clicked.",
    )
    reply_to = forms.EmailField(label="Reply-to", max_length=254, required=False)


class SendingSettingsForm(ServiceForm):
    postal_address = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Company name\nStreet\nPostcode and city\nCountry"}),
        required=False,
        help_text="Printed at the foot of every marketing email, as anti-spam laws require. Campaigns can't be "
        "sent without it.",
    )
    track_opens = forms.BooleanField(
        label="Track opens", required=False, help_text="Adds an invisible image; turn off where consent rules ask."
    )
    track_clicks = forms.BooleanField(label="Track clicks", required=False)
    rate_per_minute = forms.IntegerField(
        label="Sending rate (messages per minute)",
        min_value=1,
        max_value=1_000_000,
        help_text="Keep within your email provider's limit.",
    )

    @classmethod
    def for_settings(cls, current: SendingSettings, **kwargs) -> "SendingSettingsForm":
        initial = {name: getattr(current, name) for name in cls.base_fields}
        return cls(initial=initial, **kwargs)
