"""``/ws/workitems/``: the caller's work items, live (contract in interfaces.md).

On connect: authenticate (session cookie, or ``?token=``), check the license, join the
user's group and send a ``snapshot`` (then ``engine`` if no engine node is live); then forward
what ``workitems.delivery`` pushes to the group, and ``engine`` whenever that changes. Closes
with 4401 (not authenticated) or 4403 (no license) after accepting, so the browser sees the code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from administration import logins, origins, policy
from administration.models import User
from workitems import delivery, queues, schemas, services, sockets
from workitems.engine_watch import engine_message, engine_watch

NOT_AUTHENTICATED = 4401
NO_LICENSE = 4403


class WorkItemConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    login_groups: list[str] = []  # noqa: RUF012 - replaced per connection
    queue_groups: list[str] = []

    async def connect(self) -> None:
        await self.accept()
        user = await authenticated_user(self.scope)
        if user is None:
            await self.close(code=NOT_AUTHENTICATED)
            return
        if not policy.may_receive_work_items(user):
            await self.close(code=NO_LICENSE)
            return
        self.group = delivery.user_group(user.pk)
        delivery.serve_sockets_from(asyncio.get_running_loop())
        self.login_groups = logins.socket_groups(user.pk, getattr(self.scope.get("session"), "session_key", None),
                                                 by_token=bool(token_in(self.scope)))
        for group in self.login_groups:  # closed at logout, token revocation, deactivation
            await self.channel_layer.group_add(group, self.channel_name)
        # Join first: a change between the snapshot's query and the join would be lost otherwise
        # (one arriving meanwhile is sent after the snapshot and repeats what it already shows).
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.queue_groups = [delivery.queue_group(w.pk) for w in await database_sync_to_async(
            queues.queue_workgroups)(user)]
        for group in self.queue_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await database_sync_to_async(sockets.socket_opened)(user.pk, self.channel_name)  # presence follows
        await self.send_json({"type": "snapshot", "work_items": await snapshot(user)})
        if not await engine_watch().join(self):
            await self.send_json(engine_message(False))

    async def disconnect(self, code: int) -> None:
        engine_watch().leave(self)
        for group in [*([self.group] if self.group else []), *self.login_groups, *self.queue_groups]:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.group:
            await database_sync_to_async(sockets.socket_closed)(self.channel_name)

    async def logins_revoked(self, event: dict[str, Any]) -> None:
        await self.close(code=NOT_AUTHENTICATED)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        try:
            message = json.loads(text_data or bytes_data or "")
        except ValueError:
            message = None
        if error := schemas.validation_error(message, schemas.CLIENT_MESSAGES):
            await self.send_json({"type": "error", "reason": error})
        elif message["type"] == "ping" and self.group:
            # The client's liveness check; joining again also renews the group membership,
            # which the in-memory channel layer (and channels_redis's core layer) expire after a day.
            for group in [self.group, *self.queue_groups]:
                await self.channel_layer.group_add(group, self.channel_name)
            await database_sync_to_async(sockets.socket_seen)(self.channel_name)
            await self.send_json({"type": "pong"})

    async def workitems_push(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])

    async def engine_changed(self, running: bool) -> None:
        await self.send_json(engine_message(running))


async def authenticated_user(scope: dict[str, Any]) -> User | None:
    """``?token=`` when given (a wrong one is refused), else the session, from this site's pages only."""
    token = token_in(scope)
    if token:
        return await user_for_token(token)
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active or not same_origin(scope):
        return None
    return user


def token_in(scope: dict[str, Any]) -> str | None:
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return tokens[0] if tokens else None


user_for_token = database_sync_to_async(logins.user_for_token)  # expired or revoked: nobody


def same_origin(scope: dict[str, Any]) -> bool:
    """A page of another site must not open a socket with this site's session cookie."""
    return origins.origin_allowed(scope)


@database_sync_to_async
def snapshot(user: User) -> list[dict[str, Any]]:
    items = services.my_work_items(user).select_related("instance", "user", "workgroup")
    return [delivery.serialize_for(user, item) for item in items]
