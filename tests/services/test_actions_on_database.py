"""Each control-flow action run by the durable runtime on the real database."""

from datetime import timedelta

import pytest

from administration.models import User
from processes.models import PendingEvent
from processes.services import instances
from processes.services.definitions import import_definition
from tests.conftest import complete, my_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(directory):
    return User.objects.get(username="admin")


def launch(admin, document: dict, inputs: dict | None = None):
    import_definition({"format": "ipa.process/v1", "start_state": "Main", **document}, publish=True)
    instance = instances.launch_process(admin, document["name"], inputs or {})
    instance.refresh_from_db()
    return instance


def globals_of(instance) -> dict:
    instance.refresh_from_db()
    return instance.execution["globals"]


def test_assign_and_decision(admin):
    instance = launch(admin, {"name": "Grade", "variables": [
        {"name": "score", "type": "integer", "input": True}, {"name": "grade", "type": "string"}],
        "states": [{"name": "Main", "actions": [{"action": "decision", "branches": [
            {"when": "score >= 90", "actions": [{"action": "assign", "variable": "grade", "value": "\"A\""}]},
            {"when": "score >= 50", "actions": [{"action": "assign", "variable": "grade", "value": "\"B\""}]}],
            "otherwise": [{"action": "assign", "variable": "grade", "value": "\"F\""}]}]}]}, {"score": 70})
    assert instance.status == "completed"
    assert globals_of(instance)["grade"] == "B"


def test_loop_with_max_iterations_and_for_each(admin):
    instance = launch(admin, {"name": "Loops", "variables": [
        {"name": "i", "type": "integer", "default": 0}, {"name": "total", "type": "decimal", "default": "0"},
        {"name": "prices", "type": "list", "input": True}, {"name": "price", "type": "decimal"},
        {"name": "spins", "type": "integer", "default": 0}],
        "states": [{"name": "Main", "actions": [
            {"action": "loop", "while": "i < 3", "actions": [
                {"action": "assign", "variable": "i", "value": "i + 1"}]},
            {"action": "for_each", "collection": "prices", "item": "price", "actions": [
                {"action": "assign", "variable": "total", "value": "total + price"}]},
            {"action": "loop", "while": "true", "max_iterations": 5, "actions": [
                {"action": "assign", "variable": "spins", "value": "spins + 1"}]}]}]},
        {"prices": ["0.10", "0.20", "1.05"]})
    values = globals_of(instance)
    assert instance.status == "completed"
    assert (values["i"], values["total"], values["spins"]) == (3, "1.35", 5)


def test_call_task_with_inputs_outputs_and_recursion(admin):
    instance = launch(admin, {"name": "Factorial", "variables": [
        {"name": "n", "type": "integer", "input": True}, {"name": "result", "type": "integer"}],
        "states": [{"name": "Main", "actions": [
            {"action": "call_task", "task": "Fact", "inputs": {"k": "n"}, "outputs": {"result": "out"}}]}],
        "tasks": [{"name": "Fact", "variables": [{"name": "k", "type": "integer"}, {"name": "out", "type": "integer"},
                                                 {"name": "sub", "type": "integer"}],
                   "inputs": ["k"], "outputs": ["out"], "actions": [
            {"action": "decision", "branches": [{"when": "k <= 1", "actions": [
                {"action": "assign", "variable": "out", "value": "1"}]}], "otherwise": [
                {"action": "call_task", "task": "Fact", "inputs": {"k": "k - 1"}, "outputs": {"sub": "out"}},
                {"action": "assign", "variable": "out", "value": "k * sub"}]}]}]}, {"n": 5})
    assert globals_of(instance)["result"] == 120


def test_change_state_with_inputs_and_end_process(admin):
    instance = launch(admin, {"name": "States", "variables": [{"name": "seen", "type": "string"}],
        "states": [
            {"name": "Main", "actions": [{"action": "change_state", "state": "Next", "inputs": {"note": "\"hi\""}},
                                         {"action": "assign", "variable": "seen", "value": "\"never\""}]},
            {"name": "Next", "variables": [{"name": "note", "type": "string"}], "inputs": ["note"], "actions": [
                {"action": "assign", "variable": "seen", "value": "note"}, {"action": "end_process"},
                {"action": "assign", "variable": "seen", "value": "\"never\""}]}]})
    assert instance.status == "completed"
    assert globals_of(instance)["seen"] == "hi"
    assert instance.current_state == ""


def test_parallel_work_items_join_before_going_on(admin, api):
    instance = launch(admin, {"name": "Two Signatures", "variables": [{"name": "signed", "type": "integer",
                                                                       "default": 0}],
        "states": [{"name": "Main", "actions": [{"action": "parallel", "branches": [
            [{"action": "send_work_item", "work_item": "Sign", "to": {"user": "alice"},
              "exits": {"ok": [{"action": "assign", "variable": "signed", "value": "signed + 1"}]}}],
            [{"action": "send_work_item", "work_item": "Sign", "to": {"user": "bob"},
              "exits": {"ok": [{"action": "assign", "variable": "signed", "value": "signed + 1"}]}}]]},
            {"action": "assign", "variable": "signed", "value": "signed * 10"}]}],
        "work_items": [{"name": "Sign", "fields": [], "buttons": [{"id": "ok", "label": "Sign"}]}]})
    alice_item, bob_item = my_items(api("alice"))[0], my_items(api("bob"))[0]
    complete(api("alice"), alice_item["id"], "ok")
    assert globals_of(instance)["signed"] == 1
    instance.refresh_from_db()
    assert instance.status == "waiting"
    complete(api("bob"), bob_item["id"], "ok")
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert globals_of(instance)["signed"] == 20


def test_wait_until_an_expression_gives_a_due_time(admin, engine_runs, time_passes):
    instance = launch(admin, {"name": "Until", "variables": [],
        "states": [{"name": "Main", "actions": [{"action": "wait", "until": "now() + days(2)"}]}]})
    timer = PendingEvent.objects.get(instance=instance, kind="timer")
    assert timer.due_at - instance.started_at > timedelta(days=1, hours=23)
    time_passes(timedelta(days=2, minutes=1))
    engine_runs()
    instance.refresh_from_db()
    assert instance.status == "completed"


def test_launch_process_without_waiting_goes_on_at_once(admin, engine_runs):
    import_definition({"format": "ipa.process/v1", "name": "Side", "start_state": "Main",
                       "variables": [{"name": "x", "type": "integer", "input": True}],
                       "states": [{"name": "Main", "actions": []}]}, publish=True)
    instance = launch(admin, {"name": "Fire And Forget", "variables": [],
        "states": [{"name": "Main", "actions": [
            {"action": "launch_process", "process": "Side", "wait": False, "inputs": {"x": "1"}}]}]})
    assert instance.status == "completed"
    engine_runs()
    child = instance.children.get()
    assert child.status == "completed"
    assert child.execution["globals"]["x"] == 1
