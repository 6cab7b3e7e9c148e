"""The execution monitor over a real WebSocket: served by uvicorn (the production ASGI server), the
monitor connects, says it is live, and shows a run's change without a reload."""

import socket
import threading
import time

import pytest

from accounts.roles import Role
from tests.factories import (
    DEFAULT_PASSWORD,
    ContactFactory,
    ExecutionFactory,
    MembershipFactory,
    StepRunFactory,
    UserFactory,
    WorkflowFactory,
    WorkflowVersionFactory,
    WorkspaceFactory,
)
from workflows import live
from workflows.models import Execution, ExecutionStatus, WorkflowStatus

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

pytestmark = pytest.mark.browser


@pytest.fixture
def asgi_server(transactional_db, settings):
    """The project's ASGI application (HTTP and WebSockets) under uvicorn, in a thread of this process,
    so it reads the test database."""
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.core.handlers.asgi import ASGIHandler

    from config.routing import websocket_urlpatterns

    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    # Built here rather than imported from config.asgi so the settings above apply to its middleware.
    application = ProtocolTypeRouter(
        {
            "http": ASGIHandler(),
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn didn't start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_monitor_is_live_over_the_websocket(asgi_server, browser_page):
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    user = UserFactory(email="ines@example.com")
    MembershipFactory(workspace=workspace, user=user, role=Role.EDITOR)
    workflow = WorkflowFactory(workspace=workspace, name="Welcome", status=WorkflowStatus.ACTIVE)
    version = WorkflowVersionFactory(workflow=workflow, number=1)
    workflow.active_version = version
    workflow.save()
    execution = ExecutionFactory(
        version=version, contact=ContactFactory(workspace=workspace), status=ExecutionStatus.WAITING
    )
    page = browser_page

    page.goto(f"{asgi_server}/accounts/login/?next=/workflows/executions/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    indicator = page.locator("[data-testid=live-indicator]")
    expect(indicator).to_have_attribute("data-live", "on")
    expect(indicator).to_have_text("Live")
    row = page.locator(f"tr[data-execution-id='{execution.pk}']")
    expect(row.locator("[data-testid=execution-status]")).to_have_text("Waiting")

    execution.status = ExecutionStatus.SUCCEEDED
    execution.duration_ms = 1234
    execution.save(update_fields=["status", "duration_ms", "updated_at"])
    # Announced the way the engine announces a change (over Redis in production; with the in-memory
    # layer the consumer also finds it in the database).
    live.execution_changed(execution)
    expect(row.locator("[data-testid=execution-status]")).to_have_text("Succeeded", timeout=10_000)
    expect(row.locator("[data-cell=duration]")).to_have_text("1,234 ms")
    # It came over the socket: the page never fell back to polling.
    expect(indicator).to_have_attribute("data-live", "on")
    assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.SUCCEEDED

    # An execution's own page follows it too, and stops listening once it has finished.
    waiting = ExecutionFactory(version=version, contact=execution.contact, status=ExecutionStatus.WAITING)
    page.goto(f"{asgi_server}/workflows/executions/{waiting.pk}/")
    expect(page.locator("h1 [data-testid=execution-status]")).to_have_text("Waiting")
    expect(indicator).to_have_attribute("data-live", "on")
    waiting.status = ExecutionStatus.FAILED
    waiting.error = "Template error: 'company' is undefined"
    waiting.save(update_fields=["status", "error", "updated_at"])
    live.execution_changed(waiting)
    expect(page.locator("h1 [data-testid=execution-status]")).to_have_text("Failed", timeout=10_000)
    expect(page.locator("[data-testid=execution-error]")).to_contain_text("'company' is undefined")
    expect(indicator).to_have_text("Finished")


def test_the_list_counts_only_new_runs_its_filters_would_show_and_a_steps_output_is_shown_as_text(
    asgi_server, browser_page
):
    expect = sync_api.expect
    workspace = WorkspaceFactory(name="Padaria Lisboa")
    user = UserFactory(email="ines@example.com")
    MembershipFactory(workspace=workspace, user=user, role=Role.EDITOR)
    workflow = WorkflowFactory(workspace=workspace, name="Welcome", status=WorkflowStatus.ACTIVE)
    version = WorkflowVersionFactory(workflow=workflow, number=1)
    workflow.active_version = version
    workflow.save()
    alice = ContactFactory(workspace=workspace, email="alice@example.com")
    first = ExecutionFactory(version=version, contact=alice, status=ExecutionStatus.SUCCEEDED)
    page = browser_page

    page.goto(f"{asgi_server}/accounts/login/?next=/workflows/executions/%3Fq%3Dalice")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(f"tr[data-execution-id='{first.pk}']")).to_be_visible()
    expect(page.locator("[data-testid=live-indicator]")).to_have_attribute("data-live", "on")

    # A run for someone the contact filter leaves out isn't announced; the next one for Alice is.
    other = ExecutionFactory(version=version, contact=ContactFactory(workspace=workspace, email="bob@example.com"))
    live.execution_changed(other)
    again = ExecutionFactory(version=version, contact=alice)
    live.execution_changed(again)
    bar = page.locator("[data-new-rows]")
    expect(bar).to_be_visible(timeout=10_000)
    expect(bar).to_contain_text("1 new execution since")

    markup = "<img src=x onerror=document.body.dataset.owned=1>"
    StepRunFactory(execution=first, node_id="tag", output={"echo": markup}, error=markup)
    page.goto(f"{asgi_server}/workflows/executions/{first.pk}/")
    page.locator("[data-select-node=tag]").click()
    expect(page.locator("[data-testid=step-output]")).to_contain_text(markup)
    expect(page.locator("[data-testid=step-error]")).to_have_text(markup)
    assert page.locator("[data-step-body] img").count() == 0
    assert page.evaluate("document.body.dataset.owned") is None
