"""Daphne's keepalive pings, spread over their interval instead of sent to many sockets at once.

Daphne pings a WebSocket once ``ping_interval`` (20 s) has passed since the socket opened or
last sent a frame, and checks every socket for it on one timer, every 2 s. Sockets opened
together (every agent's page after a restart, a wave of logins, a bench's 500 agents) are
then pinged in the same turn of the reactor, every interval, for as long as they stay open:
hundreds of frames written at once, and every message due in that turn waits behind them
(docs/performance.md, "Live pushes"). Here each socket starts at a random point of the
interval, so each check pings a few sockets. Installed by ``ipa_portal.asgi``, which every
Daphne process of the portal imports before it serves; nothing changes without Daphne.
"""

from __future__ import annotations

import random


def spread_keepalive_pings() -> None:
    """Make Daphne's WebSocket protocol start each socket's ping clock at a random point of the interval."""
    try:
        from daphne import ws_protocol
    except ImportError:  # served by another ASGI server: its pings are its own
        return
    base = ws_protocol.WebSocketProtocol
    if getattr(ws_protocol.WebSocketFactory.protocol, "spreads_pings", False):
        return

    class SpreadPingProtocol(base):  # type: ignore[misc, valid-type]
        spreads_pings = True

        def onConnect(self, request):  # noqa: N802 - Autobahn's name
            accepted = super().onConnect(request)
            self.last_ping -= random.uniform(0, self.server.ping_interval)
            return accepted

    ws_protocol.WebSocketFactory.protocol = SpreadPingProtocol
