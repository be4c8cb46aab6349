"""The Process Monitor live: commit -> supervisor's socket, and what the engine pays for it.

    .venv/bin/python bench/monitor_latency.py [--supervisors 50] [--items 300] [--rate 20] [--steps 300]

Production stack against its own PostgreSQL database and Redis: Daphne (HTTP, WebSockets,
Redis channel layer). ``--supervisors`` supervisors connect to ``/ws/monitor/`` and each
subscribes to a different filter (``started_by`` one of as many launchers), so every change
reaches every socket and each socket pushes only its own launcher's instances.

1. Latency: a launcher process starts ``--items`` instances at ``--rate`` per second, round
   robin over the launchers; each launch is one engine step. The launcher stamps each
   step's commit (``run_and_clear_commit_hooks`` runs right after COMMIT) and the socket
   clients stamp the first ``changed`` of each instance; same host, same clock. Beside it,
   in the same run and at the same rate, a floor process sends bare Channels group messages
   to the monitor's group: Redis, Daphne and the socket without the monitor's work.
2. The engine's rate: a process launches ``--steps`` instances as fast as it can, once with
   no supervisor connected and once with all of them subscribed, alternating twice; each
   launch is one step (lock, interpret, apply, commit, after-commit hooks).

Environment: BENCH_PGHOST/BENCH_PGPORT/BENCH_PGUSER, BENCH_DB_PREFIX (bench_: the database is
bench_monitor), BENCH_REDIS_URL (redis://127.0.0.1:6379/11).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import common  # noqa: E402
from bench.websocket_latency import PYTHON, free_port, paced, percentiles, wait_for_port  # noqa: E402

DATABASE = os.environ.get("BENCH_DB_PREFIX", "bench_") + "monitor"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
COMMITS_KEY = "bench:monitor_latency:commits"
PROCESS = "Bench Watched"
WATCHED = {
    "format": "ipa.process/v1",
    "name": PROCESS,
    "variables": [{"name": "n", "type": "integer", "input": True}],
    "start_state": "Hold",
    "states": [{"name": "Hold", "actions": [{"action": "wait", "duration": "P1D"}]}],
}


def product_env() -> dict[str, str]:
    return common.product_env(DATABASE, REDIS_URL=REDIS_URL)


def create_database() -> None:
    common.create_database_if_missing(DATABASE)
    common.migrate(DATABASE, product_env())


def launchers(count: int) -> list[str]:
    return [f"bench-launcher-{i:03d}" for i in range(count)]


def seed(supervisors: int) -> list[str]:
    """Supervisors (Process Monitor license, View right, tokens), launchers, the process; returns the tokens."""
    from rest_framework.authtoken.models import Token

    from administration.models import User
    from processes.models import ProcessDefinition, ProcessInstance
    from processes.services.definitions import import_definition

    ProcessInstance.objects.all().delete()
    for name in launchers(supervisors):
        User.objects.get_or_create(username=name, defaults={"license": "direct_routed", "rights": ["launch"]})
    tokens = []
    for i in range(supervisors):
        user, _ = User.objects.get_or_create(username=f"bench-supervisor-{i:03d}",
                                             defaults={"license": "process_monitor", "rights": ["view"]})
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    if not ProcessDefinition.objects.filter(name=PROCESS).exists():
        import_definition(WATCHED, publish=True)
    return tokens


# ---------------------------------------------------------------------- load generators


def stamp_commits() -> None:
    """In a launching process: after each commit, record (instance id, commit time) in Redis."""
    import redis
    from django.db.backends.base import base

    from processes.services import runtime

    store = redis.Redis.from_url(REDIS_URL)
    run_hooks = base.BaseDatabaseWrapper.run_and_clear_commit_hooks
    stamps = {}

    def stamped_hooks(self) -> None:
        stamps["commit"] = time.time()
        run_hooks(self)

    def record(instance_id: int) -> None:
        store.rpush(COMMITS_KEY, f"{instance_id} {stamps.get('commit')}")

    base.BaseDatabaseWrapper.run_and_clear_commit_hooks = stamped_hooks
    runtime.register_after_step(record)


def launcher(count: int, rate: float, supervisors: int) -> None:
    import django

    django.setup()
    stamp_commits()
    from administration.models import User
    from processes.services.instances import launch_process

    users = [User.objects.get(username=name) for name in launchers(supervisors)]
    for n in paced(count, rate):
        launch_process(users[n % len(users)], PROCESS, {"n": n})


def floor_sender(count: int, rate: float, user_id: int) -> None:
    """Bare group messages, at the same rate, to a /ws/workitems/ socket on the same Daphne."""
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
            await layer.group_send(user_group(user_id), {"type": PUSH_EVENT, "message": message})

    async_to_sync(send_all)()


def steps(count: int) -> None:
    """Launch ``count`` instances as fast as possible; print the steps per second."""
    import django

    django.setup()
    from administration.models import User
    from processes.services.instances import launch_process

    user = User.objects.get(username=launchers(1)[0])
    launch_process(user, PROCESS, {"n": -1})  # warm
    began = time.perf_counter()
    for n in range(count):
        launch_process(user, PROCESS, {"n": n})
    print(json.dumps({"steps_per_second": count / (time.perf_counter() - began)}), flush=True)


def run_generator(mode: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([str(PYTHON), str(Path(__file__).resolve()), f"--{mode}", *extra], cwd=ROOT,
                            env=product_env(), stdout=subprocess.PIPE, text=True)


# ---------------------------------------------------------------------------- clients


class Supervisor:
    def __init__(self, token: str, launcher_name: str):
        self.token = token
        self.filter = {"process": PROCESS, "started_by": launcher_name}
        self.ready = asyncio.Event()
        self.expected = self.received = 0
        self.changed: dict[int, float] = {}

    async def listen(self, port: int) -> None:
        import websockets

        url = f"ws://127.0.0.1:{port}/ws/monitor/?token={self.token}"
        async with websockets.connect(url, max_queue=None, ping_interval=None, open_timeout=30) as ws:
            await ws.send(json.dumps({"type": "subscribe", "filter": self.filter}))
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message["type"] in ("snapshot", "snapshot_rows"):  # ready once the whole snapshot is in
                    self.expected = message.get("total", self.expected)
                    self.received += len(message["instances"])
                    if self.received >= self.expected:
                        self.ready.set()
                elif message["type"] == "changed":
                    self.changed.setdefault(message["instance"]["id"], now)


async def with_supervisors(port: int, tokens: list[str], work) -> tuple[list[Supervisor], object]:
    names = launchers(len(tokens))
    supervisors = [Supervisor(token, names[i]) for i, token in enumerate(tokens)]
    listeners = [asyncio.create_task(s.listen(port)) for s in supervisors]
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in supervisors)), 120)
    result = await work()
    await asyncio.sleep(2)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    return supervisors, result


async def wait_for(process: subprocess.Popen) -> str:
    while process.poll() is None:
        await asyncio.sleep(0.1)
    return process.stdout.read() if process.stdout else ""


async def floor_listener(port: int, token: str, count: int) -> list[float]:
    """One more socket (/ws/workitems/ of another user) that stamps the floor messages."""
    import websockets

    latencies: list[float] = []  # the snapshot first, then the floor messages
    url = f"ws://127.0.0.1:{port}/ws/workitems/?token={token}"
    async with websockets.connect(url, max_queue=None, ping_interval=None, open_timeout=30) as ws:
        try:
            async with asyncio.timeout(60 + count):
                async for raw in ws:
                    message = json.loads(raw)
                    if message["type"] == "bench_floor":
                        latencies.append(time.time() - message["sent_at"])
                        if len(latencies) >= count:
                            break
        except TimeoutError:
            pass
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--supervisors", type=int, default=50)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rate-runs", type=int, default=2, help="alternations of the engine's rate (0: latency only)")
    parser.add_argument("--profile-daphne", metavar="FILE", help="profile Daphne's event loop with pyinstrument")
    parser.add_argument("--launcher", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--user", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (bench/run --all does)")
    args = parser.parse_args()
    os.environ.update(product_env())
    if args.launcher:
        return launcher(args.items, args.rate, args.supervisors) or 0
    if args.floor:
        return floor_sender(args.items, args.rate, args.user) or 0
    if args.steps_only:
        return steps(args.steps) or 0
    import django
    import redis

    create_database()
    django.setup()
    tokens = seed(args.supervisors + 1)
    floor_token, tokens = tokens[-1], tokens[:-1]
    from rest_framework.authtoken.models import Token

    floor_user = Token.objects.get(key=floor_token).user_id
    store = redis.Redis.from_url(REDIS_URL)
    store.delete(COMMITS_KEY)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-"):
        command = [str(ROOT / ".venv" / "bin" / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                   "ipa_portal.asgi:application"]
        if args.profile_daphne:  # Daphne's main thread (the event loop) under pyinstrument, as text
            command = [str(ROOT / ".venv" / "bin" / "pyinstrument"), "-r", "text", "-o", args.profile_daphne,
                       *command]
        daphne = subprocess.Popen(command, cwd=ROOT, env=product_env(), stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, daphne)
            rates: dict[str, list[float]] = {"none": [], "subscribed": []}

            async def rate_alone() -> None:
                out = await wait_for(run_generator("steps-only", "--steps", str(args.steps)))
                rates["none"].append(json.loads(out.strip().splitlines()[-1])["steps_per_second"])

            async def rate_watched() -> None:
                out = await wait_for(run_generator("steps-only", "--steps", str(args.steps)))
                rates["subscribed"].append(json.loads(out.strip().splitlines()[-1])["steps_per_second"])

            async def latency_run():
                floor = asyncio.create_task(floor_listener(port, floor_token, args.items))
                generators = [run_generator("launcher", "--items", str(args.items), "--rate", str(args.rate),
                                            "--supervisors", str(args.supervisors)),
                              run_generator("floor", "--items", str(args.items), "--rate", str(args.rate),
                                            "--user", str(floor_user))]
                for g in generators:
                    await wait_for(g)
                await asyncio.sleep(3)
                return await floor

            async def everything():
                for _ in range(args.rate_runs):
                    await rate_alone()
                    await with_supervisors(port, tokens, rate_watched)
                return await with_supervisors(port, tokens, latency_run)

            supervisors, floor = asyncio.run(everything())
        finally:
            daphne.send_signal(signal.SIGINT)  # lets pyinstrument write its report
            daphne.wait(timeout=60)
    commits = {}
    for entry in store.lrange(COMMITS_KEY, 0, -1):
        instance_id, committed = entry.decode().split()
        if committed != "None":
            commits.setdefault(int(instance_id), float(committed))
    arrivals = {i: t for s in supervisors for i, t in s.changed.items()}
    latencies = [arrivals[i] - commits[i] for i in arrivals if i in commits]
    a, b = percentiles(latencies), percentiles(floor)
    print(f"\n{args.supervisors} supervisors on /ws/monitor/, each with its own filter; {args.items} launches "
          f"at {args.rate}/s (Daphne + Redis channel layer + PostgreSQL)\n")
    print(f"{'':38} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, row in (("commit -> supervisor's socket", a), ("group_send -> socket (floor)", b)):
        print(f"{label:38} {row['n']:>5} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['p99']:>8.1f} {row['max']:>8.1f}")
    print(f"instances pushed: {len(latencies)} of {args.items}")
    if not args.rate_runs:
        return 0
    none, watched = statistics.median(rates["none"]), statistics.median(rates["subscribed"])
    print(f"\nengine steps/s, one process: {none:.1f} with no supervisor, {watched:.1f} with {args.supervisors} "
          f"subscribed ({watched / none:.0%}; target >= 90%); runs: {rates}")
    if args.json:
        Path(args.json).write_text(json.dumps({"supervisors": args.supervisors, "latency": a, "floor": b,
                                               "steps_alone": none, "steps_watched": watched, "runs": rates}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
