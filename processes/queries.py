"""Queries of the engine's hot path, compiled to SQL once and run again with new parameters."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


class HotQuery:
    """A query of the hot path, compiled once by Django and then run again with new parameters.

    Django compiles a queryset to SQL on every evaluation, and on a step's few one-row
    reads that costs more CPU than PostgreSQL spends answering them (see docs/performance.md).
    ``build(*params)`` returns the queryset; the SQL it compiles to is kept per database
    connection alias and vendor and run with the new parameters, which must be the only
    ones the query has and take the same places (primary keys, names: never ``__in`` lists
    or None; a query whose compiled parameters differ is simply evaluated every time).
    Rows come back as model instances (``values()`` querysets: as tuples), through the
    fields' own converters, as the queryset would have returned them.
    """

    def __init__(self, build: Callable[..., Any]) -> None:
        self.build = build
        # Per connection and per the parameters' types: an id passed as text (a URL's) must not
        # decide, for the process's life, that the id passed as a number is evaluated every time.
        self._compiled: dict[tuple, tuple | None] = {}

    def _compile(self, connection, params: tuple) -> tuple | None:
        queryset = self.build(*params)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, compiled_params = compiler.as_sql()
        if list(compiled_params) != list(params) or queryset.query.select_related:
            # The SQL would not take these parameters as they come (a backend inlines one of
            # them), or the rows span several models: evaluate the queryset every time.
            return None
        columns = [column for column, _, _ in compiler.select]
        converters = compiler.get_converters(columns)
        model = queryset.model if not queryset.query.values_select else None
        names = [column.target.attname for column in columns] if model is not None else None
        for_update = bool(queryset.query.select_for_update) and connection.features.has_select_for_update
        return sql, converters, model, names, for_update

    def first(self, *params: Any) -> Any:
        """The first row (None when there is none), on the default database."""
        key = (connection.alias, connection.vendor, *map(type, params))
        compiled = self._compiled.get(key, False)
        if compiled is False:
            compiled = self._compiled[key] = self._compile(connection, params)
        if compiled is None:
            return next(iter(self.build(*params)), None)
        sql, converters, model, names, for_update = compiled
        if for_update and connection.get_autocommit():  # as the queryset itself would refuse
            raise transaction.TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = list(row)
            for position, (functions, expression) in converters.items():
                for function in functions:
                    row[position] = function(row[position], expression, connection)
        return model.from_db(connection.alias, names, row) if model is not None else tuple(row)


class IdBlocks:
    """Primary keys taken from a PostgreSQL sequence a block at a time, so a new row can be named
    before it is written: the launch runs the engine first and inserts the instance once, whole,
    instead of inserting it and updating it in the same transaction.

    ``nextval`` is outside transactions, so a block is never handed out twice, even when the
    transaction that took it rolls back (the ids are then skipped, as a rolled-back insert's
    would be). Kept per process (a forked worker takes its own). On a database without
    sequences ``next()`` returns None and the caller inserts the row as usual.
    """

    def __init__(self, table: str, block: int = 100) -> None:
        self.table = table
        self.block = block
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._pid = 0

    def next(self) -> int | None:
        if connection.vendor != "postgresql":
            return None
        with self._lock:
            if self._pid != os.getpid():
                self._ids, self._pid = [], os.getpid()
            if not self._ids:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                                   [self.table, self.block])
                    self._ids = sorted((row[0] for row in cursor.fetchall()), reverse=True)
            return self._ids.pop()
