from processes.engine import WorkItemCompleted

from .builders import Instance, act, definition, send, var, work_item

VARIABLES = [var("n", "integer", input=True), var("path")]


def choose(n, otherwise=True):
    document = definition(
        act(
            "decision",
            branches=[
                {"when": "n > 10", "actions": [act("assign", variable="path", value='"big"')]},
                {"when": "n > 5", "actions": [act("assign", variable="path", value='"medium"')]},
            ],
            **({"otherwise": [act("assign", variable="path", value='"small"')]} if otherwise else {}),
        ),
        act("assign", variable="n", value="n + 100"),
        variables=VARIABLES,
    )
    instance = Instance(document)
    instance.start(n=n)
    return instance


def test_the_first_true_branch_runs_and_the_flow_continues_after_the_decision():
    instance = choose(20)
    assert instance.globals == {"n": 120, "path": "big"}
    assert ("decision", "branch 1") in instance.history()


def test_a_later_branch_runs_when_the_earlier_ones_are_false():
    instance = choose(7)
    assert instance.globals["path"] == "medium"
    assert ("decision", "branch 2") in instance.history()


def test_otherwise_runs_when_no_branch_is_true():
    instance = choose(1)
    assert instance.globals["path"] == "small"
    assert ("decision", "otherwise") in instance.history()


def test_without_otherwise_nothing_runs_and_the_flow_continues():
    instance = choose(1, otherwise=False)
    assert instance.globals == {"n": 101, "path": None}
    assert instance.status == "completed"


def test_a_branch_may_wait_and_continue_after_the_decision_when_resumed():
    document = definition(
        act(
            "decision",
            branches=[
                {
                    "when": "true",
                    "actions": [send("Check"), act("assign", variable="path", value='"after item"')],
                }
            ],
        ),
        act("assign", variable="n", value="1"),
        variables=VARIABLES,
        work_items=[work_item("Check")],
    )
    instance = Instance(document)
    instance.start()
    assert instance.status == "waiting"
    instance.send(WorkItemCompleted("w1", "ok"))
    assert instance.status == "completed"
    assert instance.globals == {"n": 1, "path": "after item"}


def test_decisions_nest():
    inner = act(
        "decision",
        branches=[{"when": "n == 2", "actions": [act("assign", variable="path", value='"two"')]}],
        otherwise=[act("assign", variable="path", value='"not two"')],
    )
    document = definition(
        act("decision", branches=[{"when": "n > 0", "actions": [inner]}]), variables=VARIABLES
    )
    instance = Instance(document)
    instance.start(n=2)
    assert instance.globals["path"] == "two"


def test_a_failing_condition_is_a_fault_naming_the_branch_and_the_expression():
    document = definition(
        act("decision", branches=[{"when": "n / 0 > 1", "actions": []}]), variables=VARIABLES
    )
    step = Instance(document).start(n=1)
    assert step.status == "error"
    assert step.error.startswith(
        'in state Main, states.Main.actions[0].branches[0].when: expression "n / 0 > 1"'
    )
    assert step.current_state == "Main"
