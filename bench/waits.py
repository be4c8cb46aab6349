"""Where the engine's processes wait: ``pg_stat_activity`` sampled while they run.

A thread polls the backends of one database every few milliseconds and counts what each
active one is doing: running (no wait event: on the CPU or between fetches), or waiting on a
lock (``Lock``: a row, a transaction id, a relation), a lightweight lock (``LWLock``: WAL
insertion, buffer mappings), I/O (``IO``: WAL writes and flushes at commit), or the client
(``Client``: ``ClientRead``, the server idle in a transaction while Python works). The
shares say where the scaling from 1 to N processes goes; the statements most often seen
waiting on a lock name the hot rows.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import closing

from bench.common import connect

SAMPLE_SQL = """
SELECT state, wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
FROM pg_stat_activity
WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


class WaitSampler:
    """Counts (state, wait event) of a database's client backends until stopped."""

    def __init__(self, database: str, interval: float = 0.005) -> None:
        self.database, self.interval = database, interval
        self.events: Counter[str] = Counter()
        self.lock_queries: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="bench-waits", daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _poll(self) -> None:
        with closing(connect()) as connection, connection.cursor() as cursor:
            while not self._stop.is_set():
                cursor.execute(SAMPLE_SQL, (self.database,))
                self.samples += 1
                for state, kind, event, query in cursor.fetchall():
                    if state == "idle":
                        continue  # between transactions: the time is the client's
                    name = f"{kind}: {event}" if kind else "running (no wait event)"
                    if state == "idle in transaction":
                        name = f"idle in transaction ({event or 'the client works'})"
                    self.events[name] += 1
                    if kind == "Lock":
                        self.lock_queries[f"{event}: {query}"] += 1
                time.sleep(self.interval)

    def figures(self) -> dict:
        total = sum(self.events.values()) or 1
        return {"samples": self.samples,
                "busy_backends_per_sample": total / (self.samples or 1),
                "shares": {name: count / total for name, count in self.events.most_common()},
                "lock_waits": dict(self.lock_queries.most_common(5))}


def describe(figures: dict, processes: int) -> str:
    """The shares as lines of text (the report's note on scaling)."""
    lines = [f"pg_stat_activity while {processes} engine processes ran ({figures['samples']} samples, "
             f"{figures['busy_backends_per_sample']:.2f} backends in a transaction per sample):"]
    lines += [f"  {share:6.1%}  {name}" for name, share in list(figures["shares"].items())[:8]]
    total = sum(figures["lock_waits"].values())
    if total:
        lines.append("  statements seen waiting on a lock (samples):")
        lines += [f"    {count:5d}  {query}" for query, count in figures["lock_waits"].items()]
    return "\n".join(lines)
