"""Indexes for the contact list at 100,000 contacts: its counts under a status and score or a tag,
and, on PostgreSQL, its search."""

import logging

from django.db import migrations, models, transaction

logger = logging.getLogger(__name__)

SEARCH_INDEX = "contact_search_trgm"
# The expressions the search's lookups compile to on PostgreSQL: `icontains` is
# UPPER("col"::text) LIKE UPPER(%s), `contains` (phone digits) is "col"::text LIKE %s. An index on
# anything else would be ignored. One multicolumn GIN index serves each branch of the search's OR.
SEARCH_INDEX_SQL = f"""
    CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON crm_contact USING gin (
        UPPER(email::text) gin_trgm_ops,
        UPPER(first_name::text) gin_trgm_ops,
        UPPER(last_name::text) gin_trgm_ops,
        (phone::text) gin_trgm_ops
    )
"""


def search_index_create(apps, schema_editor):
    """A trigram index, which PostgreSQL alone has, and only with the pg_trgm extension. Without it
    the search still works, reading every contact of the workspace, so a database where the extension
    cannot be created (a role that may not) is migrated anyway, with a warning saying what to do."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 — whatever the reason, the index is an optimisation
        logger.warning(
            "Contact search index not created: the pg_trgm extension is unavailable (%s). "
            "Searching contacts reads the whole workspace until a superuser runs "
            "CREATE EXTENSION pg_trgm in this database, then: %s",
            exc,
            " ".join(SEARCH_INDEX_SQL.split()),
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(SEARCH_INDEX_SQL)
        # Statistics on the indexed expressions come only from ANALYZE: without them the planner
        # guesses how many contacts a search matches until autovacuum next analyses the table.
        cursor.execute("ANALYZE crm_contact")


def search_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_audit_contact_export_erase_actions"),
        ("crm", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_status",
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["workspace", "status", "score"], name="contact_status_score"),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["workspace", "id"], name="contact_workspace_id"),
        ),
        migrations.RunPython(search_index_create, search_index_drop),
    ]
