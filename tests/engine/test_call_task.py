from processes.engine import SendWorkItem, Skip, WorkItemCompleted, scope_at

from .builders import Instance, act, definition, send, task, var, work_item

DOUBLE = task(
    "Double",
    act("assign", variable="result", value="value * 2"),
    variables=[var("value", "decimal"), var("result", "decimal")],
    inputs=["value"],
    outputs=["result"],
)


def test_a_task_gets_its_inputs_and_copies_its_outputs_back():
    document = definition(
        act("call_task", task="Double", inputs={"value": "price + 1"}, outputs={"doubled": "result"}),
        variables=[var("price", "decimal", default="4.50"), var("doubled", "decimal")],
        tasks=[DOUBLE],
    )
    instance = Instance(document)
    assert instance.start().status == "completed"
    assert instance.globals["doubled"] == "11.00"
    assert instance.state["scopes"] == {}
    history = instance.history()
    assert history.index(("task_called", "Double")) < history.index(("task_returned", "Double"))


def test_task_inputs_are_coerced_to_the_task_locals():
    document = definition(
        act("call_task", task="Double", inputs={"value": '"3"'}, outputs={"n": "result"}),
        variables=[var("n", "integer")],
        tasks=[DOUBLE],
    )
    instance = Instance(document)
    instance.start()
    assert instance.globals["n"] == 6


def test_task_locals_start_from_their_defaults_on_every_call():
    counting = task(
        "Count",
        act("assign", variable="calls", value="calls + 1"),
        act("assign", variable="seen", value="seen + calls"),
        variables=[var("calls", "integer", default=0)],
    )
    document = definition(
        act("call_task", task="Count"),
        act("call_task", task="Count"),
        variables=[var("seen", "integer", default=0)],
        tasks=[counting],
    )
    instance = Instance(document)
    instance.start()
    assert instance.globals["seen"] == 2


def test_a_task_sees_the_current_states_locals_and_the_globals_but_its_own_locals_win():
    document = definition(
        act("call_task", task="Look"),
        variables=[var("g", default="global"), var("shadow", default="global"), var("out")],
        locals=[var("s", default="state"), var("shadow", default="state")],
        tasks=[
            task(
                "Look",
                act("assign", variable="out", value='g + "/" + s + "/" + shadow'),
                variables=[var("shadow", default="task")],
            )
        ],
    )
    instance = Instance(document)
    instance.start()
    assert instance.globals["out"] == "global/state/task"


def test_a_task_does_not_see_its_callers_locals():
    inner = task("Inner", send("Look"), variables=[var("mine", default="inner")])
    outer = task("Outer", act("call_task", task="Inner"), variables=[var("caller_only", default="outer")])
    document = definition(
        act("call_task", task="Outer"), tasks=[outer, inner], work_items=[work_item("Look")]
    )
    instance = Instance(document)
    instance.start()
    visible = scope_at(instance.process, instance.state, "w1")
    assert "mine" in visible
    assert "caller_only" not in visible


def test_a_task_may_wait_and_returns_when_resumed():
    document = definition(
        act("call_task", task="Ask", inputs={"question": '"why"'}, outputs={"answer": "reply"}),
        act("assign", variable="done", value="true"),
        variables=[var("answer"), var("done", "boolean", default=False)],
        tasks=[
            task(
                "Ask",
                send("Answer"),
                variables=[var("question"), var("reply")],
                inputs=["question"],
                outputs=["reply"],
            )
        ],
        work_items=[
            work_item("Answer", fields=[{"variable": "question", "readonly": True}, {"variable": "reply"}])
        ],
    )
    instance = Instance(document)
    instance.start()
    (item,) = instance.effects(SendWorkItem)
    assert scope_at(instance.process, instance.state, item.token)["question"].value == "why"
    instance.send(WorkItemCompleted(item.token, "ok", {"reply": "because"}))
    assert instance.status == "completed"
    assert instance.globals == {"answer": "because", "done": True}


def test_recursion_is_allowed_up_to_the_depth_threshold():
    countdown = task(
        "Countdown",
        act("assign", variable="calls", value="calls + 1"),
        act(
            "decision",
            branches=[
                {"when": "n > 1", "actions": [act("call_task", task="Countdown", inputs={"n": "n - 1"})]}
            ],
        ),
        variables=[var("n", "integer")],
        inputs=["n"],
    )
    document = definition(
        act("call_task", task="Countdown", inputs={"n": "depth"}),
        variables=[var("depth", "integer", input=True), var("calls", "integer", default=0)],
        tasks=[countdown],
    )
    instance = Instance(document, depth_threshold=4)
    assert instance.start(depth=4).status == "completed"
    assert instance.globals["calls"] == 4

    instance = Instance(document, depth_threshold=4)
    step = instance.start(depth=5)
    assert step.status == "error"
    assert step.error.endswith("task recursion deeper than PAS_DepthThreshold (4)")
    assert "tasks.Countdown.actions[1].branches[0].actions[0]" in step.error
    assert instance.globals["calls"] == 4


def test_unbounded_recursion_faults_at_the_default_threshold():
    forever = task("Forever", act("call_task", task="Forever"))
    step = Instance(definition(act("call_task", task="Forever"), tasks=[forever])).start()
    assert step.status == "error"
    assert step.error == (
        "in state Main, tasks.Forever.actions[0]: task recursion deeper than PAS_DepthThreshold (8)"
    )


def test_a_bad_input_is_a_fault_naming_the_input():
    document = definition(
        act("call_task", task="Double", inputs={"value": '"many"'}),
        tasks=[DOUBLE],
    )
    step = Instance(document).start()
    assert step.status == "error"
    assert step.error.startswith(
        "in state Main, states.Main.actions[0].inputs.value: cannot assign to value:"
    )


def test_an_output_that_does_not_fit_is_a_fault_and_skip_drops_the_task_locals():
    document = definition(
        act("call_task", task="Double", inputs={"value": "2"}, outputs={"flag": "result"}),
        act("assign", variable="after", value="true"),
        variables=[var("flag", "boolean"), var("after", "boolean")],
        tasks=[DOUBLE],
    )
    instance = Instance(document)
    step = instance.start()
    assert step.status == "error"
    assert "states.Main.actions[0].outputs.flag: cannot assign to flag:" in step.error
    assert len(instance.state["scopes"]) == 1
    instance.send(Skip())
    assert instance.status == "completed"
    assert instance.globals == {"flag": None, "after": True}


def test_a_task_called_from_a_task_returns_into_its_callers_locals():
    inner = task("Inner", act("assign", variable="r", value='"inner"'), variables=[var("r")], outputs=["r"])
    outer = task(
        "Outer",
        act("call_task", task="Inner", outputs={"got": "r"}),
        act("assign", variable="final", value='got + "!"'),
        variables=[var("got")],
    )
    document = definition(act("call_task", task="Outer"), variables=[var("final")], tasks=[outer, inner])
    instance = Instance(document)
    instance.start()
    assert instance.globals["final"] == "inner!"
