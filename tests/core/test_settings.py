"""Settings read from the environment: the embedded default, services mode and production."""

import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    mode = None
    if connection.vendor == "sqlite":
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "journal_mode": mode,
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": settings.CELERY_BROKER_URL,
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT],
    "hsts": settings.SECURE_HSTS_SECONDS,
    "verification": settings.ACCOUNT_EMAIL_VERIFICATION,
    "anymail": settings.ANYMAIL,
}))
"""
CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DJANGO_ENV",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "EMAIL_URL",
    "EMAIL_PROVIDER",
)


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and not k.startswith("ANYMAIL_")}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(tmp_path), LOG_LEVEL="WARNING", **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


def test_with_nothing_set_siteflow_runs_embedded(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["journal_mode"] == "wal"
    assert loaded["cache"].endswith("LocMemCache")
    assert loaded["broker"].startswith("filesystem://")
    assert loaded["layer"] == "channels.layers.InMemoryChannelLayer"
    assert loaded["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["verification"] == "optional"
    assert (tmp_path / "siteflow.sqlite3").exists()


def test_redis_url_switches_cache_broker_and_channel_layer(tmp_path):
    result = load_settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/5")
    loaded = json.loads(result.stdout)
    assert loaded["cache"] == "core.cache.RedisCache"
    assert loaded["broker"] == "redis://127.0.0.1:6379/5"
    assert loaded["layer"] == "channels_redis.core.RedisChannelLayer"


def test_production_refuses_to_start_without_secret_key_and_hosts(tmp_path):
    result = load_settings(tmp_path, DJANGO_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_turns_on_secure_cookies_hsts_and_mandatory_verification(tmp_path):
    result = load_settings(tmp_path, DJANGO_ENV="production", SECRET_KEY="k" * 60, ALLOWED_HOSTS="siteflow.example.com")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["secure"] == [True, True, True]
    assert loaded["hsts"] >= 31536000
    assert loaded["verification"] == "mandatory"


def test_an_esp_and_its_keys_are_chosen_by_environment_variables(tmp_path):
    result = load_settings(
        tmp_path,
        EMAIL_PROVIDER="mailgun",
        ANYMAIL_MAILGUN_API_KEY="key-123",
        ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY="sign-456",
        ANYMAIL_WEBHOOK_SECRET="hooks:s3cret",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["email"] == "anymail.backends.mailgun.EmailBackend"
    assert loaded["anymail"] == {
        "MAILGUN_API_KEY": "key-123",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "sign-456",
        "WEBHOOK_SECRET": "hooks:s3cret",
    }


def test_smtp_is_chosen_by_email_url(tmp_path):
    result = load_settings(tmp_path, EMAIL_URL="smtp+tls://user:pass@smtp.example.com:587")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["email"] == "django.core.mail.backends.smtp.EmailBackend"
