"""A worker's memory: RSS of one process after it has run 10,000 and 50,000 approvals.

Nothing an engine process keeps may grow with the instances it has run (caches are
bounded: compiled definitions by version, server parameters, the node view). The
process runs the approvals back to back and reports its resident set size at each
checkpoint; the figures are printed, never asserted.
"""

from __future__ import annotations

import gc
import time

from bench.common import log, rss_mib, table
from bench.engine import DATABASE, Approval, django_setup, ensure_prepared, run_in_child, username


def _run(checkpoints: list[int]) -> list[dict]:
    django_setup(DATABASE)
    approval = Approval(username(0))
    approval.run()
    gc.collect()
    readings = [{"instances": 0, "rss_mib": rss_mib(), "seconds": 0.0}]
    began = time.monotonic()
    done = 0
    for checkpoint in checkpoints:
        while done < checkpoint:
            approval.run()
            done += 1
        readings.append({"instances": done, "rss_mib": rss_mib(), "seconds": time.monotonic() - began})
        log(f"memory: {done:,} instances, RSS {readings[-1]['rss_mib']:.1f} MiB")  # a long run's progress
    return readings


def run(checkpoints: list[int]) -> tuple[list[dict], str]:
    ensure_prepared()
    readings = run_in_child(_run, sorted(checkpoints))
    rows = [[f"{r['instances']:,}", f"{r['rss_mib']:.1f}",
             f"{r['instances'] / r['seconds']:.0f}" if r["seconds"] else "-"] for r in readings]
    text = table(["instances run by one process", "RSS MiB", "instances/s so far"], rows)
    growth = readings[-1]["rss_mib"] - readings[1]["rss_mib"] if len(readings) > 2 else 0.0
    if len(readings) > 2:
        text += (f"\nRSS change from {readings[1]['instances']:,} to {readings[-1]['instances']:,} instances: "
                 f"{growth:+.1f} MiB")
    return readings, text
