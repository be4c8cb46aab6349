"""A designer cannot take the server down: one step's work is bounded by server parameters.

Each bound stops the step between two actions and parks the instance in ``error`` with a
cause naming the parameter; what ran before it is written whole, and a retry after the
administrator raised the parameter goes on. The runaway loop, the fan-out and the
catastrophic pattern are in the attack suite (``test_attack_suite.py``).
"""

import pytest

from tests.conftest import launch
from tests.security.test_attack_suite import one_state, set_parameter

pytestmark = pytest.mark.django_db

COUNTER = [{"name": "i", "type": "integer", "default": 0}]


def counting_loop(times: int) -> dict:
    return {"action": "loop", "while": "true", "max_iterations": times, "actions": [
        {"action": "assign", "variable": "i", "value": "i + 1"}]}


def test_a_step_writing_too_many_history_entries_stops_at_the_parameter(demo, publish, api):
    from processes.models import HistoryEntry

    set_parameter("PAS_MaxHistoryPerStep", "100")
    publish(one_state("Chatty", counting_loop(1000), variables=COUNTER))
    instance = launch(api("admin"), "Chatty", {})
    detail = api("admin").get(f"/api/instances/{instance['id']}/").json()
    assert detail["status"] == "error"
    assert "100 history entries in one step: stopped at the server's PAS_MaxHistoryPerStep" in detail["error"]
    # launched, state_entered and 98 assignments make 100; the error is the one entry past the bound.
    assert HistoryEntry.objects.filter(instance_id=instance["id"]).count() == 101
    assert detail["variables"]["i"] == 98  # each assignment that ran was written whole


def test_a_step_running_too_many_actions_stops_at_the_parameter(demo, publish, api):
    set_parameter("PAS_MaxActionsPerStep", "100")
    publish(one_state("Busy", counting_loop(1000), variables=COUNTER))
    instance = launch(api("admin"), "Busy", {})
    detail = api("admin").get(f"/api/instances/{instance['id']}/").json()
    assert detail["status"] == "error"
    assert "more than 100 actions in one step" in detail["error"]
    assert "PAS_MaxActionsPerStep" in detail["error"]
    assert detail["variables"]["i"] == 50  # the loop and its assignment: 100 actions are 50 iterations


def test_a_step_launching_too_many_subprocesses_stops_at_the_parameter_and_retries_once_raised(
        demo, publish, api, engine_runs):
    from processes.models import ProcessInstance

    set_parameter("PAS_MaxSubprocessesPerStep", "3")
    publish(one_state("Leaf", {"action": "end_process"}))
    publish(one_state("Spawner", {"action": "loop", "while": "i < 5", "max_iterations": 10, "actions": [
        {"action": "launch_process", "process": "Leaf"},
        {"action": "assign", "variable": "i", "value": "i + 1"}]}, variables=COUNTER))
    instance = launch(api("admin"), "Spawner", {})
    detail = api("admin").get(f"/api/instances/{instance['id']}/").json()
    assert detail["status"] == "error"
    assert "3 subprocesses launched in one step: stopped at the server's PAS_MaxSubprocessesPerStep" \
        in detail["error"]
    assert ProcessInstance.objects.filter(parent_id=instance["id"]).count() == 3
    assert detail["variables"]["i"] == 3

    set_parameter("PAS_MaxSubprocessesPerStep", "10")
    assert api("admin").post(f"/api/instances/{instance['id']}/retry").status_code == 200
    engine_runs()
    assert ProcessInstance.objects.get(pk=instance["id"]).status == "completed"
    assert ProcessInstance.objects.filter(parent_id=instance["id"], status="completed").count() == 5


def test_the_step_bounds_are_server_parameters_with_rules(db):
    from administration.parameters import parameter_problem

    for name in ("PAS_MaxActionsPerStep", "PAS_MaxHistoryPerStep", "PAS_MaxSubprocessesPerStep",
                 "PAS_MaxInstancesPerLaunch"):
        assert parameter_problem(name, "0") is not None
        assert parameter_problem(name, "1000") is None
