"""CSV contact imports: an upload checked and stored, then processed by a Celery task in batches.

Rules a marketer can rely on:

- A row is imported whole or not at all. A rejected row is kept with its reason (row numbers as a
  spreadsheet shows them: the header is row 1) and the rest of the file is imported.
- Contacts are matched on their normalised email. An empty cell never replaces a stored value
  (as everywhere contacts are upserted). Rows of one email within the file merge in file order:
  a later non-empty cell wins, tags add up.
- An import never re-subscribes anyone: a status cell of "active" doesn't override a stored
  unsubscribed, bounced or complained status. It can set those.
- Counters: every non-blank data row is exactly one of created (the first row of an email new to
  the workspace), updated (any other accepted row: its email existed, or came earlier in the file)
  or failed, so processed = created + updated + failed, and at the end processed = total.
- Each batch commits together with its counters. A worker that dies mid-file leaves the import
  running; the task run again carries on after `processed`, and no email ever makes two contacts.
- The file must be UTF-8 (with or without a byte order mark) or UTF-16 with one. Other encodings
  are refused at upload rather than imported with garbled names.
- The stored file is deleted when the import ends: only the rejected rows are kept, for the report.
- Each contact an import creates or changes gets one "imported" activity and one event:
  contact.created (with `tag_ids`, the tags it came with) or contact.updated (`changed` lists
  "tags" when tags were added, with their `tag_ids`). No tag.added per tag: a large import would
  otherwise set off every tag-triggered workflow once per contact and tag, and quadruple the work.
"""

import codecs
import csv
import io
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Model, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import User
from core.bulk import bulk_insert
from core.csv import csv_unescape
from core.enqueue import enqueue
from core.events import emit_many
from core.logging import get_logger
from crm.events import CONTACT_CREATED, CONTACT_UPDATED
from crm.models import (
    ActivityKind,
    Contact,
    ContactActivity,
    ContactImport,
    ContactImportError,
    ContactSource,
    ContactStatus,
    ContactTag,
    CustomField,
    JobStatus,
    LifecycleStage,
    ScoringRule,
    Tag,
)
from crm.services.contacts import contact_changes_apply
from crm.services.fields import (
    EMAIL_MAX,
    PROFILE_FIELDS,
    all_or_errors,
    custom_fields_clean,
    custom_fields_for,
    email_normalize,
    is_empty,
    profile_clean,
)
from crm.services.scoring import score_activity
from crm.services.tags import tag_name_clean, tags_resolve

log = get_logger(__name__)

#: Rows per transaction: large enough that per-batch round trips and commits don't count, small
#: enough that a batch's rows and its COPY text stay a few MB.
BATCH_SIZE = 5000
#: Distinct phone, tag and custom field cells remembered per import: parsing a phone number costs
#: more than the rest of its row, and lists repeat numbers (switchboards), tags and plans a lot.
CLEAN_CACHE_SIZE = 100_000
#: What is read to find the encoding, the delimiter and the header.
HEAD_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
CUSTOM_PREFIX = "custom:"
#: Mapping targets besides custom fields, with the words the import wizard shows.
STANDARD_TARGETS = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "company": "Company",
    "stage": "Lifecycle stage",
    "status": "Status",
    "tags": "Tags",
}
#: Targets several columns may feed (their values add up).
MULTI_TARGETS = {"tags"}
PREVIEW_ROWS = 5
#: A pending import this old is started again by the beat task (its first enqueue was lost).
STALLED_AFTER = timedelta(minutes=5)
#: Columns written for a new contact and an activity, in the order the importer builds their rows.
CONTACT_FIELDS = (
    "workspace_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "custom_fields",
    "score",
    "stage",
    "status",
    "source",
    "source_ref",
    "created_at",
    "updated_at",
)
ACTIVITY_FIELDS = ("workspace_id", "contact_id", "kind", "ref", "data", "source", "actor_id", "at")
_TAG_SPLIT = re.compile(r"[,;]")
#: Addresses plain enough that Django's validate_email() surely accepts them (a strict subset of
#: its rules); only the others are checked by it. Most rows of a list are plain.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}"
)
_NOT_UTF8 = (
    'The file is not UTF-8 text. In Excel choose File > Save As > "CSV UTF-8 (Comma delimited)"; '
    "in Google Sheets, File > Download > CSV."
)


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says why, in the user's words."""


# --- Reading the file ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvLayout:
    encoding: str
    delimiter: str
    #: Column names, stripped; a column without a name is "".
    header: list[str]


def _encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def _sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the most columns, the same number on each."""
    lines = sample.splitlines()[:20]
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    best, best_columns = ",", 1
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not rows:
            continue
        columns = len(rows[0])
        consistent = all(len(row) == columns for row in rows)
        if columns > best_columns and (consistent or len(rows) == 1):
            best, best_columns = delimiter, columns
    return best


def csv_layout(file) -> CsvLayout:
    """Encoding, delimiter and header of a binary file (left at its start), or ValidationError
    naming `file` when it is not a CSV file one can import."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if not head.strip():
        raise ValidationError({"file": ["The file is empty."]})
    encoding = _encoding(head)
    if encoding != "utf-16" and b"\x00" in head:
        raise ValidationError({"file": ["This is not a CSV file: it holds binary data."]})
    try:
        sample = codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError:
        raise ValidationError({"file": [_NOT_UTF8]}) from None
    delimiter = _sniff_delimiter(sample)
    try:
        header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise ValidationError({"file": [f"The first row cannot be read as CSV: {exc}."]}) from None
    header = [name.strip() for name in header]
    if not any(header):
        raise ValidationError({"file": ["The first row must name the columns, e.g. Email, First name."]})
    seen = set()
    for name in header:
        if name and name.lower() in seen:
            raise ValidationError({"file": [f"Two columns are named {name!r}: give each column its own name."]})
        seen.add(name.lower())
    return CsvLayout(encoding=encoding, delimiter=delimiter, header=header)


def _check_decodes(file, encoding: str) -> None:
    file.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    chunk = b""
    try:
        while chunk := file.read(1024 * 1024):
            line += decoder.decode(chunk).count("\n")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        line += chunk[: exc.start].count(b"\n")
        raise ValidationError({"file": [f"{_NOT_UTF8} (The first unreadable character is on line {line}.)"]}) from None
    finally:
        file.seek(0)


def _raw(file):
    """The Python file object inside Django's File wrappers (TextIOWrapper needs the real one)."""
    while isinstance(file, File):
        file = file.file
    return file


def _data_rows(file, layout: CsvLayout) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each data row that is not blank; row 1 is the header."""
    text = io.TextIOWrapper(_raw(file), encoding=layout.encoding, newline="")
    reader = csv.reader(text, delimiter=layout.delimiter)
    number = 1
    try:
        next(reader, None)
        for number, cells in enumerate(reader, start=2):
            if any(cell.strip() for cell in cells):
                yield number, cells
    except UnicodeDecodeError:
        raise ImportFileError(f"{_NOT_UTF8} (After row {number}.)") from None
    except csv.Error as exc:
        raise ImportFileError(f"Row {number + 1} cannot be read as CSV: {exc}.") from None
    finally:
        if not text.closed:  # else closing the wrapper would close the caller's file
            text.detach()


# --- The mapping ------------------------------------------------------------------------------------


def import_targets(*, workspace) -> list[dict]:
    """What a column can be mapped to: the standard fields, then each custom field."""
    targets = [{"value": value, "label": label} for value, label in STANDARD_TARGETS.items()]
    targets += [
        {"value": CUSTOM_PREFIX + custom.key, "label": custom.label}
        for custom in CustomField.objects.for_workspace(workspace)
    ]
    return targets


def _mapping_clean(mapping, header: list[str], fields: dict[str, CustomField]) -> dict[str, str]:
    """Column → target for the mapped columns; ValidationError naming `mapping.<column>`."""
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": ["Expected an object of column name → field."]})
    columns = set(header) - {""}
    cleaned, errors, filled_from = {}, {}, {}
    for column, target in mapping.items():
        path = f"mapping.{column}"
        if column not in columns:
            errors[path] = [f"The file has no column {column!r}."]
            continue
        if target is None or target == "":
            continue
        if not isinstance(target, str):
            errors[path] = ["Expected a field name, or an empty value to skip the column."]
            continue
        if target.startswith(CUSTOM_PREFIX):
            key = target.removeprefix(CUSTOM_PREFIX)
            if key not in fields:
                errors[path] = [f"No custom field {key!r}."]
                continue
        elif target not in STANDARD_TARGETS:
            errors[path] = [
                f"{target!r} is not a field: use one of {', '.join(STANDARD_TARGETS)}, custom:<key>, "
                "or an empty value to skip the column."
            ]
            continue
        if target not in MULTI_TARGETS and target in filled_from:
            errors[path] = [f"{target!r} is already filled from column {filled_from[target]!r}."]
            continue
        filled_from.setdefault(target, column)
        cleaned[column] = target
    if not errors and "email" not in filled_from:
        errors["mapping"] = ["Map one column to email: contacts are matched by their email address."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _tags_clean(tags) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    names = []
    for name in tags or ():
        if is_empty(name):
            continue
        names.append(tag_name_clean(name))
    return names


# --- Creating an import -------------------------------------------------------------------------------


@transaction.atomic
def contact_import_create(
    *, workspace, file, filename: str, mapping: dict, tags: Iterable[str] = (), actor=None
) -> ContactImport:
    """Check the upload and its mapping, store it, and have it processed once this commits."""
    if isinstance(file, bytes | bytearray):
        file = ContentFile(bytes(file))
    size = getattr(file, "size", None)
    if size is not None and size > settings.CRM_IMPORT_MAX_BYTES:
        limit = settings.CRM_IMPORT_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"file": [f"The file is larger than {limit} MB: split it into smaller files."]})
    layout = csv_layout(file)
    fields = custom_fields_for(workspace)
    mapping, tags = all_or_errors(lambda: _mapping_clean(mapping, layout.header, fields), lambda: _tags_clean(tags))
    _check_decodes(file, layout.encoding)

    contact_import = ContactImport(
        workspace=workspace,
        filename=str(filename or "contacts.csv")[:255],
        mapping=mapping,
        tags=tags,
        created_by=actor if isinstance(actor, User) else None,
    )
    contact_import.file.save(f"{uuid.uuid4().hex}.csv", File(file), save=False)
    contact_import.save()
    transaction.on_commit(lambda: enqueue_contact_import(contact_import.pk))
    return contact_import


def enqueue_contact_import(import_id: int) -> None:
    from crm.tasks import contact_import_run

    # The upload is stored and answered; a broker outage must not turn it into a 500.
    enqueue(contact_import_run, import_id)


def contact_imports_stalled(*, older_than: timedelta = STALLED_AFTER) -> list[int]:
    """Imports still pending this long after their upload: their task never got to a worker."""
    cutoff = timezone.now() - older_than
    pending = ContactImport.objects.filter(status=JobStatus.PENDING, created_at__lt=cutoff)
    return list(pending.order_by("created_at").values_list("pk", flat=True)[:100])


def contact_import_preview(*, workspace, file) -> dict:
    """What the import wizard shows before anything is stored: the columns, the first rows, and a
    guess at each column's target."""
    layout = csv_layout(file)
    rows = [cells for _, cells in islice(_data_rows(file, layout), PREVIEW_ROWS)]
    width = len(layout.header)
    targets = import_targets(workspace=workspace)
    return {
        "columns": layout.header,
        "sample_rows": [(cells + [""] * width)[:width] for cells in rows],
        "suggested_mapping": suggest_mapping(layout.header, targets),
        "delimiter": layout.delimiter,
        "targets": targets,
    }


def _simplify(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_SYNONYMS = {
    "email": {"email", "emailaddress", "mail", "emails"},
    "first_name": {"firstname", "first", "givenname", "forename", "prenom"},
    "last_name": {"lastname", "last", "surname", "familyname", "nom"},
    "phone": {"phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell", "cellphone"},
    "company": {"company", "companyname", "organization", "organisation", "org", "business", "employer"},
    "stage": {"stage", "lifecyclestage", "lifecycle"},
    "status": {"status", "subscriptionstatus", "emailstatus"},
    "tags": {"tags", "tag", "labels"},
}


def suggest_mapping(header: list[str], targets: list[dict]) -> dict[str, str]:
    """Column → the target its name suggests ("E-mail" → email, "Plan" → custom:plan), each
    target at most once; "" for columns nothing fits."""
    by_name = {}
    for target in targets:
        value = target["value"]
        names = _SYNONYMS.get(value, set()) | {_simplify(value.removeprefix(CUSTOM_PREFIX)), _simplify(target["label"])}
        for name in names:
            by_name.setdefault(name, value)
    suggested, used = {}, set()
    for column in header:
        if not column:
            continue
        target = by_name.get(_simplify(column), "")
        if target and target in used and target not in MULTI_TARGETS:
            target = ""
        used.add(target)
        suggested[column] = target
    return suggested


# --- Processing -----------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    email: str
    #: Profile fields, stage and status: only the non-empty ones.
    values: dict
    custom: dict
    tags: list[str]


@dataclass
class _Group:
    """The rows of one email within a batch, merged in file order."""

    email: str
    rows: int = 0
    values: dict = field(default_factory=dict)
    custom: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)  # lower-case name → name

    def add(self, row: _Row) -> None:
        self.rows += 1
        self.values.update(row.values)
        self.custom.update(row.custom)
        for name in row.tags:
            self.tags.setdefault(name.lower(), name)


def _choice_lookup(choices) -> dict[str, str]:
    lookup = {}
    for value, label in choices.choices:
        lookup[value.lower()] = value
        lookup[str(label).lower()] = value
    return lookup


_STAGES = _choice_lookup(LifecycleStage)
_STATUSES = _choice_lookup(ContactStatus)


class _Plan:
    """How to read a row: which cell feeds which target."""

    def __init__(self, mapping: dict[str, str], header: list[str], fields: dict[str, CustomField]):
        index = {name: i for i, name in enumerate(header) if name}
        missing = [column for column in mapping if column not in index]
        if missing:
            raise ImportFileError(f"The file has no column {missing[0]!r} any more.")
        unknown = [
            target.removeprefix(CUSTOM_PREFIX)
            for target in mapping.values()
            if target.startswith(CUSTOM_PREFIX) and target.removeprefix(CUSTOM_PREFIX) not in fields
        ]
        if unknown:
            raise ImportFileError(f"The custom field {unknown[0]!r} was deleted after the upload.")
        self.header = header
        self.fields = fields
        self.columns = [(index[column], column, target) for column, target in mapping.items()]
        self.column_of = {}
        for _, column, target in self.columns:
            self.column_of.setdefault(target, column)
        #: (target, cell) → (value, "") or ("", why not): a list repeats phone numbers, tags, plans.
        self.cleaned: dict[tuple[str, str], tuple] = {}

    def _clean_cell(self, target: str, cell: str) -> tuple:
        """One cell cleaned as `target` (phone, tags or a custom field), remembered for the import."""
        try:
            return self.cleaned[target, cell]
        except KeyError:
            pass
        try:
            if target == "phone":
                result = profile_clean({"phone": cell}, keep_empty=False)["phone"], ""
            elif target == "tags":
                result = tag_name_clean(cell), ""
            else:
                key = target.removeprefix(CUSTOM_PREFIX)
                result = custom_fields_clean(fields=self.fields, values={key: cell})[key], ""
        except ValidationError as exc:
            result = "", next(iter(exc.message_dict.values()))[0]
        if len(self.cleaned) < CLEAN_CACHE_SIZE:
            self.cleaned[target, cell] = result
        return result

    def raw(self, cells: list[str]) -> list[list[str]]:
        """The row as [column, cell] pairs, in file order (a JSON object would lose the order on
        PostgreSQL); cells past the header are "Column N"."""
        width = max(len(self.header), len(cells))
        names = [*self.header, *([""] * (width - len(self.header)))]
        return [[name or f"Column {i + 1}", cells[i] if i < len(cells) else ""] for i, name in enumerate(names)]

    def clean(self, number: int, cells: list[str]) -> tuple[_Row | None, str]:
        """The row's values, or None and the reason it is rejected."""
        reasons = []
        width = len(self.header)
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            return None, (
                f"This row has {len(cells)} cells but the header has {width}: "
                "a value holding the delimiter needs quotes around it."
            )
        email, values, custom_cells, tags = "", {}, {}, []
        profile, phone_cell = {}, ""
        for i, column, target in self.columns:
            cell = csv_unescape(cells[i]) if i < len(cells) else ""
            if target == "tags":
                for name in _TAG_SPLIT.split(cell):
                    if name.strip():
                        tag, message = self._clean_cell("tags", name)
                        if message:
                            reasons.append(f"{column}: {message}")
                        else:
                            tags.append(tag)
                continue
            if is_empty(cell):
                if target == "email":
                    reasons.append(f"{column}: empty. Every contact needs an email address.")
                continue
            if target == "email":
                email = cell.strip().lower()
                if len(email) > EMAIL_MAX or not _PLAIN_EMAIL.fullmatch(email):
                    try:
                        email = email_normalize(cell)
                    except ValidationError as exc:
                        reasons.append(f"{column}: {exc.message_dict['email'][0]}")
            elif target == "phone":
                phone_cell = cell
            elif target in PROFILE_FIELDS:
                profile[target] = cell
            elif target == "stage":
                if stage := _STAGES.get(cell.strip().lower()):
                    values["stage"] = stage
                else:
                    reasons.append(f"{column}: {cell.strip()!r} is not one of: {', '.join(LifecycleStage.labels)}.")
            elif target == "status":
                if status := _STATUSES.get(cell.strip().lower()):
                    values["status"] = status
                else:
                    reasons.append(f"{column}: {cell.strip()!r} is not one of: {', '.join(ContactStatus.labels)}.")
            else:
                custom_cells[target] = cell
        custom, profile_errors = {}, {}
        try:
            values.update(profile_clean(profile, keep_empty=False))
        except ValidationError as exc:
            profile_errors = {name: messages[0] for name, messages in exc.message_dict.items()}
        if phone_cell:
            phone, message = self._clean_cell("phone", phone_cell)
            if message:
                profile_errors["phone"] = message
            else:
                values["phone"] = phone
        reasons += [
            f"{self.column_of[name]}: {profile_errors[name]}" for name in PROFILE_FIELDS if name in profile_errors
        ]
        for target, cell in custom_cells.items():
            value, message = self._clean_cell(target, cell)
            if message:
                reasons.append(f"{self.column_of[target]}: {message}")
            else:
                custom[target.removeprefix(CUSTOM_PREFIX)] = value
        if reasons:
            return None, " ".join(reasons)
        return _Row(number=number, email=email, values=values, custom=custom, tags=tags), ""


#: What an import may change in a stored contact (and so reads of it).
_MERGED = (*PROFILE_FIELDS, "stage", "status", "custom_fields")


def _any(model: type[Model], name: str, values: list) -> Q:
    """`name IN values`; on PostgreSQL as `= ANY(array)`: one parameter instead of thousands
    (a batch's worth), which psycopg would otherwise splice into the query text one by one. The
    array is cast to the column's type, else a list of ints may go as numeric[] and miss the index."""
    if connection.vendor != "postgresql":
        return Q(**{f"{name}__in": values})
    field = model._meta.get_field(name)
    sql = f"{connection.ops.quote_name(field.column)} = ANY(%s::{field.cast_db_type(connection)}[])"
    return Q(RawSQL(sql, [values], output_field=BooleanField()))  # noqa: S611 - names from the model, values bound


class _Superseded(Exception):
    """Another run of the same import got further; this one stops."""


@dataclass
class _Outcome:
    created: int = 0
    updated: int = 0


class _Importer:
    def __init__(self, contact_import: ContactImport, plan: _Plan):
        self.job = contact_import
        self.workspace_id = contact_import.workspace_id
        self.plan = plan
        self.actor_id = contact_import.created_by_id
        self.source_ref = str(contact_import.pk)
        self.tags: dict[str, Tag] = {}
        self.tag_names: dict[int, str] = {}
        self.default_tags = [name.lower() for name in self._resolve_tags(contact_import.tags)]
        self.scored = ScoringRule.objects.filter(
            workspace_id=self.workspace_id, is_active=True, event_type=ActivityKind.IMPORTED
        ).exists()

    def _resolve_tags(self, names: Iterable[str]) -> list[str]:
        """Find or create the tags, remembered for the run by lower-case name."""
        names = list(names)
        missing = {name.lower(): name for name in names if name.lower() not in self.tags}
        if missing:
            # In the order given, matched case-insensitively: "VIP" may be stored as "vip".
            resolved = tags_resolve(workspace=self.job.workspace, names=missing.values())
            self.tags.update(zip(missing, resolved, strict=True))
            self.tag_names.update((tag.pk, tag.name) for tag in resolved)
        return names

    def run_batch(self, offset: int, batch: list[tuple[int, list[str]]]) -> None:
        rows, errors = [], []
        for number, cells in batch:
            row, reason = self.plan.clean(number, cells)
            if row is None:
                errors.append(
                    ContactImportError(
                        workspace_id=self.workspace_id,
                        contact_import_id=self.job.pk,
                        row_number=number,
                        reason=reason,
                        row=self.plan.raw(cells),
                    )
                )
            else:
                rows.append(row)
        groups: dict[str, _Group] = {}
        for row in rows:
            groups.setdefault(row.email, _Group(row.email)).add(row)
        self._resolve_tags({name for group in groups.values() for name in group.tags.values()})

        with transaction.atomic():
            if connection.vendor == "postgresql":
                # A crash may lose the last batches (never half of one: each commits with its counter,
                # so a re-run redoes them); the final status commit flushes them all to disk.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            job = ContactImport.objects.select_for_update().get(pk=self.job.pk)
            if job.status != JobStatus.RUNNING or job.processed != offset:
                raise _Superseded
            outcome = self._write(groups)
            ContactImportError.objects.bulk_create(errors)
            job.processed += len(batch)
            job.created += outcome.created
            job.updated += outcome.updated
            job.failed += len(errors)
            job.save(update_fields=["processed", "created", "updated", "failed"])
            self.job = job

    def _existing(self, emails) -> dict[str, Contact]:
        contacts = (
            Contact.objects.filter(_any(Contact, "email", list(emails)), workspace_id=self.workspace_id)
            .only("email", *_MERGED)
            .select_for_update()
            .order_by("pk")
        )
        return {contact.email: contact for contact in contacts}

    def _write(self, groups: dict[str, _Group]) -> _Outcome:
        now = timezone.now()
        existing = self._existing(groups)
        created = self._create([group for email, group in groups.items() if email not in existing], existing, now)
        changed = self._update([(existing[email], groups[email]) for email in existing], now)
        touched = [
            *((pk, groups[email], True) for email, pk in created.items()),
            *((contact.pk, groups[email], False) for email, contact in existing.items()),
        ]
        tags_added = self._tag(touched, now)

        activities, events = [], []
        for contact_id, _group, is_new in touched:
            fields = changed.get(contact_id, [])
            tag_ids = tags_added.get(contact_id, [])
            if not (is_new or fields or tag_ids):
                continue
            data = {"import_id": self.job.pk, "created": is_new, "changed": fields, "tags": self._names(tag_ids)}
            activities.append(
                (
                    self.workspace_id,
                    contact_id,
                    ActivityKind.IMPORTED,
                    self.source_ref,
                    data,
                    ContactSource.IMPORT,
                    self.actor_id,
                    now,
                )
            )
            subject = f"{Contact._meta.label_lower}:{contact_id}"
            if is_new:
                payload = {
                    "contact_id": contact_id,
                    "source": ContactSource.IMPORT,
                    "source_ref": self.source_ref,
                    "tag_ids": tag_ids,
                }
                events.append((CONTACT_CREATED, payload, subject))
            else:
                changed_fields = [*fields, "tags"] if tag_ids else fields
                payload = {"contact_id": contact_id, "changed": changed_fields, "tag_ids": tag_ids}
                events.append((CONTACT_UPDATED, payload, subject))
        if self.scored:
            # Scoring rules read an activity at a time; paid for only by workspaces that score imports.
            for activity in ContactActivity.objects.bulk_create(
                [ContactActivity(**dict(zip(ACTIVITY_FIELDS, row, strict=True))) for row in activities]
            ):
                score_activity(activity=activity)
        else:
            bulk_insert(ContactActivity, ACTIVITY_FIELDS, activities)
        emit_many(workspace=self.workspace_id, events=events)

        rows = sum(group.rows for group in groups.values())
        return _Outcome(created=len(created), updated=rows - len(created))

    def _names(self, tag_ids: list[int]) -> list[str]:
        return [self.tag_names[pk] for pk in tag_ids]

    def _create(self, groups: list[_Group], existing: dict[str, Contact], now) -> dict[str, int]:
        """Insert the new contacts; email → id. One a concurrent writer inserted since we looked (the
        unique index refuses ours) joins `existing` instead, to be merged into."""
        while groups:
            rows = [
                (
                    self.workspace_id,
                    group.email,
                    group.values.get("first_name", ""),
                    group.values.get("last_name", ""),
                    group.values.get("phone", ""),
                    group.values.get("company", ""),
                    group.custom,
                    0,
                    group.values.get("stage", LifecycleStage.SUBSCRIBER),
                    group.values.get("status", ContactStatus.ACTIVE),
                    ContactSource.IMPORT,
                    self.source_ref,
                    now,
                    now,
                )
                for group in groups
            ]
            try:
                with transaction.atomic():
                    ids = bulk_insert(Contact, CONTACT_FIELDS, rows, returning_ids=True)
                return {group.email: pk for group, pk in zip(groups, ids, strict=True)}
            except IntegrityError:
                raced = self._existing(group.email for group in groups)
                if not raced:
                    raise
                existing.update(raced)
                groups = [group for group in groups if group.email not in raced]
        return {}

    def _update(self, pairs: list[tuple[Contact, _Group]], now) -> dict[int, list[str]]:
        """Merge into stored contacts: contact id → the fields that changed."""
        changed, dirty, columns = {}, [], set()
        for contact, group in pairs:
            # Never re-subscribe by import.
            values = {k: v for k, v in group.values.items() if (k, v) != ("status", ContactStatus.ACTIVE)}
            if changes := contact_changes_apply(contact, values, group.custom, {}):
                contact.updated_at = now
                changed[contact.pk] = sorted(changes)
                columns.update(name.partition(".")[0] for name in changes)
                dirty.append(contact)
        if dirty:
            Contact.objects.bulk_update(dirty, [*sorted(columns), "updated_at"])
        return changed

    def _tag(self, touched: list[tuple[int, _Group, bool]], now) -> dict[int, list[int]]:
        """Add each contact's tags (its cells' and the import's); contact id → ids of the tags new to it."""
        wanted, new_contacts = {}, set()
        for contact_id, group, is_new in touched:
            keys = dict.fromkeys([*self.default_tags, *group.tags])
            if keys:
                wanted[contact_id] = list(dict.fromkeys(self.tags[key].pk for key in keys))
                if is_new:
                    new_contacts.add(contact_id)
        if not wanted:
            return {}
        old_contacts = [contact_id for contact_id in wanted if contact_id not in new_contacts]
        have = set()
        if old_contacts:
            have = set(
                ContactTag.objects.filter(
                    _any(ContactTag, "contact", old_contacts), tag_id__in={pk for ids in wanted.values() for pk in ids}
                ).values_list("contact_id", "tag_id")
            )
        added = {}
        for contact_id, tag_ids in wanted.items():
            new = [pk for pk in tag_ids if (contact_id, pk) not in have]
            if new:
                added[contact_id] = new
        # A contact created just now has no tags anyone else could have added: plain inserts.
        bulk_insert(
            ContactTag,
            ["workspace_id", "contact_id", "tag_id", "added_at"],
            [(self.workspace_id, contact_id, pk, now) for contact_id in new_contacts for pk in added[contact_id]],
        )
        # Another writer may tag a stored contact meanwhile: its link stands.
        ContactTag.objects.bulk_create(
            [
                ContactTag(workspace_id=self.workspace_id, contact_id=contact_id, tag_id=pk, added_at=now)
                for contact_id, tag_ids in added.items()
                if contact_id not in new_contacts
                for pk in tag_ids
            ],
            ignore_conflicts=True,
        )
        return added


def _finish(import_id: int, *, status: JobStatus, error: str = "") -> ContactImport:
    with transaction.atomic():
        job = ContactImport.objects.select_for_update().get(pk=import_id)
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        job.status, job.error, job.finished_at = status, error, timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
    if job.file:
        job.file.delete(save=False)
        ContactImport.objects.filter(pk=job.pk).update(file="")
    return job


def contact_import_fail(*, import_id: int, error: str) -> ContactImport:
    """End the import as failed (what was imported so far stays)."""
    return _finish(import_id, status=JobStatus.FAILED, error=error)


def contact_import_process(*, import_id: int) -> ContactImport:
    """Run the import, or carry on with it after `processed`; a finished one is left as it is."""
    with transaction.atomic():
        job = (
            ContactImport.objects.select_for_update(of=("self",))
            .select_related("workspace", "created_by")
            .get(pk=import_id)
        )
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        if job.status == JobStatus.PENDING:
            job.status, job.started_at = JobStatus.RUNNING, timezone.now()
            job.save(update_fields=["status", "started_at"])
    try:
        if not job.file:
            raise ImportFileError("The uploaded file is gone; upload it again.")
        with job.file.open("rb") as file:
            try:
                layout = csv_layout(file)
            except ValidationError as exc:
                raise ImportFileError(exc.message_dict["file"][0]) from None
            plan = _Plan(job.mapping, layout.header, custom_fields_for(job.workspace_id))
            if not job.total:
                total = sum(1 for _ in _data_rows(file, layout))
                file.seek(0)
                ContactImport.objects.filter(pk=job.pk).update(total=total)
                job.total = total
            importer = _Importer(job, plan)
            offset = job.processed
            rows = islice(_data_rows(file, layout), offset, None)
            while batch := list(islice(rows, BATCH_SIZE)):
                importer.run_batch(offset, batch)
                offset += len(batch)
    except ImportFileError as exc:
        return contact_import_fail(import_id=import_id, error=str(exc))
    except _Superseded:
        log.info("contact_import_superseded", import_id=import_id)
        return ContactImport.objects.get(pk=import_id)
    log.info("contact_import_done", import_id=import_id, rows=offset)
    return _finish(import_id, status=JobStatus.DONE)
