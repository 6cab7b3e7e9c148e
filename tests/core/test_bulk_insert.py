"""bulk_insert(): plain tuples in, rows (and their ids, in order) out, on SQLite and PostgreSQL."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.bulk import bulk_insert
from core.models import Event, EventDelivery
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

FIELDS = ["workspace_id", "type", "payload", "subject", "request_id", "created_at"]


def test_rows_are_inserted_with_json_and_their_ids_returned_in_order():
    workspace = WorkspaceFactory()
    now = timezone.now()
    rows = [(workspace.pk, f"test.{n}", {"n": n, "tags": ["a", "b"]}, "", "", now) for n in range(5)]
    ids = bulk_insert(Event, FIELDS, rows, returning_ids=True)
    assert len(ids) == 5
    stored = {event.pk: event for event in Event.objects.filter(pk__in=ids)}
    assert [(stored[pk].type, stored[pk].payload["n"]) for pk in ids] == [(f"test.{n}", n) for n in range(5)]
    assert stored[ids[0]].payload == {"n": 0, "tags": ["a", "b"]}
    assert stored[ids[0]].dispatched_at is None, "left-out nullable columns are null"


def test_without_ids_nothing_is_returned_and_nothing_for_no_rows():
    workspace = WorkspaceFactory()
    assert bulk_insert(Event, FIELDS, [(workspace.pk, "t", {}, "", "", timezone.now())]) == []
    assert bulk_insert(Event, FIELDS, []) == []
    assert Event.objects.count() == 1


def test_a_constraint_violation_is_an_integrity_error_the_caller_can_recover_from():
    workspace = WorkspaceFactory()
    (event_id,) = bulk_insert(Event, FIELDS, [(workspace.pk, "t", {}, "", "", timezone.now())], returning_ids=True)
    EventDelivery.objects.create(event_id=event_id, handler="h")
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(
            EventDelivery,
            ["event_id", "handler", "status", "attempts", "last_error"],
            [(event_id, "h", "pending", 0, "")],
        )
    assert EventDelivery.objects.count() == 1


def test_values_holding_copy_syntax_are_stored_as_given():
    workspace = WorkspaceFactory()
    awkward = "tab\there\nnew line\r\\N back\\slash \\t é 🙂"
    payload = {"text": awkward, "quote": 'say "hi"', "none": None, "yes": True, "n": 1.5, "list": [1, "\\"]}
    at = timezone.now().replace(microsecond=123456)
    row = (workspace.pk, "t", payload, awkward, "\\N", at, at)
    (event_id,) = bulk_insert(Event, [*FIELDS, "dispatched_at"], [row], returning_ids=True)
    event = Event.objects.get(pk=event_id)
    assert (event.subject, event.request_id, event.payload) == (awkward, "\\N", payload)
    assert event.dispatched_at == at, "microseconds and time zone kept"
