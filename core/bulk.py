"""Inserting many rows fast: PostgreSQL's COPY where it runs, bulk_create elsewhere.

bulk_create() spends most of its time building model instances and a parameter per value; COPY
streams plain tuples. Used by set-based writers (contact imports, their events) whose inserts are
the bulk of their work. No model signals, no save(), no field defaults: give every column that is
not nullable.
"""

from collections.abc import Sequence

from django.db import connection, models
from psycopg.types.json import Jsonb


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
    json_at = [i for i, name in enumerate(fields) if isinstance(meta.get_field(name), models.JSONField)]
    ids: list[int] = []
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if returning_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            columns = [meta.pk.column, *columns]
        quote = connection.ops.quote_name
        sql = f"COPY {quote(meta.db_table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for n, row in enumerate(rows):
                values = list(row)
                for i in json_at:
                    values[i] = Jsonb(values[i])
                copy.write_row([ids[n], *values] if returning_ids else values)
    return ids
