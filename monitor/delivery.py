"""Telling monitor sockets that instances changed, after commit and off the engine's path.

The runtime calls ``instance_changed`` (an after-step hook registered in ``MonitorConfig.ready``)
once a step's transaction has committed. It only appends the instance's id to this process's
outbox and, when no send is already due, asks the sending loop (``workitems.delivery``) to
send: the ids that gathered meanwhile go out as one message to the channel layer's group
``monitor.changes``, so a node running steps back to back publishes a few messages a second,
not one per step, and the engine never waits for Redis nor reads a filter, a subscription or
a row for the monitor. In each server process one ``monitor.hub`` receives the ids, reads
the committed rows once per batch and hands them to the local sockets, which decide with
``monitor.filters.matches`` whether to push each (``consumers``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from itertools import islice
from typing import Any

from channels.layers import get_channel_layer

from workitems import delivery

log = logging.getLogger("ipa.monitor.delivery")
CHANGES_GROUP = "monitor.changes"
CHANGED_EVENT = "monitor.changed"  # received by monitor.hub.Hub
MAX_IDS = 500  # per message: a burst is split rather than sent as one message of any size

_lock = threading.Lock()
_outbox: dict[int, None] = {}  # ids not sent yet, in order, each once
_sending_on: asyncio.AbstractEventLoop | None = None  # the loop whose send will take the outbox
_tasks: set[asyncio.Task] = set()  # the sends under way (a task nobody holds may be collected)


def instance_changed(instance_id: int) -> None:
    global _sending_on
    if get_channel_layer() is None:
        return
    try:
        with _lock:
            _outbox[instance_id] = None
            if _sending_on is not None and _sending_on.is_running():
                return
            _sending_on = loop = delivery.sending_loop()
        loop.call_soon_threadsafe(_start_sending)
    except Exception:
        log.exception("could not hand the change of instance %s to the monitor", instance_id)


def changed_ids(message: dict[str, Any]) -> list[int]:
    """The instance ids a ``monitor.changed`` message carries."""
    return list(message.get("ids") or ())


def _start_sending() -> None:
    task = asyncio.get_running_loop().create_task(_send())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _send() -> None:
    global _sending_on
    layer = get_channel_layer()
    while True:
        with _lock:
            ids = list(islice(_outbox, MAX_IDS))
            for instance_id in ids:
                del _outbox[instance_id]
            if not ids:
                _sending_on = None
                return
        try:
            await layer.group_send(CHANGES_GROUP, {"type": CHANGED_EVENT, "ids": ids})
        except Exception as exc:
            log.warning("%s monitor changes were not sent (%s); monitors catch up when they subscribe again",
                        len(ids), exc)
