"""Form components: a field list a marketer edits, validated here and again on every submission."""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from builder.components.base import Config, LongText, Text, Url

FieldKind = Literal["email", "text", "phone", "textarea", "select", "checkbox", "hidden"]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
#: Names the form endpoint reads for itself; a field may not shadow them.
RESERVED_FIELD_NAMES = frozenset({"website_url", "_ts", "consent", "cf_turnstile_response"})


class FormField(Config):
    kind: FieldKind = "text"
    name: FieldName = Field("field", description="Key the answer is stored under: lowercase letters, digits, _.")
    label: Text = ""
    required: bool = False
    placeholder: Text = ""
    #: The choices of a select.
    options: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=50
    )
    #: The value a hidden field carries (a campaign name, a source…).
    value: Text = ""

    @model_validator(mode="after")
    def _check(self) -> "FormField":
        if self.name in RESERVED_FIELD_NAMES:
            raise ValueError(f"The field name {self.name!r} is reserved.")
        if self.kind == "select" and not self.options:
            raise ValueError("A select field needs at least one option.")
        if self.kind != "hidden" and not self.label:
            raise ValueError("A visible field needs a label.")
        return self


class Consent(Config):
    enabled: bool = False
    text: LongText = "I agree to receive emails and accept the privacy policy."
    required: bool = True


def _email_field() -> FormField:
    return FormField(kind="email", name="email", label="Email", required=True, placeholder="you@example.com")


class FormSettings(Config):
    """What every form component shares."""

    fields: list[FormField] = Field(default_factory=lambda: [_email_field()], min_length=1, max_length=30)
    consent: Consent = Field(default_factory=Consent)
    submit_label: Text = "Send"
    success_message: Text = "Thank you! We'll be in touch soon."
    #: Where to send the visitor after a successful submission instead of showing the message.
    redirect_url: Url = ""
    #: Apply the site's Cloudflare Turnstile check when the site has keys.
    use_turnstile: bool = True
    #: Ask new contacts to confirm their address before they are subscribed (used by the CRM).
    double_opt_in: bool = False

    @model_validator(mode="after")
    def _unique_names(self) -> "FormSettings":
        seen: set[str] = set()
        for form_field in self.fields:
            if form_field.name in seen:
                raise ValueError(f"Two fields are named {form_field.name!r}; field names must be unique.")
            seen.add(form_field.name)
        if not self.submit_label:
            raise ValueError("The submit button needs a label.")
        return self
