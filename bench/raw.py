"""The ceiling: what one workflow step must at least do, in a bare psycopg2 loop.

Lock the instance row (``SELECT … FOR UPDATE``), update it, insert two history rows,
commit: one durable transaction, four statements. Each process works on its own rows,
as the engines' processes work on their own instances.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from contextlib import closing

from bench.common import connect, db_name, recreate_database

DATABASE = db_name("raw")
ROWS_PER_PROCESS = 100
STATE = json.dumps({"v": 1, "ready": [], "state": "Main", "locals": {}, "scopes": {},
                    "globals": {"amount": "12.50", "approved": False},
                    "threads": {"t1": {"base": None, "wait": {"kind": "work_item", "timer": False, "token": "w1",
                                                              "detail": "work item Approve"},
                                       "fault": None, "stack": [{"p": None, "at": 0,
                                                                 "block": ["states", "Main", "actions"]}],
                                       "parent": None, "children": []}},
                    "counters": {"s": 0, "t": 1, "w": 1}})  # the approval's real waiting state


def prepare(processes: int) -> None:
    recreate_database(DATABASE)
    with closing(connect(DATABASE)) as conn, conn.cursor() as cur:
        cur.execute("""
            CREATE TABLE raw_instance (id bigserial PRIMARY KEY, status varchar(20) NOT NULL,
                                       execution jsonb NOT NULL, updated_at timestamptz NOT NULL);
            CREATE TABLE raw_history (id bigserial PRIMARY KEY,
                                      instance_id bigint NOT NULL REFERENCES raw_instance (id),
                                      at timestamptz NOT NULL, what varchar(40) NOT NULL,
                                      detail varchar(500) NOT NULL, "user" varchar(150) NOT NULL);
            CREATE INDEX raw_history_instance ON raw_history (instance_id, id);
        """)
        cur.execute("INSERT INTO raw_instance (status, execution, updated_at) "
                    "SELECT 'waiting', %s, now() FROM generate_series(1, %s)", (STATE, processes * ROWS_PER_PROCESS))


def step(cur, conn, instance_id: int) -> None:
    cur.execute("SELECT id, status, execution FROM raw_instance WHERE id = %s FOR UPDATE", (instance_id,))
    cur.fetchone()
    cur.execute("UPDATE raw_instance SET status = 'waiting', execution = %s, updated_at = now() WHERE id = %s",
                (STATE, instance_id))
    cur.execute("INSERT INTO raw_history (instance_id, at, what, detail, \"user\") "
                "VALUES (%s, now(), 'work_item_completed', 'Approve: approve', 'bench')", (instance_id,))
    cur.execute("INSERT INTO raw_history (instance_id, at, what, detail, \"user\") "
                "VALUES (%s, now(), 'assigned', 'approved', 'bench')", (instance_id,))
    conn.commit()


def worker(index: int, barrier, seconds: float, steps: int, results) -> None:
    import psycopg2

    from bench.common import dsn

    conn = psycopg2.connect(dsn(DATABASE))
    cur = conn.cursor()
    first = index * ROWS_PER_PROCESS + 1
    step(cur, conn, first)  # warm up
    barrier.wait()
    began = time.monotonic()
    deadline = began + seconds
    done = 0
    while (done < steps) if steps else (time.monotonic() < deadline):
        step(cur, conn, first + done % ROWS_PER_PROCESS)
        done += 1
    ended = time.monotonic()
    conn.close()
    results.put({"done": done, "began": began, "ended": ended})


def measure(processes: int, seconds: float, steps: int = 0) -> dict:
    """Steps per second from ``processes`` processes (each ``seconds`` long, or ``steps`` steps)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [ctx.Process(target=worker, args=(i, barrier, seconds, steps, results)) for i in range(processes)]
    for w in workers:
        w.start()
    rows = [results.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    elapsed = max(r["ended"] for r in rows) - min(r["began"] for r in rows)
    done = sum(r["done"] for r in rows)
    return {"steps": done, "seconds": elapsed, "steps_per_second": done / elapsed}
