"""Storing what a visitor sends through a form, and announcing it to the CRM and workflows."""

import hashlib
import hmac

from django.conf import settings
from django.db import transaction

from builder.components.types import FORM_SUBMITTED
from builder.models import Component, FormSubmission
from core.events import emit

_USER_AGENT_MAX = FormSubmission._meta.get_field("user_agent").max_length
_PAGE_URL_MAX = FormSubmission._meta.get_field("page_url").max_length
_FORM_NAME_MAX = FormSubmission._meta.get_field("form_name").max_length


def ip_hash(ip: str | None) -> str:
    """Keyed, so the stored value tells repeat visitors apart without being reversible by trying all
    four billion IPv4 addresses, as a plain hash would be."""
    if not ip:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


def _header_text(value: str, limit: int) -> str:
    # PostgreSQL refuses NUL in text columns; headers are the visitor's to fill.
    return value.replace("\x00", "")[:limit]


@transaction.atomic
def form_submission_create(
    *,
    component: Component,
    data: dict,
    consent_given: bool,
    ip: str | None,
    user_agent: str,
    page_url: str = "",
) -> FormSubmission:
    """Store a submission already checked against the form's fields, and emit `form.submitted` in the
    same transaction, so a lead is never stored without the CRM hearing of it, nor announced unstored."""
    config = component.config
    page = component.page
    consent = config.get("consent") or {}
    email_field = next((field["name"] for field in config.get("fields", []) if field.get("kind") == "email"), None)
    submission = FormSubmission.objects.create(
        workspace_id=component.workspace_id,
        site_id=page.site_id,
        page=page,
        component=component,
        form_name=str(config.get("heading", ""))[:_FORM_NAME_MAX],
        data=data,
        email=str(data.get(email_field) or "") if email_field else "",
        consent_given=consent_given,
        consent_text=consent.get("text", "") if consent.get("enabled") else "",
        ip_hash=ip_hash(ip),
        user_agent=_header_text(user_agent, _USER_AGENT_MAX),
        page_url=_header_text(page_url, _PAGE_URL_MAX),
    )
    emit(
        workspace=component.workspace_id,
        type=FORM_SUBMITTED,
        payload={
            "submission_id": submission.pk,
            "site_id": submission.site_id,
            "page_id": submission.page_id,
            "component_id": str(component.pk),
            "form_type": component.type,
            "form_name": submission.form_name,
            "email": submission.email,
            "data": data,
            "consent_given": consent_given,
            "double_opt_in": bool(config.get("double_opt_in", False)),
            "submitted_at": submission.created_at.isoformat(),
        },
        subject=submission,
    )
    return submission
