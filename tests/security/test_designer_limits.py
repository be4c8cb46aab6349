"""A designer cannot take the server down: the bounds hold through the real runtime."""

import pytest

from tests.conftest import launch
from tests.security.conftest import probe_process

pytestmark = pytest.mark.django_db


def runaway(name: str, *actions, variables=()) -> dict:
    return probe_process(name=name, variables=list(variables), work_items=[], tasks=[], start_state="Only",
                         states=[{"name": "Only", "actions": list(actions)}])


def test_a_loop_without_max_iterations_parks_the_instance_in_error_at_the_server_parameter(demo, publish, api):
    from administration.models import ServerParameter
    from administration.parameters import forget_parameters

    ServerParameter.objects.create(name="PAS_MaxLoopIterations", value="40")
    forget_parameters()
    publish(runaway("Runaway", {"action": "loop", "while": "true", "actions": [
        {"action": "assign", "variable": "i", "value": "i + 1"}]},
        variables=[{"name": "i", "type": "integer", "default": 0}]))
    instance = launch(api("admin"), "Runaway", {})
    detail = api("admin").get(f"/api/instances/{instance['id']}/").json()
    assert detail["status"] == "error"
    assert "PAS_MaxLoopIterations" in detail["error"]
    assert detail["variables"]["i"] == 40


def test_a_catastrophic_pattern_does_not_hold_up_a_launch(demo, publish, api):
    publish(runaway("Patterned", {"action": "end_process"},
                    variables=[{"name": "code", "type": "string", "input": True, "pattern": "(a+)+$"}]))
    response = api("admin").post("/api/processes/Patterned/launch", {"inputs": {"code": "a" * 5000 + "!"}},
                                 format="json")
    assert response.status_code == 400
    assert "code" in str(response.json())
