"""This engine on the three-step approval, through the same service functions the API calls.

launch (``amount``) -> a work item sent to the initiating user, who learns of it from the
push on their open socket (the channel layer), picks it up and completes it with ``approve``
(``workitems.services.pickup_work_item`` then ``complete_work_item``) -> an ``assign`` -> end.
Every process launches and completes its own instances on the real durable path:
production settings (DEBUG off, PostgreSQL, Redis as the broker and the channel layer, so
nothing runs eagerly), row lock, history, the events table, after-commit hooks.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import threading
import time
from pathlib import Path

from bench.common import TX_CONTROL, db_name, migrate, product_env, recreate_database

DATABASE = db_name("ipa")
PROCESS = "Bench Approval"
APPROVAL = {
    "format": "ipa.process/v1", "name": PROCESS, "start_state": "Main",
    "variables": [{"name": "amount", "type": "decimal", "input": True},
                  {"name": "approved", "type": "boolean", "default": False}],
    "states": [{"name": "Main", "actions": [
        {"action": "send_work_item", "work_item": "Approve", "to": {"user": "{{ initiator }}"},
         "exits": {"approve": [{"action": "assign", "variable": "approved", "value": "true"}]}},
        {"action": "end_process"}]}],
    "work_items": [{"name": "Approve", "description": "Approve {{ amount }}", "fields": [],
                    "buttons": [{"id": "approve", "label": "Approve"}]}],
}
MAX_PROCESSES = 8


def username(index: int) -> str:
    return f"bench-{index + 1}"


def directory(usernames: list[str]) -> dict:
    return {
        "format": "ipa.directory/v1",
        "licenses": {"direct_routed": len(usernames) + 10},
        "users": [{"username": name, "password": f"{name}-password", "license": "direct_routed",
                   "rights": ["launch", "view"]} for name in usernames],
    }


def django_setup(database: str) -> None:
    """In a fresh (spawned) process: the portal's production settings against ``database``."""
    os.environ.update(product_env(database))
    import django

    django.setup()


def _load(database: str, usernames: list[str]) -> None:
    django_setup(database)
    from administration.directory import import_directory
    from processes.services.definitions import import_definition

    import_directory(directory(usernames))
    import_definition(APPROVAL, publish=True)


_prepared: set[str] = set()


def prepare(database: str = DATABASE, usernames: list[str] | None = None) -> None:
    """A fresh database, migrated, with the bench users and the approval published."""
    recreate_database(database)
    migrate(database)
    run_in_child(_load, database, usernames or [username(i) for i in range(MAX_PROCESSES)])
    _prepared.add(database)


def ensure_prepared(database: str = DATABASE) -> None:
    """Prepared once per bench run (by an earlier part, or now)."""
    if database not in _prepared:
        prepare(database)


def run_in_child(target, *args):
    """Run ``target(*args)`` in a spawned process (Django set up there, never in the bench's own)."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    child = ctx.Process(target=_call, args=(results, target, args))
    child.start()
    outcome = results.get(timeout=3600)
    child.join()
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _call(results, target, args) -> None:
    try:
        results.put(target(*args))
    except BaseException as exc:  # handed to the parent, which raises it
        import traceback

        traceback.print_exc()
        results.put(RuntimeError(f"{target.__name__} failed: {exc!r}"))


# ---------------------------------------------------------------------------- one instance


class Inbox:
    """The bench agent's open socket: the work item pushes to one user, from the channel layer.

    The agent learns of a new item as a person's browser does, from the ``added`` message, so
    the pushes are on and nothing is read to find the item (the bench's commits per instance).
    """

    def __init__(self, user_id: int) -> None:
        from channels.layers import get_channel_layer

        from workitems import delivery, sockets

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="bench-inbox", daemon=True).start()
        self.layer = get_channel_layer()
        self.channel = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(delivery.user_group(user_id), self.channel))
        sockets.socket_opened(user_id, self.channel)  # an open socket: delivery pushes to it

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def next_added(self, instance_id: int) -> int:
        """The id of the item of ``instance_id`` added to the user's list (anything else is passed over:
        changes, removals, and pushes of another bench sharing this Redis, whose ids mean nothing here)."""
        while True:
            message = self._run(self.layer.receive(self.channel))["message"]
            if message["type"] == "added" and message["work_item"]["instance"] == instance_id:
                return message["work_item"]["id"]


class Approval:
    """Runs one approval instance the way a client of the API does, its socket open."""

    def __init__(self, user_name: str) -> None:
        from administration.models import User
        from processes.services import instances
        from workitems import services

        self.user = User.objects.get(username=user_name)
        self.launch = instances.launch_process
        self.pickup = services.pickup_work_item
        self.complete = services.complete_work_item
        self.inbox = Inbox(self.user.pk)

    def run(self) -> int:
        instance = self.launch(self.user, PROCESS, {"amount": "12.50"})
        item_id = self.inbox.next_added(instance.pk)  # "My Work Items", live
        self.pickup(self.user, item_id)
        self.complete(self.user, item_id, "approve", {})
        return instance.pk


def statements_per_step(approval: Approval, rounds: int) -> dict[str, float]:
    """Statements per call, counted as tests/services/test_query_counts.py does (BEGIN/COMMIT in).

    Per human step: the median over ``rounds`` (a process renews a few cached reads once a second,
    inside whichever step comes then: a cost per second, which commits/inst counts, not per step).
    ``data``: data statements per instance, the mean over the rounds, those reads included.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts: dict[str, list[int]] = {"launch": [], "pickup": [], "complete": []}
    data = 0
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as launch:
            instance = approval.launch(approval.user, PROCESS, {"amount": "12.50"})
        item_id = approval.inbox.next_added(instance.pk)
        with CaptureQueriesContext(connection) as pickup:
            approval.pickup(approval.user, item_id)
        with CaptureQueriesContext(connection) as complete:
            approval.complete(approval.user, item_id, "approve", {})
        for name, captured in (("launch", launch), ("pickup", pickup), ("complete", complete)):
            counts[name].append(sum(1 for q in captured.captured_queries
                                    if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))))
        data += sum(1 for c in (launch, pickup, complete) for q in c.captured_queries
                    if not q["sql"].startswith(TX_CONTROL))
    return {**{name: statistics.median(values) for name, values in counts.items()}, "data": data / rounds}


def backend_cpu_seconds(connection) -> float:
    """CPU seconds the PostgreSQL backend of ``connection`` has used (its /proc entry: same machine)."""
    pid = connection.connection.get_backend_pid()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def worker(index: int, barrier, seconds: float, instances: int, count_rounds: int, results) -> None:
    django_setup(DATABASE)
    from django.db import connection

    from processes.models import ProcessInstance

    approval = Approval(username(index))
    approval.run()  # warm up: imports, caches, the connection
    barrier.wait()
    cpu, server_cpu = time.process_time(), backend_cpu_seconds(connection)
    began = time.monotonic()
    deadline = began + seconds
    done = 0
    last = None
    while (done < instances) if instances else (time.monotonic() < deadline):
        last = approval.run()
        done += 1
    ended = time.monotonic()
    cpu, server_cpu = time.process_time() - cpu, backend_cpu_seconds(connection) - server_cpu
    completed = last is None or ProcessInstance.objects.filter(pk=last, status="completed").exists()
    counts = statements_per_step(approval, count_rounds) if count_rounds else {}
    connection.close()
    results.put({"done": done, "began": began, "ended": ended, "counts": counts, "completed": completed,
                 "extra": 1 + count_rounds, "cpu": cpu, "server_cpu": server_cpu})


def measure(processes: int, seconds: float, instances: int = 0, count_rounds: int = 0) -> dict:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [ctx.Process(target=worker, args=(i, barrier, seconds, instances, count_rounds if i == 0 else 0,
                                                results))
               for i in range(processes)]
    for w in workers:
        w.start()
    rows = [results.get(timeout=900) for _ in workers]
    for w in workers:
        w.join()
    if not all(r["completed"] for r in rows):
        raise RuntimeError("an instance run by the bench did not complete")
    elapsed = max(r["ended"] for r in rows) - min(r["began"] for r in rows)
    counts = next((r["counts"] for r in rows if r["counts"]), {})
    done = sum(r["done"] for r in rows)
    return {"instances": done, "seconds": elapsed, "counts": counts,
            "untimed_instances": sum(r["extra"] for r in rows),
            # CPU per instance of the engine's processes and of their PostgreSQL backends
            "cpu_ms": sum(r["cpu"] for r in rows) / done * 1000,
            "server_cpu_ms": sum(r["server_cpu"] for r in rows) / done * 1000}
