from types import SimpleNamespace

import pytest

from config.celery import _attach_request_id, _bind_request_id
from core.request_context import bind_request_id, client_ip, current_request_id, new_request_id


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


def _request(remote: str = "203.0.113.5", forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return SimpleNamespace(META=meta)


def test_client_ip_ignores_x_forwarded_for_unless_proxies_are_configured(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": None}
    assert client_ip(_request(forwarded="198.51.100.1")) == "203.0.113.5"


def test_client_ip_takes_the_address_the_configured_proxy_appended(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_ip(_request(forwarded="6.6.6.6, 198.51.100.1")) == "198.51.100.1"


@pytest.mark.parametrize("forwarded", ["not-an-ip", "", "1.2.3.4.5", "' OR 1=1"])
def test_client_ip_is_none_for_garbage_rather_than_a_database_error(settings, forwarded):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_ip(_request(forwarded=forwarded)) in (None, "203.0.113.5")
    assert client_ip(None) is None


@pytest.mark.django_db
def test_a_forged_forwarded_header_is_recorded_as_no_address_not_a_500(settings, owner):
    from accounts.models import AuditAction, AuditEvent

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    response = owner.client.post(
        f"/api/v1/workspaces/{owner.workspace.pk}/api-keys/",
        {"name": "CRM sync", "role": "viewer"},
        format="json",
        HTTP_X_FORWARDED_FOR="<script>",
    )
    assert response.status_code == 201
    assert AuditEvent.objects.get(action=AuditAction.API_KEY_CREATED).ip is None
