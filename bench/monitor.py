"""The Process Monitor at scale: a filter's snapshot over the seeded instances (``bench.scale``).

In a process of the portal (production settings), ``monitor.services.snapshot`` is timed as
the socket calls it on ``subscribe``, for filters of four sizes: a narrow one (about 100
rows), one process for one user (about 1,250), one user (about 5,000: a whole snapshot at the
default cap) and one process (25,000: refused, the cost of saying no); then filters on the
other keys that find few instances (state, waiting on, waiting longer than, error text, an
instance id), each of which must read an index rather than every instance. Each is run many
times; p50 and p99 are printed. The push latency and the engine's rate with 50 subscribed
supervisors are ``bench/monitor_latency.py``.
"""

from __future__ import annotations

import statistics
import time

from bench.common import database_exists, log, table
from bench.engine import run_in_child
from bench.scale import DATABASE, PROCESSES, USERS, seed


def _instances() -> int:
    from bench.engine import django_setup

    django_setup(DATABASE)
    from processes.models import ProcessInstance

    return ProcessInstance.objects.count()


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _measure(runs: int) -> dict:
    from bench.engine import django_setup

    django_setup(DATABASE)
    from administration.models import ServerParameter, User
    from administration.parameters import forget_parameters
    from monitor import services
    from monitor.filters import parse_filter
    from processes.models import ProcessInstance

    User.objects.filter(username=USERS[0]).update(license="process_monitor")  # the bench users have View
    ServerParameter.objects.update_or_create(name=services.CAP_PARAMETER, defaults={"value": "5000"})
    forget_parameters()
    supervisor = User.objects.get(username=USERS[0])
    # The launcher with the most instances of the first process (the seed spreads processes over users).
    from django.db.models import Count

    owner = (ProcessInstance.objects.filter(process_name=PROCESSES[0]).values("started_by__username")
             .annotate(n=Count("id")).filter(n__lte=5000).order_by("-n")
             .values_list("started_by__username", flat=True).first())
    narrow_from = (ProcessInstance.objects.filter(process_name=PROCESSES[0], started_by__username=owner)
                   .order_by("-started_at").values_list("started_at", flat=True)[99:100].first())
    narrow_id = ProcessInstance.objects.order_by("id").values_list("id", flat=True)[
        ProcessInstance.objects.count() // 2]
    filters = {
        "narrow (about 100 rows)": {"process": PROCESSES[0], "started_by": owner,
                                    **({"started_after": narrow_from.isoformat()} if narrow_from else {})},
        "one user (at the cap)": {"process": PROCESSES[0], "started_by": owner},
        "one process (refused)": {"process": PROCESSES[0]},
        # Keys that find few of the 100,000 (each must read an index, not every instance):
        "process and a state no one is in": {"process": PROCESSES[0], "state": "Review"},
        "waiting on a timer": {"waiting_on": "timer"},
        "waiting longer than 30 days": {"waiting_longer_than": 30 * 24 * 60},
        "error text": {"error": "division by zero"},
        "free text: an instance id": {"q": str(narrow_id)},
        "waiting user (at the cap)": {"waiting_user": owner},
    }
    results = {}
    for name, data in filters.items():
        f = parse_filter(data)
        samples, first_samples, rows, refused = [], [], 0, False
        for index in range(runs + 1):
            began = time.perf_counter()
            try:  # as the socket does: the count and the first 100 rows (one message), then the rest
                first = services.first_rows(supervisor, f)
                first_ms = (time.perf_counter() - began) * 1000
                rest = services.rows_after(supervisor, f, first.after) if first.after is not None else []
                rows = len(first.rows) + len(rest)
            except services.TooBroad as exc:
                refused, rows = True, exc.count
                first_ms = (time.perf_counter() - began) * 1000
            if index:  # the first run warms plans and caches
                samples.append((time.perf_counter() - began) * 1000)
                first_samples.append(first_ms)
        results[name] = {"rows": rows, "refused": refused, "p50_ms": statistics.median(samples),
                         "p99_ms": percentile(samples, 0.99), "first_p50_ms": statistics.median(first_samples),
                         "first_p99_ms": percentile(first_samples, 0.99), "runs": runs}
    results["instances"] = ProcessInstance.objects.count()
    return results


def run(count: int, runs: int) -> tuple[dict, str]:
    if not database_exists(DATABASE) or run_in_child(_instances) < count:
        log(f"monitor: seeding {count} waiting instances")
        seed(count)
    log("monitor: timing snapshots")
    result = run_in_child(_measure, runs)
    rows = [[name, f"{r['rows']:,}" + (" (refused)" if r["refused"] else ""), f"{r['first_p50_ms']:.1f}",
             f"{r['first_p99_ms']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"]
            for name, r in result.items() if isinstance(r, dict)]
    text = table(["filter", "rows", "first p50 ms", "first p99 ms", "whole p50 ms", "whole p99 ms"], rows)
    text += (f"\n{result['instances']:,} instances in the database; {runs} runs of each snapshot after a warm-up, "
             "as the socket computes it (rows, waiting people, time in state; cap 5,000). "
             "First: the count and the first 100 rows (the snapshot message); whole: with the rest.")
    return result, text
