from processes.engine import Record, WorkItemCompleted

from .builders import Instance, act, definition, send, var, work_item

COUNTER = [var("i", "integer", default=0), var("total", "integer", default=0)]


def count_to(limit, **loop_keys):
    return act(
        "loop",
        **{"while": f"i < {limit}"},
        actions=[
            act("assign", variable="i", value="i + 1"),
            act("assign", variable="total", value="total + i"),
        ],
        **loop_keys,
    )


def test_loop_runs_while_the_condition_is_true():
    instance = Instance(definition(count_to(4), variables=COUNTER))
    assert instance.start().status == "completed"
    assert instance.globals == {"i": 4, "total": 10}


def test_a_loop_whose_condition_is_false_at_first_never_runs():
    instance = Instance(definition(count_to(0), variables=COUNTER))
    instance.start()
    assert instance.globals == {"i": 0, "total": 0}


def test_max_iterations_stops_the_loop_and_history_says_so():
    instance = Instance(definition(count_to(100, max_iterations=3), variables=COUNTER))
    assert instance.start().status == "completed"
    assert instance.globals["i"] == 3
    assert ("loop_stopped", "loop stopped at max_iterations (3)") in instance.history()


def test_a_loop_that_ends_by_itself_at_max_iterations_is_not_reported_as_stopped():
    instance = Instance(definition(count_to(3, max_iterations=3), variables=COUNTER))
    instance.start()
    assert instance.globals["i"] == 3
    assert not [r for r in instance.history() if r[0] == "loop_stopped"]


def test_a_loop_that_never_waits_is_stopped_by_the_action_bound():
    instance = Instance(
        definition(act("loop", **{"while": "true"}, actions=[]), variables=COUNTER), max_actions_per_step=50
    )
    step = instance.start()
    assert step.status == "error"
    assert step.error == (
        "in state Main, states.Main.actions[0]: more than 50 actions in one step (a loop that never waits?): "
        "stopped at the server's PAS_MaxActionsPerStep"
    )


def test_the_action_bound_counts_per_step_so_a_loop_that_waits_is_fine():
    document = definition(
        act(
            "loop", **{"while": "i < 30"}, actions=[act("assign", variable="i", value="i + 1"), send("Tick")]
        ),
        variables=COUNTER,
        work_items=[work_item("Tick")],
    )
    instance = Instance(document, max_actions_per_step=10)
    instance.start()
    for n in range(1, 31):
        assert instance.status == "waiting"
        instance.send(WorkItemCompleted(f"w{n}", "ok"))
    assert instance.status == "completed"
    assert instance.globals["i"] == 30


def test_a_wait_inside_a_loop_keeps_its_place_in_the_iteration():
    document = definition(
        act(
            "loop",
            **{"while": "i < 2"},
            actions=[
                act("assign", variable="i", value="i + 1"),
                send("Review"),
                act("assign", variable="total", value="total + 10"),
            ],
        ),
        act("assign", variable="total", value="total + 1000"),
        variables=COUNTER,
        work_items=[work_item("Review")],
    )
    instance = Instance(document)
    instance.start()
    assert instance.globals == {"i": 1, "total": 0}
    instance.send(WorkItemCompleted("w1", "ok"))
    assert instance.globals == {"i": 2, "total": 10}
    assert instance.status == "waiting"
    instance.send(WorkItemCompleted("w2", "ok"))
    assert instance.status == "completed"
    assert instance.globals == {"i": 2, "total": 1020}


def test_max_iterations_is_counted_across_waits():
    document = definition(
        act("loop", **{"while": "true"}, max_iterations=2, actions=[send("Review")]),
        variables=COUNTER,
        work_items=[work_item("Review")],
    )
    instance = Instance(document)
    instance.start()
    instance.send(WorkItemCompleted("w1", "ok"))
    instance.send(WorkItemCompleted("w2", "ok"))
    assert instance.status == "completed"
    assert Record("loop_stopped", "loop stopped at max_iterations (2)") in instance.effects()


def test_loops_nest():
    inner = act(
        "loop", **{"while": "total < i * 10"}, actions=[act("assign", variable="total", value="total + 1")]
    )
    outer = act("loop", **{"while": "i < 3"}, actions=[act("assign", variable="i", value="i + 1"), inner])
    instance = Instance(definition(outer, variables=COUNTER))
    instance.start()
    assert instance.globals == {"i": 3, "total": 30}


def test_a_failing_while_is_a_fault_on_the_loop():
    step = Instance(definition(act("loop", **{"while": "i / 0"}, actions=[]), variables=COUNTER)).start()
    assert step.status == "error"
    assert step.error.startswith('in state Main, states.Main.actions[0].while: expression "i / 0"')


def test_a_loop_without_max_iterations_stops_at_the_server_bound_in_error():
    instance = Instance(definition(count_to(1_000_000), variables=COUNTER), max_loop_iterations=25)
    step = instance.start()
    assert step.status == "error"
    assert "PAS_MaxLoopIterations" in step.error
    assert instance.globals["i"] == 25


def test_the_server_bound_counts_iterations_across_waits():
    body = [act("assign", variable="i", value="i + 1"), act("wait", duration="PT1M")]
    instance = Instance(definition(act("loop", **{"while": "true"}, actions=body), variables=COUNTER),
                        max_loop_iterations=3)
    instance.start()
    from processes.engine import TimerFired

    for token in ("w1", "w2", "w3"):
        step = instance.send(TimerFired(token))
    assert step.status == "error"
    assert instance.globals["i"] == 3


def test_a_loop_with_its_own_max_iterations_is_not_held_to_the_server_bound():
    instance = Instance(definition(count_to(50, max_iterations=40), variables=COUNTER), max_loop_iterations=10)
    assert instance.start().status == "completed"
    assert instance.globals["i"] == 40
