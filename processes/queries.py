"""Queries of the engine's hot path, compiled to SQL once and run again with new parameters."""

from __future__ import annotations

import itertools
import os
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Model, signals
from django.db.models.query import get_related_populators

# --------------------------------------------------------------- prepared statements
#
# PostgreSQL parses and plans every statement psycopg2 sends; for the hot path's one-row
# statements the planning alone costs about as much as running them (pg_stat_statements,
# docs/performance.md), and the tables they touch have many indexes for the planner to weigh.
# psycopg2 has no protocol-level prepare, so the hot statements are prepared in SQL: the
# first use on a connection sends ``PREPARE … ; EXECUTE …`` in one round trip, later uses
# ``EXECUTE name(…)``, and PostgreSQL keeps the plan for the connection's life. A prepared
# statement outlives a rolled-back transaction, so the names a connection holds stay valid;
# when the combined statement fails, whether the PREPARE took is not known, so that SQL gets a
# new name on that connection next time. (Behind a transaction-pooling proxy such as
# PgBouncer's transaction mode, prepared statements do not follow the client: leave
# ``DB_PREPARE_HOT_STATEMENTS`` off there.)

_statement_names = itertools.count(1)
_prepared_on: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%%|%s")


def prepares_statements() -> bool:
    return connection.vendor == "postgresql" and getattr(settings, "DB_PREPARE_HOT_STATEMENTS", True)


def _numbered(sql: str) -> str:
    """``%s`` placeholders as ``$1``, ``$2``…, literal ``%%`` kept for the driver's interpolation."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: m.group() if m.group() == "%%" else f"${next(numbers)}", sql)


def execute(cursor, sql: str, params: Sequence[Any]) -> None:
    """``cursor.execute(sql, params)``; on PostgreSQL from a statement prepared once per connection."""
    if not prepares_statements():
        cursor.execute(sql, params)
        return
    names = _prepared_on.get(connection.connection)
    if names is None:
        names = _prepared_on[connection.connection] = {}
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    name = names.get(sql)
    if name is not None:
        cursor.execute(f"EXECUTE {name}{arguments}", params)
        return
    name = f"ipa_hot_{next(_statement_names)}"
    cursor.execute(f"PREPARE {name} AS {_numbered(sql)}; EXECUTE {name}{arguments}", params)
    names[sql] = name  # only once it surely exists (see above)


class HotQuery:
    """A query of the hot path, compiled once by Django and then run again with new parameters.

    Django compiles a queryset to SQL on every evaluation, and on a step's few one-row
    reads that costs more CPU than PostgreSQL spends answering them (see docs/performance.md).
    ``build(*params)`` returns the queryset; the SQL it compiles to is kept per database
    connection alias and vendor and run with the new parameters, which must be the only
    ones the query has and take the same places (primary keys, names: never ``__in`` lists
    or None; a query whose compiled parameters differ is simply evaluated every time).
    Rows come back as model instances, with those of ``select_related`` attached
    (``values()`` querysets: as tuples), through the fields' own converters, as the queryset
    would have returned them (``ModelIterable``'s way, with Django's related populators).
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
        if list(compiled_params) != list(params):
            # The SQL would not take these parameters as they come (a backend inlines one of
            # them): evaluate the queryset every time.
            return None
        columns = [column for column, _, _ in compiler.select]
        converters = compiler.get_converters(columns)
        for_update = bool(queryset.query.select_for_update) and connection.features.has_select_for_update
        if queryset.query.values_select:
            return sql, converters, for_update, None
        own = compiler.klass_info["select_fields"]
        start, end = own[0], own[-1] + 1
        rows_to = (queryset.model, start, end, [column.target.attname for column in columns[start:end]],
                   get_related_populators(compiler.klass_info, compiler.select, connection.alias))
        return sql, converters, for_update, rows_to

    def first(self, *params: Any) -> Any:
        """The first row (None when there is none), on the default database."""
        key = (connection.alias, connection.vendor, *map(type, params))
        compiled = self._compiled.get(key, False)
        if compiled is False:
            compiled = self._compiled[key] = self._compile(connection, params)
        if compiled is None:
            return next(iter(self.build(*params)), None)
        sql, converters, for_update, rows_to = compiled
        if for_update and connection.get_autocommit():  # as the queryset itself would refuse
            raise transaction.TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            execute(cursor, sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = _converted(row, converters)
        if rows_to is None:
            return tuple(row)
        model, start, end, names, related = rows_to
        obj = model.from_db(connection.alias, names, row[start:end])
        for populator in related:
            populator.populate(row, obj)
        return obj


def _converted(row: Sequence[Any], converters: dict[int, tuple[list, Any]]) -> list[Any]:
    """The row's values through their converters, as ``SQLCompiler.get_converters`` gives them."""
    values = list(row)
    for position, (functions, expression) in converters.items():
        for function in functions:
            values[position] = function(values[position], expression, connection)
    return values


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


# ------------------------------------------------------------------------------- writes
#
# ``Model.save()`` builds and compiles its statement every time: on the step's few writes that
# costs more CPU than PostgreSQL spends on them (docs/performance.md). These keep the statement
# per model and columns and take each value through its field, as ``save()`` does (``pre_save``
# for ``auto_now``, ``get_db_prep_save`` for JSON and dates). A model with save signals listened
# to is saved by ``save()``, so no receiver is ever passed over.

_statements: dict[tuple, tuple[str, list]] = {}
ROWS_PER_INSERT = 100


def _has_save_signals(model: type[Model]) -> bool:
    return signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)


def save_fields(obj: Model, fields: Sequence[str]) -> None:
    """``obj.save(update_fields=fields)``: one UPDATE of those columns (``auto_now`` ones refreshed)."""
    model = type(obj)
    if _has_save_signals(model):
        obj.save(update_fields=fields)
        return
    key = ("update", connection.alias, model, tuple(fields))
    compiled = _statements.get(key)
    if compiled is None:
        meta, quote = model._meta, connection.ops.quote_name
        columns = [meta.get_field(name) for name in fields]
        sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in columns)} "
               f"WHERE {quote(meta.pk.column)} = %s")
        compiled = _statements[key] = (sql, columns)
    sql, columns = compiled
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in columns]
    with connection.cursor() as cursor:
        execute(cursor, sql, [*values, obj.pk])
        if cursor.rowcount == 0:  # as save(update_fields=…) says it
            raise DatabaseError("Save with update_fields did not affect any rows.")


def insert_row(obj: Model) -> None:
    """``obj.save(force_insert=True)`` for a new row: one INSERT, its id (when not named) returned."""
    model = type(obj)
    named = obj.pk is not None
    if _has_save_signals(model) or not (named or connection.features.can_return_columns_from_insert):
        obj.save(force_insert=True)
        return
    sql, columns = _insert_statement(model, named, 1)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in columns]
    with connection.cursor() as cursor:
        execute(cursor, sql, values)
        if not named:
            obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias


def insert_rows(objs: Sequence[Model]) -> None:
    """``bulk_create(objs)`` for rows whose ids nobody reads afterwards (history): one INSERT."""
    if not objs:
        return
    model = type(objs[0])
    if _has_save_signals(model):
        model._default_manager.bulk_create(objs)
        return
    with connection.cursor() as cursor:
        for start in range(0, len(objs), ROWS_PER_INSERT):  # a bounded number of statements kept
            chunk = objs[start:start + ROWS_PER_INSERT]
            sql, columns = _insert_statement(model, False, len(chunk), returning=False)
            execute(cursor, sql, [f.get_db_prep_save(f.pre_save(obj, True), connection)
                                  for obj in chunk for f in columns])


def _insert_statement(model: type[Model], named: bool, rows: int, *, returning: bool = True) -> tuple[str, list]:
    key = ("insert", connection.alias, model, named, rows, returning)
    compiled = _statements.get(key)
    if compiled is None:
        meta, quote = model._meta, connection.ops.quote_name
        columns = [f for f in meta.local_concrete_fields if named or f is not meta.pk]
        row = f"({', '.join(['%s'] * len(columns))})"
        sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "
               f"VALUES {', '.join([row] * rows)}")
        if returning and not named:
            sql += f" RETURNING {quote(meta.pk.column)}"
        compiled = _statements[key] = (sql, columns)
    return compiled


def fetch_model(model: type[Model], cursor) -> Model | None:
    """The row the cursor's last statement returned (``… RETURNING *``) as a ``model`` instance, its values
    converted as the ORM converts them (JSON, dates); None when it returned none."""
    row = cursor.fetchone()
    if row is None:
        return None
    columns = tuple(description[0] for description in cursor.description)
    key = ("row", connection.alias, model, columns)
    compiled = _rows.get(key)
    if compiled is None:
        meta = model._meta
        position = {column: i for i, column in enumerate(columns)}
        fields = [f for f in meta.concrete_fields if f.column in position]
        compiler = model._default_manager.all().query.get_compiler(connection=connection)
        converters = compiler.get_converters([f.get_col(meta.db_table) for f in fields])
        # from_db takes the values in the fields' order
        compiled = _rows[key] = ([f.attname for f in fields], [position[f.column] for f in fields], converters)
    names, order, converters = compiled
    return model.from_db(connection.alias, names, _converted([row[i] for i in order], converters))


_rows: dict[tuple, tuple[list[str], list[int], dict]] = {}
