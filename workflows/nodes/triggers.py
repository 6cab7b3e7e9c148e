"""Triggers fed by the outbox: form submissions, contact changes, email engagement, and manual starts.

Each says which events it listens to, the value that narrows the lookup of the workflows an event
starts (Workflow.trigger_ref: a form's component id, a tag's name), whether an event matches the
rest of its config, and which contact the execution runs for.
"""

import uuid
from typing import Annotated

from django.core.exceptions import ValidationError
from pydantic import Field, StringConstraints, field_validator

from builder.components.types import FORM_SUBMITTED
from campaigns.events import EMAIL_CLICKED, EMAIL_OPENED
from crm.events import CONTACT_CREATED, CONTACT_UNSUBSCRIBED, CONTACT_UPDATED, SCORE_CHANGED, TAG_ADDED, TAG_REMOVED
from crm.services.tags import TAG_NAME_MAX
from workflows.conditions import tag_key
from workflows.nodes import register
from workflows.nodes.base import NodeConfig, RowId, TriggerType, custom_field_errors

TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_NAME_MAX)]
#: Contact fields a field_changed trigger can watch besides custom fields (by key).
STANDARD_FIELDS = ("email", "first_name", "last_name", "phone", "company", "stage", "status")


class ContactNotReady(Exception):
    """The event names a contact that isn't committed yet (the CRM's handler of the same event is still
    running): the outbox retries this handler later, when it is."""


# --- Forms ----------------------------------------------------------------------------------------------


class FormSubmittedConfig(NodeConfig):
    component: str = Field(
        default="",
        description="The form component whose submissions start the workflow; empty for any form.",
        json_schema_extra={"format": "component"},
    )

    @field_validator("component")
    @classmethod
    def _uuid(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError("Not a component id.") from None


@register
class FormSubmitted(TriggerType):
    type = "form_submitted"
    name = "Form submitted"
    description = "A visitor submits a form on your site (one form, or any)."
    Config = FormSubmittedConfig
    events = (FORM_SUBMITTED,)

    def ref(self, config: FormSubmittedConfig) -> str:
        return config.component

    def event_ref(self, event) -> str | None:
        return str(event.payload.get("component_id") or "")

    def contact_id(self, event) -> int | None:
        from crm.models import Contact
        from crm.services.fields import email_normalize

        email = event.payload.get("email")
        if not email:
            return None  # a form without an email field: the workflow runs without a contact
        try:
            email = email_normalize(email)
        except ValidationError:
            return None  # the CRM refuses this address too: no contact will ever exist for it
        contact_id = (
            Contact.objects.filter(workspace_id=event.workspace_id, email=email).values_list("pk", flat=True).first()
        )
        if contact_id is None:
            raise ContactNotReady(f"No contact with the submission's email yet (event {event.pk}).")
        return contact_id

    def config_errors(self, config: FormSubmittedConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if workspace is None or not config.component:
            return {}
        from builder.components import get_type
        from builder.models import Component

        component = Component.objects.filter(workspace=workspace, pk=config.component).first()
        if component is None:
            return {"component": ["No such form in this workspace."]}
        try:
            is_form = get_type(component.type).is_form
        except (KeyError, LookupError, ValueError):
            is_form = False
        return {} if is_form else {"component": ["That component is not a form."]}


# --- Contacts ---------------------------------------------------------------------------------------------


class ContactCreatedConfig(NodeConfig):
    source: str = Field(
        default="",
        description="Only contacts from this source (form, import, api, manual, workflow); empty for any.",
        json_schema_extra={"enum": ["", "form", "import", "api", "manual", "workflow"]},
    )

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value not in ("", "form", "import", "api", "manual", "workflow"):
            raise ValueError("One of: form, import, api, manual, workflow, or empty for any.")
        return value


@register
class ContactCreated(TriggerType):
    type = "contact_created"
    name = "Contact created"
    description = "A new contact is added to the CRM."
    Config = ContactCreatedConfig
    events = (CONTACT_CREATED,)

    def matches(self, config: ContactCreatedConfig, event) -> bool:
        return not config.source or event.payload.get("source") == config.source


class TagConfig(NodeConfig):
    tag: TagName = Field(description="The tag's name (case doesn't matter).")


class _TagTrigger(TriggerType):
    Config = TagConfig

    def ref(self, config: TagConfig) -> str:
        return tag_key(config.tag)

    def event_ref(self, event) -> str | None:
        return tag_key(event.payload.get("tag"))


@register
class TagAdded(_TagTrigger):
    type = "tag_added"
    name = "Tag added"
    description = "A contact gets a tag."
    events = (TAG_ADDED,)


@register
class TagRemoved(_TagTrigger):
    type = "tag_removed"
    name = "Tag removed"
    description = "A tag is taken off a contact."
    events = (TAG_REMOVED,)


class FieldChangedConfig(NodeConfig):
    field: str = Field(
        default="",
        max_length=80,
        description="A contact field (first_name, phone, stage…) or a custom field's key; empty for any change.",
        json_schema_extra={"format": "contact_field"},
    )

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        return value.strip().removeprefix("contact.").removeprefix("custom_fields.")


@register
class FieldChanged(TriggerType):
    type = "field_changed"
    name = "Field changed"
    description = "A contact's field changes value."
    Config = FieldChangedConfig
    events = (CONTACT_UPDATED,)

    def matches(self, config: FieldChangedConfig, event) -> bool:
        changed = event.payload.get("changed") or []
        if not config.field:
            return bool(changed)
        return config.field in changed or f"custom_fields.{config.field}" in changed

    def config_errors(self, config: FieldChangedConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if workspace is None or not config.field or config.field in STANDARD_FIELDS:
            return {}
        return custom_field_errors(config.field, workspace=workspace)


class ScoreThresholdConfig(NodeConfig):
    threshold: int = Field(ge=1, le=1_000_000, description="Fires when a contact's score reaches this value.")


@register
class ScoreThreshold(TriggerType):
    type = "score_threshold"
    name = "Score reached"
    description = "A contact's score rises to a threshold (fires once on the way up)."
    Config = ScoreThresholdConfig
    events = (SCORE_CHANGED,)

    def matches(self, config: ScoreThresholdConfig, event) -> bool:
        score, previous = event.payload.get("score"), event.payload.get("previous")
        if not isinstance(score, int) or not isinstance(previous, int):
            return False
        return previous < config.threshold <= score


@register
class ContactUnsubscribed(TriggerType):
    type = "contact_unsubscribed"
    name = "Contact unsubscribed"
    description = "A contact unsubscribes from marketing email."
    events = (CONTACT_UNSUBSCRIBED,)


# --- Email engagement --------------------------------------------------------------------------------------


class EmailOpenedConfig(NodeConfig):
    campaign: RowId | None = Field(
        default=None,
        description="Only opens of this campaign; empty for any email.",
        json_schema_extra={"format": "campaign"},
    )


class EmailClickedConfig(EmailOpenedConfig):
    url_contains: str = Field(default="", max_length=500, description="Only clicks on links containing this text.")


class _EmailTrigger(TriggerType):
    def ref(self, config: EmailOpenedConfig) -> str:
        return str(config.campaign) if config.campaign else ""

    def event_ref(self, event) -> str | None:
        campaign_id = event.payload.get("campaign_id")
        return str(campaign_id) if campaign_id else ""

    def config_errors(self, config: EmailOpenedConfig, *, workspace=None, node_ids=None) -> dict[str, list[str]]:
        if workspace is None or not config.campaign:
            return {}
        from campaigns.models import Campaign

        if not Campaign.objects.filter(workspace=workspace, pk=config.campaign).exists():
            return {"campaign": ["No such campaign in this workspace."]}
        return {}


@register
class EmailOpened(_EmailTrigger):
    type = "email_opened"
    name = "Email opened"
    description = "A contact opens an email (one campaign, or any)."
    Config = EmailOpenedConfig
    events = (EMAIL_OPENED,)


@register
class EmailClicked(_EmailTrigger):
    type = "email_clicked"
    name = "Link clicked"
    description = "A contact clicks a link in an email."
    Config = EmailClickedConfig
    events = (EMAIL_CLICKED,)

    def matches(self, config: EmailClickedConfig, event) -> bool:
        if not super().matches(config, event):
            return False
        needle = config.url_contains.strip().lower()
        return not needle or needle in str(event.payload.get("url") or "").lower()


# --- Manual ------------------------------------------------------------------------------------------------


@register
class Manual(TriggerType):
    type = "manual"
    name = "Manual start"
    description = "Started by hand, or enrolled from another workflow."
