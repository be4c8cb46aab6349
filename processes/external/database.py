"""``database``: one SQL statement against a named data source (PostgreSQL, MariaDB/MySQL, SQLite).

The data source comes from the directory (``DataSource(name, url)``): ``postgres://user:
password@host:5432/db`` (psycopg2), ``mysql://`` or ``mariadb://`` (PyMySQL), ``sqlite:///
relative/path`` or ``sqlite:////absolute/path`` (the standard library). The statement's
``%(name)s`` parameters are always bound by the driver, never put into the text: a value is
data whatever it contains. For SQLite they are rewritten to its own ``:name`` style; write
``%%`` for a literal percent sign, on every database alike.

The result is the action's ``result.mode``: ``first_row`` (an object from column name to
value, ``null`` without a row), ``all_rows`` (a list of such objects, at most ``MAX_ROWS``)
or ``rowcount`` (the rows changed, or for a query the rows returned). Values take the
format's JSON forms (exact decimals as text, dates and datetimes ISO 8601) in the runner.

``DATA_SOURCE_TIMEOUT`` (seconds) bounds connecting, waiting for a free connection and
running the statement: PostgreSQL ``SET LOCAL statement_timeout``, MariaDB
``max_statement_time`` (MySQL ``max_execution_time``, which only bounds SELECT), SQLite a
progress handler. Each statement is its own transaction, committed when it succeeds.

Connections are pooled per process, per data source name and URL: at most
``DATA_SOURCE_POOL_SIZE`` open at once, idle ones kept for ``IDLE_SECONDS`` and checked
before use. A changed URL starts a new pool; a Celery pool process has pools of its own.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings

from administration.models import DataSource

from .errors import ExternalActionError

MAX_ROWS = 10_000  # all_rows refuses more: a process variable is no place for a table
IDLE_SECONDS = 300.0
MODES = ("first_row", "all_rows", "rowcount")
VENDORS = {"postgres": "postgresql", "postgresql": "postgresql", "pgsql": "postgresql",
           "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}
_PARAMETER = re.compile(r"%%|%\((\w+)\)s")


def run_statement(params: dict[str, Any]) -> Any:
    """The runner of ``database``: run ``sql`` with ``params`` bound, return the result mode's value."""
    name, mode = params.get("data_source"), params.get("mode") or "rowcount"
    if mode not in MODES:
        raise ExternalActionError("bad_input", f"result mode must be one of {', '.join(MODES)}")
    source = DataSource.objects.filter(name=name).first() if isinstance(name, str) else None
    if source is None:
        raise ExternalActionError("unknown_data_source", f"no data source is named {name!r}")
    timeout = float(getattr(settings, "DATA_SOURCE_TIMEOUT", 30))
    pool = pool_for(source.name, source.url)
    with pool.connection(timeout) as link:
        return link.run(params.get("sql") or "", _bindable(params.get("params") or {}), mode, timeout)


def _bindable(values: dict[str, Any]) -> dict[str, Any]:
    """JSON objects are bound as their JSON text; lists, numbers, text and null as themselves."""
    return {key: json.dumps(value) if isinstance(value, dict) else value for key, value in values.items()}


def sqlite_statement(sql: str) -> str:
    """``%(name)s`` -> ``:name`` and ``%%`` -> ``%``, as psycopg2 and PyMySQL read them."""
    return _PARAMETER.sub(lambda m: f":{m.group(1)}" if m.group(1) else "%", sql)


# --------------------------------------------------------------------------- drivers


@dataclass
class Link:
    """One open connection to a data source, with what its driver needs to run a statement."""

    source: str
    vendor: str
    raw: Any
    mariadb: bool = False
    used_at: float = field(default_factory=time.monotonic)

    def run(self, sql: str, values: dict[str, Any], mode: str, timeout: float) -> Any:
        cursor = self.raw.cursor()
        try:
            self._limit(cursor, timeout)
            if self.vendor == "sqlite":
                cursor.execute(sqlite_statement(sql), values)
            else:
                cursor.execute(sql, values)
            result = self._collect(cursor, mode)
            self.raw.commit()
            return result
        except BaseException:
            self.rollback()
            raise
        finally:
            self._unlimit()
            cursor.close()

    def _limit(self, cursor: Any, timeout: float) -> None:
        if self.vendor == "postgresql":
            cursor.execute("SET LOCAL statement_timeout = %s", (max(1, int(timeout * 1000)),))
        elif self.vendor == "mysql" and self.mariadb:
            cursor.execute("SET SESSION max_statement_time = %s", (timeout,))
        elif self.vendor == "mysql":
            cursor.execute("SET SESSION max_execution_time = %s", (max(1, int(timeout * 1000)),))
        else:
            deadline = time.monotonic() + timeout
            self.raw.set_progress_handler(lambda: time.monotonic() > deadline, 1000)

    def _unlimit(self) -> None:
        if self.vendor == "sqlite":
            self.raw.set_progress_handler(None, 0)

    def _collect(self, cursor: Any, mode: str) -> Any:
        columns = [column[0] for column in cursor.description] if cursor.description else None
        if mode == "rowcount":
            if columns is not None and (cursor.rowcount is None or cursor.rowcount < 0):
                return len(cursor.fetchall())  # SQLite counts no rows of a query
            return max(cursor.rowcount, 0)
        if columns is None:
            return None if mode == "first_row" else []
        if mode == "first_row":
            row = cursor.fetchone()
            return None if row is None else dict(zip(columns, row, strict=True))
        rows = cursor.fetchmany(MAX_ROWS + 1)
        if len(rows) > MAX_ROWS:
            raise ExternalActionError("too_many_rows", f"the statement on data source {self.source} returned "
                                                       f"more than {MAX_ROWS} rows; narrow it down")
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def rollback(self) -> None:
        with suppress(Exception):  # a broken connection: the pool drops it
            self.raw.rollback()

    def alive(self) -> bool:
        try:
            if self.vendor == "mysql":
                self.raw.ping(reconnect=False)
            else:
                cursor = self.raw.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchall()
                cursor.close()
                self.raw.rollback()
            return True
        except Exception:
            return False

    def close(self) -> None:
        with suppress(Exception):
            self.raw.close()


def connect(source: str, url: str, timeout: float) -> Link:
    """Open a connection to ``url`` within ``timeout`` seconds."""
    parts = urlsplit(url)
    vendor = VENDORS.get(parts.scheme.split("+")[0].lower())
    if vendor is None:
        raise ExternalActionError("configuration", f"data source {source} has a URL this server cannot use "
                                                   "(postgres://, mysql://, mariadb:// or sqlite:///)")
    options = dict(parse_qsl(parts.query))
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    database = unquote(parts.path[1:])
    if vendor == "postgresql":
        psycopg2 = _driver("psycopg2", "psycopg2-binary")

        raw = psycopg2.connect(host=parts.hostname or "localhost", port=parts.port or 5432, user=user or None,
                               password=password or None, dbname=database, connect_timeout=max(2, int(timeout)),
                               **options)
        return Link(source, vendor, raw)
    if vendor == "mysql":
        pymysql = _driver("pymysql", "PyMySQL")

        raw = pymysql.connect(host=parts.hostname or "localhost", port=parts.port or 3306, user=user or None,
                              password=password, database=database or None, connect_timeout=timeout,
                              read_timeout=timeout + 5, write_timeout=timeout + 5, charset="utf8mb4",
                              autocommit=False)
        return Link(source, vendor, raw, mariadb="mariadb" in raw.get_server_info().lower())
    raw = sqlite3.connect(database or ":memory:", timeout=timeout, check_same_thread=False)
    return Link(source, vendor, raw)


def _driver(module: str, package: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ExternalActionError("not_available", f"the {package} driver is not installed on this server") from None


# ----------------------------------------------------------------------------- errors


def failure(source: str, error: BaseException, timeout: float) -> ExternalActionError | None:
    """The driver's error as the action's ``error``; None for what is not a database error."""
    where = f"data source {source}"
    if isinstance(error, sqlite3.Error):
        text = str(error)
        if text == "interrupted":
            return _timed_out(where, timeout)
        if "unable to open" in text:
            return ExternalActionError("connection_failed", f"cannot open {where}: {text}")
        return ExternalActionError("database_error", f"{where}: {text}")
    module = type(error).__module__
    if module.startswith("psycopg2"):
        code = getattr(error, "pgcode", None)
        text = _first_line(error)
        if code == "57014":  # query_canceled: the statement timeout
            return _timed_out(where, timeout)
        if code is None and type(error).__name__ in ("OperationalError", "InterfaceError"):
            return ExternalActionError("connection_failed", f"cannot use {where}: {text}")
        return ExternalActionError("database_error", f"{where}: {text}" + (f" (SQLSTATE {code})" if code else ""))
    if module.startswith("pymysql"):
        code, text = (error.args + (None, None))[:2] if error.args else (None, None)
        if code in (1969, 3024):  # MariaDB max_statement_time, MySQL max_execution_time
            return _timed_out(where, timeout)
        if code == 2013:  # lost the connection while waiting: read_timeout
            return _timed_out(where, timeout)
        if code == 2003 or (code is None and type(error).__name__ in ("OperationalError", "InterfaceError")):
            return ExternalActionError("connection_failed", f"cannot connect to {where}: {text or error}")
        return ExternalActionError("database_error", f"{where}: {text or error}" + (f" (error {code})" if code else ""))
    return None


def _timed_out(where: str, timeout: float) -> ExternalActionError:
    return ExternalActionError("timeout", f"the statement on {where} did not finish within {timeout:g} s")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ------------------------------------------------------------------------------ pools


class Pool:
    """The connections of this process to one data source (name and URL)."""

    def __init__(self, source: str, url: str, size: int) -> None:
        self.source, self.url = source, url
        self.slots = threading.BoundedSemaphore(size)
        self.idle: deque[Link] = deque()
        self.lock = threading.Lock()

    @contextmanager
    def connection(self, timeout: float) -> Iterator[Link]:
        """A connection for one statement; errors of the driver become the action's ``error``."""
        if not self.slots.acquire(timeout=timeout):
            raise ExternalActionError("timeout", f"no free connection to data source {self.source} "
                                                 f"within {timeout:g} s")
        link = None
        try:
            link = self._take(timeout)
            yield link
            self._give_back(link)
        except ExternalActionError:
            if link is not None:
                if link.alive():
                    self._give_back(link)
                else:
                    link.close()
            raise
        except BaseException as error:
            mapped = failure(self.source, error, timeout)
            if link is not None:
                if mapped is not None and mapped.type in ("database_error", "timeout") and link.alive():
                    self._give_back(link)
                else:
                    link.close()
            if mapped is None:
                raise
            raise mapped from None
        finally:
            self.slots.release()

    def _take(self, timeout: float) -> Link:
        while True:
            with self.lock:
                link = self.idle.pop() if self.idle else None
            if link is None:
                return connect(self.source, self.url, timeout)
            if time.monotonic() - link.used_at < IDLE_SECONDS and link.alive():
                return link
            link.close()

    def _give_back(self, link: Link) -> None:
        link.used_at = time.monotonic()
        with self.lock:
            self.idle.append(link)

    def close(self) -> None:
        with self.lock:
            links, self.idle = list(self.idle), deque()
        for link in links:
            link.close()


_pools: dict[str, Pool] = {}
_pools_lock = threading.Lock()
_inherited: list[Pool] = []  # pools a forked child got from its parent: never used, never closed


def pool_for(source: str, url: str) -> Pool:
    """The pool of this data source; a new one (the old one closed) when its URL changed."""
    with _pools_lock:
        pool = _pools.get(source)
        if pool is not None and pool.url == url:
            return pool
        if pool is not None:
            pool.close()
        pool = _pools[source] = Pool(source, url, max(1, int(getattr(settings, "DATA_SOURCE_POOL_SIZE", 4))))
        return pool


def close_pools() -> None:
    """Close every idle connection (tests, and a process that stops using data sources)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def _forget_after_fork() -> None:
    """A forked child must not use, nor close, its parent's connections (they share the sockets)."""
    global _pools_lock
    _inherited.extend(_pools.values())
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def connection_problem(source: str, url: str, timeout: float = 5.0) -> str | None:
    """Why the data source cannot be used now (None: it answers ``SELECT 1``), for the administration page."""
    try:
        link = connect(source, url, timeout)
    except ExternalActionError as error:
        return error.message
    except Exception as error:  # noqa: BLE001 - any driver error is the answer to show
        found = failure(source, error, timeout)
        return found.message if found else _first_line(error)
    try:
        return None if link.alive() else f"connected to data source {source}, but SELECT 1 failed"
    finally:
        link.close()
