import pytest

from processes.engine import Launch, Record, SendWorkItem, Skip, WorkItemCompleted, handle, start

from .builders import Instance, act, context, definition, send, state, task, var, work_item


def test_a_division_by_zero_becomes_status_error_with_a_message_naming_the_place():
    document = definition(
        states=[state("Approval", act("decision", branches=[{"when": "amount / 0", "actions": []}]))],
        variables=[var("amount", "decimal", default="5")],
    )
    step = Instance(document).start()
    assert step.status == "error"
    assert step.error == (
        "in state Approval, states.Approval.actions[0].branches[0].when: "
        'expression "amount / 0": division by zero'
    )
    assert step.current_state == "Approval"
    assert Record("error", step.error) in step.effects


def test_a_fault_inside_a_task_names_the_task_and_the_state():
    document = definition(
        act("call_task", task="Compute"),
        tasks=[
            task("Compute", act("assign", variable="x", value="undefined_function(1)"), variables=[var("x")])
        ],
    )
    step = Instance(document).start()
    assert step.status == "error"
    assert step.error.startswith("in state Main, tasks.Compute.actions[0].value: expression")


def test_a_template_that_fails_is_a_fault():
    document = definition(
        send("Show"),
        variables=[var("n", "integer", default=1)],
        work_items=[work_item("Show", description="{{ n / 0 }}")],
    )
    step = Instance(document).start()
    assert step.status == "error"
    assert step.error.startswith('in state Main, states.Main.actions[0].work_item: expression "n / 0"')


def test_the_faulting_thread_stays_on_the_faulting_action():
    document = definition(
        act("assign", variable="n", value="1"),
        act("assign", variable="n", value="n / 0"),
        variables=[var("n", "integer")],
    )
    instance = Instance(document)
    instance.start()
    (thread,) = instance.state["threads"].values()
    assert thread["stack"][-1]["at"] == 1
    assert thread["fault"] == instance.step.error


def test_other_threads_keep_their_waits_and_may_still_be_resumed():
    document = definition(
        act(
            "parallel",
            branches=[
                [act("assign", variable="n", value="n / 0")],
                [send("Other"), act("assign", variable="m", value="1")],
            ],
        ),
        variables=[var("n", "integer", default=1), var("m", "integer")],
        work_items=[work_item("Other")],
    )
    instance = Instance(document)
    step = instance.start()
    assert step.status == "error"
    assert [e.token for e in step.effects if isinstance(e, SendWorkItem)] == []
    # the second branch had not run yet: it is parked until the fault is dealt with
    step = instance.send(Skip())
    assert step.status == "waiting"
    step = instance.send(WorkItemCompleted("w1", "ok"))
    assert step.status == "completed"
    assert instance.globals["m"] == 1


def test_an_event_for_another_thread_is_handled_while_the_instance_is_in_error():
    document = definition(
        act(
            "parallel",
            branches=[
                [send("Other"), act("assign", variable="m", value="1")],
                [act("assign", variable="n", value="n / 0")],
            ],
        ),
        act("assign", variable="m", value="2"),
        variables=[var("n", "integer", default=1), var("m", "integer")],
        work_items=[work_item("Other")],
    )
    instance = Instance(document)
    assert instance.start().status == "error"
    step = instance.send(WorkItemCompleted("w1", "ok"))
    assert step.status == "error"
    assert instance.globals["m"] == 1
    step = instance.send(Skip())
    assert step.status == "completed"
    assert instance.globals["m"] == 2


def test_launch_inputs_are_the_callers_to_validate():
    process = Instance(definition(act("end_process"), variables=[var("n", "integer")])).process
    with pytest.raises(ValueError, match="launch input n"):
        start(process, Launch({"n": "many"}), context())
    with pytest.raises(ValueError, match="launch input other"):
        start(process, Launch({"other": 1}), context())


def test_handle_refuses_a_launch():
    instance = Instance(definition(send("X"), work_items=[work_item("X")]))
    instance.start()
    with pytest.raises(TypeError):
        handle(instance.process, instance.state, Launch(), context())


def test_events_after_the_instance_ended_are_ignored():
    instance = Instance(definition(act("end_process")))
    instance.start()
    step = instance.send(WorkItemCompleted("w1", "ok"))
    assert step.status == "completed"
    assert step.effects == [Record("event_ignored", "work item w1")]
