"""emit_many(): the outbox contract of emit() for many events written at once."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from freezegun import freeze_time

from core.events import dispatch, emit_many
from core.models import Event
from tests.conftest import celery_broker
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def test_many_events_are_written_and_each_dispatched_once_after_commit(
    celery_eager, workspace, handlers, django_capture_on_commit_callbacks
):
    seen = []
    handlers("test.a", lambda event: seen.append(("a", event.payload["n"])))
    handlers("test.b", lambda event: seen.append(("b", event.payload["n"])))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = emit_many(
            workspace=workspace,
            events=[("test.a", {"n": 1}, workspace), ("test.b", {"n": 2}, "thing:7"), ("test.a", {"n": 3}, None)],
        )
        assert seen == [], "nothing may run before the transaction commits"
    assert len(callbacks) == 1, "one dispatch task for the lot, not one per event"
    assert seen == [("a", 1), ("b", 2), ("a", 3)]
    stored = Event.objects.filter(pk__in=ids).order_by("pk")
    assert [(event.type, event.subject) for event in stored] == [
        ("test.a", f"accounts.workspace:{workspace.pk}"),
        ("test.b", "thing:7"),
        ("test.a", ""),
    ]
    assert all(event.dispatched_at is not None for event in stored)


def test_events_nobody_listens_to_are_marked_dispatched_in_one_statement(
    celery_eager, workspace, handlers, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    seen = []
    handlers("test.heard", lambda event: seen.append(event.payload["n"]))
    with django_capture_on_commit_callbacks():
        unheard = emit_many(workspace=workspace, events=[("test.unheard", {"n": n}, None) for n in range(50)])
        heard = emit_many(workspace=workspace, events=[("test.heard", {"n": 1}, None)])
    with django_assert_max_num_queries(2):
        dispatch.process_events(unheard)
    dispatch.process_events([*unheard, *heard])
    assert seen == [1]
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


def test_nothing_is_written_or_enqueued_for_no_events(workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert emit_many(workspace=workspace.pk, events=[]) == []
    assert callbacks == []
    assert not Event.objects.exists()


def test_rolled_back_events_are_never_dispatched(celery_eager, workspace, handlers, django_capture_on_commit_callbacks):
    seen = []
    handlers("test.a", seen.append)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        emit_many(workspace=workspace, events=[("test.a", {}, None)] * 3)
        raise RuntimeError("the caller's work failed")
    assert callbacks == []
    assert not Event.objects.exists()
    assert seen == []


def test_events_enqueued_while_the_broker_is_down_are_delivered_by_the_sweeper(
    celery_eager, workspace, handlers, django_capture_on_commit_callbacks
):
    seen = []
    handlers("test.a", seen.append)
    with celery_broker("redis://127.0.0.1:9/0"), django_capture_on_commit_callbacks(execute=True):
        emit_many(workspace=workspace, events=[("test.a", {"n": n}, None) for n in range(3)])
    assert seen == []
    with freeze_time(timezone.now() + timedelta(seconds=60)):
        assert dispatch.sweep_events() == 3
    assert len(seen) == 3
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
