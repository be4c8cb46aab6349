"""The bench's command line: which parts to run, how long, and the report."""

from __future__ import annotations

import argparse
import json
import time

from bench.common import OUT, log, machine_description, server_description, table

PARTS = ("compare", "scale", "monitor", "memory", "http", "profile")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Raw PostgreSQL ceiling, this engine and django-viewflow on one approval flow, side by side; "
                    "then queries at scale, worker memory, HTTP and a profile.")
    parser.add_argument("--quick", action="store_true",
                        help="a handful of instances per measurement, small scale and memory runs (the test suite)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of each comparison measurement")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of one comparison measurement")
    parser.add_argument("--processes", default="1,4", help="process counts to compare (default 1,4)")
    parser.add_argument("--no-viewflow", action="store_true", help="leave django-viewflow out")
    parser.add_argument("--scale", type=int, default=100_000, help="waiting instances seeded for the scale part")
    parser.add_argument("--memory", default="1000,5000",
                        help="instances after which a worker's RSS is printed (one process, in a row); "
                             "the issue's full check is --only memory --memory 10000,50000 (15 minutes or more)")
    parser.add_argument("--monitor-runs", type=int, default=100, help="runs of each monitor snapshot")
    parser.add_argument("--http-clients", type=int, default=16)
    parser.add_argument("--http-items", type=int, default=25, help="work items each HTTP client completes")
    parser.add_argument("--profile-instances", type=int, default=500)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s): {', '.join(sorted(unknown))}; parts are {', '.join(PARTS)}")
    processes = [int(p) for p in args.processes.split(",")]
    quick = args.quick
    started = time.time()
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine_description(),
                    "server": server_description(), "quick": quick}
    sections: list[str] = []
    print(f"IPA Portal engine bench, {report['date']}\n{report['machine']}\n{report['server']}\n", flush=True)

    if "compare" in parts:
        from bench import comparison

        figures, text = comparison.run(
            processes, repeats=1 if quick else args.repeats, seconds=args.seconds,
            instances=5 if quick else 0, count_rounds=2 if quick else 20, with_viewflow=not args.no_viewflow)
        report["comparison"] = figures
        sections.append("== The approval, side by side (instances/s: min / median / max of the repeats)\n" + text)
        print(sections[-1] + "\n", flush=True)

    if "scale" in parts:
        from bench import scale

        figures, text = scale.run(2000 if quick else args.scale)
        report["scale"] = figures
        sections.append("== At scale: waiting instances, first pages (the API's queries)\n" + text)
        print(sections[-1] + "\n", flush=True)

    if "monitor" in parts:
        from bench import monitor

        figures, text = monitor.run(2000 if quick else args.scale, 3 if quick else args.monitor_runs)
        report["monitor"] = figures
        sections.append("== The Process Monitor: a filter's snapshot at scale\n" + text)
        print(sections[-1] + "\n", flush=True)

    if "memory" in parts:
        from bench import memory

        checkpoints = [20, 60] if quick else [int(n) for n in args.memory.split(",")]
        log(f"memory: one process runs {max(checkpoints)} approvals")
        figures, text = memory.run(checkpoints)
        report["memory"] = figures
        sections.append("== A worker's memory\n" + text)
        print(sections[-1] + "\n", flush=True)

    if "http" in parts:
        from bench import web

        figures, text = web.run(4 if quick else args.http_clients, 3 if quick else args.http_items)
        report["http"] = figures
        sections.append("== HTTP: the API served by Daphne (production settings)\n" + text)
        print(sections[-1] + "\n", flush=True)

    if "profile" in parts:
        from bench import profile

        log("profiling one process")
        figures, text = profile.run(20 if quick else args.profile_instances)
        report["profile"] = figures
        sections.append("== Where the time goes\n" + text)
        print(sections[-1] + "\n", flush=True)

    targets = target_rows(report)
    if targets:
        print("== The issue's targets (figures of this run)\n" + table(["target", "this run", "met"], targets) + "\n")

    OUT.mkdir(exist_ok=True)
    (OUT / "last-run.json").write_text(json.dumps(report, indent=2, default=str))
    log(f"done in {time.time() - started:.0f} s; figures in {OUT / 'last-run.json'}")
    return 0


def target_rows(report: dict) -> list[list[str]]:
    """The issue's targets beside this run's figures (printed, never asserted)."""
    rows = []
    compare = report.get("comparison", {})
    counts = sorted(int(k.split("/")[1]) for k in compare if k.startswith("engine/"))
    for processes in counts:
        engine, viewflow = compare[f"engine/{processes}"], compare.get(f"viewflow/{processes}")
        if viewflow:
            ratio = engine["median"] / viewflow["median"]
            rows.append([f">= 2x viewflow's instances/s from {processes} process(es)", f"{ratio:.2f}x",
                         "yes" if ratio >= 2 else "no"])
    if counts:
        most = compare[f"engine/{counts[-1]}"]
        rows.append([f"engine steps >= 0.30 of the raw ceiling ({counts[-1]} processes; stretch 0.50)",
                     f"{most['ratio_to_raw']:.2f}", "yes" if most["ratio_to_raw"] >= 0.30 else "no"])
        commits = most["commits_per_instance"]
        rows.append(["one commit per step: 3 per approval (commits/inst)", f"{commits:.2f}",
                     "yes" if commits < 3.5 else "no"])
        if calls := most.get("statements_per_call"):
            worst = max(calls.values())
            rows.append(["<= 6 SQL statements per human step (BEGIN/COMMIT counted)",
                         ", ".join(f"{k} {v:.1f}" for k, v in calls.items()), "yes" if worst <= 6 else "no"])
    if len(counts) > 1:
        scaling = compare[f"engine/{counts[-1]}"]["median"] / compare[f"engine/{counts[0]}"]["median"]
        rows.append([f"{counts[-1]}-process rate >= 1.8x the {counts[0]}-process rate", f"{scaling:.2f}x",
                     "yes" if scaling >= 1.8 else "no"])
    if http := report.get("http"):
        work, floor = http["work_items"], http["floor"]
        share = work["requests_per_second"] / floor["requests_per_second"]
        rows.append(["HTTP pickup + complete >= 50% of the database-free floor's requests/s", f"{share:.2f}",
                     "yes" if share >= 0.5 else "no"])
        rows.append(["HTTP pickup + complete p99 < 100 ms", f"{work['p99_ms']:.0f} ms",
                     "yes" if work["p99_ms"] < 100 else "no"])
    for name, row in report.get("scale", {}).get("rows", {}).items():
        total = row["page_ms"] + row["count_ms"]
        rows.append([f"{name} at scale < 20 ms (page + count)", f"{total:.1f} ms", "yes" if total < 20 else "no"])
    for name, row in report.get("monitor", {}).items():
        if not isinstance(row, dict) or row.get("refused"):
            continue
        rows.append([f"monitor first snapshot (count + 100 rows), {name}: p99 < 100 ms",
                     f"{row['first_p99_ms']:.1f} ms", "yes" if row["first_p99_ms"] < 100 else "no"])
        if "cap" in name:
            rows.append([f"monitor whole snapshot, {name}: p99 < 500 ms",
                         f"{row['p99_ms']:.1f} ms ({row['rows']:,} rows)", "yes" if row["p99_ms"] < 500 else "no"])
    memory = report.get("memory")
    if memory and len(memory) > 2:
        growth = memory[-1]["rss_mib"] - memory[1]["rss_mib"]
        rows.append([f"worker RSS flat from {memory[1]['instances']:,} to {memory[-1]['instances']:,} instances",
                     f"{growth:+.1f} MiB", "yes" if growth < 5 else "no"])
    return rows
