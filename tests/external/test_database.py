"""database: data sources on the machine's real PostgreSQL and MariaDB and on a SQLite file.

Each test runs on all three (a database that is not reachable is skipped): the result modes,
values in the format's types, parameters bound by the driver (never put into the SQL), a
failing statement, a statement timeout, pooled connections. The scratch databases are
``ipa_helper10_ds`` on PostgreSQL (postgres@127.0.0.1:5432) and MariaDB (root@127.0.0.1:3306).
"""

import time

import pytest

from administration.models import DataSource
from processes.external import database
from processes.external.errors import ExternalActionError
from processes.external.results import json_value
from tests.external.support import definition, run_process, runs_here  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_here")]

SCRATCH = "ipa_helper10_ds"
EVIL = "0 or 1=1; drop table ipa_items"


def postgres_url() -> str:
    import psycopg2

    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {error}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (SCRATCH,))
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {SCRATCH}")
    admin.close()
    return f"postgres://postgres@127.0.0.1:5432/{SCRATCH}"


def mariadb_url() -> str:
    import pymysql

    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", connect_timeout=3)
    except pymysql.err.OperationalError as error:
        pytest.skip(f"no MariaDB on 127.0.0.1:3306: {error}")
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {SCRATCH}")
    admin.close()
    return f"mariadb://root@127.0.0.1:3306/{SCRATCH}"


SETUP = [
    "DROP TABLE IF EXISTS ipa_items",
    "CREATE TABLE ipa_items (id INTEGER PRIMARY KEY, name VARCHAR(100), price DECIMAL(10, 2), since DATE)",
    "INSERT INTO ipa_items VALUES (1, 'book', 12.50, '2024-02-29'), (2, 'pen', 1.05, '2023-01-01'), "
    "(3, '100% cotton', 20.00, NULL)",
]


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def source(request, tmp_path, settings):
    """A data source named ``shop`` with the table ``ipa_items`` of three rows."""
    url = {"postgresql": postgres_url, "mariadb": mariadb_url,
           "sqlite": lambda: f"sqlite:///{tmp_path / 'shop.sqlite3'}"}[request.param]()
    settings.DATA_SOURCE_TIMEOUT = 10
    link = database.connect("shop", url, 10)
    cursor = link.raw.cursor()
    for statement in SETUP:
        cursor.execute(statement)
    link.raw.commit()
    link.close()
    DataSource.objects.create(name="shop", url=url)
    yield request.param
    database.close_pools()


def query(sql: str, mode: str = "all_rows", **params):
    return json_value(database.run_statement({"data_source": "shop", "sql": sql, "params": params, "mode": mode}))


def failure(sql: str, mode: str = "rowcount", **params) -> ExternalActionError:
    with pytest.raises(ExternalActionError) as caught:
        query(sql, mode, **params)
    return caught.value


def money(text: str, source: str):
    """A DECIMAL(10, 2) value as it comes back: exact text, except from SQLite, which has no decimal
    type (NUMERIC affinity stores 12.50 as the float 12.5 and 20.00 as the integer 20)."""
    if source != "sqlite":
        return text
    number = float(text)
    return int(number) if number.is_integer() else json_value(number)


def count() -> int:
    return query("SELECT COUNT(*) AS n FROM ipa_items", "first_row")["n"]


# ------------------------------------------------------------------------------ modes


def test_first_row_is_an_object_of_json_values_and_null_without_a_row(source):
    row = query("SELECT id, name, price, since FROM ipa_items WHERE id = %(id)s", "first_row", id=1)
    assert row == {"id": 1, "name": "book", "price": money("12.50", source), "since": "2024-02-29"}  # ISO date
    assert query("SELECT id FROM ipa_items WHERE id = %(id)s", "first_row", id=99) is None


def test_all_rows_is_a_list_of_objects_in_order(source):
    rows = query("SELECT id, price FROM ipa_items WHERE price > %(least)s ORDER BY id", least="1.10")
    assert rows == [{"id": 1, "price": money("12.50", source)}, {"id": 3, "price": money("20.00", source)}]
    assert query("SELECT id FROM ipa_items WHERE id > %(id)s", id=99) == []


def test_rowcount_counts_changed_rows_and_the_rows_of_a_query(source):
    assert query("UPDATE ipa_items SET price = price + 1 WHERE id <= %(id)s", "rowcount", id=2) == 2
    assert query("SELECT price FROM ipa_items WHERE id = 1", "first_row") == {"price": money("13.50", source)}
    assert query("SELECT id FROM ipa_items", "rowcount") == 3
    assert query("INSERT INTO ipa_items (id, name) VALUES (%(id)s, %(name)s)", "rowcount", id=4, name="cup") == 1


# ------------------------------------------------------------------------- parameters


def test_a_parameter_is_bound_as_data_never_read_as_sql(source):
    assert query("SELECT id FROM ipa_items WHERE name = %(name)s", name=EVIL) == []
    query("INSERT INTO ipa_items (id, name) VALUES (%(id)s, %(name)s)", "rowcount", id=5, name=EVIL)
    assert query("SELECT name FROM ipa_items WHERE id = 5", "first_row") == {"name": EVIL}  # stored as typed
    assert count() == 4  # and the table survived


def test_a_literal_percent_sign_is_written_twice_on_every_database(source):
    rows = query("SELECT name FROM ipa_items WHERE name LIKE %(start)s || '%%' OR name LIKE '%%cotton'"
                 if source != "mariadb" else
                 "SELECT name FROM ipa_items WHERE name LIKE CONCAT(%(start)s, '%%') OR name LIKE '%%cotton'",
                 start="bo")
    assert sorted(row["name"] for row in rows) == ["100% cotton", "book"]


def test_the_sqlite_statement_takes_its_own_parameter_style():
    assert database.sqlite_statement("a = %(a)s AND b LIKE '5%%' AND c = %(c)s") == "a = :a AND b LIKE '5%' AND c = :c"


# ----------------------------------------------------------------------------- failures


def test_a_failing_statement_gives_the_database_s_error(source):
    error = failure("SELECT nope FROM ipa_missing")
    assert error.type == "database_error"
    assert error.message.startswith("data source shop: ") and "ipa_missing" in error.message
    assert count() == 3  # the connection is fine for the next statement


def test_a_statement_slower_than_the_timeout_is_stopped(source, settings):
    settings.DATA_SOURCE_TIMEOUT = 1
    slow = {
        "postgresql": "SELECT pg_sleep(5)",
        "mariadb": "SELECT SLEEP(5)",
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
                  "SELECT COUNT(*) FROM n",
    }[source]
    started = time.monotonic()
    error = failure(slow, "first_row")
    assert time.monotonic() - started < 4
    assert error.as_error() == {"type": "timeout", "message": "the statement on data source shop did not finish "
                                                              "within 1 s"}
    assert count() == 3


def test_an_unknown_data_source_fails_the_action(db):
    with pytest.raises(ExternalActionError) as caught:
        database.run_statement({"data_source": "nowhere", "sql": "SELECT 1", "params": {}, "mode": "rowcount"})
    assert caught.value.as_error() == {"type": "unknown_data_source", "message": "no data source is named 'nowhere'"}


@pytest.mark.parametrize("scheme", ["postgres", "mariadb"])
def test_a_database_that_is_not_there_is_a_connection_failure(db, scheme, settings):
    import socket

    settings.DATA_SOURCE_TIMEOUT = 3
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    DataSource.objects.create(name="shop", url=f"{scheme}://someone@127.0.0.1:{port}/shop")
    try:
        error = failure("SELECT 1")
    finally:
        database.close_pools()
    assert error.type == "connection_failed" and error.message.startswith("cannot ")


def test_more_rows_than_a_variable_should_hold_are_refused(source):
    if source != "sqlite":
        pytest.skip("one database is enough to show the cap")
    error = failure(f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i <= {database.MAX_ROWS}) "
                    "SELECT i FROM n", "all_rows")
    assert error.type == "too_many_rows"


# -------------------------------------------------------------------------------- pools


def test_connections_are_pooled_per_data_source_and_a_new_url_starts_a_new_pool(source, tmp_path):
    query("SELECT 1 AS one", "first_row")
    pool = database.pool_for("shop", DataSource.objects.get(name="shop").url)
    [link] = pool.idle
    query("SELECT 2 AS two", "first_row")
    assert list(pool.idle) == [link]  # the same connection, used again
    DataSource.objects.filter(name="shop").update(url=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    assert query("SELECT 3 AS three", "first_row") == {"three": 3}
    assert database.pool_for("shop", f"sqlite:///{tmp_path / 'other.sqlite3'}") is not pool
    assert not pool.idle  # the old pool's connections were closed


def test_a_data_source_waits_for_a_free_connection_no_longer_than_the_timeout(source, settings):
    settings.DATA_SOURCE_POOL_SIZE = 1
    database.close_pools()
    pool = database.pool_for("shop", DataSource.objects.get(name="shop").url)
    with pool.connection(1):
        started = time.monotonic()
        with pytest.raises(ExternalActionError) as caught, pool.connection(0.5):
            pass
    assert caught.value.type == "timeout" and "no free connection" in caught.value.message
    assert time.monotonic() - started < 2


# ------------------------------------------------------------------- in a process


def test_a_process_reads_rows_into_variables_and_handles_a_failure_with_on_error(source, api, directory,
                                                                                 django_capture_on_commit_callbacks):
    document = definition("Price Check", [
        {"action": "database", "data_source": "shop", "sql": "SELECT name, price FROM ipa_items WHERE id = %(id)s",
         "params": {"id": "item"}, "result": {"mode": "first_row", "into": "row"}},
        {"action": "database", "data_source": "shop", "sql": "SELECT id FROM ipa_items ORDER BY id",
         "result": {"mode": "all_rows", "into": "all"}},
        {"action": "assign", "variable": "price", "value": "decimal(row['price'])"},
        {"action": "database", "data_source": "shop", "sql": "UPDATE ipa_nothing SET x = 1",
         "on_error": [{"action": "assign", "variable": "failure", "value": "error['type']"}]},
    ], [{"name": "item", "type": "integer", "input": True}, {"name": "row", "type": "json"},
        {"name": "all", "type": "list"}, {"name": "price", "type": "decimal"}, {"name": "failure", "type": "string"}])
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document, {"item": 1})
    assert shown["status"] == "completed"
    assert shown["variables"] == {"item": 1, "row": {"name": "book", "price": money("12.50", source)},
                                  "all": [{"id": 1}, {"id": 2}, {"id": 3}], "price": money("12.50", source),
                                  "failure": "database_error"}
