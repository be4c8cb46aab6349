"""The side-by-side comparison: raw PostgreSQL ceiling, this engine, django-viewflow.

Each measurement is repeated ``repeats`` times, interleaved (raw, engine, viewflow; then
again) so that the noise of a shared machine falls on all three alike; the ratios are
computed from medians measured in the same run.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, field

from bench import engine, raw, viewflow
from bench.common import Figures, committed_transactions, log, table
from bench.waits import WaitSampler, describe

# Both engines handle two events per approval instance: the launch (run to the work item)
# and the work item's completion (run through the assignment to the end).
STEPS_PER_INSTANCE = 2


@dataclass
class Row:
    rates: Figures = field(default_factory=Figures)  # instances/s (raw: steps/s)
    commits: Figures = field(default_factory=Figures)  # per instance (raw: per step)
    statements: float | None = None  # data statements per instance (transaction control left out)
    per_step: dict[str, float] = field(default_factory=dict)
    cpu_ms: Figures = field(default_factory=Figures)  # CPU per instance: the engine's processes
    server_cpu_ms: Figures = field(default_factory=Figures)  # and their PostgreSQL backends
    waits: dict | None = None  # pg_stat_activity samples of the first repeat (the most processes only)


def run(processes_list: list[int], repeats: int, seconds: float, instances: int, count_rounds: int,
        with_viewflow: bool = True) -> tuple[dict, str]:
    raw.prepare(max(processes_list))
    engine.prepare()
    if with_viewflow:
        viewflow.prepare()
    rows: dict[tuple[str, int], Row] = {}
    for repeat in range(repeats):
        for processes in processes_list:
            log(f"round {repeat + 1}/{repeats}, {processes} process(es): raw")
            row = rows.setdefault(("raw", processes), Row())
            before = committed_transactions(raw.DATABASE)
            result = raw.measure(processes, seconds, steps=instances)
            row.rates.add(result["steps_per_second"])
            row.commits.add((committed_transactions(raw.DATABASE) - before) / result["steps"])
            row.statements = 4

            log(f"round {repeat + 1}/{repeats}, {processes} process(es): this engine")
            row = rows.setdefault(("engine", processes), Row())
            before = committed_transactions(engine.DATABASE)
            sample = repeat == 0 and processes == max(processes_list) and not instances
            with WaitSampler(engine.DATABASE) if sample else nullcontext() as sampler:
                result = engine.measure(processes, seconds, instances, count_rounds if repeat == 0 else 0)
            if sampler is not None:
                row.waits = sampler.figures()
            row.rates.add(result["instances"] / result["seconds"])
            row.cpu_ms.add(result["cpu_ms"])
            row.server_cpu_ms.add(result["server_cpu_ms"])
            total = result["instances"] + result["untimed_instances"]
            row.commits.add((committed_transactions(engine.DATABASE) - before) / total)
            if result["counts"]:
                row.statements = result["counts"]["data"]
                row.per_step = {k: v for k, v in result["counts"].items() if k != "data"}

            if with_viewflow:
                log(f"round {repeat + 1}/{repeats}, {processes} process(es): django-viewflow")
                row = rows.setdefault(("viewflow", processes), Row())
                before = committed_transactions(viewflow.DATABASE)
                result = viewflow.measure(processes, seconds, instances, count_rounds if repeat == 0 else 0)
                if result["unfinished"]:
                    raise RuntimeError(f"{result['unfinished']} viewflow instances did not finish")
                row.rates.add(result["instances"] / result["seconds"])
                total = result["instances"] + result["untimed_instances"]
                row.commits.add((committed_transactions(viewflow.DATABASE) - before) / total)
                if result["data_statements"] is not None:
                    row.statements = result["data_statements"]
    return summarise(rows, processes_list, with_viewflow)


def summarise(rows: dict[tuple[str, int], Row], processes_list: list[int], with_viewflow: bool) -> tuple[dict, str]:
    headers = ["engine", "procs", "instances/s min/med/max", "steps/s (med)", "x raw", "x viewflow",
               "queries/inst", "commits/inst"]
    lines = []
    figures: dict = {}
    names = ["raw", "engine", *(["viewflow"] if with_viewflow else [])]
    labels = {"raw": "raw PostgreSQL step", "engine": "this engine", "viewflow": f"django-viewflow {viewflow.VERSION}"}
    for processes in processes_list:
        raw_rate = rows[("raw", processes)].rates.median
        vf = rows.get(("viewflow", processes))
        vf_rate = vf.rates.median if vf else None
        for name in names:
            row = rows[(name, processes)]
            rate = row.rates.median
            if name == "raw":
                steps = rate
                cells = [labels[name], str(processes), f"({row.rates.spread()} steps/s)", f"{steps:.0f}", "1.00",
                         "", "4 per step", f"{row.commits.median:.2f} per step"]
            else:
                steps = rate * STEPS_PER_INSTANCE
                cells = [labels[name], str(processes), row.rates.spread("{:.1f}"), f"{steps:.0f}",
                         f"{steps / raw_rate:.2f}",
                         f"{rate / vf_rate:.2f}" if vf_rate else "-",
                         f"{row.statements:.1f}" if row.statements is not None else "-",
                         f"{row.commits.median:.2f}"]
            lines.append(cells)
            figures[f"{name}/{processes}"] = {
                "rates": row.rates.values, "median": rate, "steps_per_second": steps,
                "ratio_to_raw": steps / raw_rate, "ratio_to_viewflow": (rate / vf_rate) if vf_rate else None,
                "statements_per_instance": row.statements, "commits_per_instance": row.commits.median,
                "statements_per_call": row.per_step, "waits": row.waits,
                **({"cpu_ms": row.cpu_ms.median, "server_cpu_ms": row.server_cpu_ms.median,
                    "cores_busy": (row.cpu_ms.median + row.server_cpu_ms.median) * rate / 1000}
                   if name == "engine" else {}),
            }
    text = table(headers, lines)
    per_step = next((rows[("engine", p)].per_step for p in processes_list if rows[("engine", p)].per_step), {})
    if per_step:
        text += ("\n\nthis engine, SQL statements per call (counted as tests/services/test_query_counts.py does, "
                 "BEGIN and COMMIT included): " + ", ".join(f"{k} {v:.0f}" for k, v in per_step.items()))
    for processes in processes_list:
        row = rows[("engine", processes)]
        client, server = row.cpu_ms.median, row.server_cpu_ms.median
        text += (f"\n\nthis engine, {processes} process(es): CPU per instance {client:.1f} ms in the engine's "
                 f"processes + {server:.1f} ms in their PostgreSQL backends = {client + server:.1f} ms; at "
                 f"{row.rates.median:.1f} instances/s that keeps {(client + server) * row.rates.median / 1000:.2f} "
                 f"of {os.cpu_count()} cores busy (the CPU alone allows {os.cpu_count() * 1000 / (client + server):.0f}"
                 " instances/s)")
    for processes in processes_list:
        if waits := rows[("engine", processes)].waits:
            text += "\n\nthis engine: " + describe(waits, processes)
    return figures, text
