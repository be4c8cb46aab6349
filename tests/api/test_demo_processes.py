"""The two demo processes run end to end over the API, as their users would drive them."""

from datetime import timedelta

import pytest

from tests.conftest import complete, launch, my_items

pytestmark = pytest.mark.django_db


def item_named(client, name: str) -> dict:
    items = [i for i in my_items(client) if i["name"] == name]
    assert len(items) == 1, f"expected one {name!r} item, got {items}"
    return items[0]


def instance(client, instance_id: int) -> dict:
    response = client.get(f"/api/instances/{instance_id}/")
    assert response.status_code == 200
    return response.json()


def test_a_small_expense_is_approved_and_paid_without_a_manager(demo, api):
    dave, carol, admin = api("dave"), api("carol"), api("admin")
    started = launch(dave, "Expense Approval", {"employee": "dave", "amount": "80.00"})
    assert started["state"] == "Payment"
    assert started["waiting_on"] == "work_item"
    pay_out = item_named(carol, "Pay Out")
    assert pay_out["description"] == "Pay 80.00"
    complete(carol, pay_out["id"], "done")
    final = instance(admin, started["id"])
    assert final["status"] == "completed"
    assert final["variables"]["approved"] is True
    assert final["ended_at"] is not None


def test_a_large_expense_goes_to_a_manager_then_to_payroll(demo, api):
    dave, bob, carol, admin = api("dave"), api("bob"), api("carol"), api("admin")
    started = launch(dave, "Expense Approval", {"employee": "dave", "amount": "250.00"})
    assert started["status"] == "waiting" and started["state"] == "Approval"
    approve = item_named(bob, "Approve Expense")
    assert approve["status"] == "offered" and approve["description"] == "Expense of 250.00"
    complete(bob, approve["id"], "approve", {"comment": "fine"})
    assert instance(admin, started["id"])["state"] == "Payment"
    complete(carol, item_named(carol, "Pay Out")["id"], "done")
    final = instance(admin, started["id"])
    assert final["status"] == "completed"
    assert final["variables"]["comment"] == "fine"
    assert [w["status"] for w in final["work_items"]] == ["completed", "completed"]


def test_a_rejected_expense_ends_without_payment(demo, api):
    dave, bob, admin = api("dave"), api("bob"), api("admin")
    started = launch(dave, "Expense Approval", {"employee": "dave", "amount": "900"})
    complete(bob, item_named(bob, "Approve Expense")["id"], "reject", {"comment": "Not a business expense"},
             confirmed=True)
    final = instance(admin, started["id"])
    assert final["status"] == "completed"
    assert final["variables"]["approved"] is False
    assert len(final["work_items"]) == 1


def test_a_car_loan_runs_its_credit_check_parallel_review_and_cooling_off_timer(demo, api, engine_runs,
                                                                                time_passes):
    dave, alice, bob, admin = api("dave"), api("alice"), api("bob"), api("admin")
    started = launch(dave, "Car Loan", {"customer_name": "Maria Lopez", "amount": "20000"})
    assert started["waiting_on"] == "subprocess"
    engine_runs()  # the worker starts the Credit Check child, which ends and resumes the parent
    after_check = instance(admin, started["id"])
    assert after_check["variables"]["score"] == 720
    assert after_check["state"] == "Review"
    children = admin.get("/api/instances/", {"process": "Credit Check"}).json()["results"]
    assert [c["status"] for c in children] == ["completed"]
    assert children[0]["parent"] == started["id"]

    # Both branches of the parallel review wait at once.
    underwriting = item_named(alice, "Underwriting Review")
    branch = item_named(bob, "Branch Approval")
    complete(alice, underwriting["id"], "approve", {"notes": "income verified"})
    assert instance(admin, started["id"])["state"] == "Review"
    complete(bob, branch["id"], "approve")
    cooling = instance(admin, started["id"])
    assert cooling["state"] == "Cooling Off" and cooling["waiting_on"] == "timer"

    engine_runs()
    assert instance(admin, started["id"])["state"] == "Cooling Off"  # not due yet
    time_passes(timedelta(seconds=11))
    engine_runs()
    decision = item_named(dave, "Loan Decision")
    assert decision["description"] == "The loan of Maria Lopez was approved: approved after the cooling-off period"
    complete(dave, decision["id"], "acknowledge")
    final = instance(admin, started["id"])
    assert final["status"] == "completed"
    assert final["variables"]["decision"] == "approved"


def test_a_car_loan_with_a_low_score_is_denied_at_once(demo, api, engine_runs):
    dave, admin = api("dave"), api("admin")
    started = launch(dave, "Car Loan", {"customer_name": "Big Spender", "amount": "90000"})
    engine_runs()
    assert instance(admin, started["id"])["variables"]["score"] == 560
    decision = item_named(dave, "Loan Decision")
    assert "denied: credit score too low" in decision["description"]
    complete(dave, decision["id"], "acknowledge")
    assert instance(admin, started["id"])["status"] == "completed"
