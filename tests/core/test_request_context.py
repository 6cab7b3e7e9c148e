from types import SimpleNamespace

import pytest

from config.celery import _attach_request_id, _bind_request_id
from core.request_context import bind_request_id, current_request_id, new_request_id


def test_a_well_formed_incoming_request_id_is_kept():
    assert new_request_id("trace-0123456789") == "trace-0123456789"


@pytest.mark.parametrize("incoming", [None, "", "short", "has spaces in it", "x" * 200, "<script>alert(1)</script>"])
def test_a_missing_or_malformed_request_id_is_replaced(incoming):
    minted = new_request_id(incoming)
    assert minted != incoming
    assert len(minted) == 32


def test_a_task_published_during_a_request_carries_its_id_into_the_worker():
    bind_request_id("req-from-web-42")
    headers: dict = {}
    _attach_request_id(headers=headers)
    assert headers == {"request_id": "req-from-web-42"}

    bind_request_id("some-other-context")  # the worker's own context before the task runs
    _bind_request_id(task=SimpleNamespace(request=SimpleNamespace(request_id="req-from-web-42")))
    assert current_request_id() == "req-from-web-42"


def test_a_task_without_a_request_gets_its_own_id():
    _bind_request_id(task=SimpleNamespace(request=SimpleNamespace()))
    assert len(current_request_id()) == 32
