"""The format page's complete example, both routes."""

import json
from pathlib import Path

from processes.engine import Record, SendWorkItem, WorkItemCompleted, scope_at

from .builders import Instance

EXPENSE_APPROVAL = json.loads((Path(__file__).parent / "definitions" / "expense_approval.json").read_text())


def launch(amount):
    instance = Instance(EXPENSE_APPROVAL)
    instance.start(employee="bob", amount=amount, iban="DE02 1203")
    return instance


def pay_out(instance, token):
    (item,) = instance.effects(SendWorkItem)
    assert (item.token, item.work_item, item.workgroup) == (token, "Pay Out", "Payroll")
    assert instance.step.current_state == "Payment"
    step = instance.send(WorkItemCompleted(token, "done"))
    assert step.status == "completed"
    assert step.current_state is None


def test_a_small_expense_is_approved_at_once_and_goes_straight_to_payment():
    instance = launch("80")
    assert instance.globals["approved"] is True
    assert not any(what == "work_item_sent" and detail.startswith("Approve Expense")
                   for what, detail in instance.history())
    pay_out(instance, "w1")


def test_a_large_expense_goes_to_the_managers_then_to_payment_when_approved():
    instance = launch("250.00")
    (item,) = instance.effects(SendWorkItem)
    assert item == SendWorkItem("w1", "Approve Expense", "Expense of 250.00", "", workgroup="Managers")
    assert (instance.status, instance.step.waiting_detail) == ("waiting", "work item Approve Expense")
    assert instance.globals["approved"] is False
    visible = scope_at(instance.process, instance.state, "w1")
    assert visible["amount"].value == "250.00"

    instance.send(WorkItemCompleted("w1", "approve", {"comment": "fine"}))
    assert instance.globals["approved"] is True
    assert instance.globals["comment"] == "fine"
    (pay,) = instance.effects(SendWorkItem)
    assert pay.description == "Pay 250.00"
    assert scope_at(instance.process, instance.state, "w2")["sum"].value == "250.00"
    pay_out(instance, "w2")
    assert instance.history()[-3:] == [
        ("work_item_completed", "Pay Out: done"),
        ("task_returned", "Pay"),
        ("completed", ""),
    ]


def test_a_rejected_expense_ends_without_payment():
    instance = launch("5000")
    step = instance.send(WorkItemCompleted("w1", "reject"))
    assert step.status == "completed"
    assert instance.globals["approved"] is False
    assert Record("completed") in step.effects
    assert not instance.effects(SendWorkItem)
