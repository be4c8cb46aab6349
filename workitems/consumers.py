"""``/ws/workitems/``: the caller's work items, live (contract in interfaces.md).

On connect: authenticate (session cookie, or ``?token=``), check the license, join the
user's group and send a ``snapshot`` (then ``engine`` if no engine node is live); then forward
what ``workitems.delivery`` pushes to the group, and ``engine`` whenever that changes. Closes
with 4401 (not authenticated) or 4403 (no license) after accepting, so the browser sees the code.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework import serializers

from administration import logins, origins, policy
from administration.models import User
from workitems import delivery, queues, schemas, services, sockets
from workitems.engine_watch import engine_message, engine_watch

NOT_AUTHENTICATED = 4401
NO_LICENSE = 4403
CATCH_UP_MARGIN_SECONDS = 0.5  # after the other processes' list of open sockets is surely read again
# A ``queue`` message reaches every socket of the workgroup's members at once. Sent by all of
# them in the same turn of the event loop, it holds up every other message of the process
# (500 agents: hundreds of milliseconds, docs/performance.md "Live pushes"). It only says
# "read My queues again", so each socket sends it after a random wait of up to this long,
# and the work item pushes pass in between.
QUEUE_SPREAD_SECONDS = 0.5


class LiveSocket(AsyncJsonWebsocketConsumer):
    """What the live sockets (work items, monitor) share: the login's groups, which close the socket
    with 4401 at logout, token revocation and deactivation, and reading a client's message."""

    login_groups: list[str] = []  # noqa: RUF012 - replaced per connection

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its hop to a thread before every message.

        Channels (4.2 and later) first runs ``close_old_connections`` through ``sync_to_async``
        for every message a consumer gets: one thread hop per socket per push, in a row, through
        the process's one thread for sync code. A ``queue`` message to 500 agents then held up
        every other message of the process for 300–450 ms (docs/performance.md, round 5). The
        handlers here touch the database only through ``database_sync_to_async``, which closes
        old connections itself, in the thread that uses them.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def join_login_groups(self, user: User) -> None:
        self.login_groups = logins.socket_groups(user.pk, getattr(self.scope.get("session"), "session_key", None),
                                                 by_token=bool(token_in(self.scope)))
        for group in self.login_groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def logins_revoked(self, event: dict[str, Any]) -> None:
        await self.close(code=NOT_AUTHENTICATED)

    async def engine_changed(self, running: bool) -> None:  # told by engine_watch
        await self.send_json(engine_message(running))

    async def client_message(self, text_data: str | None, bytes_data: bytes | None,
                             accepted: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """The client's message when it is one of ``accepted``; otherwise it is answered with ``error``
        and the result is None."""
        try:
            message = json.loads(text_data or bytes_data or "")
        except ValueError:
            message = None
        if error := schemas.validation_error(message, accepted):
            await self.send_json({"type": "error", "reason": error})
            return None
        return message


class WorkItemConsumer(LiveSocket):
    group: str | None = None
    queue_groups: list[str] = []
    shown: dict[int, tuple] = {}  # noqa: RUF012 - replaced per connection: {item id: version} the page has
    catching_up: asyncio.Task | None = None
    queue_hints: dict[str, asyncio.Task] = {}  # noqa: RUF012 - replaced per connection: workgroup -> its hint

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
        await self.join_login_groups(user)
        # Join first: a change between the snapshot's query and the join would be lost otherwise
        # (one arriving meanwhile is sent after the snapshot and repeats what it already shows).
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.queue_hints = {}
        self.queue_groups = [delivery.queue_group(w.pk) for w in await database_sync_to_async(
            queues.queue_workgroups)(user)]
        for group in self.queue_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await database_sync_to_async(sockets.socket_opened)(user.pk, self.channel_name)  # presence follows
        items = await snapshot(user)
        self.shown = {item["id"]: version(item) for item in items}
        await self.send_json({"type": "snapshot", "work_items": items})
        if not await engine_watch().join(self):
            await self.send_json(engine_message(False))
        if (max_age := sockets.open_sockets_max_age()) is not None:
            self.catching_up = asyncio.create_task(self.catch_up(user, max_age + CATCH_UP_MARGIN_SECONDS))

    async def send_later(self, message: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        await self.send_json(message)

    async def catch_up(self, user: User, after: float) -> None:
        """Once every process knows this socket is open, send what their pushes left out meanwhile.

        Delivery pushes only to users with a socket open, as each process last read them (at most
        ``WORKITEMS_OPEN_SOCKETS_MAX_AGE`` ago): a change made elsewhere in the first moments of
        this socket may not have been pushed. The list is read again and compared with what the
        page was sent; nothing is sent when nothing was missed.
        """
        await asyncio.sleep(after)
        current = await versions(user)  # a few columns: the list is serialized only where it differs
        for item_id in [i for i in self.shown if i not in current]:
            del self.shown[item_id]
            await self.send_json({"type": "removed", "id": item_id})
        differing = [i for i, seen in current.items() if self.shown.get(i) != seen]
        for item in await snapshot(user, differing) if differing else []:
            kind = "changed" if item["id"] in self.shown else "added"
            self.shown[item["id"]] = version(item)
            await self.send_json({"type": kind, "work_item": item})

    async def disconnect(self, code: int) -> None:
        for task in (self.catching_up, *self.queue_hints.values()):
            if task is not None:
                task.cancel()
        engine_watch().leave(self)
        for group in [*([self.group] if self.group else []), *self.login_groups, *self.queue_groups]:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.group:
            await database_sync_to_async(sockets.socket_closed)(self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        message = await self.client_message(text_data, bytes_data, schemas.CLIENT_MESSAGES)
        if message is not None and message["type"] == "ping" and self.group:
            # The client's liveness check; joining again also renews the group membership,
            # which the in-memory channel layer (and channels_redis's core layer) expire after a day.
            for group in [self.group, *self.queue_groups]:
                await self.channel_layer.group_add(group, self.channel_name)
            await database_sync_to_async(sockets.socket_seen)(self.channel_name)
            await self.send_json({"type": "pong"})

    async def workitems_push(self, event: dict[str, Any]) -> None:
        message = event["message"]
        if message["type"] == "queue":
            waiting = self.queue_hints.get(message["workgroup"])
            if waiting is None or waiting.done():  # else the one waiting says it
                self.queue_hints[message["workgroup"]] = asyncio.create_task(
                    self.send_later(message, random.uniform(0, QUEUE_SPREAD_SECONDS)))
            return
        if message["type"] in ("added", "changed"):
            self.shown[message["work_item"]["id"]] = version(message["work_item"])
        elif message["type"] == "removed":
            self.shown.pop(message["id"], None)
        await self.send_json(message)


def version(item: dict[str, Any]) -> tuple:
    """What tells two states of one item apart, as the page was sent it."""
    return item["status"], item["user"], item["updated_at"]


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
def snapshot(user: User, ids: list[int] | None = None) -> list[dict[str, Any]]:
    items = services.my_work_items(user).select_related("instance", "user", "workgroup")
    if ids is not None:
        items = items.filter(pk__in=ids)
    return [delivery.serialize_for(user, item) for item in items]


@database_sync_to_async
def versions(user: User) -> dict[int, tuple]:
    """{item id: version} of the user's list, as ``version`` reads it from a sent item."""
    as_sent = serializers.DateTimeField()
    return {pk: (status, username, as_sent.to_representation(updated_at)) for pk, status, username, updated_at
            in services.my_work_items(user).values_list("id", "status", "user__username", "updated_at")}
