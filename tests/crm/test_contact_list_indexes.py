"""The contact search's SQL must stay the expressions the trigram index was built on, or PostgreSQL
quietly goes back to reading every contact of the workspace."""

import pytest
from django.db import connection

from crm.models import Contact
from crm.selectors.contacts import contact_search

pytestmark = [pytest.mark.django_db, pytest.mark.services]


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # On a handful of rows a sequential scan is always cheaper: forbid it to see whether the index fits.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("search", ["ada lovelace", "(415) 555-0132"], ids=["words", "phone digits"])
def test_the_search_reads_the_trigram_index(search):
    # The search's conditions alone: with the workspace's own indexes in play, a near-empty table
    # would be read through them whatever the search compiles to.
    explained = plan(contact_search(Contact.objects.order_by(), search))

    assert "contact_search_trgm" in explained
    assert "Seq Scan" not in explained
