"""The management commands, run as an administrator would run them."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import DEMO

PROJECT = DEMO.parent
DIRECTORY = DEMO / "directory.json"
CREDIT_CHECK = DEMO / "processes" / "credit_check.json"


def run(command: str, *args: str) -> tuple[str, str]:
    """Run a management command; returns what it printed (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fails(command: str, *args: str) -> str:
    """Run a command that must fail; returns what it printed on stderr and the final message."""
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(command, *args, stdout=io.StringIO(), stderr=err)
    return f"{err.getvalue()}\n{failure.value}"


def write_json(path: Path, document: dict) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def directory_document(**parts) -> dict:
    return {"format": "ipa.directory/v1", **parts}


def user(username: str, **fields) -> dict:
    return {"username": username, "password": f"{username}-pass", **fields}


# ------------------------------------------------------------------------ import_process


@pytest.mark.django_db
def test_import_process_imports_a_draft_and_prints_its_name_and_version():
    from processes.models import ProcessDefinition

    out, _ = run("import_process", str(CREDIT_CHECK))
    assert "Credit Check version 1" in out
    assert "draft" in out
    assert not ProcessDefinition.objects.get(name="Credit Check").published


@pytest.mark.django_db
def test_import_process_with_publish_makes_the_new_version_launchable():
    from processes.models import ProcessDefinition

    run("import_process", str(CREDIT_CHECK))
    out, _ = run("import_process", str(CREDIT_CHECK), "--publish")
    assert "Credit Check version 2 (published)" in out
    published = ProcessDefinition.objects.filter(name="Credit Check", published=True)
    assert [d.version for d in published] == [2]


@pytest.mark.django_db
def test_import_process_lists_every_error_with_its_path_and_imports_nothing(tmp_path):
    from processes.models import ProcessDefinition

    broken = write_json(tmp_path / "broken.json", {
        "format": "ipa.process/v1", "name": "Broken",
        "variables": [{"name": "amount", "type": "money"}],
        "start_state": "Nowhere",
        "states": [{"name": "First", "actions": [
            {"action": "send_work_item", "work_item": "Missing", "to": {"user": "bob"}, "exits": {}}]}],
    })
    printed = fails("import_process", broken)
    assert "variables[0].type" in printed and "money" in printed
    assert "start_state" in printed and "Nowhere" in printed
    assert "states[0].actions[0].work_item" in printed and "Missing" in printed
    assert "3 error(s)" in printed
    assert not ProcessDefinition.objects.filter(name="Broken").exists()


@pytest.mark.django_db
def test_import_process_reports_a_file_that_is_not_json_or_yaml(tmp_path):
    garbled = tmp_path / "garbled.json"
    garbled.write_text('{"format": "ipa.process/v1", "name": ')
    assert "not valid JSON" in fails("import_process", str(garbled))


@pytest.mark.django_db
def test_import_process_reports_a_missing_file(tmp_path):
    assert "cannot read" in fails("import_process", str(tmp_path / "absent.json"))


@pytest.mark.django_db
def test_import_process_reads_yaml(tmp_path):
    from processes.models import ProcessDefinition

    path = tmp_path / "credit_check.yaml"
    path.write_text(yaml.safe_dump(json.loads(CREDIT_CHECK.read_text())))
    out, _ = run("import_process", str(path), "--publish")
    assert "Credit Check version 1 (published)" in out
    assert ProcessDefinition.objects.get(name="Credit Check").document["start_state"] == "Scoring"


# ---------------------------------------------------------------------- import_directory


def directory_counts() -> dict[str, int]:
    from administration import models

    tables = [models.User, models.Workgroup, models.Role, models.Skill, models.UserSkill, models.LicenseAllocation,
              models.SecuritySpecification, models.ServerParameter, models.DataSource]
    return {table.__name__: table.objects.count() for table in tables}


def password_works(username: str, password: str) -> bool:
    from administration.models import User

    return User.objects.get(username=username).check_password(password)


@pytest.mark.django_db
def test_import_directory_imports_the_demo_directory():
    from administration.models import User

    out, _ = run("import_directory", str(DIRECTORY))
    assert "6 users, 3 workgroups, 1 roles" in out
    alice = User.objects.get(username="alice")
    assert alice.license == "group_routed"
    assert [g.name for g in alice.workgroups.all()] == ["Underwriters"]
    assert password_works("alice", "alice-pass")
    assert User.objects.get(username="admin").is_admin


@pytest.mark.django_db
def test_import_directory_twice_changes_nothing():
    from administration.models import User

    first, _ = run("import_directory", str(DIRECTORY))
    counts = directory_counts()
    password_hash = User.objects.get(username="bob").password
    second, _ = run("import_directory", str(DIRECTORY))
    assert second == first
    assert directory_counts() == counts
    assert User.objects.get(username="bob").password == password_hash
    assert password_works("bob", "bob-pass")
    assert password_works("carol", "carol-pass")


@pytest.mark.django_db
def test_a_directory_naming_an_unknown_workgroup_is_refused_as_a_whole(tmp_path):
    from administration.models import User, Workgroup

    path = write_json(tmp_path / "directory.json", directory_document(
        licenses={"group_routed": 5},
        workgroups=[{"name": "Ops", "rights": ["launch"]}],
        users=[user("erin", license="group_routed", workgroups=["Ops"]),
               user("finn", license="group_routed", workgroups=["Ops", "Night Shift"])],
    ))
    printed = fails("import_directory", path)
    assert "users[1].workgroups[1]" in printed and "Night Shift" in printed
    assert "nothing was imported" in printed
    assert not User.objects.filter(username__in=["erin", "finn"]).exists()
    assert not Workgroup.objects.filter(name="Ops").exists()


@pytest.mark.django_db
def test_more_users_on_a_license_than_seats_is_refused_as_a_whole(tmp_path):
    from administration.models import LicenseAllocation, User, Workgroup

    run("import_directory", str(DIRECTORY))
    before = directory_counts()
    path = write_json(tmp_path / "directory.json", directory_document(
        licenses={"process_designer": 1, "direct_routed": 100},
        workgroups=[{"name": "Design", "rights": []}],
        users=[user("gina", license="direct_routed"), user("hugo", license="process_designer")],
    ))
    printed = fails("import_directory", path)
    assert "licenses.process_designer" in printed
    assert "2 users" in printed and "1 seats" in printed
    assert directory_counts() == before
    assert not User.objects.filter(username__in=["gina", "hugo"]).exists()
    assert not Workgroup.objects.filter(name="Design").exists()
    assert LicenseAllocation.objects.get(license="process_designer").seats == 5


@pytest.mark.django_db
@pytest.mark.parametrize(("document", "path"), [
    (directory_document(licenses={"gold": 3}), "licenses.gold"),
    (directory_document(users=[user("erin", license="platinum")]), "users[0].license"),
    (directory_document(users=[user("erin", rights=["launch", "fly"])]), "users[0].rights"),
    (directory_document(workgroups=[{"name": "Ops", "rights": ["admin"]}]), "workgroups[0].rights"),
    (directory_document(roles=[{"name": "Boss", "rights": "manage"}]), "roles[0].rights"),
    (directory_document(data_sources=[{"name": "crm", "url": "http://crm.example.com/db"}]),
     "data_sources[0].url"),
    (directory_document(security_specifications=[{"name": "HR", "users": ["nobody"]}]),
     "security_specifications[0].users[0]"),
    (directory_document(skills="auto"), "skills"),
    (directory_document(skills=[{"name": "auto"}]), "skills"),
    (directory_document(users=[user("erin", workgroups=[{"name": "Ops"}])]), "users[0].workgroups[0]"),
], ids=["unknown license seats", "unknown user license", "user rights", "workgroup rights", "role rights",
        "data source url", "specification user", "skills not a list", "skills not names",
        "workgroup not a name"])
def test_a_bad_directory_entry_is_named_by_its_path(tmp_path, document, path):
    from administration.models import User

    printed = fails("import_directory", write_json(tmp_path / "directory.json", document))
    assert f": {path}: " in printed
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.django_db
def test_a_data_source_url_that_is_not_text_is_reported_once(tmp_path):
    document = directory_document(data_sources=[{"name": "crm", "url": 5}])
    printed = fails("import_directory", write_json(tmp_path / "directory.json", document))
    assert printed.count("data_sources[0].url") == 1
    assert "1 error(s)" in printed


@pytest.mark.django_db
def test_a_good_data_source_url_is_not_blamed_for_a_missing_name(tmp_path):
    document = directory_document(data_sources=[{"url": "postgres://reader@db.example.com/crm"}])
    printed = fails("import_directory", write_json(tmp_path / "directory.json", document))
    assert "data_sources[0].name" in printed
    assert "data_sources[0].url" not in printed


@pytest.mark.django_db
def test_import_directory_reads_yaml(tmp_path):
    from administration.models import User

    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(directory_document(
        licenses={"direct_routed": 2}, users=[user("erin", license="direct_routed")])))
    out, _ = run("import_directory", str(path))
    assert "1 users" in out
    assert password_works("erin", "erin-pass")
    assert User.objects.get(username="erin").license == "direct_routed"


# --------------------------------------------------------------------------------- serve
# These start the real server in a subprocess with a database file of its own, so they
# use no database of pytest-django's.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve(tmp_path):
    """``serve(*options)``: starts ``manage.py serve`` on a fresh SQLite file; returns (base URL, output)."""
    started: list[subprocess.Popen] = []

    def start(*options: str) -> tuple[str, Callable[[], str]]:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": ""}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        log = tmp_path / "serve.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(port), *options],
                cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT,
            )
        started.append(process)
        deadline = time.monotonic() + 40
        while True:
            assert process.poll() is None, f"serve exited early:\n{log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"serve did not listen within 40 s:\n{log.read_text()}"
                time.sleep(0.2)
        return f"http://127.0.0.1:{port}", log.read_text

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_serve_without_the_demo_answers_on_its_port_and_prints_the_url(serve):
    base, output = serve("--no-demo")
    status, schema = http("GET", f"{base}/api/schema/process.json")
    assert status == 200
    assert schema["properties"]["format"]
    assert http("GET", f"{base}/api/me/")[0] == 401
    assert f"{base}/" in output()
    assert "alice-pass" not in output()
    assert http("POST", f"{base}/api/auth/token", {"username": "alice", "password": "alice-pass"})[0] == 400


def test_serve_with_the_demo_lists_the_logins_that_work(serve):
    base, output = serve()
    printed = output()
    assert f"{base}/" in printed
    assert "41046" not in printed  # a first start migrates: no error that no longer holds
    for username, password in [("admin", "admin-pass"), ("alice", "alice-pass"), ("bob", "bob-pass"),
                               ("carol", "carol-pass"), ("dave", "dave-pass"), ("sam", "sam-pass")]:
        assert username in printed and password in printed
    status, body = http("POST", f"{base}/api/auth/token", {"username": "alice", "password": "alice-pass"})
    assert status == 200, body
    status, me = http("GET", f"{base}/api/me/", token=body["token"])
    assert status == 200
    assert me["username"] == "alice"
    status, processes = http("GET", f"{base}/api/processes/", token=body["token"])
    assert {p["name"] for p in processes["results"]} == {"Expense Approval", "Car Loan", "Credit Check",
                                                         "Web Service Demo", "Customer Onboarding"}


def test_serve_refuses_several_workers_on_the_embedded_default(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "manage.py", "serve", "--workers", "2", "--no-demo"], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "--workers needs the production stack" in done.stderr


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


@pytest.mark.skipif(not os.environ.get("REDIS_URL") or "postgres" not in os.environ.get("DATABASE_URL", ""),
                    reason="several Daphne workers need the production stack: PostgreSQL and Redis")
def test_serve_with_two_workers_answers_from_two_daphne_processes_on_one_port(tmp_path):
    import psycopg2

    database = f"ipa_serve_{os.getpid()}"
    admin = psycopg2.connect(os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    port = free_port()
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{database}",
           "DEBUG": "false", "SECRET_KEY": "test-only-secret-key-for-two-workers"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--no-demo",
                                   "--workers", "2"], cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"serve exited early:\n{log.read_text()}"
            try:
                if http("GET", f"http://127.0.0.1:{port}/api/schema/process.json")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"serve did not answer within 60 s:\n{log.read_text()}"
            time.sleep(0.3)
        assert len(children_of(server.pid)) == 2
        assert all(http("GET", f"http://127.0.0.1:{port}/api/schema/process.json")[0] == 200 for _ in range(20))
        assert "2 Daphne processes share the port" in log.read_text()
        server.terminate()
        assert server.wait(timeout=30) is not None
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
