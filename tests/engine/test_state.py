"""The execution state: JSON only, deterministic, inspectable with scope_at and global_values."""

import json

import pytest

from processes.engine import ExternalFinished, TimerFired, WorkItemCompleted, global_values, scope_at

from .builders import Instance, act, definition, send, state, task, var, work_item


def busy_definition():
    return definition(
        states=[
            state(
                "Start",
                act(
                    "parallel",
                    branches=[
                        [
                            act(
                                "for_each",
                                collection="[1, 2]",
                                item="k",
                                actions=[act("call_task", task="Ask", inputs={"q": "k"})],
                            )
                        ],
                        [
                            act("wait", duration="PT1H"),
                            act("run_handler", handler="h", outputs={"r": "result"}),
                        ],
                    ],
                ),
                act("change_state", state="End", inputs={"note": "r"}),
                variables=[var("k", "integer")],
            ),
            state("End", send("Close"), variables=[var("note")], inputs=["note"]),
        ],
        variables=[var("r"), var("amount", "decimal", default="1.10", input=True)],
        tasks=[task("Ask", send("Question"), variables=[var("q", "integer"), var("a")], inputs=["q"])],
        work_items=[work_item("Question", fields=[{"variable": "a"}]), work_item("Close")],
    )


def drive(instance):
    instance.start(amount="7.25")
    instance.send(WorkItemCompleted("w1", "ok", {"a": "yes"}))
    instance.send(TimerFired("w2"))
    instance.send(ExternalFinished("w4", "found"))
    instance.send(WorkItemCompleted("w3", "ok"))
    return instance


def test_same_events_give_identical_states_and_effects():
    first, second = drive(Instance(busy_definition())), drive(Instance(busy_definition()))
    assert [step.state for step in first.steps] == [step.state for step in second.steps]
    assert [step.effects for step in first.steps] == [step.effects for step in second.steps]
    assert first.step.current_state == "End"
    assert first.state["locals"] == {"note": "found"}


def test_the_state_is_json_only_at_every_step():
    for step in drive(Instance(busy_definition())).steps:
        assert json.loads(json.dumps(step.state)) == step.state


def test_scope_at_shows_task_locals_then_state_locals_then_globals():
    instance = Instance(busy_definition())
    instance.start()
    visible = scope_at(instance.process, instance.state, "w1")
    assert {name: v.value for name, v in visible.items()} == {
        "r": None,
        "amount": "1.10",
        "k": 1,
        "q": 1,
        "a": None,
    }
    assert visible["q"].spec == {"name": "q", "type": "integer"}


def test_scope_at_an_unknown_token_raises_key_error():
    instance = Instance(busy_definition())
    instance.start()
    with pytest.raises(KeyError):
        scope_at(instance.process, instance.state, "w99")


def test_global_values_are_the_json_values_of_the_globals():
    instance = Instance(busy_definition())
    step = instance.start(amount="7.25")
    assert global_values(step.state) == {"r": None, "amount": "7.25"}


def test_waiting_on_names_the_first_waiting_thread():
    instance = Instance(busy_definition())
    step = instance.start()
    assert (step.waiting_on, step.waiting_detail) == ("work_item", "work item Question")
    step = instance.send(WorkItemCompleted("w1", "ok"))
    step = instance.send(WorkItemCompleted("w3", "ok"))
    assert (step.waiting_on, step.waiting_detail) == ("timer", "timer until 2024-05-01T10:00:00Z")


def test_tokens_count_up_within_the_instance():
    instance = drive(Instance(busy_definition()))
    assert instance.state["counters"]["w"] == 5
