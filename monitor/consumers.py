"""``/ws/monitor/``: a supervisor's filtered, live view of instances (contract in interfaces.md).

Nothing is watched until the client sends ``subscribe`` with a filter (the seed's PAS v2).
The socket then listens to its process's ``monitor.hub`` (which receives each change the
runtime publishes after a commit once, and reads the committed row once), answers with a
``snapshot`` (or ``refused`` past ``PAS Maximum Monitored Flows``), and for each change decides
with the pure matcher and its user's rights whether to push ``changed`` or ``removed``.
A subscription that would grow past the cap ends with ``refused``. Apart from that, ``engine``
says when no engine node is live (at connect) and when that changes (``workitems.engine_watch``). Closes with 4401 (not
authenticated) or 4403 (no Process Monitor license) after accepting, so the browser sees it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.utils import timezone

from administration import policy
from administration.models import User
from monitor import schemas, services
from monitor.filters import Filter, FilterInvalid, crossing, matches, parse_filter
from monitor.hub import hub_for
from workitems import delivery as workitem_delivery
from workitems.consumers import NO_LICENSE, NOT_AUTHENTICATED, LiveSocket, authenticated_user
from workitems.engine_watch import engine_message, engine_watch

SNAPSHOT_ROWS_PER_MESSAGE = 500  # about 250 kB: well under a WebSocket message's size limit
CROSSING_CHECKS_SECONDS = 1.0  # at most one check a second for instances crossing waiting_longer_than


class MonitorConsumer(LiveSocket):
    user: User | None = None
    filter: Filter | None = None
    shown: set[int]
    cap = 0
    watching = False  # subscribed or watching queues: the hub hands it every change
    watching_queues = False
    subscribing = False
    backlog: list[tuple[list[int], dict[int, services.ChangedRow]]]
    clock: asyncio.Task | None = None  # watches waiting_longer_than crossings of the subscription
    wake_at: datetime | None = None  # the next crossing known
    rescheduled: asyncio.Event

    async def connect(self) -> None:
        await self.accept()
        self.shown, self.backlog, self.rescheduled = set(), [], asyncio.Event()
        user = await authenticated_user(self.scope)
        if user is None:
            await self.close(code=NOT_AUTHENTICATED)
            return
        if not await database_sync_to_async(policy.can_monitor)(user):
            await self.close(code=NO_LICENSE)
            return
        await database_sync_to_async(policy.principal_for)(user)  # rights read once: visibility is then pure
        self.user = user
        await self.join_login_groups(user)
        workitem_delivery.serve_sockets_from(asyncio.get_running_loop())
        if not await engine_watch().join(self):  # the supervisor sees that nothing moves, and why
            await self.send_json(engine_message(False))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        message = await self.client_message(text_data, bytes_data, schemas.CLIENT_MESSAGES)
        if message is None or self.user is None:
            return
        elif message["type"] == "subscribe":
            await self._subscribe(message["filter"])
        elif message["type"] == "unsubscribe":
            self._stop()
        elif message["type"] == "watch_queues":
            # The queues page: told that something changed, it reads the queues again itself.
            self.watching_queues = self.watching = True
            await hub_for(self.channel_layer).join(self)
            await self.send_json({"type": "queues_changed"})
        elif message["type"] == "ping":
            await self.send_json({"type": "pong"})

    async def _subscribe(self, data: dict[str, Any]) -> None:
        try:
            wanted = parse_filter(data)
        except FilterInvalid as exc:
            await self.send_json({"type": "error", "reason": str(exc)})
            return
        # Listen before the snapshot's query: a change committed meanwhile is kept in the backlog
        # and applied after the snapshot (repeating what it shows) instead of being lost.
        self._stop()
        self.subscribing = self.watching = True
        await hub_for(self.channel_layer).join(self)
        try:
            first = await database_sync_to_async(services.first_rows)(self.user, wanted)
            cap = await database_sync_to_async(services.monitor_cap)()
        except services.TooBroad as exc:
            self.subscribing = False
            self._stop()
            await self.send_json({"type": "refused", "reason": str(exc), "cap": exc.cap})
            return
        self.shown = {row["id"] for row in first.rows}
        await self.send_json({"type": "snapshot", "instances": first.rows, "cap": cap, "total": first.total})
        try:
            if first.after is not None:
                rest = await database_sync_to_async(services.rows_after)(self.user, wanted, first.after)
                for start in range(0, len(rest), SNAPSHOT_ROWS_PER_MESSAGE):
                    rows = rest[start:start + SNAPSHOT_ROWS_PER_MESSAGE]
                    self.shown.update(row["id"] for row in rows)
                    await self.send_json({"type": "snapshot_rows", "instances": rows})
        finally:
            self.subscribing = False
        self.filter, self.cap = wanted, cap
        backlog, self.backlog = self.backlog, []
        for ids, changed in backlog:
            await self._apply(ids, changed)
        if wanted.waits and self.filter is wanted:
            self.clock = asyncio.get_running_loop().create_task(self._push_crossings(wanted))

    def _stop(self) -> None:
        self.filter = None
        self.shown, self.backlog = set(), []
        self.watching = self.watching_queues
        if self.clock is not None:
            self.clock.cancel()
        self.clock = self.wake_at = None

    async def _push_crossings(self, f: Filter) -> None:
        """Push the instances that start to match ``f`` because their wait passed
        ``waiting_longer_than``, which no commit announces. Sleeps until the next crossing (asked of
        the database, or seen in a change by ``_apply``), then reads which instances match now."""
        read = database_sync_to_async
        while self.filter is f:
            if self.wake_at is None:
                self.wake_at = await read(services.next_crossing)(self.user, f, timezone.now())
            self.rescheduled.clear()
            timeout = None if self.wake_at is None else (self.wake_at - timezone.now()).total_seconds() + 0.05
            try:
                await asyncio.wait_for(self.rescheduled.wait(), max(0.0, timeout) if timeout is not None else None)
                continue  # a change brought an earlier crossing
            except TimeoutError:
                pass
            self.wake_at = None
            new = [i for i in await read(services.matching_ids)(self.user, f, self.cap + 1) if i not in self.shown]
            if new:
                await self._apply(new, await read(services.changed_rows)(new))
            await asyncio.sleep(CROSSING_CHECKS_SECONDS)

    async def disconnect(self, code: int) -> None:
        engine_watch().leave(self)
        self.watching_queues = False
        self._stop()
        hub_for(self.channel_layer).leave(self)
        for group in self.login_groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def instances_changed(self, ids: list[int], changed: dict[int, services.ChangedRow]) -> None:
        """Called by the hub with each batch of committed changes while this socket watches
        (``changed``: the rows read after the commits; an id left out is gone)."""
        if self.watching_queues:
            await self.send_json({"type": "queues_changed"})
        if self.subscribing:
            self.backlog.append((ids, changed))
        elif self.filter is not None:
            await self._apply(ids, changed)

    async def _apply(self, ids: list[int], changed: dict[int, services.ChangedRow]) -> None:
        now = timezone.now()
        for instance_id in ids:
            if self.filter is None or self.user is None:
                return
            row = changed.get(instance_id)
            seen = row if row is not None and row.visible_to(self.user) else None
            if seen is not None and matches(self.filter, seen.row, now):
                if not await self._show(instance_id, seen.shown):
                    return
            else:
                if instance_id in self.shown:
                    self.shown.discard(instance_id)
                    await self.send_json({"type": "removed", "id": instance_id})
                if seen is not None and self.filter is not None and self.filter.waits:
                    self._expect_crossing(crossing(self.filter, seen.row, now))

    def _expect_crossing(self, at: datetime | None) -> None:
        if at is not None and (self.wake_at is None or at < self.wake_at):
            self.wake_at = at
            self.rescheduled.set()

    async def _show(self, instance_id: int, shown: dict[str, Any]) -> bool:
        """Push a matching row; False when it would take the subscription past the cap (ended)."""
        if instance_id not in self.shown and len(self.shown) >= self.cap:
            cap = self.cap
            self._stop()
            reason = (f"This filter now matches more than the {cap} instances the monitor watches at once "
                      f"({services.CAP_PARAMETER}), so it was stopped. Narrow it and open it again.")
            await self.send_json({"type": "refused", "reason": reason, "cap": cap})
            return False
        self.shown.add(instance_id)
        await self.send_json({"type": "changed", "instance": shown})
        return True
