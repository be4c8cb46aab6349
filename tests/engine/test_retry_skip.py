from processes.engine import (
    ExternalFailed,
    ExternalFinished,
    Record,
    Retry,
    RunExternal,
    SendWorkItem,
    Skip,
    WorkItemCompleted,
)

from .builders import Instance, act, definition, send, var, work_item

VARIABLES = [var("name"), var("d", "integer", default=0), var("after", "boolean", default=False)]
LOOKUP = act("run_handler", handler="lookup", outputs={"name": "result"})


def failed_lookup():
    instance = Instance(
        definition(LOOKUP, act("assign", variable="after", value="true"), variables=VARIABLES)
    )
    instance.start()
    instance.send(ExternalFailed("w1", {"type": "Error", "message": "down"}))
    assert instance.status == "error"
    return instance


def test_retry_runs_a_failed_external_action_again_with_a_new_token():
    instance = failed_lookup()
    step = instance.send(Retry())
    assert step.status == "waiting"
    assert instance.effects(RunExternal) == [
        RunExternal("w2", "run_handler", {"handler": "lookup", "inputs": {}, "timeout": 30})
    ]
    assert Record("retried", "states.Main.actions[0]") in step.effects
    instance.send(ExternalFinished("w2", "Ada"))
    assert instance.status == "completed"
    assert instance.globals == {"name": "Ada", "d": 0, "after": True}


def test_skip_moves_past_a_failed_action_as_if_it_produced_nothing():
    instance = failed_lookup()
    step = instance.send(Skip())
    assert step.status == "completed"
    assert Record("skipped", "states.Main.actions[0]") in step.effects
    assert instance.globals == {"name": None, "d": 0, "after": True}


def test_retry_of_an_expression_fault_evaluates_again():
    document = definition(act("assign", variable="d", value="10 // d"), variables=VARIABLES)
    instance = Instance(document)
    assert instance.start().status == "error"
    step = instance.send(Retry())
    assert step.status == "error"
    assert [r for r in instance.records() if r[0] == "error"] == [("error", step.error)]


def test_retry_and_skip_on_a_wait_for_an_external_action_in_flight():
    # the layer marks such an instance restored_in_error after a crash
    instance = Instance(
        definition(LOOKUP, act("assign", variable="after", value="true"), variables=VARIABLES)
    )
    instance.start()
    step = instance.send(Retry())
    assert step.status == "waiting"
    assert instance.token(RunExternal) == "w2"
    assert instance.send(ExternalFinished("w1", "late")).effects == [Record("event_ignored", "external w1")]
    step = instance.send(Skip())
    assert step.status == "completed"
    assert instance.globals["name"] is None
    assert instance.send(ExternalFinished("w2", "later")).effects == [Record("event_ignored", "external w2")]


def test_retry_with_nothing_faulted_and_nothing_in_flight_is_ignored():
    instance = Instance(definition(send("Wait"), work_items=[work_item("Wait")]))
    instance.start()
    before = instance.state
    step = instance.send(Retry())
    assert step.status == "waiting"
    assert step.state == before
    assert [e.what for e in step.effects] == ["event_ignored"]


def test_retry_of_a_bad_button_sends_the_work_item_again():
    instance = Instance(definition(send("Ask"), work_items=[work_item("Ask")]))
    instance.start()
    assert instance.send(WorkItemCompleted("w1", "nope")).status == "error"
    instance.send(Retry())
    assert instance.token(SendWorkItem) == "w2"
    assert instance.step.status == "waiting"


def test_skip_inside_a_nested_list_moves_to_the_next_action_of_that_list():
    document = definition(
        act(
            "decision",
            branches=[
                {
                    "when": "true",
                    "actions": [
                        act("assign", variable="d", value="1 / 0"),
                        act("assign", variable="d", value="5"),
                    ],
                }
            ],
        ),
        act("assign", variable="after", value="true"),
        variables=VARIABLES,
    )
    instance = Instance(document)
    instance.start()
    instance.send(Skip())
    assert instance.status == "completed"
    assert instance.globals == {"name": None, "d": 5, "after": True}


def test_a_fault_in_a_loop_condition_can_be_skipped_past_the_loop():
    document = definition(
        act("loop", **{"while": "10 / d > 1"}, actions=[act("assign", variable="d", value="d - 1")]),
        act("assign", variable="after", value="true"),
        variables=[var("d", "integer", default=3), var("after", "boolean", default=False)],
    )
    instance = Instance(document)
    assert instance.start().status == "error"
    assert instance.globals["d"] == 0
    instance.send(Skip())
    assert instance.status == "completed"
    assert instance.globals["after"] is True
