"""Event handlers owned by the CRM: other apps' events become contacts and timeline entries."""

import datetime

from django.core.exceptions import ValidationError

from builder.components.types import FORM_SUBMITTED
from builder.models import FormSubmission
from core.events import emit, on
from core.logging import get_logger
from core.models import Event
from crm.events import CONTACT_OPTIN_REQUESTED
from crm.models import ActivityKind, ContactSource, ContactStatus
from crm.services.activities import activity_record
from crm.services.consent import consent_record
from crm.services.contacts import contact_upsert
from crm.services.fields import custom_fields_for

log = get_logger(__name__)

# A form's field names → the contact field they fill; anything else that matches a custom field's
# key fills that, and the rest stays on the timeline with the submission.
_PROFILE_NAMES = {
    "first_name": "first_name",
    "firstname": "first_name",
    "first": "first_name",
    "given_name": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "last": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "phone": "phone",
    "telephone": "phone",
    "tel": "phone",
    "mobile": "phone",
    "phone_number": "phone",
    "company": "company",
    "company_name": "company",
    "organization": "company",
    "organisation": "company",
}
_FULL_NAMES = ("name", "full_name", "fullname", "your_name")


def form_profile(data: dict) -> dict:
    """Contact fields read from a submission's answers, by the form fields' names."""
    profile = {}
    for name, value in data.items():
        target = _PROFILE_NAMES.get(name.lower())
        if target and isinstance(value, str) and value.strip():
            profile[target] = value
    for name in _FULL_NAMES:
        value = data.get(name)
        if isinstance(value, str) and value.strip() and "first_name" not in profile:
            first, _, last = value.strip().partition(" ")
            profile["first_name"] = first
            if last and "last_name" not in profile:
                profile["last_name"] = last
    return profile


@on(FORM_SUBMITTED)
def contact_from_form_submission(event: Event) -> None:
    payload = event.payload
    if not payload.get("email"):
        return  # a form without an email field (a poll, say) has nobody to attach to
    data = payload.get("data") or {}
    component_id = payload.get("component_id", "")
    fields = custom_fields_for(event.workspace_id)
    profile = form_profile(data)
    custom = {key: value for key, value in data.items() if key in fields}
    at = datetime.datetime.fromisoformat(payload["submitted_at"]) if payload.get("submitted_at") else event.created_at
    upsert = dict(
        workspace=event.workspace,
        email=payload["email"],
        source=ContactSource.FORM,
        source_ref=component_id,
        fields=fields,
        at=at,
    )
    try:
        contact, created = contact_upsert(**upsert, **profile, custom_fields=custom)
    except ValidationError as exc:
        bad = set(exc.message_dict)
        if "email" in bad:
            log.warning("form_submission_unusable_email", event_id=event.pk)
            return
        # A phone number or custom value the CRM cannot take must not lose the lead: keep the
        # contact with the rest; every answer stays on the timeline and the submission.
        log.info("form_submission_fields_skipped", event_id=event.pk, fields=sorted(bad))
        profile = {name: value for name, value in profile.items() if name not in bad}
        custom = {key: value for key, value in custom.items() if f"custom_fields.{key}" not in bad}
        contact, created = contact_upsert(**upsert, **profile, custom_fields=custom)
    activity_record(
        contact=contact,
        kind=ActivityKind.FORM_SUBMITTED,
        ref=component_id,
        data={
            "submission_id": payload.get("submission_id"),
            "form_name": payload.get("form_name", ""),
            "form_type": payload.get("form_type", ""),
            "site_id": payload.get("site_id"),
            "page_id": payload.get("page_id"),
            "answers": data,
        },
        source="form",
        at=at,
    )
    if payload.get("double_opt_in") and (created or contact.status != ContactStatus.ACTIVE):
        # Consent waits for the confirmation link; meanwhile a new contact gets no marketing mail, and
        # an unsubscribed one stays unsubscribed. An active contact has nothing to confirm.
        if created:
            contact.status = ContactStatus.UNCONFIRMED
            contact.save(update_fields=["status", "updated_at"])
        emit(
            workspace=event.workspace_id,
            type=CONTACT_OPTIN_REQUESTED,
            payload={
                "contact_id": contact.pk,
                "component_id": component_id,
                "submission_id": payload.get("submission_id"),
            },
            subject=contact,
        )
    elif payload.get("consent_given"):
        submission = (
            FormSubmission.objects.filter(pk=payload.get("submission_id")).values("consent_text", "ip_hash").first()
            or {}
        )
        consent_record(
            contact=contact,
            granted=True,
            text=submission.get("consent_text", ""),
            source="form",
            source_ref=component_id,
            ip_hash=submission.get("ip_hash", ""),
            at=at,
        )
