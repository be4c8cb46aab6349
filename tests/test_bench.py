"""The bench (bench/run) runs end to end on a handful of instances and prints its tables.

Only that: no figure is compared with anything (timings belong to the bench, never to
the test suite). django-viewflow is left out here (it would be installed from PyPI);
the bench's default run includes it. Needs the PostgreSQL server the bench uses.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PGHOST = os.environ.get("BENCH_PGHOST", "127.0.0.1")
PGPORT = os.environ.get("BENCH_PGPORT", "5432")
PGUSER = os.environ.get("BENCH_PGUSER", "postgres")


def postgres_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(host=PGHOST, port=PGPORT, user=PGUSER, dbname="postgres", connect_timeout=3).close()
        return True
    except Exception:
        return False


@pytest.mark.skipif(not postgres_reachable(), reason=f"the bench needs PostgreSQL on {PGHOST}:{PGPORT}")
def test_the_bench_runs_on_a_handful_of_instances_and_prints_its_tables(tmp_path):
    # Neither the databases nor the bench/out/ of a developer's own bench run.
    env = {**os.environ, "BENCH_DB_PREFIX": "bench_t_", "BENCH_OUT": str(tmp_path)}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--no-viewflow"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for heading in ("The approval, side by side", "At scale", "A worker's memory", "HTTP", "Where the time goes"):
        assert heading in out, out
    assert "raw PostgreSQL step" in out and "this engine" in out
    assert "My Work Items" in out and "instances by process and status" in out
    assert "pickup + complete" in out and "GET /api/schema/process.json" in out
    assert "SQL statements per call" in out
    assert (tmp_path / "last-run.json").exists() and (tmp_path / "profile.txt").exists()
