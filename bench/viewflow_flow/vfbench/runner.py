"""Run the approval on django-viewflow from N processes and print one JSON line of figures.

python -m vfbench.runner --setup                      # migrate, create the user
python -m vfbench.runner --processes 4 --seconds 5    # measure
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vfbench.settings")
USERNAME = "bench-approver"
TX_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def setup() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    User.objects.get_or_create(username=USERNAME)


def one_instance(user, flow_class, task_class) -> None:
    """Launch, then complete the View task from code, as a view's POST would."""
    process = flow_class.start.run(amount="12.50", user=user)
    task = task_class.objects.get(process=process, flow_task=flow_class.approve)
    with task.activation() as activation:
        activation.start(None)
        activation.process.data["button"] = "approve"  # the form's save
        activation.process.save()
        activation.execute()


def worker(index: int, barrier, seconds: float, instances: int, count_queries: int, results) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from viewflow.workflow.models import Task

    from vfbench.flows import ApprovalFlow

    user = User.objects.get(username=USERNAME)
    one_instance(user, ApprovalFlow, Task)  # warm up: imports, connection
    barrier.wait()
    began = time.monotonic()
    deadline = began + seconds
    done = 0
    while (done < instances) if instances else (time.monotonic() < deadline):
        one_instance(user, ApprovalFlow, Task)
        done += 1
    ended = time.monotonic()
    statements = 0
    if count_queries:
        with CaptureQueriesContext(connection) as captured:
            for _ in range(count_queries):
                one_instance(user, ApprovalFlow, Task)
        statements = sum(1 for q in captured.captured_queries if not q["sql"].startswith(TX_CONTROL))
    connection.close()
    results.put({"index": index, "done": done, "began": began, "ended": ended, "statements": statements,
                 "counted": count_queries})


def measure(processes: int, seconds: float, instances: int, count_queries: int) -> dict:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    workers = [ctx.Process(target=worker, args=(i, barrier, seconds, instances,
                                                count_queries if i == 0 else 0, results))
               for i in range(processes)]
    for w in workers:
        w.start()
    barrier.wait(timeout=120)
    rows = [results.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    began = min(r["began"] for r in rows)
    ended = max(r["ended"] for r in rows)
    counted = sum(r["counted"] for r in rows)
    import django

    django.setup()  # only now: the workers are spawned, never forked from a set-up process
    from viewflow.workflow.models import Process

    unfinished = Process.objects.exclude(status="DONE").count()  # every instance must have ended
    return {
        "engine": "viewflow",
        "processes": processes,
        "instances": sum(r["done"] for r in rows),
        "seconds": ended - began,
        "statements_per_instance": (sum(r["statements"] for r in rows) / counted) if counted else None,
        "extra_instances": counted + processes,  # warm-up and counted ones, run outside the timed window
        "unfinished": unfinished,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--instances", type=int, default=0, help="a fixed count per process instead of --seconds")
    parser.add_argument("--count-queries", type=int, default=20)
    args = parser.parse_args(argv)
    if args.setup:
        setup()
        print(json.dumps({"setup": "ok"}))
        return 0
    print(json.dumps(measure(args.processes, args.seconds, args.instances, args.count_queries)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
