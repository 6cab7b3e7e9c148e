"""GDPR: everything stored about one contact, exported or erased; and flagging contacts no sending path
may email.

Where a contact's personal data lives, and what erasure does to each place:

- The contact row, its tag links, timeline, consent records and score changes: deleted (cascade).
- Form submissions (builder): the contact's own — matched by its normalised email, or named by its
  timeline — keep their row (so counts per form stay right) with answers, email, IP hash, user agent
  and page address blanked. Other submissions that mention the email (a "refer a friend" answer)
  have the mention redacted.
- The event outbox: events about the contact (by subject, by `contact_id`) or about its submissions
  (`form.submitted` carries the email and every answer) have their personal keys blanked and any
  mention of the person redacted; so have handler errors on them (EventDelivery.last_error) and any
  other event or error that mentions the email or phone. A `form.submitted` still waiting for its
  handler thus no longer brings the contact back.
- Import error reports: a rejected row that mentions the email or phone is blanked, its reason
  redacted. Import files are deleted when an import ends (crm.services.imports); one pending or
  running at erasure time still holds its file, and may bring the contact back: erase after it ends.
- Contact export files that mention the email are deleted; the export's record (who exported what)
  stays. Their filters, segment rules, other contacts' timelines and the audit log are redacted where
  they mention the email or phone; audit entries about the contact name it "Contact #<id>".
- Sent emails (campaigns): the contact's ledger rows, and any row addressed to its email, keep their
  row (campaign counts stay right) with the address, subject, body and error blanked and the contact
  unlinked; one still waiting to go out is skipped instead. Tracked link addresses and opt-in requests
  that mention the person are redacted or (opt-ins, by cascade) deleted.

Names alone are too common to search the whole workspace for ("Ann" is in "Annual"), so they are
redacted only in rows already tied to the contact; the email and phone are searched everywhere.
The same person's rows in another workspace belong to that workspace and are not touched. A member
account with the same email is a different record (the user's own) and stays.
"""

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast, Lower, Trim
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from accounts.services import audit_record
from builder.models import FormSubmission
from campaigns.models import PENDING, EmailEngagement, EmailSend, SendStatus
from core.events import emit
from core.models import Event, EventDelivery
from crm.events import CONTACT_ERASED, CONTACT_UNSUBSCRIBED, CONTACT_UPDATED
from crm.models import (
    ActivityKind,
    ConsentRecord,
    Contact,
    ContactActivity,
    ContactExport,
    ContactImport,
    ContactImportError,
    ContactStatus,
    ContactTag,
    ScoreChange,
    Segment,
)
from crm.services.activities import activity_record
from crm.services.consent import consent_record

REDACTED = "[erased]"
#: Keys of event payloads that hold what a person typed or is reached at, blanked whole.
PERSONAL_KEYS = frozenset({"email", "data", "answers", "first_name", "last_name", "name", "phone"})
REASON_MAX = 500
IDENTITY_FIELDS = ("email", "phone", "first_name", "last_name")


def contact_label(contact_id: int) -> str:
    """How the audit log names a contact: never by its email, which erasure must be able to remove."""
    return f"Contact #{contact_id}"


# --- Export -------------------------------------------------------------------------------------------


def _contact_submissions(contact: Contact) -> models.QuerySet:
    """The contact's form submissions: by its email (stored as typed, so compared normalised), or
    named by a form_submitted entry of its timeline."""
    named = [
        data.get("submission_id")
        for data in contact.activities.filter(kind=ActivityKind.FORM_SUBMITTED).values_list("data", flat=True)
        if isinstance(data, dict) and isinstance(data.get("submission_id"), int)
    ]
    return (
        FormSubmission.objects.filter(workspace_id=contact.workspace_id)
        .annotate(normalised_email=Lower(Trim("email")))
        .filter(Q(normalised_email=contact.email) | Q(pk__in=named))
    )


def _contact_sends(contact: Contact) -> models.QuerySet:
    """Emails sent to the contact: its own ledger rows, and any addressed to its email (a test send)."""
    return EmailSend.objects.filter(workspace_id=contact.workspace_id).filter(
        Q(contact=contact) | Q(to_email=contact.email)
    )


def _rows(queryset, *fields: str, **expressions) -> list[dict]:
    return list(queryset.values(*fields, **expressions))


@transaction.atomic
def contact_data_export(*, contact: Contact, actor=None, ip: str | None = None) -> dict:
    """Everything stored about the contact (the right of access and portability), as plain data the
    API renders as JSON; recorded in the audit log."""
    contact = Contact.objects.get(pk=contact.pk)
    data = {
        "exported_at": timezone.now(),
        "contact": {
            name: getattr(contact, name)
            for name in (
                "id",
                "email",
                "first_name",
                "last_name",
                "phone",
                "company",
                "stage",
                "status",
                "source",
                "source_ref",
                "score",
                "created_at",
                "updated_at",
                "last_activity_at",
            )
        },
        "tags": [
            {"tag": name, "added_at": added_at}
            for name, added_at in ContactTag.objects.filter(contact=contact)
            .order_by("tag__name")
            .values_list("tag__name", "added_at")
        ],
        "custom_fields": contact.custom_fields,
        "activities": _rows(contact.activities.order_by("at", "id"), "kind", "ref", "data", "source", "at"),
        "consents": _rows(
            contact.consents.order_by("at", "id"), "purpose", "granted", "text", "source", "source_ref", "at"
        ),
        "score_changes": _rows(contact.score_changes.order_by("at", "id"), "points", "reason", "rule_name", "at"),
        "form_submissions": _rows(
            _contact_submissions(contact).order_by("created_at", "id"),
            "id",
            "form_name",
            "data",
            "email",
            "consent_given",
            "consent_text",
            "page_url",
            "user_agent",
            "created_at",
        ),
        "emails": _rows(
            _contact_sends(contact).order_by("queued_at", "id"),
            "kind",
            "from_email",
            "to_email",
            "subject",
            "status",
            "queued_at",
            "sent_at",
            "first_opened_at",
            "first_clicked_at",
            "open_count",
            "click_count",
            campaign_name=F("campaign__name"),
        ),
    }
    audit_record(
        workspace=contact.workspace,
        action=AuditAction.CONTACT_EXPORTED,
        actor=actor,
        target=contact,
        target_repr=contact_label(contact.pk),
        ip=ip,
    )
    return data


# --- Erasure ------------------------------------------------------------------------------------------


class _Redactor:
    """Removes a person's values from text and JSON, case-insensitively and as whole words."""

    def __init__(self, values: Iterable[str]):
        values = sorted({value for value in values if value and value.strip()}, key=len, reverse=True)
        self.pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(value)}(?!\w)" for value in values), re.IGNORECASE)
            if values
            else None
        )

    def text(self, value: str) -> str:
        return self.pattern.sub(REDACTED, value) if self.pattern else value

    def json(self, value, *, blank_personal: bool = False):
        if isinstance(value, dict):
            return {
                key: _blank(item) if blank_personal and key in PERSONAL_KEYS else self.json(item, blank_personal=False)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def _blank(value):
    return type(value)() if isinstance(value, str | dict | list) else None


def _mentioning(queryset, fields: Iterable[str], needles: list[str]) -> models.QuerySet:
    """Rows whose text or JSON in any of `fields` contains any of `needles`, ignoring case."""
    condition = Q(pk__in=[])
    annotations = {}
    for field in fields:
        alias = f"_text_{field}"
        annotations[alias] = Cast(field, TextField())
        for needle in needles:
            condition |= Q(**{f"{alias}__icontains": needle})
    return queryset.alias(**annotations).filter(condition)


_BATCH = 500


def _redact_rows(
    queryset, fields: tuple[str, ...], redactor: _Redactor, *, blank_personal: bool = False, **overrides
) -> int:
    """Rewrite `fields` of each row with the person redacted (personal keys of JSON blanked with
    `blank_personal`, and `overrides` set), one UPDATE per batch of changed rows; returns how many
    rows changed."""
    changed = []
    for row in queryset.only("pk", *fields, *overrides).iterator(chunk_size=_BATCH):
        dirty = False
        for field in fields:
            old = getattr(row, field)
            new = redactor.text(old) if isinstance(old, str) else redactor.json(old, blank_personal=blank_personal)
            if new != old:
                setattr(row, field, new)
                dirty = True
        for name, value in overrides.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                dirty = True
        if dirty:
            changed.append(row)
    # Unchanged fields of a changed row are written back as they were read.
    queryset.model.objects.bulk_update(changed, [*fields, *overrides], batch_size=_BATCH)
    return len(changed)


def _file_mentions(field_file, needle: str) -> bool:
    """Whether a stored file holds `needle` (ASCII, e.g. an email), ignoring case; read in chunks."""
    needle_bytes = needle.lower().encode()
    tail = b""
    with field_file.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            window = tail + chunk.lower()
            if needle_bytes in window:
                return True
            tail = window[-len(needle_bytes) :]
    return False


def _erase_events(
    workspace_id: int, contact_id: int, submission_ids: list[int], redactor: _Redactor, wide: list[str]
) -> dict:
    # The outbox names a subject "<app>.<model>:<pk>".
    subjects = [
        f"{Contact._meta.label_lower}:{contact_id}",
        *(f"{FormSubmission._meta.label_lower}:{pk}" for pk in submission_ids),
    ]
    events = Event.objects.filter(workspace_id=workspace_id)
    linked = events.filter(Q(subject__in=subjects) | Q(payload__contact_id=contact_id))
    linked_ids = set(linked.values_list("pk", flat=True))
    count = _redact_rows(linked, ("payload",), redactor, blank_personal=True)
    count += _redact_rows(_mentioning(events.exclude(pk__in=linked_ids), ["payload"], wide), ("payload",), redactor)
    deliveries = EventDelivery.objects.filter(event__workspace_id=workspace_id).exclude(last_error="")
    errors = Q(event_id__in=linked_ids)
    for needle in wide:
        errors |= Q(last_error__icontains=needle)
    return {"events": count, "event_errors": _redact_rows(deliveries.filter(errors), ("last_error",), redactor)}


def _identity(contact: Contact) -> dict[str, set[str]]:
    """The contact's email, phone and names, now and before: a former name is still theirs."""
    identity = {field: {getattr(contact, field)} for field in IDENTITY_FIELDS}
    changes = contact.activities.filter(kind=ActivityKind.FIELD_CHANGED, ref__in=IDENTITY_FIELDS)
    for data in changes.values_list("data", flat=True):
        values = identity.get(data.get("field"))
        for key in ("from", "to"):
            if values is not None and isinstance(data.get(key), str):
                values.add(data[key])
    return {field: {value for value in values if value} for field, values in identity.items()}


@transaction.atomic
def contact_erase(*, contact: Contact, actor=None, ip: str | None = None) -> dict:
    """Remove the contact's personal data from everywhere it is stored (see the module's docstring),
    keeping anonymous aggregates; returns how many rows of each kind were deleted or scrubbed. The
    audit entry names the contact by id only."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    workspace_id, contact_id = contact.workspace_id, contact.pk
    identity = _identity(contact)
    wide = sorted(identity["email"] | identity["phone"])
    redactor = _Redactor(set().union(*identity.values()) | {contact.name})
    submissions = _contact_submissions(contact)
    submission_ids = list(submissions.values_list("pk", flat=True))

    counts = {
        "activities": ContactActivity.objects.filter(contact=contact).count(),
        "consents": ConsentRecord.objects.filter(contact=contact).count(),
        "score_changes": ScoreChange.objects.filter(contact=contact).count(),
        "tags": ContactTag.objects.filter(contact=contact).count(),
        "form_submissions": FormSubmission.objects.filter(pk__in=submission_ids).update(
            data={}, email="", ip_hash="", user_agent="", page_url=""
        ),
    }
    sends = _contact_sends(contact)
    send_ids = list(sends.values_list("pk", flat=True))
    sends = EmailSend.objects.filter(pk__in=send_ids)
    sends.filter(status__in=PENDING).update(status=SendStatus.SKIPPED, claimed_until=None)
    counts["email_sends"] = sends.update(contact=None, to_email="", subject="", body={}, error="")
    contact.delete()
    counts["contacts"] = 1

    counts |= _erase_events(workspace_id, contact_id, submission_ids, redactor, wide)
    in_workspace = {"workspace_id": workspace_id}
    counts["other_submissions"] = _redact_rows(
        _mentioning(FormSubmission.objects.filter(**in_workspace), ["data"], wide), ("data",), redactor
    )
    counts["import_errors"] = _redact_rows(
        _mentioning(ContactImportError.objects.filter(**in_workspace), ["row", "reason"], wide),
        ("reason",),
        redactor,
        row={},
    )
    counts["imports"] = _redact_rows(
        _mentioning(ContactImport.objects.filter(**in_workspace), ["error"], wide), ("error",), redactor
    )
    exports = ContactExport.objects.filter(**in_workspace)
    counts["exports"] = _redact_rows(_mentioning(exports, ["filters"], wide), ("filters",), redactor)
    export_files = 0
    for export in exports.exclude(file=""):
        if _file_mentions(export.file, contact.email):
            export.file.delete(save=True)
            export_files += 1
    counts["export_files"] = export_files
    counts["segments"] = _redact_rows(
        _mentioning(Segment.objects.filter(**in_workspace), ["rules", "description"], wide),
        ("rules", "description"),
        redactor,
    )
    counts["email_links"] = _redact_rows(
        _mentioning(EmailEngagement.objects.filter(**in_workspace), ["url"], wide), ("url",), redactor
    )
    counts["other_activities"] = _redact_rows(
        _mentioning(ContactActivity.objects.filter(**in_workspace), ["data"], wide), ("data",), redactor
    )
    audit = AuditEvent.objects.filter(**in_workspace)
    own = audit.filter(target_type=Contact._meta.label_lower, target_id=str(contact_id))
    counts["audit_events"] = _redact_rows(own, ("changes",), redactor, target_repr=contact_label(contact_id))
    counts["audit_events"] += _redact_rows(
        _mentioning(audit.exclude(pk__in=own.values("pk")), ["target_repr", "changes"], wide),
        ("target_repr", "changes"),
        redactor,
    )

    contact.pk = contact_id  # delete() cleared it; the audit entry and event name the contact by id
    audit_record(
        workspace=contact.workspace,
        action=AuditAction.CONTACT_ERASED,
        actor=actor,
        target=contact,
        target_repr=contact_label(contact_id),
        ip=ip,
        changes=counts,
    )
    emit(workspace=workspace_id, type=CONTACT_ERASED, payload={"contact_id": contact_id})
    return counts


# --- Suppression ------------------------------------------------------------------------------------------

SUPPRESSED = (ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED)


@transaction.atomic
def contact_suppress(
    *, contact: Contact, status: str, reason: str = "", source: str = "", actor=None, details: dict | None = None
) -> Contact:
    """Flag a contact that must not be emailed: unsubscribed (their wish: marketing consent is
    withdrawn too, and `contact.unsubscribed` emitted; `details`, e.g. the email whose link they
    followed, go in the event and on the timeline entry), bounced or complained (about the
    address). Every sending path honours it through `Contact.objects.sendable()`. Setting the status
    it already has changes nothing."""
    errors = {}
    if status not in SUPPRESSED:
        errors["status"] = [f"{status!r} is not one of: {', '.join(SUPPRESSED)}."]
    reason = str(reason or "").strip()
    if len(reason) > REASON_MAX:
        errors["reason"] = [f"At most {REASON_MAX} characters."]
    if errors:
        raise ValidationError(errors)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.status == status:
        return contact
    previous = contact.status
    contact.status = status
    contact.save(update_fields=["status", "updated_at"])
    activity_record(
        contact=contact,
        kind=ActivityKind.UNSUBSCRIBED if status == ContactStatus.UNSUBSCRIBED else ActivityKind.FIELD_CHANGED,
        ref="status",
        data={"field": "status", "from": previous, "to": status, "reason": reason, **(details or {})},
        source=source,
        actor=actor,
    )
    if status == ContactStatus.UNSUBSCRIBED:
        consent_record(contact=contact, granted=False, text=reason, source=source, actor=actor)
        emit(
            workspace=contact.workspace_id,
            type=CONTACT_UNSUBSCRIBED,
            payload={"contact_id": contact.pk, "source": source, **(details or {})},
            subject=contact,
        )
    emit(
        workspace=contact.workspace_id,
        type=CONTACT_UPDATED,
        payload={"contact_id": contact.pk, "changed": ["status"]},
        subject=contact,
    )
    return contact
