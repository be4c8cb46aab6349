"""Telling monitor sockets that an instance changed, after commit and off the engine's path.

The runtime calls ``instance_changed`` (an after-step hook registered in ``MonitorConfig.ready``)
once a step's transaction has committed. It only hands the instance's id to the channel
layer's group ``monitor.changes``, without waiting for the send: the engine never reads a
filter, a subscription or a row for the monitor. Each subscribed socket reads the committed
row itself and decides with ``monitor.filters.matches`` whether to push it (``consumers``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os

from channels.layers import get_channel_layer

from workitems import delivery

log = logging.getLogger("ipa.monitor.delivery")
CHANGES_GROUP = "monitor.changes"
CHANGED_EVENT = "monitor.changed"  # handled by MonitorConsumer.monitor_changed
_published = itertools.count()


def instance_changed(instance_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # "at" tells one publication from the next: the sockets of a server process share one read of it.
    message = {"type": CHANGED_EVENT, "id": instance_id, "at": f"{os.getpid()}:{next(_published)}"}
    try:
        future = asyncio.run_coroutine_threadsafe(layer.group_send(CHANGES_GROUP, message), delivery.sending_loop())
    except Exception:
        log.exception("could not hand the change of instance %s to the monitor", instance_id)
        return
    future.add_done_callback(_log_failure)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a monitor change was not sent (%s); monitors catch up when they subscribe again",
                    future.exception())
