"""CSV exports of contacts: all of them, a segment, or the contact list's filters.

An export is recorded before a byte is sent (who, which segment or filters: the audit trail), and
its file is streamed straight from the database, a chunk of contacts at a time, so a million
contacts never sit in memory. The columns are the import's targets, so an exported file imports
back as it is (the formula escape is undone on the way in).
"""

from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from core.csv import csv_safe
from crm.models import Contact, ContactExport, CustomField, JobStatus, Segment, Tag
from crm.selectors.contacts import SEARCH_PARAM, contact_list, list_params_check
from crm.selectors.segments import segment_contacts

STANDARD_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "stage",
    "status",
    "score",
    "source",
    "tags",
    "created_at",
    "last_activity_at",
)
CHUNK_SIZE = 2000


def _when(moment) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def contact_export_rows(*, queryset: QuerySet[Contact], fields: list[CustomField] | None = None) -> Iterator[list[str]]:
    """The header, then one row per contact, every cell safe to open in a spreadsheet. `fields` are the
    custom field columns, by key (all of the contacts' workspace's when not given)."""
    if fields is None:
        fields = list(CustomField.objects.filter(workspace__in=queryset.values("workspace_id")[:1]))
    keys = [custom.key for custom in fields]
    yield [*STANDARD_COLUMNS, *keys]
    contacts = (
        queryset.order_by("pk")
        .select_related(None)
        .prefetch_related(None)
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name", "id")))
    )
    for contact in contacts.iterator(chunk_size=CHUNK_SIZE):
        custom = contact.custom_fields if isinstance(contact.custom_fields, dict) else {}
        cells = [
            contact.email,
            contact.first_name,
            contact.last_name,
            contact.phone,
            contact.company,
            contact.stage,
            contact.status,
            contact.score,
            contact.source,
            ", ".join(tag.name for tag in contact.tags.all()),
            _when(contact.created_at),
            _when(contact.last_activity_at),
            *(custom.get(key) for key in keys),
        ]
        yield [csv_safe(cell) for cell in cells]


def _filters_clean(filters) -> dict[str, str | list[str]]:
    """The filters as the contact list's query parameters: text, or lists of text for a repeated one."""
    if filters in (None, ""):
        return {}
    if not isinstance(filters, dict):
        raise ValidationError({"filters": ['Expected an object of contact list filters, e.g. {"tag": 3}.']})
    return {
        str(key): [str(item) for item in value] if isinstance(value, list | tuple) else str(value)
        for key, value in filters.items()
        if value is not None
    }


def export_queryset(*, workspace, segment: Segment | None, filters: dict) -> QuerySet[Contact]:
    """The contacts an export covers: the segment's (if any), narrowed by the contact list's filters
    and search. Raises ValidationError naming a bad filter as `filters.<name>`."""
    params = {key: value for key, value in filters.items() if key != SEARCH_PARAM}
    try:
        contacts = contact_list(workspace=workspace, filters=params, search=str(filters.get(SEARCH_PARAM, "")))
    except ValidationError as exc:
        raise ValidationError({f"filters.{name}": messages for name, messages in exc.message_dict.items()}) from None
    if segment is not None:
        try:
            members = segment_contacts(segment=segment)
        except ValidationError as exc:  # stored rules gone stale, e.g. a tag since deleted
            problems = "; ".join(message for messages in exc.message_dict.values() for message in messages)
            raise ValidationError({"segment": [f"The segment's rules need fixing first: {problems}"]}) from None
        contacts = contacts.filter(pk__in=members.values("pk"))
    return contacts


@transaction.atomic
def contact_export_create(*, workspace, segment: Segment | None = None, filters=None, actor=None) -> ContactExport:
    """Record an export (the audit trail) and count what it covers; the file is streamed on download."""
    if segment is not None and segment.workspace_id != workspace.pk:
        raise ValidationError({"segment": ["No such segment in this workspace."]})
    filters = _filters_clean(filters)
    list_params_check(filters, field="filters")
    contacts = export_queryset(workspace=workspace, segment=segment, filters=filters)
    return ContactExport.objects.create(
        workspace=workspace,
        segment=segment,
        filters=filters,
        row_count=contacts.order_by().count(),
        created_by=actor if isinstance(actor, User) else None,
    )


def contact_export_stream(*, export: ContactExport) -> Iterator[list[str]]:
    """The export's rows, as of now. When the last one is sent the export is marked done with the
    number of contacts it held; a download cut short leaves it running."""
    contacts = export_queryset(workspace=export.workspace, segment=export.segment, filters=export.filters)
    fields = list(CustomField.objects.for_workspace(export.workspace_id))
    ContactExport.objects.filter(pk=export.pk).update(status=JobStatus.RUNNING)
    sent = -1  # the header is not a contact
    for row in contact_export_rows(queryset=contacts, fields=fields):
        sent += 1
        yield row
    ContactExport.objects.filter(pk=export.pk).update(status=JobStatus.DONE, row_count=sent, finished_at=timezone.now())
