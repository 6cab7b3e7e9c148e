"""The execution monitor's WebSocket, through the real ASGI application (origin check, session
auth, routing): members get their workspace's execution changes; anonymous users, non-members and
foreign origins are refused; someone removed from the workspace stops getting updates."""

import datetime
import importlib.util
import sys
import types

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

if importlib.util.find_spec("daphne") is None:
    # channels.testing's package also imports its live-server test case, which needs daphne; this
    # project serves with uvicorn and only uses the in-process communicator, which doesn't.
    sys.modules.setdefault("channels.testing.live", types.ModuleType("channels.testing.live"))
    sys.modules["channels.testing.live"].ChannelsLiveServerTestCase = None

from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from config.asgi import application
from tests.factories import ExecutionFactory, MembershipFactory, StepRunFactory, UserFactory, WorkspaceFactory
from workflows import consumers, live
from workflows.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def path(workspace_id: int) -> str:
    return f"/ws/workspaces/{workspace_id}/executions/"


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def communicator(workspace_id: int, *headers) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path(workspace_id), headers=list(headers))


@pytest.fixture
def viewer():
    membership = MembershipFactory(role=Role.VIEWER)
    return membership


def close_code(comm: WebsocketCommunicator):
    async def scenario():
        connected, _ = await comm.connect()
        if not connected:
            return "refused at handshake"
        message = await comm.receive_output(timeout=3)
        await comm.wait()
        return message.get("code") if message["type"] == "websocket.close" else message

    return async_to_sync(scenario)()


def test_an_anonymous_user_is_closed_with_4401():
    workspace = WorkspaceFactory()
    assert close_code(communicator(workspace.pk, ORIGIN)) == consumers.CLOSE_UNAUTHENTICATED


def test_a_signed_in_non_member_is_closed_with_4403():
    workspace = WorkspaceFactory()
    outsider = MembershipFactory()  # a member of another workspace
    comm = communicator(workspace.pk, ORIGIN, session_cookie(outsider.user))
    assert close_code(comm) == consumers.CLOSE_FORBIDDEN


@pytest.mark.parametrize("workspace_id", [99999999, 0, 99999999999999999999999])
def test_a_workspace_that_does_not_exist_is_closed_with_4403(workspace_id):
    user = UserFactory()
    assert close_code(communicator(workspace_id, ORIGIN, session_cookie(user))) == consumers.CLOSE_FORBIDDEN


def test_a_foreign_origin_is_refused_at_the_handshake(viewer):
    cookie = session_cookie(viewer.user)
    for origin in (b"https://evil.example", b"http://testserver.evil.example", b"null"):
        comm = communicator(viewer.workspace_id, (b"origin", origin), cookie)
        assert close_code(comm) == "refused at handshake"
    assert close_code(communicator(viewer.workspace_id, cookie)) == "refused at handshake"  # no Origin at all


def test_an_unknown_path_is_refused():
    comm = WebsocketCommunicator(application, "/ws/workspaces/abc/executions/", headers=[ORIGIN])

    async def scenario():
        with pytest.raises(ValueError, match="No route found"):
            await comm.connect()

    async_to_sync(scenario)()


def test_a_member_gets_each_change_of_their_workspace_with_the_list_row(viewer):
    execution = ExecutionFactory(version__workflow__workspace=viewer.workspace, status="running")
    step = StepRunFactory(execution=execution, node_id="tag", status="succeeded", port="out")
    foreign = ExecutionFactory()
    comm = communicator(viewer.workspace_id, ORIGIN, session_cookie(viewer.user))

    async def scenario():
        connected, _ = await comm.connect()
        assert connected
        # Another workspace's change goes to its own group, never here.
        await database_sync_to_async(live.execution_changed)(foreign)
        await database_sync_to_async(live.execution_changed)(execution, step)
        message = await comm.receive_json_from(timeout=3)
        assert await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["type"] == "execution"
    row = message["execution"]
    assert row["id"] == execution.pk
    assert row["workflow"] == {"id": execution.workflow_id, "name": execution.workflow.name}
    assert row["version"] == execution.version.number
    assert row["contact"] == {"id": execution.contact_id, "email": execution.contact.email}
    assert row["status"] == "running"
    assert message["step"]["id"] == step.pk
    assert (message["step"]["node_id"], message["step"]["status"], message["step"]["port"]) == (
        "tag",
        "succeeded",
        "out",
    )
    assert "input" not in message["step"] and "output" not in message["step"]


def test_a_burst_of_changes_is_read_in_one_batch_with_every_step(viewer, monkeypatch):
    execution = ExecutionFactory(version__workflow__workspace=viewer.workspace, status="running")
    steps = [StepRunFactory(execution=execution, node_id=f"n{i}") for i in range(3)]
    reads = []
    original = live.execution_messages

    def counting(**kwargs):
        reads.append(set(kwargs["changes"]))
        return original(**kwargs)

    monkeypatch.setattr(live, "execution_messages", counting)
    comm = communicator(viewer.workspace_id, ORIGIN, session_cookie(viewer.user))

    async def scenario():
        assert (await comm.connect())[0]
        for step in steps:
            await database_sync_to_async(live.execution_changed)(execution, step)
        received = [await comm.receive_json_from(timeout=3) for _ in steps]
        await comm.disconnect()
        return received

    received = async_to_sync(scenario)()
    assert [message["step"]["node_id"] for message in received] == ["n0", "n1", "n2"]
    assert reads == [{execution.pk}]


def test_with_the_in_memory_layer_changes_made_elsewhere_arrive_by_polling(viewer, monkeypatch, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setattr(consumers, "POLL_SECONDS", 0.2)
    execution = ExecutionFactory(version__workflow__workspace=viewer.workspace, status="running")
    other_workspace = ExecutionFactory(status="running")
    comm = communicator(viewer.workspace_id, ORIGIN, session_cookie(viewer.user))

    def change_in_a_worker():  # a worker process's change: stored, never announced to this process
        later = timezone.now() + datetime.timedelta(seconds=1)
        Execution.objects.filter(pk__in=[execution.pk, other_workspace.pk]).update(status="succeeded", updated_at=later)

    async def scenario():
        assert (await comm.connect())[0]
        await database_sync_to_async(change_in_a_worker)()
        message = await comm.receive_json_from(timeout=3)
        assert await comm.receive_nothing(timeout=0.6)  # sent once: the cursor moved past it
        await comm.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["execution"]["id"] == execution.pk
    assert message["execution"]["status"] == "succeeded"
    assert message["step"] is None


def test_a_failed_poll_is_retried_from_the_same_cursor(viewer, monkeypatch, settings):
    from django.db import OperationalError

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setattr(consumers, "POLL_SECONDS", 0.2)
    execution = ExecutionFactory(version__workflow__workspace=viewer.workspace, status="running")
    original, failures = live.execution_messages_since, []

    def flaky(**kwargs):
        if not failures:
            failures.append(kwargs["cursor"])
            raise OperationalError("the database went away")
        return original(**kwargs)

    monkeypatch.setattr(live, "execution_messages_since", flaky)
    comm = communicator(viewer.workspace_id, ORIGIN, session_cookie(viewer.user))

    def change():
        Execution.objects.filter(pk=execution.pk).update(
            status="failed", updated_at=timezone.now() + datetime.timedelta(seconds=1)
        )

    async def scenario():
        assert (await comm.connect())[0]
        await database_sync_to_async(change)()
        message = await comm.receive_json_from(timeout=3)
        await comm.disconnect()
        return message

    assert async_to_sync(scenario)()["execution"]["status"] == "failed"
    assert len(failures) == 1


def test_someone_removed_from_the_workspace_is_closed(viewer, monkeypatch):
    monkeypatch.setattr(consumers, "MEMBERSHIP_SECONDS", 0.1)
    comm = communicator(viewer.workspace_id, ORIGIN, session_cookie(viewer.user))

    async def scenario():
        assert (await comm.connect())[0]
        await database_sync_to_async(Membership.objects.filter(pk=viewer.pk).delete)()
        message = await comm.receive_output(timeout=3)
        await comm.wait()
        return message

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": consumers.CLOSE_FORBIDDEN}


def test_what_a_client_sends_is_ignored(viewer):
    comm = communicator(viewer.workspace_id, ORIGIN, session_cookie(viewer.user))

    execution = ExecutionFactory(version__workflow__workspace=viewer.workspace)

    async def scenario():
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "subscribe", "workspace": 1})
        await comm.send_to(text_data="not json at all")
        await comm.send_to(bytes_data=b"\x00\xff")
        assert await comm.receive_nothing(timeout=0.3)
        # Still serving after all of it.
        await database_sync_to_async(live.execution_changed)(execution)
        message = await comm.receive_json_from(timeout=3)
        await comm.disconnect()
        return message

    assert async_to_sync(scenario)()["execution"]["id"] == execution.pk


@pytest.mark.services
def test_over_redis_a_worker_s_announcement_reaches_the_monitor(viewer):
    """The publisher's own loop thread sends through Redis; the consumer, on another loop, gets it."""
    from channels.layers import get_channel_layer

    assert not live.is_in_memory(get_channel_layer())
    execution = ExecutionFactory(version__workflow__workspace=viewer.workspace, status="succeeded")
    step = StepRunFactory(execution=execution, node_id="send")
    comm = communicator(viewer.workspace_id, ORIGIN, session_cookie(viewer.user))

    async def scenario():
        assert (await comm.connect())[0]
        await database_sync_to_async(live.execution_changed)(execution, step)
        message = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert message["execution"]["id"] == execution.pk and message["step"]["node_id"] == "send"
