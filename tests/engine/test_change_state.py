from processes.engine import (
    CancelTimer,
    SendWorkItem,
    StartTimer,
    TimerFired,
    WithdrawWorkItem,
    WorkItemCompleted,
)

from .builders import Instance, act, definition, send, state, var, work_item


def test_change_state_enters_the_new_state_with_its_inputs_and_runs_it():
    document = definition(
        states=[
            state("Intake", act("change_state", state="Review", inputs={"reason": '"too " + size'})),
            state(
                "Review",
                act("assign", variable="out", value="reason + by"),
                variables=[var("reason"), var("by", default=" (default)")],
                inputs=["reason"],
            ),
        ],
        variables=[var("size", default="big"), var("out")],
    )
    instance = Instance(document)
    step = instance.start()
    assert step.status == "completed"
    assert instance.globals["out"] == "too big (default)"
    history = instance.history()
    assert history[:4] == [
        ("launched", ""),
        ("state_entered", "Intake"),
        ("state_left", "Intake"),
        ("state_entered", "Review"),
    ]


def test_the_actions_after_change_state_do_not_run():
    document = definition(
        states=[
            state("A", act("change_state", state="B"), act("assign", variable="x", value='"after"')),
            state("B", send("Hold")),
        ],
        variables=[var("x")],
        work_items=[work_item("Hold")],
    )
    instance = Instance(document)
    step = instance.start()
    assert step.current_state == "B"
    assert instance.globals["x"] is None


def test_state_locals_are_created_on_entry_and_dropped_on_leaving():
    document = definition(
        states=[
            state(
                "A",
                act("assign", variable="note", value='"in A"'),
                send("Go"),
                variables=[var("note", default="fresh")],
            ),
            state("B", send("Stay"), variables=[var("other", "integer", default=5)]),
        ],
        work_items=[work_item("Go", buttons=("next",)), work_item("Stay")],
    )
    document["states"][0]["actions"][1]["exits"] = {"next": [act("change_state", state="B")]}
    instance = Instance(document)
    instance.start()
    assert instance.state["locals"] == {"note": "in A"}
    instance.send(WorkItemCompleted("w1", "next"))
    assert instance.state["locals"] == {"other": 5}


def test_a_state_may_be_entered_again_with_fresh_locals():
    document = definition(
        states=[
            state(
                "Loop",
                act("assign", variable="visits", value="visits + 1"),
                act("assign", variable="local", value="local + 1"),
                act(
                    "decision",
                    branches=[{"when": "visits < 3", "actions": [act("change_state", state="Loop")]}],
                ),
                variables=[var("local", "integer", default=0)],
            ),
        ],
        variables=[var("visits", "integer", default=0), var("last_local", "integer")],
    )
    document["states"][0]["actions"].append(act("assign", variable="last_local", value="local"))
    instance = Instance(document)
    instance.start()
    assert instance.globals == {"visits": 3, "last_local": 1}


def test_change_state_withdraws_work_items_and_cancels_timers_of_other_threads():
    document = definition(
        states=[
            state(
                "A",
                act(
                    "parallel",
                    branches=[
                        [send("First", timeout="PT1H")],
                        [act("wait", duration="P1D")],
                        [send("Second", exits={"move": [act("change_state", state="B")]})],
                    ],
                ),
            ),
            state("B", send("Final")),
        ],
        work_items=[work_item("First"), work_item("Second", buttons=("move",)), work_item("Final")],
    )
    instance = Instance(document)
    instance.start()
    assert [e.token for e in instance.effects(SendWorkItem)] == ["w1", "w3"]
    assert [e.token for e in instance.effects(StartTimer)] == ["w1", "w2"]
    instance.send(WorkItemCompleted("w3", "move"))
    effects = instance.effects()
    assert WithdrawWorkItem("w1") in effects
    assert CancelTimer("w1") in effects
    assert CancelTimer("w2") in effects
    assert WithdrawWorkItem("w3") not in effects
    assert instance.step.current_state == "B"
    assert list(instance.state["threads"]) == ["t5"]
    assert instance.send(TimerFired("w2")).effects[0].what == "event_ignored"


def test_a_bad_input_is_a_fault_before_leaving_the_state():
    document = definition(
        states=[
            state(
                "A",
                act("change_state", state="B", inputs={"n": '"many"'}),
                variables=[var("keep", default="k")],
            ),
            state("B", variables=[var("n", "integer")], inputs=["n"]),
        ],
    )
    instance = Instance(document)
    step = instance.start()
    assert step.status == "error"
    assert step.current_state == "A"
    assert step.error.startswith("in state A, states.A.actions[0].inputs.n: cannot assign to n:")
    assert instance.state["locals"] == {"keep": "k"}


def test_end_process_completes_at_once_and_cancels_every_wait():
    document = definition(
        act("parallel", branches=[[send("Slow")], [act("wait", duration="PT5M")], [act("end_process")]]),
        act("assign", variable="x", value='"never"'),
        variables=[var("x")],
        work_items=[work_item("Slow")],
    )
    instance = Instance(document)
    step = instance.start()
    assert step.status == "completed"
    assert step.current_state is None
    assert step.waiting_on is None
    assert WithdrawWorkItem("w1") in step.effects
    assert CancelTimer("w2") in step.effects
    assert instance.globals["x"] is None
    assert instance.records()[-1] == ("completed", "")


def test_a_state_whose_actions_run_out_completes_the_instance():
    instance = Instance(definition(act("assign", variable="x", value='"done"'), variables=[var("x")]))
    step = instance.start()
    assert step.status == "completed"
    assert step.current_state is None
    assert instance.history()[-1] == ("completed", "")
    assert instance.state["threads"] == {}
