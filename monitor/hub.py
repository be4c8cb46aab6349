"""One listener per server process for the monitor's changes, fanned out to its sockets in memory.

Every ``/ws/monitor/`` socket of a Daphne process needs every change; joining each socket to
the channel layer's group would send each change through Redis once per supervisor. Instead
the first socket of an event loop starts a ``Hub``: it joins ``monitor.changes`` with a
channel of its own and receives each change once. Changes are matched in **batches**: the ids
that arrive while a batch is being read and matched wait in ``pending`` and make the next
batch, at most one batch every 25 ms, so a burst of engine steps costs one read of four
queries per batch (``services.changed_rows``) instead of four queries per change, and a
steady trickle is read as soon as it comes. The hub hands each batch to the local sockets, which decide with
the pure matcher and their user's cached rights.

Reads run in one thread of the hub's own that keeps its database connection open while
changes keep coming (``database_sync_to_async`` opens and closes one per call when
``CONN_MAX_AGE`` is 0: most of a change's cost at a trickle, docs/performance.md). The
connection is closed after 5 s without a read, when the last socket leaves, and after an
error; the next read opens one. Membership is renewed every hour (channel layers expire group memberships after
a day).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from django.db import DatabaseError, connection

from monitor import delivery, services

log = logging.getLogger("ipa.monitor.hub")
RENEW_SECONDS = 3600.0
BATCH_SECONDS = 0.025
IDLE_SECONDS = 5.0  # the reader's connection is closed after this long without a read
T = TypeVar("T")


class Listener(Protocol):
    watching: bool

    async def instances_changed(self, ids: list[int], changed: dict[int, services.ChangedRow]) -> None: ...


class Reader:
    """One thread that reads for the hub, on a database connection it keeps between reads
    (closed after IDLE_SECONDS without one, and when the last socket leaves)."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="monitor-hub")
        self.used_at = 0.0
        self.timer: threading.Timer | None = None

    async def read(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, _kept_connection, function, args)
        finally:
            self.used_at = time.monotonic()
            if self.timer is None or not self.timer.is_alive():
                self._close_if_idle_in(IDLE_SECONDS)

    def close(self) -> None:
        """Close the thread's connection (after any read in progress)."""
        self.executor.submit(_close_connection)

    def _close_if_idle_in(self, seconds: float) -> None:
        # A timer thread, not the event loop: the loop that read may be gone (tests run one per test).
        self.timer = threading.Timer(seconds, self._close_if_idle)
        self.timer.daemon = True
        self.timer.start()

    def _close_if_idle(self) -> None:
        idle = time.monotonic() - self.used_at
        if idle >= IDLE_SECONDS:
            self.close()
        else:
            self._close_if_idle_in(IDLE_SECONDS - idle)


def _close_connection() -> None:
    connection.close()  # the connection of the thread this runs in


def _kept_connection(function: Callable[..., T], args: tuple) -> T:
    try:
        return function(*args)
    except DatabaseError:
        connection.close()  # a broken connection is not used again: the next read opens one
        raise


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.listeners: set[Listener] = set()
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.pending: dict[int, None] = {}  # ids in the order they came, each once
        self.matching: asyncio.Task | None = None
        self.reader = Reader()

    async def join(self, listener: Listener) -> None:
        """Once this returns, every change committed afterwards reaches ``listener``."""
        self.listeners.add(listener)
        if self.task is None or self.task.done():
            self.channel = await self.layer.new_channel("monitor.hub.")
            await self.layer.group_add(delivery.CHANGES_GROUP, self.channel)
            self.task = asyncio.get_running_loop().create_task(self._listen())

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        if not self.listeners:
            self.reader.close()

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            message = await self.layer.receive(self.channel)
            if loop.time() - renewed > RENEW_SECONDS:
                await self.layer.group_add(delivery.CHANGES_GROUP, self.channel)
                renewed = loop.time()
            if message.get("type") != delivery.CHANGED_EVENT or not self._watched():
                continue
            self.pending.update(dict.fromkeys(delivery.changed_ids(message)))
            if self.matching is None or self.matching.done():
                self.matching = loop.create_task(self._match())

    def _watched(self) -> bool:
        return any(listener.watching for listener in self.listeners)

    async def _match(self) -> None:
        loop = asyncio.get_running_loop()
        read_at = 0.0
        while self.pending and self._watched():
            # At most one read per BATCH_SECONDS: a trickle is read at once, a burst in larger batches.
            await asyncio.sleep(max(0.0, read_at + BATCH_SECONDS - loop.time()))
            read_at = loop.time()
            ids, self.pending = list(self.pending), {}
            try:
                changed = await self.reader.read(services.changed_rows, ids)
            except Exception:
                log.exception("could not read %s changed instances for the monitor", len(ids))
                continue
            # A socket that joined during the read gets the batch too: a row read before its
            # snapshot is either what the snapshot shows or followed by a later change's batch.
            for listener in [listener for listener in self.listeners if listener.watching]:
                try:
                    await listener.instances_changed(ids, changed)
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
