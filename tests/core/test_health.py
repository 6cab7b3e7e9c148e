import pytest
from django.db import OperationalError
from django.test import override_settings

from tests.conftest import celery_broker

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:9/0"


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_ready(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "channel_layer"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_names_the_database_when_it_is_down(client, monkeypatch):
    class DownConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("core.health.connection", DownConnection())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert "connection refused" in response.json()["checks"]["database"]["error"]


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}}
)
def test_readyz_names_the_cache_when_redis_is_down(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "cache" in response.json()["failed"]


def test_readyz_names_the_broker_when_it_is_down(client):
    with celery_broker(DEAD_REDIS):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


@override_settings(
    CHANNEL_LAYERS={"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [DEAD_REDIS]}}}
)
def test_readyz_names_the_channel_layer_when_redis_is_down(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["channel_layer"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_an_address_host_over_plain_http_in_production(client, settings, path):
    settings.ALLOWED_HOSTS = ["siteflow.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path, HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert client.get("/api/v1/me/", HTTP_HOST="10.0.0.7:8000").status_code == 400, "other paths still check"


def test_probes_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
