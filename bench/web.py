"""HTTP: completing work items through the real API, served by Daphne in production mode.

``manage.py serve --workers N`` (one Daphne process per core, ``BENCH_HTTP_WORKERS``) serves
``ipa_portal.asgi`` with DEBUG off, a SECRET_KEY, PostgreSQL and Redis.
Sixteen clients (threads, each with its own keep-alive connection) each pick up and
complete their own work items (``POST /api/workitems/{id}/pickup`` then ``/complete``);
then the same clients send as many requests to a trivial endpoint of the same server
(``GET /api/schema/process.json``, no database): the HTTP floor of this stack.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import threading
import time

from bench.common import OUT, PRODUCT_PYTHON, ROOT, db_name, log, product_env, table
from bench.engine import PROCESS, django_setup, prepare, run_in_child

DATABASE = db_name("http")
FLOOR = "/api/schema/process.json"
LOG = OUT / "daphne.log"
# The settings' DB_CONN_MAX_AGE (each of the server's HTTP threads keeps its connection)
# unless BENCH_HTTP_CONN_MAX_AGE says otherwise (0: a new connection per request).
CONN_MAX_AGE_ENV = ({"DB_CONN_MAX_AGE": os.environ["BENCH_HTTP_CONN_MAX_AGE"]}
                    if "BENCH_HTTP_CONN_MAX_AGE" in os.environ else {})
WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS", str(os.cpu_count() or 1)))


def client_name(index: int) -> str:
    return f"http-{index + 1}"


def _items(clients: int, per_client: int) -> dict[str, dict]:
    """Tokens, and work items waiting for each client (launched through the engine)."""
    django_setup(DATABASE)
    from rest_framework.authtoken.models import Token

    from administration.models import User
    from processes.services import instances
    from workitems.models import WorkItem

    result = {}
    for index in range(clients):
        user = User.objects.get(username=client_name(index))
        token, _ = Token.objects.get_or_create(user=user)
        launched = [instances.launch_process(user, PROCESS, {"amount": "12.50"}).pk for _ in range(per_client)]
        items = dict(WorkItem.objects.filter(instance_id__in=launched).values_list("instance_id", "pk"))
        result[user.username] = {"token": token.key, "items": [items[i] for i in launched]}
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne(port: int) -> subprocess.Popen:
    """The production server as an operator starts it: ``manage.py serve --workers N``, one Daphne per core."""
    OUT.mkdir(exist_ok=True)
    with open(LOG, "w") as log_file:  # a file, not a pipe nobody reads: a full pipe would stall the server
        server = subprocess.Popen([str(PRODUCT_PYTHON), "manage.py", "serve", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-demo", "--workers", str(WORKERS)],
                                  cwd=ROOT, env=product_env(DATABASE, **CONN_MAX_AGE_ENV),
                                  stdout=log_file, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"daphne exited: {LOG.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", FLOOR)
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("daphne did not answer within 60 s")


def load(port: int, plans: list[list[tuple[str, str, dict | None]]], headers: list[dict]) -> dict:
    """Each client sends its requests in order on one keep-alive connection; all start together."""
    barrier = threading.Barrier(len(plans) + 1)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        own, bad = [], []
        barrier.wait()
        for method, path, body in plans[index]:
            data = json.dumps(body) if body is not None else None
            began = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=headers[index])
                response = conn.getresponse()
                response.read()
            except OSError as exc:  # counted as a failure; the next request gets a new connection
                bad.append(f"{method} {path}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            own.append(time.perf_counter() - began)
            if response.status != 200:
                bad.append(f"{method} {path}: {response.status}")
        conn.close()
        with lock:
            latencies.extend(own)
            failures.extend(bad)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"every request failed, e.g. {failures[:3]}; see {LOG}")
    return {
        "requests": len(latencies), "seconds": elapsed, "requests_per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "failures": failures[:5], "failed": len(failures),
    }


def run(clients: int, per_client: int) -> tuple[dict, str]:
    prepare(DATABASE, [client_name(i) for i in range(clients)])
    log(f"launching {clients * per_client} instances for {clients} HTTP clients")
    prepared = run_in_child(_items, clients, per_client + 1)  # one more each to warm the server up
    port = free_port()
    server = start_daphne(port)
    try:
        users = [prepared[client_name(i)] for i in range(clients)]
        headers = [{"Authorization": f"Token {u['token']}", "Content-Type": "application/json"} for u in users]
        warm = [[("POST", f"/api/workitems/{u['items'][0]}/pickup", None),
                 ("POST", f"/api/workitems/{u['items'][0]}/complete", {"button": "approve"})] for u in users]
        load(port, warm, headers)
        complete_plans = [[step for item in u["items"][1:] for step in (
            ("POST", f"/api/workitems/{item}/pickup", None),
            ("POST", f"/api/workitems/{item}/complete", {"button": "approve"}))] for u in users]
        floor_plans = [[("GET", FLOOR, None)] * len(plan) for plan in complete_plans]
        log(f"HTTP: {clients} clients, floor ({FLOOR})")
        floor = load(port, floor_plans, headers)
        log(f"HTTP: {clients} clients, pickup + complete of {clients * per_client} work items")
        work = load(port, complete_plans, headers)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
    results = {"floor": floor, "work_items": work, "clients": clients, "per_client": per_client, "workers": WORKERS}
    rows = [
        [f"pickup + complete ({clients} clients)", f"{work['requests_per_second']:.0f}",
         f"{work['requests_per_second'] / 2:.0f}", f"{work['p50_ms']:.1f}", f"{work['p99_ms']:.1f}",
         str(work["failed"])],
        [f"GET {FLOOR} ({clients} clients)", f"{floor['requests_per_second']:.0f}", "",
         f"{floor['p50_ms']:.1f}", f"{floor['p99_ms']:.1f}", str(floor["failed"])],
    ]
    text = table([f"requests to {WORKERS} Daphne process(es)", "requests/s", "items/s", "p50 ms", "p99 ms",
                  "errors"], rows)
    text += (f"\nwork items / floor: {work['requests_per_second'] / floor['requests_per_second']:.2f} of the "
             f"floor's requests/s; {work['requests']} requests each")
    if work["failed"] or floor["failed"]:
        text += f"\nfailures: {work['failures'] + floor['failures']}"
    return results, text
