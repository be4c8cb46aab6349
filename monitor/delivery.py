"""Telling monitor sockets that an instance changed, after commit and off the engine's path.

The runtime calls ``instance_changed`` (an after-step hook registered in ``MonitorConfig.ready``)
once a step's transaction has committed. It only hands the instance's id to the channel
layer's group ``monitor.changes``, without waiting for the send: the engine never reads a
filter, a subscription or a row for the monitor. In each server process one ``monitor.hub``
receives it, reads the committed row once and hands it to the local sockets, which decide
with ``monitor.filters.matches`` whether to push it (``consumers``).
"""

from __future__ import annotations

import asyncio
import logging

from channels.layers import get_channel_layer

from workitems import delivery

log = logging.getLogger("ipa.monitor.delivery")
CHANGES_GROUP = "monitor.changes"
CHANGED_EVENT = "monitor.changed"  # received by monitor.hub.Hub


def instance_changed(instance_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": CHANGED_EVENT, "id": instance_id}
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
