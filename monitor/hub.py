"""One listener per server process for the monitor's changes, fanned out to its sockets in memory.

Every ``/ws/monitor/`` socket of a Daphne process needs every change; joining each socket to
the channel layer's group would send each change through Redis once per supervisor. Instead
the first socket of an event loop starts a ``Hub``: it joins ``monitor.changes`` with a
channel of its own, receives each change once, reads the committed row once
(``services.changed_row``) and hands it to the local sockets, which decide with the pure
matcher and their user's cached rights. Membership is renewed every hour (channel layers
expire group memberships after a day).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Protocol

from channels.db import database_sync_to_async

from monitor import delivery, services

log = logging.getLogger("ipa.monitor.hub")
RENEW_SECONDS = 3600.0


class Listener(Protocol):
    watching: bool

    async def instance_changed(self, instance_id: int, changed: services.ChangedRow | None) -> None: ...


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.listeners: set[Listener] = set()
        self.channel: str | None = None
        self.task: asyncio.Task | None = None

    async def join(self, listener: Listener) -> None:
        """Once this returns, every change committed afterwards reaches ``listener``."""
        self.listeners.add(listener)
        if self.task is None or self.task.done():
            self.channel = await self.layer.new_channel("monitor.hub.")
            await self.layer.group_add(delivery.CHANGES_GROUP, self.channel)
            self.task = asyncio.get_running_loop().create_task(self._listen())

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            message = await self.layer.receive(self.channel)
            if loop.time() - renewed > RENEW_SECONDS:
                await self.layer.group_add(delivery.CHANGES_GROUP, self.channel)
                renewed = loop.time()
            listeners = [listener for listener in self.listeners if listener.watching]
            if message.get("type") != delivery.CHANGED_EVENT or not listeners:
                continue
            try:
                changed = await database_sync_to_async(services.changed_row)(message["id"])
            except Exception:
                log.exception("could not read instance %s for the monitor", message.get("id"))
                continue
            for listener in listeners:
                try:
                    await listener.instance_changed(message["id"], changed)
                except Exception:
                    log.exception("a monitor socket failed on a change")


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub_for(layer: Any) -> Hub:
    """The hub of the running event loop (one per server process; tests run several loops)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = Hub(layer)
    return hub
