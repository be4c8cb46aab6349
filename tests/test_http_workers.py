"""Daphne processes started by ``manage.py serve --workers N`` share a burst of keep-alive clients
between them, instead of the first one awake taking them all (``serve.open_listeners``).

Two real Daphne processes, started as ``serve`` starts them, are stopped while 32 clients connect
(the kernel queues the connections), then let go together.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import time
from collections import Counter

import pytest

from processes.management.commands.serve import open_listeners, start_workers

CLIENTS = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answering_process(port: int, conn: http.client.HTTPConnection | None = None) -> int:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    return int(conn.getresponse().read())


@pytest.fixture
def two_workers(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.getcwd())
    port = free_port()
    listeners = open_listeners("127.0.0.1", port, 2)
    workers = start_workers(listeners, "tests.pid_app:application")
    yield port, workers
    for worker in workers:
        worker.send_signal(signal.SIGCONT)
        worker.terminate()
        worker.wait(10)
    for listener in listeners:
        listener.close()


def test_a_burst_of_keep_alive_clients_is_shared_by_the_processes(two_workers):
    port, workers = two_workers
    seen: set[int] = set()
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:  # both serving
        try:
            seen.add(answering_process(port))
        except OSError:
            time.sleep(0.2)
    assert seen == {w.pid for w in workers}
    for worker in workers:
        worker.send_signal(signal.SIGSTOP)
    clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CLIENTS)]
    for client in clients:
        client.connect()  # queued by the kernel while both processes are stopped
    for worker in workers:
        worker.send_signal(signal.SIGCONT)
    served = Counter(answering_process(port, client) for client in clients)
    for client in clients:
        client.close()
    assert sum(served.values()) == CLIENTS
    # Spread by address: each gets about half (fewer than 6 of 32: about once in 5,000 runs).
    assert min(served[w.pid] for w in workers) >= 6, served


def test_a_port_in_use_is_refused(two_workers):
    port, _ = two_workers
    with pytest.raises(OSError):
        open_listeners("127.0.0.1", port, 2)
