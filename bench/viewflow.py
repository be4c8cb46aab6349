"""django-viewflow 2.4.0 on the same approval, in its own virtualenv and database.

django-viewflow is AGPL: the bench installs it from PyPI into ``bench/.venv-viewflow``
at run time and runs ``bench/viewflow_flow`` (our own tiny project) in a subprocess
whose one line of JSON it parses. Nothing of viewflow is vendored or imported here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv

from bench.common import BENCH, PG_HOST, PG_PORT, PG_USER, db_name, log, recreate_database

DATABASE = db_name("viewflow")
VERSION = "2.4.0"
VENV = BENCH / ".venv-viewflow"
PYTHON = VENV / "bin" / "python"
PROJECT = BENCH / "viewflow_flow"
REQUIREMENTS = [f"django-viewflow=={VERSION}", "Django>=5.2,<5.3", "psycopg2-binary>=2.9,<3"]


def installed_version() -> str | None:
    if not PYTHON.exists():
        return None
    probe = subprocess.run([str(PYTHON), "-c", "import importlib.metadata as m; print(m.version('django-viewflow'))"],
                           capture_output=True, text=True)
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_installed() -> None:
    if installed_version() == VERSION:
        return
    log(f"installing django-viewflow {VERSION} from PyPI into {VENV.relative_to(BENCH.parent)}")
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
                   check=True)
    if installed_version() != VERSION:
        raise RuntimeError(f"django-viewflow {VERSION} could not be installed into {VENV}")


def env() -> dict[str, str]:
    return {**os.environ, "VIEWFLOW_DB": DATABASE, "PGHOST": PG_HOST, "PGPORT": PG_PORT, "PGUSER": PG_USER,
            "PYTHONPATH": str(PROJECT)}


def runner(*args: str) -> dict:
    done = subprocess.run([str(PYTHON), "-m", "vfbench.runner", *args], cwd=PROJECT, env=env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"the viewflow runner failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare() -> None:
    ensure_installed()
    recreate_database(DATABASE)
    runner("--setup")


def measure(processes: int, seconds: float, instances: int = 0, count_rounds: int = 0) -> dict:
    result = runner("--processes", str(processes), "--seconds", str(seconds), "--instances", str(instances),
                    "--count-queries", str(count_rounds))
    return {"instances": result["instances"], "seconds": result["seconds"],
            "data_statements": result["statements_per_instance"], "untimed_instances": result["extra_instances"],
            "unfinished": result["unfinished"]}
