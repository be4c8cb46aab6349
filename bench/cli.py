"""The bench's command line: which parts to run, how long, and the report."""

from __future__ import annotations

import argparse
import json
import os
import time

from bench.common import OUT, log, machine_description, server_description, table

PARTS = ("compare", "scale", "monitor", "memory", "http", "profile")
LIVE_PARTS = ("websocket", "monitor-live")  # the whole production stack each: only with --all or --only
FULL_MEMORY = "5000,50000"  # the issue's checkpoints (--all)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Raw PostgreSQL ceiling, this engine and django-viewflow on one approval flow, side by side; "
                    "then queries at scale, worker memory, HTTP and a profile.")
    parser.add_argument("--quick", action="store_true",
                        help="a handful of instances per measurement, small scale and memory runs (the test suite)")
    parser.add_argument("--all", action="store_true",
                        help=f"every part, the live ones too ({', '.join(LIVE_PARTS)}), memory at {FULL_MEMORY} "
                             "instances: every target of the issue measured (40 minutes or more)")
    parser.add_argument("--only", default=None,
                        help=f"comma-separated parts to run, of {', '.join(PARTS + LIVE_PARTS)} "
                             f"(default: {', '.join(PARTS)})")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of each comparison measurement")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of one comparison measurement")
    parser.add_argument("--processes", default="1,4", help="process counts to compare (default 1,4)")
    parser.add_argument("--no-viewflow", action="store_true", help="leave django-viewflow out")
    parser.add_argument("--scale", type=int, default=100_000, help="waiting instances seeded for the scale part")
    parser.add_argument("--memory", default=None,
                        help="instances after which a worker's RSS is printed (one process, in a row); "
                             f"(default 1000,5000; with --all {FULL_MEMORY}, the issue's check: 15 minutes or more)")
    parser.add_argument("--monitor-runs", type=int, default=100, help="runs of each monitor snapshot")
    parser.add_argument("--http-clients", type=int, default=16)
    parser.add_argument("--http-items", type=int, default=25, help="work items each HTTP client completes")
    parser.add_argument("--profile-instances", type=int, default=500)
    parser.add_argument("--ws-clients", type=int, default=500, help="agents on /ws/workitems/ (websocket part)")
    parser.add_argument("--ws-items", type=int, default=450, help="work items pushed (websocket part)")
    parser.add_argument("--ws-rate", type=float, default=25.0, help="work items per second (websocket part)")
    args = parser.parse_args(argv)
    if args.only is None:
        args.only = ",".join(PARTS + LIVE_PARTS if args.all else PARTS)
    if args.memory is None:
        args.memory = FULL_MEMORY if args.all else "1000,5000"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS + LIVE_PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s): {', '.join(sorted(unknown))}; parts are {', '.join(PARTS + LIVE_PARTS)}")
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

    if "websocket" in parts:
        from bench import live

        try:
            figures, text = live.websocket(*((20, 10, 10.0) if quick else (args.ws_clients, args.ws_items,
                                                                          args.ws_rate)))
            report["websocket"] = figures
        except RuntimeError as failure:  # the other parts still run; the target says "not measured"
            text = str(failure)
        sections.append("== Live work items: commit -> the agent's socket, beside a bare Channels message\n" + text)
        print(sections[-1] + "\n", flush=True)

    if "monitor-live" in parts:
        from bench import live

        try:
            figures, text = live.monitor(*((3, 10, 20) if quick else (50, 300, 300)))
            report["monitor_live"] = figures
        except RuntimeError as failure:
            text = str(failure)
        sections.append("== The Process Monitor live: what the engine pays for supervisors watching\n" + text)
        print(sections[-1] + "\n", flush=True)

    if "profile" in parts:
        from bench import profile

        log("profiling one process")
        figures, text = profile.run(20 if quick else args.profile_instances)
        report["profile"] = figures
        sections.append("== Where the time goes\n" + text)
        print(sections[-1] + "\n", flush=True)

    report["load_after"] = os.getloadavg()
    print("== The issue's targets (figures of this run; load average at the end "
          f"{report['load_after'][0]:.1f} on {os.cpu_count()} cores)\n"
          + table(["target", "this run", "met"], target_rows(report)) + "\n")

    OUT.mkdir(exist_ok=True)
    (OUT / "last-run.json").write_text(json.dumps(report, indent=2, default=str))
    log(f"done in {time.time() - started:.0f} s; figures in {OUT / 'last-run.json'}")
    return 0


def target_rows(report: dict) -> list[list[str]]:
    """Every target of the issue beside this run's figures, "not measured" where no part ran (never asserted)."""
    rows: list[list[str]] = []
    compare = report.get("comparison", {})

    def unmeasured(target: str, how: str) -> None:
        rows.append([target, f"not measured ({how})", "-"])

    def verdict(met: bool) -> str:
        return "met" if met else "NOT MET"

    for processes in (1, 4):
        engine, viewflow = compare.get(f"engine/{processes}"), compare.get(f"viewflow/{processes}")
        target = f">= 2x django-viewflow's instances/s from {processes} process{'es' if processes > 1 else ''}"
        if engine and viewflow:
            ratio = engine["median"] / viewflow["median"]
            rows.append([target, f"{ratio:.2f}x ({engine['median']:.1f} / {viewflow['median']:.1f})",
                         verdict(ratio >= 2)])
        else:
            unmeasured(target, "--only compare, with viewflow")
    most = compare.get("engine/4")
    target = "stretch: engine steps >= 0.30 of the raw ceiling from 4 processes (moonshot 0.50)"
    if most:
        rows.append([target, f"{most['ratio_to_raw']:.2f}", verdict(most["ratio_to_raw"] >= 0.30)])
    else:
        unmeasured(target, "--only compare")
    any_engine = most or compare.get("engine/1")
    target = "one commit per step: 3 per approval (commits/inst)"
    if any_engine:
        commits = any_engine["commits_per_instance"]
        rows.append([target, f"{commits:.2f}", verdict(commits <= 3.1)])  # reads once a second per process add a little
    else:
        unmeasured(target, "--only compare")
    calls = next((c for c in (compare.get(f"engine/{p}", {}).get("statements_per_call") for p in (1, 4)) if c), None)
    target = "<= 6 SQL statements per human step (BEGIN/COMMIT counted)"
    if calls:
        worst = max(v for k, v in calls.items() if k != "data")
        rows.append([target, ", ".join(f"{k} {v:.1f}" for k, v in calls.items() if k != "data"),
                     verdict(worst <= 6)])
    else:
        unmeasured(target, "--only compare")
    one, four = compare.get("engine/1"), compare.get("engine/4")
    target = "scaling: the 4-process rate >= 1.8x the 1-process rate"
    if one and four:
        scaling = four["median"] / one["median"]
        vf = (compare["viewflow/4"]["median"] / compare["viewflow/1"]["median"]
              if compare.get("viewflow/1") and compare.get("viewflow/4") else None)
        rows.append([target, f"{scaling:.2f}x" + (f" (viewflow {vf:.2f}x)" if vf else ""), verdict(scaling >= 1.8)])
    else:
        unmeasured(target, "--only compare --processes 1,4")
    http = report.get("http")
    for target, figure in (("HTTP: pickup + complete >= 50% of the database-free endpoint's requests/s", "share"),
                           ("HTTP: pickup + complete p99 < 100 ms", "p99")):
        if not http:
            unmeasured(target, "--only http")
        elif figure == "share":
            share = http["work_items"]["requests_per_second"] / http["floor"]["requests_per_second"]
            rows.append([f"{target} (serve --workers {http.get('workers', '?')})", f"{share:.2f}",
                         verdict(share >= 0.5)])
        else:
            p99 = http["work_items"]["p99_ms"]
            rows.append([target, f"{p99:.0f} ms", verdict(p99 < 100)])
    live = report.get("websocket")
    targets = ("live pushes: commit -> socket p99 <= 2x a bare Channels group message",
               "live pushes: commit -> socket p99 < 50 ms")
    if live:
        item, floor = live["work_item"]["p99"], live["floor"]["p99"]
        agents = f"{live['clients']} agents, {live['missing']} items missing"
        rows.append([targets[0], f"{item / floor:.2f}x ({item:.1f} / {floor:.1f} ms; {agents})",
                     verdict(item <= 2 * floor and not live["missing"])])
        rows.append([targets[1], f"{item:.1f} ms", verdict(item < 50)])
    else:
        for target in targets:
            unmeasured(target, "--all, or --only websocket")
    memory = report.get("memory")
    target = "memory: worker RSS after 50,000 approvals within 10% of its RSS after 5,000"
    if memory and len(memory) > 2:
        first = next((r for r in memory if r["instances"] == 5000), memory[1])
        last = next((r for r in memory if r["instances"] == 50000), memory[-1])
        growth = last["rss_mib"] / first["rss_mib"] - 1
        issue = first["instances"] == 5000 and last["instances"] == 50000
        figure = (f"{growth:+.1%} ({first['rss_mib']:.0f} -> {last['rss_mib']:.0f} MiB, "
                  f"{first['instances']:,} -> {last['instances']:,})")
        rows.append([target, figure if issue else figure + f"; the issue's check: --memory {FULL_MEMORY}",
                     verdict(growth <= 0.10) if issue else ("holds so far" if growth <= 0.10 else "NOT MET")])
    else:
        unmeasured(target, f"--all, or --only memory --memory {FULL_MEMORY}")
    monitor = report.get("monitor_live")
    target = "the monitor takes <= 10% of the engine's rate (supervisors watching)"
    if monitor:
        share = monitor["steps_watched"] / monitor["steps_alone"]
        rows.append([target, f"{share:.0%} of the rate with {monitor['supervisors']} supervisors",
                     verdict(share >= 0.9)])
    else:
        unmeasured(target, "--all, or --only monitor-live")
    for name, row in report.get("scale", {}).get("rows", {}).items():
        total = row["page_ms"] + row["count_ms"]
        rows.append([f"{name} at scale < 20 ms (page + count)", f"{total:.1f} ms", verdict(total < 20)])
    for name, row in report.get("monitor", {}).items():
        if not isinstance(row, dict) or row.get("refused"):
            continue
        rows.append([f"monitor first snapshot (count + 100 rows), {name}: p99 < 100 ms",
                     f"{row['first_p99_ms']:.1f} ms", verdict(row["first_p99_ms"] < 100)])
        if "cap" in name:
            rows.append([f"monitor whole snapshot, {name}: p99 < 500 ms",
                         f"{row['p99_ms']:.1f} ms ({row['rows']:,} rows)", verdict(row["p99_ms"] < 500)])
    return rows
