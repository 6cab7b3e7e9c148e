import os
import shutil
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.roles import Role
from tests.factories import ApiKeyFactory, MembershipFactory, UserFactory, WorkspaceFactory

SERVICES = os.environ.get("DATABASE_URL", "").startswith("postgres") and bool(os.environ.get("REDIS_URL"))
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def pytest_collection_modifyitems(config, items):
    skip_services = pytest.mark.skip(reason="needs PostgreSQL and Redis: set DATABASE_URL=postgres://… and REDIS_URL")
    skip_browser = pytest.mark.skip(
        reason="no Chromium: install it (apt-get install chromium) or set CHROMIUM_PATH to its binary"
    )
    for item in items:
        if "services" in item.keywords and not SERVICES:
            item.add_marker(skip_services)
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(skip_browser)


def _redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


@pytest.fixture(scope="session", autouse=True)
def _redis_database_per_xdist_worker():
    """Parallel workers each get a Redis database of their own, so one's cache.clear() (FLUSHDB)
    can't wipe the other's throttle counters mid-test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not (SERVICES and worker):
        yield
        return
    url = _redis_db(django_settings.REDIS_URL, 1 + int(worker.removeprefix("gw")))
    caches = {"default": {**django_settings.CACHES["default"], "LOCATION": url}}
    layers = {"default": {**django_settings.CHANNEL_LAYERS["default"], "CONFIG": {"hosts": [url]}}}
    with override_settings(CACHES=caches, CHANNEL_LAYERS=layers):
        yield


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads and generated files (imports, exports) go to the test's own folder, never var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing with the production hasher costs a good part of a second per user; tests make many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


class Member:
    """A user with a role in a workspace, and an API client logged in as them."""

    def __init__(self, workspace, role: str):
        self.workspace = workspace
        self.membership = MembershipFactory(workspace=workspace, role=role)
        self.user = self.membership.user
        self.client = APIClient()
        self.client.force_authenticate(self.user)
        self.user.default_workspace = workspace
        self.user.save(update_fields=["default_workspace"])


@pytest.fixture
def login_as(make_member):
    """A member with `role` (in a new workspace unless one is given), with `.web`, a Django test
    client signed in to the dashboard as them (the `.client` from make_member speaks to the API)."""

    def make(role: str = Role.OWNER, workspace=None):
        member = make_member(workspace=workspace, role=role)
        member.web = Client()
        member.web.force_login(member.user)
        return member

    return make


@pytest.fixture
def member(login_as):
    """member(role) → a member of one shared workspace, with `.web` signed in to the dashboard."""
    workspace = WorkspaceFactory(name="Northwind")
    return lambda role=Role.EDITOR: login_as(role, workspace=workspace)


@pytest.fixture
def viewer(member, editor):
    """A viewer in the editor's workspace (each app's conftest says who its `editor` is)."""
    return member(Role.VIEWER)


@pytest.fixture
def browser_page(monkeypatch):
    """A page in the system Chromium, driven by Playwright (tests marked `browser`)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls the test itself
    # makes are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


@pytest.fixture
def make_member(db):
    def make(workspace=None, role: str = Role.OWNER) -> Member:
        return Member(workspace or WorkspaceFactory(), role)

    return make


@pytest.fixture
def owner(make_member) -> Member:
    return make_member(role=Role.OWNER)


@pytest.fixture
def user(db):
    return UserFactory()


class KeyHolder:
    """An API key of a workspace, and an API client that sends it as `Authorization: Bearer <key>`."""

    def __init__(self, workspace, role: str):
        self.workspace = workspace
        self.api_key = ApiKeyFactory(workspace=workspace, role=role)
        self.key = self.api_key.key
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.key}")


@pytest.fixture
def make_api_key(db):
    def make(workspace=None, role: str = Role.ADMIN) -> KeyHolder:
        return KeyHolder(workspace or WorkspaceFactory(), role)

    return make


def assert_error_envelope(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """The response is the API's JSON error envelope with this status; returns its `error` object.

    `field`: the details and the message both name this input field.
    """
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details", "trace_id"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert error["trace_id"] and error["trace_id"] == response["X-Request-ID"]
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert field in error["details"], error
        assert field in error["message"], error
    return error


@pytest.fixture
def assert_error():
    return assert_error_envelope


@pytest.fixture
def throttle_rates(settings, monkeypatch):
    """Lower throttle rates for one test: `throttle_rates(auth_ip="3/min")`.

    SimpleRateThrottle copies DEFAULT_THROTTLE_RATES into a class attribute when DRF is imported, so
    overriding the setting alone (which reloads api_settings) would not reach the throttles.
    """

    def lower(**rates: str) -> dict:
        new = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": new}
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", new)
        return new

    return lower


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process, so an event dispatched on commit is handled before the call returns."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


def live_database_url() -> str:
    """The test database's URL, for a real process (a worker, a second writer) to connect to."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_broker(url: str, *, eager: bool = False):
    """Publish to another broker for a while (a dead port, a test database); restored afterwards."""
    from config.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager

    def switch(broker_url, always_eager):
        app.close()
        app.amqp._producer_pool = None  # close() leaves producers bound to the old broker
        app.conf.broker_url, app.conf.task_always_eager = broker_url, always_eager

    switch(url, eager)
    try:
        yield app
    finally:
        switch(*saved)
