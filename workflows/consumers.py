"""The execution monitor's WebSocket: /ws/workspaces/<id>/executions/.

Only a signed-in member of the workspace is served: anyone else's connection is accepted and closed
at once with 4401 (not signed in) or 4403 (not a member), so the page can tell why. The Origin
header is checked before this runs (config.asgi wraps the routes in AllowedHostsOriginValidator),
and membership again every MEMBERSHIP_SECONDS, so someone removed from the workspace stops getting
updates.

The engine announces changes by id (workflows.live); the rows are read here, one query for every
change in a FLUSH_SECONDS window. Each message is {"type": "execution", "execution": <list row>,
"step": <step summary> | null}. With the in-memory channel layer (the embedded default) the workers'
announcements can't reach this process, so it also polls the database for changed rows every
POLL_SECONDS.
"""

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import DatabaseError
from django.utils import timezone

from accounts.models import Membership
from core.ids import is_object_id
from core.logging import get_logger
from workflows import live

log = get_logger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
FLUSH_SECONDS = 0.2
POLL_SECONDS = 2.0
MEMBERSHIP_SECONDS = 30.0
#: Executions buffered between flushes before the rest of a burst is announced without its steps.
PENDING_STEPS_MAX = 50


@database_sync_to_async
def _is_member(user, workspace_id: int) -> bool:
    if not is_object_id(workspace_id):
        return False
    return Membership.objects.filter(user_id=user.pk, workspace_id=workspace_id).exists()


class ExecutionConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group = None
        self.tasks: list[asyncio.Task] = []
        self.pending: dict[int, list] = {}
        self.flush_task: asyncio.Task | None = None
        self.workspace_id = self.scope["url_route"]["kwargs"]["workspace_id"]
        user = self.scope.get("user")
        refusal = None
        if user is None or not user.is_authenticated:
            refusal = CLOSE_UNAUTHENTICATED
        elif not await _is_member(user, self.workspace_id):
            refusal = CLOSE_FORBIDDEN
        if refusal is not None:
            # Accepted only to be closed with a code the page can read; a refused handshake has none.
            await self.accept()
            await self.close(code=refusal)
            return
        self.user = user
        self.group = live.group_name(self.workspace_id)
        # Joined before accepting: once the client is connected, no change can slip past it.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.tasks.append(asyncio.create_task(self._check_membership()))
        if live.is_in_memory(self.channel_layer):
            self.tasks.append(asyncio.create_task(self._poll()))

    async def disconnect(self, code):
        for task in [*self.tasks, self.flush_task]:
            if task is not None:
                task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Clients only listen: whatever they send, JSON or not, is ignored without being parsed."""

    async def execution_changed(self, event):
        steps = self.pending.setdefault(event["execution"], [])
        if event.get("step") is not None and len(steps) < PENDING_STEPS_MAX:
            steps.append(event["step"])
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.create_task(self._flush_later())

    async def _flush_later(self):
        await asyncio.sleep(FLUSH_SECONDS)
        changes, self.pending = self.pending, {}
        try:
            messages = await database_sync_to_async(live.execution_messages)(
                workspace_id=self.workspace_id, changes=changes
            )
        except DatabaseError as exc:  # these updates are lost; the next ones read the rows afresh
            log.warning("workflow_monitor_read_failed", error=str(exc))
            return
        for message in messages:
            await self.send_json(message)

    async def _poll(self):
        cursor = (timezone.now(), 0)
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                messages, cursor = await database_sync_to_async(live.execution_messages_since)(
                    workspace_id=self.workspace_id, cursor=cursor
                )
            except DatabaseError as exc:  # the cursor stays: the next poll picks up from there
                log.warning("workflow_monitor_poll_failed", error=str(exc))
                continue
            for message in messages:
                await self.send_json(message)

    async def _check_membership(self):
        while True:
            await asyncio.sleep(MEMBERSHIP_SECONDS)
            if not await _is_member(self.user, self.workspace_id):
                await self.close(code=CLOSE_FORBIDDEN)
                return
