"""Daphne's keepalive pings reach sockets opened together at different moments (ipa_portal.keepalive).

A real Daphne in a process of its own, with a 4 s ping interval (its checker runs every 2 s),
and 30 WebSockets opened at once by raw clients that note when each first ping arrives.
"""

from __future__ import annotations

import select
import socket
import time

from daphne.testing import DaphneProcess

SOCKETS = 30
PING_INTERVAL = 4


async def accept_and_hold(scope, receive, send):
    """An ASGI app that accepts every WebSocket and keeps it open."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.disconnect":
            return


def spread_in_the_server() -> None:
    from ipa_portal.keepalive import spread_keepalive_pings

    spread_keepalive_pings()


def open_websocket(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += client.recv(1024)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    client.setblocking(False)
    return client


def first_pings(clients: list[socket.socket], seconds: float) -> dict[socket.socket, float]:
    """When each client's first ping frame (opcode 9) arrived, within ``seconds``."""
    arrived: dict[socket.socket, float] = {}
    deadline = time.monotonic() + seconds
    while len(arrived) < len(clients) and time.monotonic() < deadline:
        readable, _, _ = select.select(clients, [], [], 0.1)
        for client in readable:
            data = client.recv(4096)
            if data and data[0] & 0x0F == 0x9:
                arrived.setdefault(client, time.monotonic())
    return arrived


def test_sockets_opened_together_are_pinged_at_different_moments():
    server = DaphneProcess(host="127.0.0.1", get_application=lambda: accept_and_hold,
                           kwargs={"ping_interval": PING_INTERVAL}, setup=spread_in_the_server, teardown=lambda: None)
    server.start()
    try:
        assert server.ready.wait(10), "Daphne did not start"
        clients = [open_websocket(server.port.value) for _ in range(SOCKETS)]
        arrived = first_pings(clients, PING_INTERVAL + 4)
        assert len(arrived) == SOCKETS  # every socket is still pinged within its interval (and a check)
        moments = sorted(arrived.values())
        # Unspread, all 30 are pinged by the same 2-second check; spread, by at least two checks.
        assert moments[-1] - moments[0] > 1.0
        for client in clients:
            client.close()
    finally:
        server.terminate()
        server.join(5)
