"""Inserting many rows fast: PostgreSQL's COPY where it runs, bulk_create elsewhere.

bulk_create() spends most of its time building model instances and a parameter per value; COPY
streams plain tuples. Used by set-based writers (contact imports, their events) whose inserts are
the bulk of their work. No model signals, no save(), no field defaults: give every column that is
not nullable.
"""

import datetime
import json
import re
from collections.abc import Sequence

from django.db import connection, models

#: COPY's text format: these characters in a value must be backslash-escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
#: Table → the sequence of its primary key.
_sequences: dict[str, str] = {}
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search


def _escape(text: str) -> str:
    # translate() costs a dict lookup per character, and most values hold nothing to escape.
    return text.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE(text) else text


def _copy_text(value) -> str:
    """A value as COPY's text format writes it (JSON columns already dumped to str)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime.datetime | datetime.date):
        # An aware datetime carries its offset, so the session's time zone doesn't matter.
        return value.isoformat()
    return _escape(str(value))


def bulk_insert(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence], *, returning_ids: bool = False
) -> list[int]:
    """Insert `rows` (values in `fields` order; foreign keys by their attname, e.g. "workspace_id").
    Returns the new primary keys in row order when `returning_ids`, else []. Violating a constraint
    raises IntegrityError and, as any failed statement, spoils the transaction: wrap the call in
    atomic() to recover."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows])
        return [obj.pk for obj in objects] if returning_ids else []

    meta = model._meta
    columns = [meta.get_field(name).column for name in fields]
    json_at = {i for i, name in enumerate(fields) if isinstance(meta.get_field(name), models.JSONField)}
    ids: list[int] = []
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if returning_ids:
            if (sequence := _sequences.get(meta.db_table)) is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
                sequence = _sequences[meta.db_table] = cursor.fetchone()[0]
            # The sequence named as a constant: looked up per id, it costs five times the nextval() itself.
            cursor.execute("SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [sequence, len(rows)])
            ids = cursor.fetchone()[0]
            columns = [meta.pk.column, *columns]
        # Rows as COPY text built here: psycopg's per-row write_row() costs more than the insert.
        times: dict = {}  # a batch's rows share their timestamps: each is formatted once
        lines = []
        for n, row in enumerate(rows):
            cells = [str(ids[n])] if returning_ids else []
            for i, value in enumerate(row):
                if i in json_at:
                    cells.append(_escape(json.dumps(value)))
                elif type(value) is str:
                    cells.append(_escape(value))
                elif type(value) is int:
                    cells.append(str(value))
                elif type(value) is datetime.datetime:
                    if (text := times.get(value)) is None:
                        text = times[value] = value.isoformat()
                    cells.append(text)
                else:
                    cells.append(_copy_text(value))
            lines.append("\t".join(cells))
        quote = connection.ops.quote_name
        sql = f"COPY {quote(meta.db_table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            copy.write("\n".join(lines) + "\n")
    return ids
