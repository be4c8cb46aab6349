"""At scale: 100,000 waiting instances, then the two queries people run all day.

``manage.py seed_instances`` inserts the instances in bulk (copies of real launches of
four processes, spread over twenty users); then, in a process of the portal, the first
page of a user's My Work Items and of an instance filter by process and status are
timed as the API builds them (the page's rows and the paginator's count), and their
plans are printed with the indexes they use.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from contextlib import closing

from bench.common import PRODUCT_PYTHON, ROOT, connect, db_name, log, product_env, table
from bench.engine import APPROVAL, directory, django_setup, migrate, recreate_database, run_in_child

DATABASE = db_name("scale")
PROCESSES = [f"Scale Approval {n}" for n in range(1, 5)]
USERS = [f"scale-{n}" for n in range(1, 21)]
RUNS = 15
PAGE = 50  # the API's page size


def _load() -> None:
    django_setup(DATABASE)
    from administration.directory import import_directory
    from processes.services.definitions import import_definition

    import_directory(directory(USERS))
    for name in PROCESSES:
        import_definition({**APPROVAL, "name": name}, publish=True)


def seed(count: int) -> float:
    recreate_database(DATABASE)
    migrate(DATABASE)
    run_in_child(_load)
    started = time.monotonic()
    command = [str(PRODUCT_PYTHON), "manage.py", "seed_instances", "--count", str(count), "--users", ",".join(USERS),
               "--inputs", '{"amount": "12.50"}']
    for name in PROCESSES:
        command += ["--process", name]
    subprocess.run(command, cwd=ROOT, env=product_env(DATABASE), check=True, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    with closing(connect(DATABASE)) as conn, conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # what autovacuum does after such a load; lets plans see the sizes
    return seconds


def timed(run, runs: int = RUNS) -> float:
    run()  # warm: plans and pages in the cache
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def indexes_in(plan: str) -> str:
    used = sorted(set(re.findall(r"(?:Index Only Scan|Index Scan)(?: Backward)? using (\w+)", plan))
                  | set(re.findall(r"Bitmap Index Scan on (\w+)", plan)))
    scans = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))
    parts = []
    if used:
        parts.append("index " + ", ".join(used))
    if scans:
        parts.append("SEQ SCAN " + ", ".join(scans))
    return "; ".join(parts) or "?"


def execution_ms(plan: str) -> float | None:
    found = re.search(r"Execution Time: ([0-9.]+) ms", plan)
    return float(found.group(1)) if found else None


def _measure() -> dict:
    django_setup(DATABASE)
    from administration.models import User
    from processes.models import ProcessInstance
    from processes.services import instances
    from workitems import services
    from workitems.models import OPEN_STATUSES

    user = User.objects.get(username=USERS[0])
    admin = user  # the bench users have the View right: they see every instance, as a supervisor does

    def my_items():  # as workitems.api.views.WorkItemListView builds it
        return services.my_work_items(user, OPEN_STATUSES).select_related("instance", "user", "workgroup")

    def filtered():  # as processes.api.views.InstanceListView with ?process=…&status=waiting
        return instances.visible_instances(admin).select_related("definition", "started_by").filter(
            process_name=PROCESSES[0], status="waiting")

    results = {"rows": {}, "counts": {
        "instances": ProcessInstance.objects.count(),
        "my_items": my_items().count(),
        "filtered": filtered().count(),
    }}
    for name, queryset in (("My Work Items", my_items), ("instances by process and status", filtered)):
        page_ms = timed(lambda q=queryset: list(q()[:PAGE]))
        count_ms = timed(lambda q=queryset: q().count())
        page_plan = queryset()[:PAGE].explain(analyze=True)
        count_plan = queryset().values("pk").order_by().explain(analyze=True)
        results["rows"][name] = {"page_ms": page_ms, "count_ms": count_ms, "page_plan": page_plan,
                                 "count_plan": count_plan, "page_server_ms": execution_ms(page_plan)}
    return results


def run(count: int) -> tuple[dict, str]:
    log(f"seeding {count} waiting instances")
    seconds = seed(count)
    log(f"seeded in {seconds:.0f} s; timing the queries")
    result = run_in_child(_measure)
    result["seed_seconds"] = seconds
    rows = []
    for name, row in result["rows"].items():
        server = row["page_server_ms"]
        rows.append([name, f"{row['page_ms']:.1f}", f"{server:.1f}" if server is not None else "-",
                     f"{row['count_ms']:.1f}", f"{row['page_ms'] + row['count_ms']:.1f}",
                     indexes_in(row["page_plan"]), indexes_in(row["count_plan"])])
    counts = result["counts"]
    headers = ["query (first page of 50)", "rows ms", "(in server)", "count ms", "total ms", "plan of the page",
               "plan of the count"]
    text = table(headers, rows)
    text += (f"\n{counts['instances']} instances in the database (seeded in {seconds:.0f} s); the user has "
             f"{counts['my_items']} open work items; {counts['filtered']} instances match the filter. "
             f"Median of {RUNS} runs each.")
    return result, text
