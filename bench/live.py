"""The live parts of ``bench/run --all``: the scripts that start the whole production stack.

``bench/websocket_latency.py`` (commit -> an agent's socket beside a bare Channels group
message, at 500 agents) and ``bench/monitor_latency.py`` (the engine's rate with and without
supervisors watching) each run in a process of their own, as they do alone; their figures
come back as the JSON file they write with ``--json``.
"""

from __future__ import annotations

import json
import subprocess

from bench.common import OUT, PRODUCT_PYTHON, ROOT, log


def _script(name: str, *args: str) -> tuple[dict, str]:
    OUT.mkdir(exist_ok=True)
    figures_file = OUT / f"{name}.json"
    figures_file.unlink(missing_ok=True)
    log(f"{name}: bench/{name}.py {' '.join(args)}")
    done = subprocess.run([str(PRODUCT_PYTHON), str(ROOT / "bench" / f"{name}.py"), *args,
                           "--json", str(figures_file)], cwd=ROOT, capture_output=True, text=True)
    text = done.stdout.strip()
    if done.returncode or not figures_file.exists():
        raise RuntimeError(f"bench/{name}.py failed ({done.returncode}):\n{text}\n{done.stderr[-3000:]}")
    return json.loads(figures_file.read_text()), text


def websocket(clients: int, items: int, rate: float) -> tuple[dict, str]:
    return _script("websocket_latency", "--clients", str(clients), "--items", str(items), "--rate", str(rate))


def monitor(supervisors: int, items: int, steps: int) -> tuple[dict, str]:
    return _script("monitor_latency", "--supervisors", str(supervisors), "--items", str(items),
                   "--steps", str(steps))
