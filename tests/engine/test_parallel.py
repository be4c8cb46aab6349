from processes.engine import SendWorkItem, Skip, TimerFired, WorkItemCompleted, scope_at

from .builders import Instance, act, definition, send, task, var, work_item


def log(text):
    return act("assign", variable="trail", value=f'trail + ["{text}"]')


VARIABLES = [var("trail", "list", default=[])]
ITEMS = [work_item("A"), work_item("B"), work_item("C")]


def test_branches_run_in_order_until_each_waits():
    document = definition(
        act("parallel", branches=[[log("a1"), send("A"), log("a2")], [log("b1"), send("B"), log("b2")]]),
        log("after"),
        variables=VARIABLES,
        work_items=ITEMS,
    )
    instance = Instance(document)
    step = instance.start()
    assert [e.work_item for e in instance.effects(SendWorkItem)] == ["A", "B"]
    assert instance.globals["trail"] == ["a1", "b1"]
    assert (step.status, step.waiting_detail) == ("waiting", "work item A")


def test_parallel_continues_only_when_every_branch_has_ended():
    document = definition(
        act("parallel", branches=[[send("A"), log("a")], [send("B"), log("b")], [log("c")]]),
        log("after"),
        variables=VARIABLES,
        work_items=ITEMS,
    )
    instance = Instance(document)
    instance.start()
    assert instance.globals["trail"] == ["c"]
    instance.send(WorkItemCompleted("w2", "ok"))
    assert instance.globals["trail"] == ["c", "b"]
    assert instance.step.waiting_detail == "work item A"
    step = instance.send(WorkItemCompleted("w1", "ok"))
    assert step.status == "completed"
    assert instance.globals["trail"] == ["c", "b", "a", "after"]


def test_branches_that_never_wait_finish_in_the_same_step():
    document = definition(
        act("parallel", branches=[[log("a")], [], [log("c")]]), log("after"), variables=VARIABLES
    )
    instance = Instance(document)
    assert instance.start().status == "completed"
    assert instance.globals["trail"] == ["a", "c", "after"]
    assert instance.state["threads"] == {}


def test_parallel_blocks_nest():
    inner = act("parallel", branches=[[send("A"), log("a")], [send("B"), log("b")]])
    document = definition(
        act("parallel", branches=[[inner, log("inner done")], [send("C"), log("c")]]),
        log("after"),
        variables=VARIABLES,
        work_items=ITEMS,
    )
    instance = Instance(document)
    instance.start()
    assert [e.work_item for e in instance.effects(SendWorkItem)] == ["A", "B", "C"]
    instance.send(WorkItemCompleted("w1", "ok"))
    instance.send(WorkItemCompleted("w3", "ok"))
    assert instance.status == "waiting"
    instance.send(WorkItemCompleted("w2", "ok"))
    assert instance.status == "completed"
    assert instance.globals["trail"] == ["a", "c", "b", "inner done", "after"]


def test_branches_share_the_variables_of_the_frame_they_start_in():
    worker = task(
        "Work",
        act(
            "parallel",
            branches=[
                [act("assign", variable="shared", value="shared + 1"), send("A")],
                [act("assign", variable="shared", value="shared + 10")],
            ],
        ),
        act("assign", variable="result", value="shared"),
        variables=[var("shared", "integer", default=0), var("result", "integer")],
        outputs=["result"],
    )
    document = definition(
        act("call_task", task="Work", outputs={"out": "result"}),
        variables=[var("out", "integer")],
        tasks=[worker],
        work_items=ITEMS,
    )
    instance = Instance(document)
    instance.start()
    assert scope_at(instance.process, instance.state, "w1")["shared"].value == 11
    instance.send(WorkItemCompleted("w1", "ok"))
    assert instance.status == "completed"
    assert instance.globals["out"] == 11


def test_a_loop_of_work_items_inside_a_branch_keeps_its_place():
    document = definition(
        act(
            "parallel",
            branches=[
                [act("loop", **{"while": "len(trail) < 3"}, actions=[send("A"), log("x")])],
                [act("wait", duration="PT1H"), log("timer")],
            ],
        ),
        variables=VARIABLES,
        work_items=ITEMS,
    )
    instance = Instance(document)
    instance.start()
    instance.send(WorkItemCompleted("w1", "ok"))  # sends w3
    instance.send(TimerFired("w2"))
    instance.send(WorkItemCompleted("w3", "ok"))
    assert instance.status == "completed"
    assert instance.globals["trail"] == ["x", "timer", "x"]


def test_a_fault_in_one_branch_leaves_the_other_branches_waiting():
    document = definition(
        act(
            "parallel", branches=[[send("A")], [act("assign", variable="trail", value="1 / 0")], [send("C")]]
        ),
        variables=VARIABLES,
        work_items=ITEMS,
    )
    instance = Instance(document)
    step = instance.start()
    assert step.status == "error"
    assert "states.Main.actions[0].branches[1][0].value" in step.error
    assert [e.work_item for e in instance.effects(SendWorkItem)] == ["A"]
    assert step.waiting_on == "work_item"
    # the branch not yet run is parked and runs when the fault is dealt with
    step = instance.send(Skip())
    assert [e.work_item for e in instance.effects(SendWorkItem)] == ["C"]
    assert step.status == "waiting"


def test_an_empty_parallel_is_nothing():
    instance = Instance(definition(act("parallel", branches=[]), log("after"), variables=VARIABLES))
    instance.start()
    assert instance.globals["trail"] == ["after"]
