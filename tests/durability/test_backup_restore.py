"""A ``pg_dump`` taken under load, restored into a fresh database: the instances carry on there.

A Celery node runs chains of subprocesses against the test database; mid-way the database
is dumped with ``pg_dump`` (as docs/operations.md says), restored with ``pg_restore`` into a
new database, and a new node is started on that one. The node of the dump is in the past
there: the new node takes it over, and every instance of the dump completes, each link once.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from contextlib import closing

import pytest
from django.conf import settings
from django.db import connection

from tests.external.test_crash_recovery import celery_node, kill, start, wait_until

LINKS = 6
LINK = {"format": "ipa.process/v1", "name": "Link", "start_state": "Main",
        "variables": [{"name": "n", "type": "integer", "input": True}],
        "states": [{"name": "Main", "actions": [{"action": "wait", "duration": "PT0S"}]}]}
CHAIN = {"format": "ipa.process/v1", "name": "Chain", "start_state": "Main",
         "variables": [{"name": "i", "type": "integer", "default": 0}],
         "states": [{"name": "Main", "actions": [
             {"action": "loop", "while": f"i < {LINKS}", "actions": [
                 {"action": "launch_process", "process": "Link", "inputs": {"n": "i"}, "wait": True},
                 {"action": "assign", "variable": "i", "value": "i + 1"}]},
             {"action": "end_process"}]}]}

pytestmark = [
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.EMBEDDED or connection.vendor != "postgresql",
                       reason="needs a real Celery node: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"),
]


def server_options() -> list[str]:
    db = connection.settings_dict
    return ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]


def psql(database: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg2

    db = connection.settings_dict
    with closing(psycopg2.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                                  dbname=database)) as restored, restored.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else []
        restored.commit()
        return rows


def test_a_dump_taken_under_load_restores_into_a_fresh_database_and_its_instances_carry_on(directory, tmp_path):
    from administration.models import User
    from ipa_portal.celery import app
    from processes.models import ProcessInstance
    from processes.services import instances
    from processes.services.definitions import import_definition

    import_definition(LINK, publish=True)
    import_definition(CHAIN, publish=True)
    app.control.purge()
    admin = User.objects.get(username="admin")
    source, restored = connection.settings_dict["NAME"], f"{connection.settings_dict['NAME']}_restored"
    dump = tmp_path / "ipa.dump"
    node = celery_node(tmp_path, "node-a")
    again = None
    try:
        for _ in range(12):
            instances.launch_process(admin, "Chain", {})
        wait_until(lambda: ProcessInstance.objects.filter(process_name="Link", status="completed").count() >= 6, 90,
                   "the chains to get going", node, tmp_path / "node-a.log")
        subprocess.run(["pg_dump", *server_options(), "--format=custom", f"--file={dump}", source], check=True)
        kill(node)  # the installation is lost; only the dump is left
        subprocess.run(["dropdb", *server_options(), "--if-exists", restored], check=True)
        subprocess.run(["createdb", *server_options(), restored], check=True)
        subprocess.run(["pg_restore", *server_options(), "--no-owner", f"--dbname={restored}", str(dump)], check=True)
        open_at_dump = psql(restored, "SELECT count(*) FROM processes_processinstance WHERE process_name = 'Chain' "
                                      "AND status <> 'completed'")[0][0]
        assert open_at_dump > 0, "every chain had ended before the dump: the test proved nothing"
        url = celery_node_url(restored)
        again = start(celery_node_command(tmp_path, "node-r"), {"DATABASE_URL": url, "ENGINE_STORAGE_ID": "node-r",
                                                                 "ENGINE_NODE_TIMEOUT": "3",
                                                                 "ENGINE_SWEEP_SECONDS": "0.5"},
                      tmp_path / "node-r.log")
        wait_until(lambda: psql(restored, "SELECT count(*) FROM processes_processinstance WHERE "
                                          "status <> 'completed'")[0][0] == 0,
                   180, "every instance of the dump to complete", again, tmp_path / "node-r.log")
    finally:
        kill(node)
        if again is not None:
            kill(again)
    chains = psql(restored, "SELECT id FROM processes_processinstance WHERE process_name = 'Chain'")
    assert len(chains) == 12
    for (chain,) in chains:
        steps = Counter(dict(psql(restored, "SELECT what, count(*) FROM processes_historyentry WHERE instance_id = %s "
                                            "GROUP BY what", (chain,))))
        assert steps["subprocess_ended"] == LINKS and steps["completed"] == 1, (chain, steps)
        links = psql(restored, "SELECT status, count(*) FROM processes_processinstance WHERE parent_id = %s "
                               "GROUP BY status", (chain,))
        assert links == [("completed", LINKS)], (chain, links)
    assert psql(restored, "SELECT taken_over_by FROM processes_enginenode WHERE storage_id = 'node-a'") == [("node-r",)]
    time.sleep(0.5)
    subprocess.run(["dropdb", *server_options(), "--if-exists", "--force", restored], check=False)


def celery_node_url(database: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


def celery_node_command(tmp_path, name: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "celery", "-A", "ipa_portal", "worker", "-B", "--pool=solo", "--loglevel=WARNING",
            "-n", f"{name}@%h", "-s", str(tmp_path / f"{name}-beat")]
