from datetime import timedelta

import pytest

from processes.engine import (
    CancelTimer,
    Record,
    SendWorkItem,
    StartTimer,
    TimerFired,
    WithdrawWorkItem,
    WorkItemCompleted,
)

from .builders import NOW, Instance, act, definition, send, var, work_item

VARIABLES = [
    var("employee", "user", default="bob"),
    var("amount", "decimal", default="12.50"),
    var("comment", default=""),
    var("decision"),
]
REVIEW = work_item(
    "Review",
    buttons=("approve", "reject"),
    category="Finance",
    description="Expense of {{ amount }} by {{ employee }}",
    fields=[{"variable": "amount", "readonly": True}, {"variable": "comment"}],
)
EXITS = {
    "approve": [act("assign", variable="decision", value='"approved"')],
    "reject": [act("assign", variable="decision", value='"rejected"')],
}


def review(**keys):
    document = definition(
        send("Review", exits=EXITS, **keys),
        act("assign", variable="comment", value='comment + " (seen)"'),
        variables=VARIABLES,
        work_items=[REVIEW],
    )
    instance = Instance(document)
    instance.start()
    return instance


def test_a_work_item_to_a_workgroup_carries_the_rendered_description_and_waits():
    instance = review(
        to={"workgroup": "Managers", "skills": [{"name": "finance", "min_level": 3}], "priority": "2 + 1"}
    )
    assert instance.effects(SendWorkItem) == [
        SendWorkItem(
            token="w1",
            work_item="Review",
            description="Expense of 12.50 by bob",
            category="Finance",
            workgroup="Managers",
            skills=(("finance", 3),),
            priority=3,
        )
    ]
    step = instance.step
    assert (step.status, step.waiting_on, step.waiting_detail) == ("waiting", "work_item", "work item Review")


def test_a_work_item_to_a_user_renders_the_user_template():
    instance = review(to={"user": "{{ employee }}"})
    (item,) = instance.effects(SendWorkItem)
    assert (item.user, item.workgroup, item.priority) == ("bob", None, 0)


def test_the_button_exit_runs_then_the_flow_continues_after_the_action():
    instance = review()
    step = instance.send(WorkItemCompleted("w1", "reject", {"comment": "too much"}))
    assert step.status == "completed"
    assert instance.globals["decision"] == "rejected"
    assert instance.globals["comment"] == "too much (seen)"
    assert Record("work_item_completed", "Review: reject") in step.effects


def test_values_for_readonly_fields_are_not_stored():
    instance = review()
    instance.send(WorkItemCompleted("w1", "approve", {"amount": "9999", "comment": "ok"}))
    assert instance.globals["amount"] == "12.50"


def test_values_are_coerced_to_the_field_variable_type():
    document = definition(
        send("Count"),
        variables=[var("n", "integer")],
        work_items=[work_item("Count", fields=[{"variable": "n"}])],
    )
    instance = Instance(document)
    instance.start()
    instance.send(WorkItemCompleted("w1", "ok", {"n": "41"}))
    assert instance.globals["n"] == 41


def test_a_value_that_does_not_fit_is_a_fault_and_nothing_is_stored():
    document = definition(
        send("Count"),
        variables=[var("n", "integer"), var("note")],
        work_items=[work_item("Count", fields=[{"variable": "note"}, {"variable": "n"}])],
    )
    instance = Instance(document)
    instance.start()
    step = instance.send(WorkItemCompleted("w1", "ok", {"note": "hello", "n": "many"}))
    assert step.status == "error"
    assert "states.Main.actions[0].work_item: cannot assign to n:" in step.error
    assert instance.globals == {"n": None, "note": None}


def test_a_button_without_an_exit_is_a_fault():
    instance = review()
    step = instance.send(WorkItemCompleted("w1", "escalate"))
    assert step.status == "error"
    assert (
        step.error
        == "in state Main, states.Main.actions[0].exits: work item Review has no exit for button 'escalate'"
    )


def test_a_timeout_starts_a_timer_with_the_same_token():
    instance = review(timeout="PT2H")
    assert instance.effects(StartTimer) == [StartTimer("w1", NOW + timedelta(hours=2))]


def test_completing_an_item_with_a_timeout_cancels_its_timer():
    instance = review(timeout="PT2H")
    step = instance.send(WorkItemCompleted("w1", "approve"))
    assert CancelTimer("w1") in step.effects


def test_when_the_timeout_fires_the_item_is_withdrawn_and_on_timeout_runs():
    instance = review(timeout="P1D", on_timeout=[act("assign", variable="decision", value='"timed out"')])
    step = instance.send(TimerFired("w1"))
    assert step.status == "completed"
    assert WithdrawWorkItem("w1") in step.effects
    assert Record("work_item_timed_out", "Review") in step.effects
    assert instance.globals["decision"] == "timed out"
    assert instance.globals["comment"] == " (seen)"


def test_a_timeout_without_on_timeout_just_continues():
    instance = review(timeout="P1D")
    instance.send(TimerFired("w1"))
    assert instance.status == "completed"
    assert instance.globals["decision"] is None


def test_the_item_is_not_completed_after_its_timeout_fired():
    instance = review(timeout="P1D", on_timeout=[send("Review", exits=EXITS)])
    instance.send(TimerFired("w1"))
    step = instance.send(WorkItemCompleted("w1", "approve"))
    assert step.effects == [Record("event_ignored", "work item w1")]
    assert step.waiting_detail == "work item Review"


def test_a_timer_event_for_an_item_without_timeout_is_ignored():
    instance = review()
    assert instance.send(TimerFired("w1")).effects == [Record("event_ignored", "timer w1")]
    assert instance.status == "waiting"


@pytest.mark.parametrize("to", [{"user": "{{ comment }}"}, {"workgroup": "  "}])
def test_an_empty_recipient_is_a_fault(to):
    instance = review(to=to)
    assert instance.status == "error"
    assert "has no" in instance.step.error


def test_a_bad_priority_is_a_fault():
    instance = review(to={"workgroup": "Managers", "priority": '"urgent"'})
    assert instance.status == "error"
    assert "states.Main.actions[0].to.priority: the priority must be a whole number" in instance.step.error


def test_work_items_in_nested_exits_use_their_own_tokens():
    document = definition(
        send(
            "Review", exits={"approve": [send("Review", exits={"approve": [], "reject": []})], "reject": []}
        ),
        variables=VARIABLES,
        work_items=[REVIEW],
    )
    instance = Instance(document)
    instance.start()
    instance.send(WorkItemCompleted("w1", "approve"))
    assert instance.token(SendWorkItem) == "w2"
    instance.send(WorkItemCompleted("w2", "reject"))
    assert instance.status == "completed"
