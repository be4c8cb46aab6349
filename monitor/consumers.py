"""``/ws/monitor/``: a supervisor's filtered, live view of instances (contract in interfaces.md).

Nothing is watched until the client sends ``subscribe`` with a filter (the seed's PAS v2).
The socket then joins ``monitor.changes``, answers with a ``snapshot`` (or ``refused`` past
``PAS Maximum Monitored Flows``), and for each id the runtime publishes after a commit,
reads the committed row as this user may see it and pushes ``changed`` or ``removed``.
A subscription that would grow past the cap ends with ``refused``. Closes with 4401 (not
authenticated) or 4403 (no Process Monitor license) after accepting, so the browser sees it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from administration import policy
from administration.models import User
from monitor import delivery, schemas, services
from monitor.filters import Filter, FilterInvalid, matches, parse_filter
from workitems import delivery as workitem_delivery
from workitems.consumers import NO_LICENSE, NOT_AUTHENTICATED, authenticated_user


class MonitorConsumer(AsyncJsonWebsocketConsumer):
    user: User | None = None
    filter: Filter | None = None
    shown: set[int]
    joined = False
    cap = 0
    watching_queues = False

    async def connect(self) -> None:
        await self.accept()
        self.shown = set()
        user = await authenticated_user(self.scope)
        if user is None:
            await self.close(code=NOT_AUTHENTICATED)
            return
        if not await database_sync_to_async(policy.can_monitor)(user):
            await self.close(code=NO_LICENSE)
            return
        await database_sync_to_async(policy.principal_for)(user)  # rights read once: visibility is then pure
        self.user = user
        workitem_delivery.serve_sockets_from(asyncio.get_running_loop())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        try:
            message = json.loads(text_data or bytes_data or "")
        except ValueError:
            message = None
        if error := schemas.validation_error(message, schemas.CLIENT_MESSAGES):
            await self.send_json({"type": "error", "reason": error})
        elif self.user is None:
            return
        elif message["type"] == "subscribe":
            await self._subscribe(message["filter"])
        elif message["type"] == "unsubscribe":
            await self._leave()
        elif message["type"] == "watch_queues":
            # The queues page: told that something changed, it reads the queues again itself.
            self.watching_queues = True
            await self.channel_layer.group_add(delivery.CHANGES_GROUP, self.channel_name)
            self.joined = True
            await self.send_json({"type": "queues_changed"})
        elif message["type"] == "ping":
            if self.joined:  # renews the group membership, which channel layers expire after a day
                await self.channel_layer.group_add(delivery.CHANGES_GROUP, self.channel_name)
            await self.send_json({"type": "pong"})

    async def _subscribe(self, data: dict[str, Any]) -> None:
        try:
            wanted = parse_filter(data)
        except FilterInvalid as exc:
            await self.send_json({"type": "error", "reason": str(exc)})
            return
        # Join before the snapshot's query: a change committed meanwhile is then pushed after the
        # snapshot (repeating what it shows) instead of being lost.
        await self.channel_layer.group_add(delivery.CHANGES_GROUP, self.channel_name)
        self.joined = True
        try:
            rows = await database_sync_to_async(services.snapshot)(self.user, wanted)
        except services.TooBroad as exc:
            await self._leave()
            await self.send_json({"type": "refused", "reason": str(exc), "cap": exc.cap})
            return
        self.filter = wanted
        self.shown = {row["id"] for row in rows}
        self.cap = await database_sync_to_async(services.monitor_cap)()
        await self.send_json({"type": "snapshot", "instances": rows, "cap": self.cap})

    async def _leave(self) -> None:
        self.filter = None
        self.shown = set()
        if self.joined and not self.watching_queues:
            self.joined = False
            await self.channel_layer.group_discard(delivery.CHANGES_GROUP, self.channel_name)

    async def disconnect(self, code: int) -> None:
        self.watching_queues = False
        await self._leave()

    async def monitor_changed(self, event: dict[str, Any]) -> None:
        if self.watching_queues:
            await self.send_json({"type": "queues_changed"})
        if self.filter is None or self.user is None:
            return
        instance_id = event["id"]
        changed = await shared_read(instance_id, event.get("at"))
        visible = changed is not None and changed.visible_to(self.user)
        found = (changed.row, changed.shown) if changed is not None and visible else None
        if found is not None and matches(self.filter, found[0], timezone.now()):
            if instance_id not in self.shown and len(self.shown) >= self.cap:
                cap = self.cap
                await self._leave()
                reason = (f"This filter now matches more than the {cap} instances the monitor watches at once "
                          f"({services.CAP_PARAMETER}), so it was stopped. Narrow it and open it again.")
                await self.send_json({"type": "refused", "reason": reason, "cap": cap})
                return
            self.shown.add(instance_id)
            await self.send_json({"type": "changed", "instance": found[1]})
        elif instance_id in self.shown:
            self.shown.discard(instance_id)
            await self.send_json({"type": "removed", "id": instance_id})


# Every subscribed socket of this server process receives each change; the first to handle it
# reads the row, the others await the same read (one query per change and process, not per
# supervisor). Reads are kept for a few seconds, keyed by the change's publication.
_reads: dict[tuple[int, Any], tuple[float, asyncio.Future]] = {}
READ_KEPT_SECONDS = 10.0


async def shared_read(instance_id: int, published: Any) -> services.ChangedRow | None:
    now = time.monotonic()
    key = (instance_id, published)
    entry = _reads.get(key) if published is not None else None
    if entry is None:
        future = asyncio.get_running_loop().create_future()
        if published is not None:
            for stale in [k for k, (at, _) in _reads.items() if now - at > READ_KEPT_SECONDS]:
                del _reads[stale]
            _reads[key] = (now, future)
        try:
            future.set_result(await database_sync_to_async(services.changed_row)(instance_id))
        except Exception as exc:
            future.set_exception(exc)
            _reads.pop(key, None)
            raise
        return future.result()
    return await asyncio.shield(entry[1])
