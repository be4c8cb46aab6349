"""Whether any engine node is alive, watched once per web process for its sockets' banner.

In the production stack no engine node is left to say that every node is dead, so the web
side notices itself: the first ``/ws/workitems/`` or ``/ws/monitor/`` socket of an event loop
starts an ``EngineWatch``, which reads ``nodes.any_node_live`` (one small query) every
``ENGINE_WATCH_SECONDS`` while sockets are open, and tells each of them
``{"type": "engine", "running": ...}`` when the answer changes. A socket is told at connect
only when no node is live: the pages assume a running engine until told otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from processes.services import nodes

log = logging.getLogger("ipa.workitems.engine_watch")


class Listener(Protocol):
    async def engine_changed(self, running: bool) -> None: ...


def engine_message(running: bool) -> dict[str, object]:
    return {"type": "engine", "running": running}


class EngineWatch:
    def __init__(self) -> None:
        self.listeners: set[Listener] = set()
        self.running = True
        self.task: asyncio.Task | None = None
        self.read_once = asyncio.Event()

    async def join(self, listener: Listener) -> bool:
        """Whether an engine node is live now; ``listener`` hears of every change from then on."""
        self.listeners.add(listener)
        if self.task is None or self.task.done():
            self.read_once = asyncio.Event()
            self.task = asyncio.get_running_loop().create_task(self._watch())
        await self.read_once.wait()
        return self.running

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    async def _watch(self) -> None:
        self.running = await self._read(self.running)
        self.read_once.set()
        while self.listeners:  # nobody left to tell: stop reading (the next socket starts again)
            await asyncio.sleep(getattr(settings, "ENGINE_WATCH_SECONDS", 5))
            running = await self._read(self.running)
            if running == self.running:
                continue
            self.running = running
            for listener in list(self.listeners):
                try:
                    await listener.engine_changed(running)
                except Exception:
                    log.exception("a socket could not be told whether the engine runs")

    @staticmethod
    async def _read(last: bool) -> bool:
        try:
            return await database_sync_to_async(nodes.any_node_live)()
        except Exception:  # the database is away: the pages keep what they were told
            log.exception("could not read whether an engine node is live")
            return last


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EngineWatch] = weakref.WeakKeyDictionary()


def engine_watch() -> EngineWatch:
    """The watch of the running event loop (one per server process; tests run several loops)."""
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None:
        watch = _watches[loop] = EngineWatch()
    return watch
