"""An external action in flight when its process died cannot be known to have run: its instance
becomes restored_in_error and waits for a supervisor, whose retry runs the action again.

First the rules, against the database: which calls a takeover restores (those recorded
running on the dead node, whoever owns the instance), which it leaves alone (pending ones
never started), what a late answer does, and how the sweep finds calls of a dead process on
this node. Then the real thing: a Celery node (PostgreSQL and Redis) and the embedded
``serve`` (SQLite), each killed with SIGKILL while a slow handler runs.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from administration.models import User
from processes.external import recovery, runner
from processes.models import EngineNode, ExternalCall, HistoryEntry, PendingEvent, ProcessInstance
from processes.services import instances, nodes, runtime
from processes.services.definitions import import_definition
from tests.external.sample_handlers import PATHS
from tests.external.support import definition, handlers_registered, runs_here  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]

SLOW = definition("Slow Lookup", [
    {"action": "run_handler", "handler": "sleepy", "inputs": {"seconds": "30", "wake_file": "wake_file"},
     "timeout": 120, "outputs": {"slept": "result.slept"}},
], [{"name": "wake_file", "type": "string", "input": True}, {"name": "slept", "type": "decimal"}])

TWO_AT_ONCE = definition("Two At Once", [
    {"action": "parallel", "branches": [
        [{"action": "run_handler", "handler": "customer", "inputs": {"id": "'a'"}, "outputs": {"a": "result.items.0"}}],
        [{"action": "run_handler", "handler": "customer", "inputs": {"id": "'b'"}, "outputs": {"b": "result.items.1"}}],
    ]},
], [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}])


@pytest.fixture
def admin(directory, request):
    request.getfixturevalue("handlers_registered")
    return User.objects.get(username="admin")


def node(storage_id: str, *, age: float = 0) -> None:
    nodes.register_node(storage_id)
    EngineNode.objects.filter(storage_id=storage_id).update(heartbeat_at=timezone.now() - timedelta(seconds=age))
    nodes.forget_nodes()


def started_on(capture, admin, document: dict, owner: str, inputs: dict | None = None) -> ProcessInstance:
    """An instance of ``document`` owned by ``owner``, its calls recorded and not handed out yet."""
    import_definition(document, publish=True)
    with capture():
        instance = instances.launch_process(admin, document["name"], inputs or {})
    ProcessInstance.objects.filter(pk=instance.pk).update(owner=owner)
    return instance


def running_on(call: ExternalCall, storage_id: str, worker: str = "elsewhere 1 x") -> None:
    ExternalCall.objects.filter(pk=call.pk).update(status="running", node=storage_id, worker=worker,
                                                   started_at=timezone.now())


# ------------------------------------------------------------------------------ the rules


@pytest.mark.django_db
def test_a_takeover_restores_the_calls_that_were_running_on_the_dead_node_whoever_owns_the_instance(
        admin, django_capture_on_commit_callbacks):
    node("dead", age=60)
    node("n2")
    import_definition(definition("Pending", [{"action": "run_handler", "handler": "customer",
                                             "inputs": {"id": "'p'"}}]), publish=True)
    elsewhere = started_on(django_capture_on_commit_callbacks, admin, SLOW, owner="n2")  # owned by a live node ...
    running_on(ExternalCall.objects.get(instance=elsewhere), "dead")  # ... its call ran on the dead one
    with django_capture_on_commit_callbacks():
        pending = instances.launch_process(admin, "Pending", {})
    ProcessInstance.objects.filter(pk=pending.pk).update(owner="dead")  # never started: safe to run later
    [handover] = nodes.take_over_dead_nodes()
    assert handover.restored_in_error == [elsewhere.pk]
    elsewhere.refresh_from_db()
    assert (elsewhere.status, elsewhere.owner) == ("restored_in_error", "n2")
    assert elsewhere.error.startswith("Engine node dead stopped responding while run_handler sleepy was running")
    call = ExternalCall.objects.get(instance=elsewhere)
    assert (call.status, call.params) == ("lost", {})
    pending.refresh_from_db()
    assert (pending.status, pending.owner) == ("waiting", "n2")
    assert ExternalCall.objects.get(instance=pending).status == "pending"


@pytest.mark.django_db
@pytest.mark.usefixtures("runs_here")
def test_a_late_answer_to_a_lost_call_is_recorded_and_a_retry_runs_the_action_again(
        admin, api, tmp_path, django_capture_on_commit_callbacks):
    node("dead", age=60)
    node("n2")
    wake = tmp_path / "wake"
    instance = started_on(django_capture_on_commit_callbacks, admin, SLOW, "dead", {"wake_file": str(wake)})
    lost = runner.claim_call(ExternalCall.objects.get(instance=instance).pk)  # a runner on "dead" took it
    ExternalCall.objects.filter(pk=lost.pk).update(node="dead")
    nodes.take_over_dead_nodes()
    assert runner.record_outcome(lost, {"slept": "30"}, None) is None  # it answered after all, too late
    late = HistoryEntry.objects.get(instance=instance, what="external_late")
    assert late.detail == "run_handler sleepy w1 succeeded after it was lost"
    assert not PendingEvent.objects.filter(instance=instance).exists()
    instance.refresh_from_db()
    assert instance.status == "restored_in_error"
    wake.touch()
    with django_capture_on_commit_callbacks(execute=True):
        assert api("sam").post(f"/api/instances/{instance.pk}/retry").status_code == 200
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert list(ExternalCall.objects.filter(instance=instance).values_list("token", "status")) == [
        ("w1", "lost"), ("w2", "finished")]


@pytest.mark.django_db
@pytest.mark.usefixtures("runs_here")
def test_restoring_one_call_cancels_the_instance_s_calls_not_started_and_retry_runs_them_all(
        admin, api, django_capture_on_commit_callbacks):
    node("dead", age=60)
    node("n2")
    instance = started_on(django_capture_on_commit_callbacks, admin, TWO_AT_ONCE, owner="dead")
    first, second = ExternalCall.objects.filter(instance=instance).order_by("token")
    running_on(first, "dead")
    nodes.take_over_dead_nodes()
    assert list(ExternalCall.objects.filter(instance=instance).values_list("status", flat=True)) == [
        "lost", "cancelled"]  # retry starts both again: the second must not run twice
    assert runner.claim_call(second.pk) is None
    with django_capture_on_commit_callbacks(execute=True):
        api("sam").post(f"/api/instances/{instance.pk}/retry")
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert (instance.execution["globals"]["a"], instance.execution["globals"]["b"]) == ("book", "pen")
    assert ExternalCall.objects.filter(instance=instance, status="finished").count() == 2


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.django_db
def test_calls_running_in_a_process_of_this_node_that_is_gone_are_restored_by_the_sweep(
        admin, engine_runs, django_capture_on_commit_callbacks):
    host, me = socket.gethostname(), runtime.node_storage_id()
    gone = started_on(django_capture_on_commit_callbacks, admin, SLOW, owner=me)
    running_on(ExternalCall.objects.get(instance=gone), me, f"{host} {dead_pid()} 1a2b")
    alive = started_on(django_capture_on_commit_callbacks, admin, definition("Other", SLOW["states"][0]["actions"],
                                                                             SLOW["variables"]), owner=me)
    running_on(ExternalCall.objects.get(instance=alive), me, f"{host} {os.getppid()} 3c4d")  # our parent runs
    engine_runs()
    gone.refresh_from_db()
    assert gone.status == "restored_in_error" and f"on {host} ended while run_handler sleepy" in gone.error
    alive.refresh_from_db()
    assert alive.status == "waiting"
    assert ExternalCall.objects.get(instance=alive).status == "running"


@pytest.mark.django_db
def test_a_call_recorded_by_an_earlier_process_with_this_process_s_pid_is_from_a_dead_process(
        admin, django_capture_on_commit_callbacks):
    host = socket.gethostname()
    instance = started_on(django_capture_on_commit_callbacks, admin, SLOW, owner=runtime.node_storage_id())
    running_on(ExternalCall.objects.get(instance=instance), runtime.node_storage_id(), f"{host} {os.getpid()} old")
    assert recovery.restore_calls_of_gone_processes() == [instance.pk]  # a restarted container gets pid 1 again


# ------------------------------------------------------------------- killed for real


def wait_until(condition, seconds: float, what: str, process: subprocess.Popen | None = None, log: Path = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process died waiting for {what}:\n{log.read_text() if log else ''}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f":\n{log.read_text()[-3000:]}" if log else ""))


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def status(instance_id: int) -> str:
    return ProcessInstance.objects.get(pk=instance_id).status


def call_status(instance_id: int) -> list[tuple[str, str, str]]:
    return list(ExternalCall.objects.filter(instance_id=instance_id).order_by("token")
                .values_list("token", "status", "node"))


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    output = open(log, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "IPA_HANDLERS": ",".join(PATHS), **env},
                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def postgres_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def celery_node(tmp_path: Path, name: str) -> subprocess.Popen:
    return start([sys.executable, "-m", "celery", "-A", "ipa_portal", "worker", "-B", "--pool=solo",
                  "--loglevel=WARNING", "-n", f"{name}@%h", "-s", str(tmp_path / f"{name}-beat")],
                 {"DATABASE_URL": postgres_url(), "ENGINE_STORAGE_ID": name, "ENGINE_NODE_TIMEOUT": "3",
                  "ENGINE_SWEEP_SECONDS": "0.5"}, tmp_path / f"{name}.log")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(settings.EMBEDDED or connection.vendor != "postgresql",
                    reason="needs a real Celery node: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
def test_a_celery_node_killed_while_a_handler_runs_leaves_the_instance_restored_in_error_and_retry_completes_it(
        admin, api, tmp_path):
    from ipa_portal.celery import app

    import_definition(SLOW, publish=True)
    app.control.purge()
    wake = tmp_path / "wake"
    node_a = celery_node(tmp_path, "node-a")
    node_b = None
    try:
        wait_until(lambda: EngineNode.objects.filter(storage_id="node-a").exists(), 60, "node-a to register",
                   node_a, tmp_path / "node-a.log")
        launched = api("admin").post("/api/processes/Slow%20Lookup/launch",
                                     {"inputs": {"wake_file": str(wake)}}, format="json").json()
        instance_id = launched["id"]
        wait_until(lambda: call_status(instance_id) == [("w1", "running", "node-a")], 60,
                   "node-a to start the handler", node_a, tmp_path / "node-a.log")
        kill(node_a)  # SIGKILL, mid-handler: nobody can tell how far it got
        node_b = celery_node(tmp_path, "node-b")
        wait_until(lambda: status(instance_id) == "restored_in_error", 60, "node-b to take over",
                   node_b, tmp_path / "node-b.log")
        instance = ProcessInstance.objects.get(pk=instance_id)
        assert instance.error.startswith("Engine node node-a stopped responding while run_handler sleepy was running")
        assert call_status(instance_id) == [("w1", "lost", "node-a")]
        wake.touch()  # the handler is quick now
        assert api("sam").post(f"/api/instances/{instance_id}/retry").status_code == 200
        wait_until(lambda: status(instance_id) == "completed", 60, "the retried handler on node-b",
                   node_b, tmp_path / "node-b.log")
    finally:
        kill(node_a)
        if node_b is not None:
            kill(node_b)
    assert call_status(instance_id) == [("w1", "lost", "node-a"), ("w2", "finished", "node-b")]
    assert float(ProcessInstance.objects.get(pk=instance_id).execution["globals"]["slept"]) < 5
    whats = list(HistoryEntry.objects.filter(instance_id=instance_id).values_list("what", flat=True))
    assert whats.count("restored_in_error") == 1 and whats.count("retried") == 1 and whats[-1] == "completed"


def serve(tmp_path: Path, port: int, name: str) -> subprocess.Popen:
    return start([sys.executable, "manage.py", "serve", "--no-demo", "--port", str(port)],
                 {"DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}", "REDIS_URL": "",
                  "ENGINE_STORAGE_ID": "embedded-crash-test", "ENGINE_SWEEP_SECONDS": "0.3"}, tmp_path / f"{name}.log")


def answering(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 401
    except requests.ConnectionError:
        return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.EMBEDDED or connection.vendor != "sqlite", reason="the embedded default: SQLite")
def test_the_embedded_serve_killed_while_a_handler_runs_restores_the_instance_in_error_when_it_starts_again(
        admin, tmp_path):
    from rest_framework.authtoken.models import Token

    import_definition(SLOW, publish=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}/api"
    tokens = {name: Token.objects.get_or_create(user=User.objects.get(username=name))[0].key
              for name in ("admin", "sam")}
    wake = tmp_path / "wake"
    first = serve(tmp_path, port, "serve-1")
    second = None
    try:
        wait_until(lambda: answering(f"{base}/me/"), 60, "serve to answer", first, tmp_path / "serve-1.log")
        launched = requests.post(f"{base}/processes/Slow%20Lookup/launch", json={"inputs": {"wake_file": str(wake)}},
                                 headers={"Authorization": f"Token {tokens['admin']}"}, timeout=10)
        assert launched.status_code == 201 and launched.json()["waiting_on"] == "external"  # the request did not wait
        instance_id = launched.json()["id"]
        wait_until(lambda: call_status(instance_id) == [("w1", "running", "embedded-crash-test")], 30,
                   "the handler to start", first, tmp_path / "serve-1.log")
        kill(first)
        second = serve(tmp_path, port, "serve-2")
        wait_until(lambda: status(instance_id) == "restored_in_error", 60, "the restart to restore the call",
                   second, tmp_path / "serve-2.log")
        assert f"Engine process {first.pid} on {socket.gethostname()} ended while run_handler sleepy was running" \
            in ProcessInstance.objects.get(pk=instance_id).error
        wake.touch()
        wait_until(lambda: answering(f"{base}/me/"), 60, "serve to answer again", second, tmp_path / "serve-2.log")
        retried = requests.post(f"{base}/instances/{instance_id}/retry",
                                headers={"Authorization": f"Token {tokens['sam']}"}, timeout=10)
        assert retried.status_code == 200, retried.text
        wait_until(lambda: status(instance_id) == "completed", 30, "the retried handler", second,
                   tmp_path / "serve-2.log")
    finally:
        kill(first)
        if second is not None:
            kill(second)
    assert [(token, state) for token, state, _ in call_status(instance_id)] == [("w1", "lost"), ("w2", "finished")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
