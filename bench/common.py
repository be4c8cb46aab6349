"""What every part of the bench shares: the PostgreSQL server, databases, statistics, the table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project folder
BENCH = ROOT / "bench"
OUT = Path(os.environ.get("BENCH_OUT") or BENCH / "out")  # figures, profile, server log
PRODUCT_PYTHON = ROOT / ".venv" / "bin" / "python"

PG_HOST = os.environ.get("BENCH_PGHOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PGPORT", "5432")
PG_USER = os.environ.get("BENCH_PGUSER", "postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_")

# Statements that manage transactions rather than read or write data: not counted as queries.
TX_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def db_name(suffix: str) -> str:
    return f"{DB_PREFIX}{suffix}"


def dsn(database: str) -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={database}"


def database_url(database: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def product_env(database: str, **extra: str) -> dict[str, str]:
    """The production configuration of the portal against a bench database (Celery not eager)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "REDIS_URL": REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-production",
        "DJANGO_SETTINGS_MODULE": "ipa_portal.settings",
        "LOG_LEVEL": "ERROR",
        "IPA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.update(extra)
    return env


def connect(database: str = "postgres"):
    import psycopg2

    connection = psycopg2.connect(dsn(database))
    connection.autocommit = True
    return connection


def recreate_database(database: str) -> None:
    """Drop (ending its sessions) and create an empty database."""
    assert database.startswith(DB_PREFIX), database
    with closing(connect()) as admin, admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()", (database,))
        cur.execute(f'DROP DATABASE IF EXISTS "{database}"')
        cur.execute(f'CREATE DATABASE "{database}"')


def database_exists(database: str) -> bool:
    with closing(connect()) as admin, admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        return cur.fetchone() is not None


def create_database_if_missing(database: str) -> None:
    """Create ``database`` unless it exists (the live benches keep theirs between runs)."""
    if not database_exists(database):
        with closing(connect()) as admin, admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{database}"')


def migrate(database: str, env: dict[str, str] | None = None) -> None:
    """Bring ``database``'s schema up to date with the portal's migrations."""
    subprocess.run([str(PRODUCT_PYTHON), "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT,
                   env=env or product_env(database), check=True)


def wait_for_sessions_to_end(database: str, timeout: float = 10.0) -> None:
    """Ended backends flush their statistics as they exit: wait until none is left on ``database``."""
    deadline = time.monotonic() + timeout
    with closing(connect()) as admin, admin.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,))
            if cur.fetchone()[0] == 0:
                return
            time.sleep(0.02)


def committed_transactions(database: str) -> int:
    """``pg_stat_database.xact_commit`` of ``database`` (read from another database, in a fresh snapshot)."""
    wait_for_sessions_to_end(database)
    with closing(connect()) as admin, admin.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (database,))
        return int(cur.fetchone()[0])


def server_description() -> str:
    with closing(connect()) as admin, admin.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
        cur.execute("SHOW synchronous_commit")
        sync = cur.fetchone()[0]
    return f"PostgreSQL {version} (synchronous_commit={sync})"


def machine_description() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory} memory, Python {sys.version.split()[0]}"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Figures:
    """The repeated measurements of one thing: printed as min / median / max."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def spread(self, fmt: str = "{:.0f}") -> str:
        if not self.values:
            return "-"
        if len(self.values) == 1:
            return fmt.format(self.values[0])
        return f"{fmt.format(min(self.values))} / {fmt.format(self.median)} / {fmt.format(max(self.values))}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
