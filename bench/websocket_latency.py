"""Latency of live work items: from the commit that creates an item to its arrival at the agent's socket.

    .venv/bin/python bench/websocket_latency.py [--clients 500] [--items 450] [--rate 25]

Starts the production stack against its own PostgreSQL database and Redis: Daphne (HTTP and
WebSockets, Redis channel layer) and one Celery engine node (``worker -B``). Connects
``--clients`` agents to ``/ws/workitems/`` with the ``websockets`` package, all Available in
one workgroup. Then a launcher process starts ``--items`` instances at ``--rate`` per second
(through ``launch_process``, as the launch endpoint does); each waits on a zero-length timer,
so the step that creates the work item runs on the Celery node: the ACD offers the item in
that step's transaction and it is pushed after the commit. Beside it, in the same run and at
the same rate, a floor process sends bare Channels group messages to random agents' groups:
Redis, Daphne and the socket without the portal's work.

The Celery node is this file started with ``--celery-node``: it stamps the time of every
commit (``run_and_clear_commit_hooks`` runs right after COMMIT) and, after each push, writes
(item id, commit time) to a Redis list; the clients stamp arrival. Same host, same clock.
The load generators run in processes of their own, so the clients' loop only stamps.

Environment: BENCH_PGHOST/BENCH_PGPORT/BENCH_PGUSER (127.0.0.1, 5432, postgres),
BENCH_DB_PREFIX (bench_: the database is bench_websocket), BENCH_REDIS_URL (redis://127.0.0.1:6379/10),
BENCH_SETTINGS (ipa_portal.settings: another module, on PYTHONPATH, to compare configurations).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the portal's packages, in this process and the Celery node's
from bench import common  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
DATABASE = os.environ.get("BENCH_DB_PREFIX", "bench_") + "websocket"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
COMMITS_KEY = "bench:websocket_latency:commits"
SETTLE_SECONDS = 3.0
WORKGROUP, PROCESS, LAUNCHER = "Bench Desk", "Bench Ticket", "bench-launcher"
BENCH_TICKET = {
    "format": "ipa.process/v1",
    "name": PROCESS,
    "variables": [{"name": "n", "type": "integer", "input": True}],
    "start_state": "Queue",
    "states": [{"name": "Queue", "actions": [
        {"action": "wait", "duration": "PT0S"},  # the item is created by the Celery node's step
        {"action": "send_work_item", "work_item": "Answer", "to": {"workgroup": WORKGROUP},
         "exits": {"done": [{"action": "end_process"}]}}]}],
    "work_items": [{"name": "Answer", "description": "Ticket {{ n }}", "buttons": [{"id": "done"}]}],
}


def product_env() -> dict[str, str]:
    return common.product_env(DATABASE, REDIS_URL=REDIS_URL,
                               # Another settings module (on PYTHONPATH) to compare, say, channel layers.
                               DJANGO_SETTINGS_MODULE=os.environ.get("BENCH_SETTINGS", "ipa_portal.settings"))


# ----------------------------------------------------------------------------- the stack


def create_database() -> None:
    common.create_database_if_missing(DATABASE)
    common.migrate(DATABASE, product_env())


def seed(clients: int) -> list[str]:
    """Agents (Available, one workgroup, with tokens), the launcher and the process; returns the tokens."""
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from administration.models import ServerParameter, User, Workgroup
    from processes.models import ProcessDefinition, ProcessInstance
    from processes.services.definitions import import_definition
    from workitems.models import ClientSocket

    ProcessInstance.objects.all().delete()
    # The sockets of the previous run, closed long ago: the node's sweep would turn the agents Offline
    ClientSocket.objects.all().delete()
    desk, _ = Workgroup.objects.get_or_create(name=WORKGROUP)
    User.objects.get_or_create(username=LAUNCHER, defaults={"license": "direct_routed", "rights": ["launch"]})
    names = [f"bench-agent-{i:04d}" for i in range(clients)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create([User(username=n, license="group_routed") for n in names if n not in existing])
    agents = list(User.objects.filter(username__in=names).order_by("username"))
    desk.members.set(agents)  # exactly the connected agents (a smaller run after a larger one)
    now = timezone.now()
    User.objects.filter(pk__in=[a.pk for a in agents]).update(presence="available", presence_since=now,
                                                              idle_since=now)
    for name, value in (("ACD_MaxItemsPerAgent", "1"), ("ACD_OfferTimeoutSeconds", "0")):
        ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
    if not ProcessDefinition.objects.filter(name=PROCESS).exists():
        import_definition(BENCH_TICKET, publish=True)
    return [Token.objects.get_or_create(user=a)[0].key for a in agents]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


def start_stack(workdir: str) -> tuple[int, list[subprocess.Popen]]:
    port = free_port()
    env = product_env()
    daphne = subprocess.Popen([str(ROOT / ".venv" / "bin" / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                               "ipa_portal.asgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    node = subprocess.Popen([str(PYTHON), str(Path(__file__).resolve()), "--celery-node", workdir], cwd=workdir,
                            env={**env, "ENGINE_STORAGE_ID": "bench-websocket"}, stdout=subprocess.DEVNULL)
    wait_for_port(port, daphne)
    return port, [daphne, node]


def celery_node(workdir: str) -> None:
    """A production engine node whose commits are stamped (run in its own process)."""
    import django

    django.setup()
    import redis
    from django.db.backends.base import base

    from ipa_portal.celery import app
    from workitems import delivery

    stamps = threading.local()
    run_hooks = base.BaseDatabaseWrapper.run_and_clear_commit_hooks
    push = delivery.push_work_item
    store = {}

    def stamped_hooks(self) -> None:
        stamps.commit = time.time()
        run_hooks(self)

    def push_and_record(item, previous_user_id: int | None) -> None:
        committed = getattr(stamps, "commit", None)
        push(item, previous_user_id)
        pushed = time.time()
        if "redis" not in store:  # per process: prefork children connect after the fork
            store["redis"] = redis.Redis.from_url(REDIS_URL)
        store["redis"].rpush(COMMITS_KEY, f"{item.pk} {committed} {pushed}")

    base.BaseDatabaseWrapper.run_and_clear_commit_hooks = stamped_hooks
    delivery.push_work_item = push_and_record
    app.worker_main(["worker", "-B", "-s", os.path.join(workdir, "celerybeat-schedule"), "--concurrency", "2",
                     "--loglevel", "WARNING", "-n", "bench-websocket@%h", "--without-mingle", "--without-gossip"])


# --------------------------------------------------------------------------- the clients


class Agent:
    def __init__(self, token: str):
        self.token = token
        self.connected = asyncio.Event()
        self.added: dict[int, float] = {}  # item id -> arrival time
        self.floor: list[float] = []  # latencies of bare group messages

    async def listen(self, port: int) -> None:
        import websockets

        url = f"ws://127.0.0.1:{port}/ws/workitems/?token={self.token}"
        for attempt in range(5):
            try:
                async with websockets.connect(url, max_queue=None, ping_interval=None, open_timeout=30) as ws:
                    snapshot = json.loads(await ws.recv())
                    assert snapshot["type"] == "snapshot", snapshot
                    self.connected.set()
                    async for raw in ws:
                        now = time.time()
                        message = json.loads(raw)
                        if message["type"] == "added":
                            self.added.setdefault(message["work_item"]["id"], now)
                        elif message["type"] == "bench_floor":
                            self.floor.append(now - message["sent_at"])
                return
            except (OSError, websockets.exceptions.WebSocketException) as exc:
                if self.connected.is_set() or attempt == 4:
                    print(f"a client gave up: {exc!r}", file=sys.stderr)
                    return
                await asyncio.sleep(1 + attempt)


async def connect_all(agents: list[Agent], port: int, batch: int = 25) -> list[asyncio.Task]:
    """Open the sockets a batch at a time, each batch once the previous one has its snapshots."""
    listeners = []
    for start in range(0, len(agents), batch):
        group = agents[start:start + batch]
        listeners += [asyncio.create_task(a.listen(port)) for a in group]
        await asyncio.wait_for(asyncio.gather(*(a.connected.wait() for a in group)), 120)
    return listeners


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values) or [float("nan")]
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"n": len(values), "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000,
            "max": values[-1] * 1000}


def paced(count: int, rate: float):
    """0, 1, ... count-1, each at its moment of a steady rate."""
    start = time.monotonic()
    for n in range(count):
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        yield n


def launcher(count: int, rate: float) -> None:
    """Load generator (its own process): launch ``count`` instances at ``rate`` per second."""
    import django

    django.setup()
    from administration.models import User
    from processes.services.instances import launch_process

    user = User.objects.get(username=LAUNCHER)
    for n in paced(count, rate):
        launch_process(user, PROCESS, {"n": n})  # what POST /api/processes/{name}/launch calls


def floor_sender(count: int, rate: float, user_ids: list[int]) -> None:
    """Load generator (its own process): bare group messages to random agents at ``rate`` per second."""
    import django

    django.setup()
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from workitems.delivery import PUSH_EVENT, user_group

    layer = get_channel_layer()

    async def send_all() -> None:
        start = time.monotonic()
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            message = {"type": "bench_floor", "sent_at": time.time()}
            await layer.group_send(user_group(random.choice(user_ids)), {"type": PUSH_EVENT, "message": message})

    async_to_sync(send_all)()


def generator(mode: str, items: int, rate: float, extra: list[str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([str(PYTHON), str(Path(__file__).resolve()), f"--{mode}", "--items", str(items),
                             "--rate", str(rate), *(extra or [])], cwd=ROOT, env=product_env())


async def measure(port: int, tokens: list[str], user_ids: list[int], items: int,
                  rate: float) -> tuple[list[float], list[float], int]:
    import redis

    agents = [Agent(t) for t in tokens]
    listeners = await connect_all(agents, port)
    print(f"{sum(a.connected.is_set() for a in agents)} clients connected", flush=True)
    # Steady state: the last sockets' catch-up (WorkItemConsumer.catch_up, 1.5 s after each
    # connects) is over before the measured pushes start; a wave of connections is another load.
    await asyncio.sleep(SETTLE_SECONDS)

    store = redis.Redis.from_url(REDIS_URL)
    store.delete(COMMITS_KEY)
    generators = [generator("launcher", items, rate),
                  generator("floor", items, rate, ["--users", ",".join(map(str, user_ids))])]
    while any(g.poll() is None for g in generators):
        await asyncio.sleep(0.2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum(len(a.added) for a in agents) < items:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    for task in listeners:
        task.cancel()  # closes the sockets; Daphne sees the disconnects before it is stopped
    await asyncio.gather(*listeners, return_exceptions=True)
    await asyncio.sleep(2)

    commits: dict[int, tuple[float, float]] = {}
    for entry in store.lrange(COMMITS_KEY, 0, -1):
        item_id, committed, pushed = entry.decode().split()
        if committed != "None":
            commits.setdefault(int(item_id), (float(committed), float(pushed)))
    arrivals = {item_id: t for a in agents for item_id, t in a.added.items()}
    item_latencies = [arrivals[i] - commits[i][0] for i in arrivals if i in commits]
    in_node = [commits[i][1] - commits[i][0] for i in arrivals if i in commits]
    node = percentiles(in_node)
    print(f"of which on the Celery node, commit -> handed to Redis: p50 {node['p50']:.1f} ms, "
          f"p99 {node['p99']:.1f} ms", flush=True)
    floor_latencies = [x for a in agents for x in a.floor]
    print(f"received {len(arrivals)} items ({len(commits)} commits stamped) and {len(floor_latencies)} floor "
          f"messages", flush=True)
    return item_latencies, floor_latencies, items - len(arrivals)


def report(items: list[float], floor: list[float], missing: int, args) -> dict:
    a, b = percentiles(items), percentiles(floor)
    print(f"\n{args.clients} WebSocket clients, {args.items} work items at {args.rate}/s "
          f"(Daphne + Redis channel layer + PostgreSQL + 1 Celery node)\n")
    print(f"{'':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, row in (("commit -> socket (work item)", a), ("group_send -> socket (floor)", b)):
        print(f"{label:34} {row['n']:>5} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['p99']:>8.1f} "
              f"{row['max']:>8.1f}")
    ratio = a["p99"] / b["p99"] if b["p99"] else float("inf")
    print(f"\np99 work item / p99 floor = {ratio:.2f}x (target < 2x); p99 = {a['p99']:.1f} ms (target < 100 ms)"
          f"; items not received: {missing}")
    return {"clients": args.clients, "items": args.items, "rate": args.rate, "work_item": a, "floor": b,
            "missing": missing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--items", type=int, default=450, help="at most --clients (one item per agent)")
    parser.add_argument("--rate", type=float, default=25.0, help="work items (and floor messages) per second")
    parser.add_argument("--celery-node", metavar="WORKDIR", help=argparse.SUPPRESS)
    parser.add_argument("--launcher", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--users", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (bench/run --all does)")
    args = parser.parse_args()
    os.environ.update(product_env())
    if args.celery_node:
        return celery_node(args.celery_node)
    if args.launcher:
        return launcher(args.items, args.rate)
    if args.floor:
        return floor_sender(args.items, args.rate, [int(u) for u in args.users.split(",")])
    if args.items > args.clients:
        parser.error("--items may not exceed --clients: each agent has room for one item")
    import django

    create_database()
    django.setup()
    tokens = seed(args.clients)
    from rest_framework.authtoken.models import Token

    user_ids = list(Token.objects.filter(key__in=tokens).values_list("user_id", flat=True))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-websocket-") as workdir:
        port, processes = start_stack(workdir)
        try:
            time.sleep(3)  # the Celery node registers and its beat starts
            items, floor, missing = asyncio.run(measure(port, tokens, user_ids, args.items, args.rate))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    figures = report(items, floor, missing, args)
    load_after = os.getloadavg()[0]
    print(f"load average before / after: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps({**figures, "load": [load_before, load_after]}))


if __name__ == "__main__":
    sys.exit(main())
