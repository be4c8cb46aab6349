from processes.engine import LaunchSubprocess, Record, Skip, SubprocessEnded

from .builders import Instance, act, definition, var

VARIABLES = [
    var("amount", "decimal", default="1200.50"),
    var("due", "date", default="2024-06-30"),
    var("score", "integer"),
    var("after", "boolean", default=False),
]


def launching(wait=True, depth=0, **keys):
    document = definition(
        act(
            "launch_process",
            process="Credit Check",
            inputs={"sum": "amount", "by": "due", "who": "initiator"},
            wait=wait,
            **keys,
        ),
        act("assign", variable="after", value="true"),
        variables=VARIABLES,
    )
    instance = Instance(document, depth=depth)
    instance.start()
    return instance


def test_launching_a_subprocess_passes_inputs_as_json_and_waits():
    instance = launching(outputs={"score": "rating"})
    assert instance.effects(LaunchSubprocess) == [
        LaunchSubprocess("w1", "Credit Check", {"sum": "1200.50", "by": "2024-06-30", "who": "ann"}, True)
    ]
    step = instance.step
    assert (step.status, step.waiting_on, step.waiting_detail) == (
        "waiting",
        "subprocess",
        "subprocess Credit Check",
    )


def test_when_the_child_completes_its_outputs_are_copied_and_coerced():
    instance = launching(outputs={"score": "rating"})
    step = instance.send(SubprocessEnded("w1", "completed", {"rating": "712", "other": 1}))
    assert step.status == "completed"
    assert instance.globals["score"] == 712
    assert instance.globals["after"] is True
    assert Record("subprocess_ended", "Credit Check: completed") in step.effects


def test_without_wait_the_flow_continues_at_once():
    instance = launching(wait=False)
    assert instance.status == "completed"
    assert instance.effects(LaunchSubprocess)[0].wait is False
    assert instance.globals["after"] is True


def test_a_child_that_did_not_complete_is_a_fault():
    instance = launching()
    step = instance.send(SubprocessEnded("w1", "cancelled"))
    assert step.status == "error"
    assert step.error == "in state Main, states.Main.actions[0]: subprocess Credit Check ended cancelled"


def test_a_missing_child_variable_is_a_fault():
    instance = launching(outputs={"score": "rating"})
    step = instance.send(SubprocessEnded("w1", "completed", {}))
    assert step.status == "error"
    assert step.error.endswith("outputs.score: subprocess Credit Check has no variable rating")


def test_the_spawn_depth_is_bounded():
    instance = launching(depth=7)
    assert instance.status == "waiting"
    instance = launching(depth=8)
    assert instance.status == "error"
    assert instance.step.error == (
        "in state Main, states.Main.actions[0]: subprocess depth past PAS_DepthThreshold (8)"
    )
    assert instance.effects(LaunchSubprocess) == []


def test_skip_after_a_failed_child_continues_without_outputs():
    instance = launching(outputs={"score": "rating"})
    instance.send(SubprocessEnded("w1", "cancelled"))
    step = instance.send(Skip())
    assert step.status == "completed"
    assert instance.globals["score"] is None


def test_an_end_event_with_an_unknown_token_is_ignored():
    instance = launching()
    step = instance.send(SubprocessEnded("w7", "completed"))
    assert step.effects == [Record("event_ignored", "subprocess w7")]
    assert step.status == "waiting"
