"""Engine nodes side by side: throughput from 1, 2 and 3 Celery nodes, and how long a takeover takes.

```sh
.venv/bin/python -m bench.nodes                 # --nodes 1,2,3 --chains 40 --links 10 --repeats 2
.venv/bin/python -m bench.nodes --quick         # a handful of instances (checks that it runs)
```

The work runs on the nodes only: each *chain* instance launches a *link* subprocess and waits
for it, ``links`` times in a row, so every link is two steps taken by whichever node gets the
Celery task (the link's start, which runs it to its end; the chain's resumption, which launches
the next link). The bench launches the chains (one step each, in this process) and measures
from the first launch to the last completion: node steps per second from N nodes.

Then the takeover: two nodes work on long chains, one is killed with SIGKILL, and the bench
measures from the kill until the dead node is taken over (its instances belong to the live
node) and until every instance it owned has taken a step again. Any node delivers any
instance's events, so most of them go on at once; what waits for the takeover is ownership
and whatever the dead node had taken and not committed (found again by the sweep).

Each node is ``celery -A ipa_portal worker -B --pool=solo`` with its own storage id, against
the database ``bench_nodes`` (dropped and created again) and the bench's Redis. The machine
is shared and has few cores: compare the rows of one run, never runs with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from bench.common import (
    OUT,
    PRODUCT_PYTHON,
    ROOT,
    Figures,
    connect,
    db_name,
    log,
    machine_description,
    product_env,
    recreate_database,
    server_description,
    table,
)
from bench.engine import django_setup, migrate, run_in_child

DATABASE = db_name("nodes")
LINK = {"format": "ipa.process/v1", "name": "Bench Link", "start_state": "Main",
        "variables": [{"name": "n", "type": "integer", "input": True}, {"name": "done", "type": "boolean"}],
        "states": [{"name": "Main", "actions": [{"action": "assign", "variable": "done", "value": "true"}]}]}
CHAIN = {"format": "ipa.process/v1", "name": "Bench Chain", "start_state": "Main",
         "variables": [{"name": "links", "type": "integer", "input": True},
                       {"name": "i", "type": "integer", "default": 0}],
         "states": [{"name": "Main", "actions": [
             {"action": "loop", "while": "i < links", "max_iterations": 100000, "actions": [
                 {"action": "launch_process", "process": "Bench Link", "inputs": {"n": "i"}, "wait": True},
                 {"action": "assign", "variable": "i", "value": "i + 1"}]},
             {"action": "end_process"}]}]}
DIRECTORY = {"format": "ipa.directory/v1", "licenses": {"process_designer": 1},
             "users": [{"username": "bench", "password": "bench-password", "license": "process_designer",
                        "rights": ["launch", "view", "manage"]}]}


def _load() -> None:
    django_setup(DATABASE)
    from administration.directory import import_directory
    from processes.services.definitions import import_definition

    import_directory(DIRECTORY)
    import_definition(LINK, publish=True)
    import_definition(CHAIN, publish=True)


def _launch(chains: int, links: int) -> float:
    """In a spawned process: launch the chains (the web side); returns when the first was launched."""
    django_setup(DATABASE)
    from administration.models import User
    from processes.services import instances

    user = User.objects.get(username="bench")
    started = time.time()
    for _ in range(chains):
        instances.launch_process(user, "Bench Chain", {"links": links})
    return started


def _purge() -> None:
    django_setup(DATABASE)
    from ipa_portal.celery import app

    app.control.purge()


def prepare() -> None:
    recreate_database(DATABASE)
    migrate(DATABASE)
    run_in_child(_load)


def start_node(workdir: str, index: int, timeout: int) -> subprocess.Popen:
    name = f"bench-node-{index}"
    env = product_env(DATABASE, ENGINE_STORAGE_ID=name, ENGINE_NODE_TIMEOUT=str(timeout), ENGINE_SWEEP_SECONDS="1")
    log_file = open(Path(workdir) / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [str(PRODUCT_PYTHON), "-m", "celery", "-A", "ipa_portal", "worker", "-B", "--pool=solo", "--loglevel=WARNING",
         "-n", f"{name}@%h", "-s", str(Path(workdir) / f"{name}-beat")],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)


def stop(nodes: list[subprocess.Popen]) -> None:
    for node in nodes:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)
        node.wait(timeout=30)


def query(sql: str, params: tuple = ()) -> list[tuple]:
    with closing(connect(DATABASE)) as db, db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def wait_for(condition, seconds: float, what: str) -> float:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return time.time()
        time.sleep(0.05)
    raise SystemExit(f"timed out after {seconds:.0f} s waiting for {what}")


def live_nodes() -> int:
    return query("SELECT count(*) FROM processes_enginenode WHERE stopped_at IS NULL "
                 "AND heartbeat_at > now() - interval '10 seconds'")[0][0]


def open_chains() -> int:
    return query("SELECT count(*) FROM processes_processinstance WHERE status NOT IN ('completed', 'cancelled')")[0][0]


def start_nodes(workdir: str, count: int, timeout: int) -> list[subprocess.Popen]:
    query("DELETE FROM processes_enginenode")
    run_in_child(_purge)
    nodes = [start_node(workdir, index, timeout) for index in range(count)]
    wait_for(lambda: live_nodes() == count, 120, f"{count} nodes to register")
    return nodes


def throughput(count: int, chains: int, links: int) -> float:
    """Node steps per second from ``count`` nodes (a fresh database each time)."""
    prepare()
    with tempfile.TemporaryDirectory() as workdir:
        nodes = start_nodes(workdir, count, timeout=30)
        try:
            started = run_in_child(_launch, chains, links)
            ended = wait_for(lambda: open_chains() == 0, 1800, "every chain to complete")
        finally:
            stop(nodes)
    errors = query("SELECT count(*) FROM processes_processinstance WHERE status <> 'completed'")[0][0]
    if errors:
        raise SystemExit(f"{errors} instances did not complete; see the node logs")
    return chains * links * 2 / (ended - started)


def takeover(chains: int, links: int, timeout: int) -> dict[str, float]:
    """Two nodes on long chains; one is SIGKILLed: seconds until it is taken over, and until its instances step."""
    prepare()
    with tempfile.TemporaryDirectory() as workdir:
        nodes = start_nodes(workdir, 2, timeout)
        try:
            run_in_child(_launch, chains, links)
            time.sleep(2)  # both nodes busy
            owned = [row[0] for row in query("SELECT id FROM processes_processinstance WHERE owner = 'bench-node-0' "
                                             "AND status NOT IN ('completed', 'cancelled')")]
            os.killpg(nodes[0].pid, signal.SIGKILL)
            killed = time.time()
            killed_db = query("SELECT now()")[0][0]
            marks: dict[str, float] = {}

            def both_seen() -> bool:
                now = time.time()
                if "taken" not in marks and query("SELECT count(*) FROM processes_enginenode WHERE storage_id = "
                                                  "'bench-node-0' AND taken_over_by <> ''")[0][0] == 1:
                    marks["taken"] = now
                if "running" not in marks and query(
                        "SELECT count(DISTINCT instance_id) FROM processes_historyentry WHERE instance_id = ANY(%s) "
                        "AND at > %s", (owned, killed_db))[0][0] == len(owned):
                    marks["running"] = now
                return len(marks) == 2

            wait_for(both_seen, 300, "the takeover and the dead node's instances to step again")
            taken, running = marks["taken"], marks["running"]
            moved = query("SELECT count(*) FROM processes_processinstance WHERE id = ANY(%s) AND owner = "
                          "'bench-node-1'", (owned,))[0][0]
        finally:
            stop(nodes)
    return {"owned": len(owned), "moved": moved, "taken_over_s": taken - killed, "running_again_s": running - killed,
            "timeout_s": timeout}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nodes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2,3", help="node counts to compare (default 1,2,3)")
    parser.add_argument("--chains", type=int, default=40)
    parser.add_argument("--links", type=int, default=10, help="subprocesses each chain runs one after the other")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=5, help="ENGINE_NODE_TIMEOUT for the takeover, seconds")
    parser.add_argument("--quick", action="store_true", help="a handful of instances, one repeat")
    parser.add_argument("--only", choices=["throughput", "takeover"], help="run one of the two parts")
    args = parser.parse_args(argv)
    if args.quick:
        args.chains, args.links, args.repeats = 4, 2, 1
    counts = [int(n) for n in args.nodes.split(",")]
    print(f"Engine nodes bench, {time.strftime('%Y-%m-%d %H:%M %Z')}\n{machine_description()}\n"
          f"{server_description()}\n{args.chains} chains x {args.links} links, {args.repeats} repeats\n", flush=True)
    figures = {count: Figures() for count in counts}
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "chains": args.chains, "links": args.links}
    if args.only != "takeover":
        report["steps_per_second"] = throughput_part(counts, figures, args)
    if args.only != "throughput":
        report["takeover"] = takeover_part(args)
    OUT.mkdir(exist_ok=True)
    (OUT / "nodes-last-run.json").write_text(json.dumps(report, indent=2))
    return 0


def throughput_part(counts: list[int], figures: dict[int, Figures], args: argparse.Namespace) -> dict:
    for repeat in range(args.repeats):
        for count in counts:  # interleaved, so the machine's noise falls on every count alike
            log(f"repeat {repeat + 1}: {count} node(s)")
            figures[count].add(throughput(count, args.chains, args.links))
    base = figures[counts[0]].median or 1.0
    rows = [[str(count), figures[count].spread(), f"{(figures[count].median or 0) / base:.2f}"] for count in counts]
    print("== Node steps per second (min / median / max of the repeats)\n"
          + table(["nodes", "steps/s", f"x {counts[0]} node(s)"], rows) + "\n", flush=True)
    return {count: figures[count].values for count in counts}


def takeover_part(args: argparse.Namespace) -> dict:
    log("takeover: two nodes, one killed")
    death = takeover(max(args.chains, 6), max(args.links, 40), args.timeout)
    print("== A node killed (SIGKILL) while two work\n" + table(["measure", "value"], [
        ["ENGINE_NODE_TIMEOUT", f"{death['timeout_s']} s"],
        ["open instances the dead node owned", str(death["owned"])],
        ["of those, moved to the live node (the others had ended)", str(death["moved"])],
        ["kill -> taken over", f"{death['taken_over_s']:.1f} s"],
        ["kill -> every one of its instances stepped again", f"{death['running_again_s']:.1f} s"],
    ]) + "\n", flush=True)
    return death


if __name__ == "__main__":
    sys.exit(main())
