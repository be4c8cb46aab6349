"""A production engine node killed with SIGKILL mid-burst loses no committed step and repeats none.

A real Celery worker (with its beat) runs against the test database and Redis while this
test launches instances and completes their work items over the API. Half-way, the node's
whole process group is killed with SIGKILL; a new node takes over. Afterwards every
instance must have completed, with each step recorded exactly once.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import launch, my_items

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = 40

pytestmark = [
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.EMBEDDED or connection.vendor != "postgresql",
        reason="needs a real Celery node: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)",
    ),
]

BURST = {
    "format": "ipa.process/v1",
    "name": "Burst",
    "variables": [{"name": "n", "type": "integer", "input": True}, {"name": "doubled", "type": "integer"},
                  {"name": "checked", "type": "boolean", "default": False}],
    "start_state": "Run",
    "states": [{"name": "Run", "actions": [
        {"action": "launch_process", "process": "Burst Child", "wait": True, "inputs": {"n": "n"},
         "outputs": {"doubled": "doubled"}},
        {"action": "wait", "duration": "PT0S"},
        {"action": "send_work_item", "work_item": "Check", "to": {"user": "{{ initiator }}"},
         "exits": {"ok": [{"action": "assign", "variable": "checked", "value": "true"}]}},
        {"action": "end_process"},
    ]}],
    "work_items": [{"name": "Check", "description": "Check {{ doubled }}", "fields": [],
                    "buttons": [{"id": "ok", "label": "OK"}]}],
}
BURST_CHILD = {
    "format": "ipa.process/v1",
    "name": "Burst Child",
    "variables": [{"name": "n", "type": "integer", "input": True}, {"name": "doubled", "type": "integer"}],
    "start_state": "Double",
    "states": [{"name": "Double", "actions": [
        {"action": "wait", "duration": "PT0S"},
        {"action": "assign", "variable": "doubled", "value": "n * 2"},
    ]}],
}


def start_node(tmp_path: Path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "ENGINE_SWEEP_SECONDS": "0.5",
        "ENGINE_STORAGE_ID": name,
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ipa_portal", "worker", "-B", "--pool=solo",
         "--loglevel=WARNING", "-n", f"{name}@%h", "-s", str(tmp_path / f"{name}-beat")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def kill_node(node: subprocess.Popen) -> None:
    os.killpg(node.pid, signal.SIGKILL)
    node.wait(timeout=30)


def complete_waiting_items(client) -> int:
    done = 0
    for item in my_items(client):
        if client.post(f"/api/workitems/{item['id']}/pickup").status_code != 200:
            continue
        response = client.post(f"/api/workitems/{item['id']}/complete", {"button": "ok"}, format="json")
        done += response.status_code == 200
    return done


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_node_killed_mid_burst_loses_no_committed_step_and_repeats_none(directory, api, tmp_path):
    from ipa_portal.celery import app
    from processes.models import HistoryEntry, PendingEvent, ProcessInstance
    from processes.services.definitions import import_definition

    import_definition(BURST_CHILD, publish=True)
    import_definition(BURST, publish=True)
    app.control.purge()
    admin = api("admin")
    node = start_node(tmp_path, "node-a")
    try:
        launched = []
        for n in range(INSTANCES):
            launched.append(launch(admin, "Burst", {"n": n})["id"])
            if n % 4 == 3:
                complete_waiting_items(admin)
            if n == INSTANCES // 2:
                os.killpg(node.pid, signal.SIGSTOP)  # the node stalls mid-burst, work piles up on it
            if n == INSTANCES // 2 + 8:
                in_flight = PendingEvent.objects.count()
                kill_node(node)  # whatever it had taken and not committed dies with it
                node = start_node(tmp_path, "node-b")

        def all_ended() -> bool:
            complete_waiting_items(admin)
            return not ProcessInstance.objects.filter(pk__in=launched).exclude(status="completed").exists()

        wait_until(all_ended, 120, "every instance to complete")
    finally:
        kill_node(node)

    assert in_flight > 0, "the node was killed with nothing in flight: the test proved nothing"
    parents = ProcessInstance.objects.filter(pk__in=launched)
    assert Counter(parents.values_list("status", flat=True)) == {"completed": INSTANCES}
    children = ProcessInstance.objects.filter(parent__in=launched)
    assert sorted(children.values_list("parent_id", flat=True)) == sorted(launched)  # one child each
    assert set(children.values_list("status", flat=True)) == {"completed"}
    for parent in parents:
        assert parent.execution["globals"]["doubled"] == parent.execution["globals"]["n"] * 2
        assert parent.execution["globals"]["checked"] is True
        steps = Counter(HistoryEntry.objects.filter(instance=parent).values_list("what", flat=True))
        for what in ("launched", "subprocess_launched", "subprocess_ended", "timer_fired",
                     "work_item_completed", "completed"):
            assert steps[what] == 1, f"{parent}: {what} recorded {steps[what]} times"
    for child in children:
        steps = Counter(HistoryEntry.objects.filter(instance=child).values_list("what", flat=True))
        assert steps["launched"] == 1 and steps["timer_fired"] == 1 and steps["completed"] == 1
    assert not PendingEvent.objects.filter(instance__in=[*launched, *children.values_list("pk", flat=True)])
