"""MoveTo: a supervisor moves an instance to another state (Camunda's instance modification)."""

import pytest

from processes.engine import CancelTimer, MoveTo, SendWorkItem, StartTimer, WithdrawWorkItem

from .builders import Instance, act, definition, send, state, var, work_item


def document():
    return definition(
        states=[
            state("Review", send("Check", timeout="PT1H"), act("wait", duration="PT2H")),
            state("Pay", act("assign", variable="divided", value="10 // divisor"), send("Pay Out")),
            state("Done", act("end_process")),
        ],
        variables=[var("divisor", "integer", default=0), var("divided", "integer")],
        work_items=[work_item("Check"), work_item("Pay Out")],
    )


def test_moving_leaves_the_state_withdrawing_its_item_and_timers_then_runs_the_new_one():
    instance = Instance(document())
    instance.start()
    item = instance.token(SendWorkItem)
    step = instance.send(MoveTo("Done"))
    assert step.status == "completed"
    assert WithdrawWorkItem(item) in step.effects
    assert any(isinstance(effect, CancelTimer) for effect in step.effects)
    assert ("moved", "Review -> Done") in instance.history()


def test_moving_an_instance_in_error_forgets_the_failed_action():
    instance = Instance(document())
    instance.start()
    instance.send(MoveTo("Pay"))
    assert instance.status == "error"
    step = instance.send(MoveTo("Review"))
    assert step.status == "waiting" and step.current_state == "Review" and not step.error
    assert any(isinstance(effect, StartTimer) for effect in step.effects)


def test_an_unknown_state_is_refused():
    instance = Instance(document())
    instance.start()
    with pytest.raises(ValueError, match="no state named 'Nowhere'"):
        instance.send(MoveTo("Nowhere"))
