"""The attack suite: each hardening of issue #11 tried as an attacker would, one test each.

Guessing passwords, keeping a socket after logout, opening one from a foreign page, an
oversized body, JSON nested deep, a runaway loop, a self-launching fan-out and a
catastrophic pattern. Each is stopped by a bound, and the tests assert the bound (the
count it stops at, the engine it runs on), never a duration: the durations measured are
in docs/security.md.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from tests.api.test_bad_bodies import post_raw
from tests.conftest import launch
from tests.security.conftest import probe_process
from tests.security.test_logins import ask_token
from tests.workitems.conftest import agent, desk  # noqa: F401 (fixtures of the socket attacks)
from tests.workitems.test_websocket import open_socket, run
from tests.workitems.test_websocket_security import browser_of, close_code_after_messages, headers_of, portal_host  # noqa: F401

# --------------------------------------------------------------------------------- logins


@pytest.mark.django_db
def test_the_token_endpoint_locks_a_user_name_out_after_repeated_failures(directory, settings, caplog):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert ask_token("wrong").status_code == 400
    locked = ask_token("wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["detail"]
    assert "15 minutes" in locked.json()["detail"]
    assert locked["Retry-After"] == "900"
    # Even the right password is refused while the lockout lasts; another user is not affected.
    assert ask_token("bob-pass").status_code == 429
    assert ask_token("alice-pass", username="alice").status_code == 200
    assert any("login locked out" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_the_login_page_locks_out_with_a_clear_message(directory):
    browser = Client()
    for _ in range(4):
        assert browser.post("/accounts/login/", {"username": "bob", "password": "wrong"}).status_code == 200
    page = browser.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    assert page.status_code == 429
    assert "Too many failed logins" in page.content.decode()
    assert browser.post("/accounts/login/", {"username": "bob", "password": "bob-pass"}).status_code == 429


# -------------------------------------------------------------------------------- sockets


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("live_engine_node")
def test_logging_out_closes_the_sessions_socket_with_4401(agent):  # noqa: F811
    browser = browser_of(agent("ann"))
    headers = headers_of(browser, b"http://127.0.0.1:8000", b"127.0.0.1:8000")
    other = browser_of(agent("bob"))

    async def scenario():
        socket = await open_socket(headers=headers)
        assert (await socket.receive())["type"] == "snapshot"
        bobs = await open_socket(headers=headers_of(other, b"http://127.0.0.1:8000", b"127.0.0.1:8000"))
        assert (await bobs.receive())["type"] == "snapshot"
        await sync_to_async(browser.post)("/accounts/logout/")
        assert await close_code_after_messages(socket) == 4401
        assert await bobs.receive_nothing()  # another user's socket stays
        await bobs.close()

    run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("origin", "accepted"), [
    (b"http://portal.example.com", True),
    (b"https://portal.example.com", False),  # another scheme
    (b"http://portal.example.com:8080", False),  # another port
    (b"http://evil.example", False),  # another host, though ALLOWED_HOSTS is '*'
    (b"null", False),
])
def test_the_origin_must_be_this_site_in_scheme_host_and_port(agent, portal_host, origin, accepted):  # noqa: F811
    headers = headers_of(browser_of(agent("ann")), origin)

    async def scenario():
        socket = await open_socket(headers=headers)
        if accepted:
            assert (await socket.receive())["type"] == "snapshot"
            await socket.close()
        else:
            assert await socket.close_code() == 4401

    run(scenario)


# ------------------------------------------------------------------------------ bad bodies


@pytest.mark.django_db
def test_a_body_over_the_limit_is_refused_with_413_naming_the_limit(directory, api, settings):
    body = json.dumps({"inputs": {"employee": "dave", "amount": "1", "note": "x" * 5_000_000}})
    response = post_raw(api("dave"), "/api/processes/Expense Approval/launch", body)
    assert response.status_code == 413
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.content.decode()


@pytest.mark.django_db
def test_json_nested_two_thousand_levels_deep_is_refused_with_400(directory, api):
    body = '{"inputs": ' + "[" * 2000 + "]" * 2000 + "}"
    response = post_raw(api("dave"), "/api/processes/Expense Approval/launch", body)
    assert response.status_code == 400
    assert "nested more than 100 levels" in response.content.decode()


# ------------------------------------------------------------------------------- designers


def one_state(name: str, *actions, variables=()) -> dict:
    return probe_process(name=name, variables=list(variables), work_items=[], tasks=[], start_state="Only",
                         states=[{"name": "Only", "actions": list(actions)}])


def set_parameter(name: str, value: str) -> None:
    from administration.models import ServerParameter
    from administration.parameters import forget_parameters

    ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
    forget_parameters()


@pytest.mark.django_db
def test_a_loop_without_max_iterations_parks_the_instance_in_error_at_the_server_parameter(demo, publish, api):
    set_parameter("PAS_MaxLoopIterations", "40")
    publish(one_state("Runaway", {"action": "loop", "while": "true", "actions": [
        {"action": "assign", "variable": "i", "value": "i + 1"}]},
        variables=[{"name": "i", "type": "integer", "default": 0}]))
    instance = launch(api("admin"), "Runaway", {})
    detail = api("admin").get(f"/api/instances/{instance['id']}/").json()
    assert detail["status"] == "error"
    assert "PAS_MaxLoopIterations" in detail["error"]
    assert detail["variables"]["i"] == 40  # the iterations run: exactly the bound


@pytest.mark.django_db
def test_a_self_launching_fan_out_stops_at_the_launch_tree_bound(demo, publish, api, engine_runs):
    from processes.models import HistoryEntry, PendingEvent, ProcessInstance

    launch_one = {"action": "launch_process", "process": "Fan Out"}
    publish(one_state("Fan Out", launch_one, launch_one))  # two children per level, each the same
    launch(api("admin"), "Fan Out", {})
    engine_runs()
    # The default PAS_MaxInstancesPerLaunch (50) stops it, before the depth bound's 511.
    assert ProcessInstance.objects.count() == 50
    stopped = ProcessInstance.objects.filter(status="error")
    assert stopped.exists()
    assert all("PAS_MaxInstancesPerLaunch" in row.error for row in stopped)
    assert set(ProcessInstance.objects.exclude(status="error").values_list("status", flat=True)) == {"completed"}
    # Nothing half-written: every child is recorded by its parent and was started, no launch left pending.
    assert HistoryEntry.objects.filter(what="child_created").count() == 49
    assert not PendingEvent.objects.exists()


@pytest.mark.django_db
def test_a_catastrophic_pattern_runs_on_a_linear_time_engine(demo, publish, api):
    from processes.engine.patterns import PatternError, compile_pattern

    publish(one_state("Patterned", {"action": "end_process"},
                      variables=[{"name": "code", "type": "string", "input": True, "pattern": "(a+)+$"}]))
    response = api("admin").post("/api/processes/Patterned/launch", {"inputs": {"code": "a" * 5000 + "!"}},
                                 format="json")
    assert response.status_code == 400
    assert "code" in str(response.json())
    # The bound that makes it prompt: RE2, which never backtracks (so it refuses a backreference).
    assert type(compile_pattern("(a+)+$")).__module__.startswith("re2")
    with pytest.raises(PatternError):
        compile_pattern(r"(a)\1")
