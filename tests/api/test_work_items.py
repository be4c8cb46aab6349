"""The work item list and the form of one item, as an agent's client reads them over HTTP."""

import pytest

from tests.conftest import complete, launch, my_items

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


def item_named(client, name: str) -> dict:
    items = [i for i in my_items(client) if i["name"] == name]
    assert len(items) == 1, f"expected one {name!r} item, got {items}"
    return items[0]


def form(client, item_id: int) -> dict:
    response = client.get(f"/api/workitems/{item_id}/")
    assert response.status_code == 200, response.json()
    return response.json()


def fields_of(body: dict) -> dict[str, dict]:
    return {f["variable"]: f for f in body["fields"]}


@pytest.fixture
def expense(demo, api) -> dict:
    """dave's expense of 250.00, waiting on bob's Approve Expense item."""
    return launch(api("dave"), "Expense Approval", {"employee": "dave", "amount": "250.00"})


@pytest.fixture
def pay_out(demo, api) -> dict:
    """carol's own expense with her IBAN, waiting on her Pay Out item (no manager needed)."""
    launch(api("carol"), "Expense Approval", {"employee": "carol", "amount": "80.00", "iban": IBAN})
    return item_named(api("carol"), "Pay Out")


# ------------------------------------------------------------------------------ the list


def test_a_user_sees_only_their_own_work_items(expense, api):
    bob_items = my_items(api("bob"))
    assert [i["name"] for i in bob_items] == ["Approve Expense"]
    assert bob_items[0]["instance"] == expense["id"]
    assert bob_items[0]["process"] == "Expense Approval"
    assert bob_items[0]["status"] == "offered"
    assert my_items(api("alice")) == []
    assert my_items(api("dave")) == []  # dave launched it; the item is not his


def test_a_list_entry_carries_what_an_inbox_shows(expense, api):
    entry = my_items(api("bob"))[0]
    for key in ("id", "instance", "process", "name", "category", "description", "priority", "status",
                "created_at"):
        assert key in entry
    assert entry["description"] == "Expense of 250.00"


def test_the_list_is_paginated(expense, api):
    body = api("bob").get("/api/workitems/").json()
    assert {"count", "next", "previous", "results"} <= set(body)
    assert body["count"] == 1


def test_completed_items_leave_the_list_and_show_with_status_completed(expense, api):
    bob = api("bob")
    item = my_items(bob)[0]
    complete(bob, item["id"], "reject", {"comment": "Not a business expense"}, confirmed=True)
    assert my_items(bob) == []
    closed = bob.get("/api/workitems/", {"status": "completed"}).json()["results"]
    assert [(i["id"], i["status"]) for i in closed] == [(item["id"], "completed")]


def test_an_unknown_status_filter_is_refused_naming_status(expense, api):
    response = api("bob").get("/api/workitems/", {"status": "finished"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_a_user_without_a_license_may_not_list_work_items(demo, api):
    from administration.models import User

    User.objects.create_user("erin", password="erin-pass-1")  # no license
    response = api("erin").get("/api/workitems/")
    assert response.status_code == 403
    assert "license" in response.json()["detail"]


def test_anonymous_callers_get_a_401(demo, api):
    assert api(None).get("/api/workitems/").status_code == 401


# ------------------------------------------------------------------------------ the form


def test_the_form_describes_each_field_and_button(expense, api):
    bob = api("bob")
    body = form(bob, my_items(bob)[0]["id"])
    assert body["name"] == "Approve Expense"
    assert body["status"] == "offered"
    assert body["description"] == "Expense of 250.00"
    fields = fields_of(body)
    assert list(fields) == ["amount", "comment"]
    amount, comment = fields["amount"], fields["comment"]
    assert (amount["label"], amount["control"], amount["readonly"], amount["required"]) == (
        "Amount", "number", True, False)
    assert amount["value"] == "250.00"
    assert (comment["label"], comment["control"], comment["readonly"]) == ("Comment", "textarea", False)
    assert comment["value"] is None
    assert body["buttons"] == [{"id": "approve", "label": "Approve"},
                               {"id": "reject", "label": "Reject", "requires": ["comment"],
                                "confirm": "Reject this expense? The employee will not be paid."}]


def test_another_users_item_is_a_404(expense, api):
    item_id = my_items(api("bob"))[0]["id"]
    assert api("alice").get(f"/api/workitems/{item_id}/").status_code == 404
    assert api("alice").post(f"/api/workitems/{item_id}/pickup").status_code == 404


def test_an_item_that_does_not_exist_is_a_404(demo, api):
    assert api("bob").get("/api/workitems/999999/").status_code == 404


# ------------------------------------------------------------------------------- masking


def test_a_user_on_the_security_specification_sees_the_protected_value(pay_out, api):
    body = form(api("carol"), pay_out["id"])
    iban = fields_of(body)["iban"]
    assert iban["masked"] is False
    assert iban["value"] == IBAN


def test_a_user_not_on_the_specification_sees_the_field_masked_without_its_value(pay_out, api):
    carol, bob = api("carol"), api("bob")
    assert carol.post(f"/api/workitems/{pay_out['id']}/transfer", {"user": "bob"}, format="json").status_code == 200
    response = bob.get(f"/api/workitems/{pay_out['id']}/")
    assert response.status_code == 200
    iban = fields_of(response.json())["iban"]
    assert iban["masked"] is True
    assert iban["readonly"] is True
    assert "value" not in iban
    assert IBAN not in response.content.decode()
    assert IBAN not in bob.get("/api/workitems/").content.decode()


@pytest.mark.parametrize("action", ["save", "complete"])
def test_a_user_not_on_the_specification_may_not_send_the_protected_value(pay_out, api, action):
    carol, bob = api("carol"), api("bob")
    carol.post(f"/api/workitems/{pay_out['id']}/transfer", {"user": "bob"}, format="json")
    assert bob.post(f"/api/workitems/{pay_out['id']}/pickup").status_code == 200
    response = bob.post(f"/api/workitems/{pay_out['id']}/{action}",
                        {"button": "done", "values": {"iban": "GB00HACK"}}, format="json")
    assert response.status_code == 403
    assert IBAN not in response.content.decode()
    assert "GB00HACK" not in response.content.decode()
    assert form(bob, pay_out["id"])["status"] == "processing"


def test_the_masked_value_is_kept_when_the_other_user_completes_the_item(pay_out, api):
    carol, bob = api("carol"), api("bob")
    carol.post(f"/api/workitems/{pay_out['id']}/transfer", {"user": "bob"}, format="json")
    complete(bob, pay_out["id"], "done")
    instance = api("admin").get(f"/api/instances/{pay_out['instance']}/").json()
    assert instance["status"] == "completed"
    assert api("carol").get(f"/api/instances/{pay_out['instance']}/").json()["variables"]["iban"] == IBAN


def test_a_masked_field_posted_back_empty_is_not_a_value_and_is_accepted(pay_out, api):
    carol, bob = api("carol"), api("bob")
    carol.post(f"/api/workitems/{pay_out['id']}/transfer", {"user": "bob"}, format="json")
    assert bob.post(f"/api/workitems/{pay_out['id']}/pickup").status_code == 200
    response = bob.post(f"/api/workitems/{pay_out['id']}/complete",
                        {"button": "done", "values": {"iban": None}}, format="json")
    assert response.status_code == 200
    assert api("carol").get(f"/api/instances/{pay_out['instance']}/").json()["variables"]["iban"] == IBAN
