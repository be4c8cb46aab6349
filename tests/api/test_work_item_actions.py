"""Acting on a work item over HTTP: pick up, save, hold, resume and complete."""

import pytest

from tests.conftest import launch, my_items

pytestmark = pytest.mark.django_db

CLAIM_REVIEW = {
    "format": "ipa.process/v1",
    "name": "Claim Review",
    "category": "Claims",
    "variables": [
        {"name": "claimant", "type": "string", "input": True, "required": True},
        {"name": "amount", "type": "decimal", "input": True, "default": "0"},
        {"name": "reason", "type": "string"},
        {"name": "outcome", "type": "string", "default": "open"},
    ],
    "start_state": "Review",
    "states": [
        {"name": "Review", "actions": [
            {"action": "send_work_item", "work_item": "Review Claim", "to": {"user": "{{ initiator }}"},
             "exits": {
                 "accept": [{"action": "assign", "variable": "outcome", "value": "\"accepted\""},
                            {"action": "change_state", "state": "Done"}],
                 "decline": [{"action": "assign", "variable": "outcome", "value": "\"declined\""},
                             {"action": "change_state", "state": "Done"}]}}]},
        {"name": "Done", "actions": [{"action": "end_process"}]},
    ],
    "work_items": [
        {"name": "Review Claim", "category": "Claims", "description": "Claim of {{ claimant }}",
         "fields": [
             {"variable": "claimant", "label": "Claimant", "readonly": True},
             {"variable": "amount", "label": "Amount"},
             {"variable": "reason", "label": "Reason", "control": "textarea", "required": True}],
         "buttons": [{"id": "accept", "label": "Accept"}, {"id": "decline", "label": "Decline"}]},
    ],
}


@pytest.fixture
def claim(demo, api) -> dict:
    """alice's Review Claim item for Maria's claim of 120.00, offered to alice (direct routed)."""
    from processes.services.definitions import import_definition

    import_definition(CLAIM_REVIEW, publish=True)
    instance = launch(api("alice"), "Claim%20Review", {"claimant": "Maria", "amount": "120.00"})
    [item] = my_items(api("alice"))
    assert item["instance"] == instance["id"]
    return item


@pytest.fixture
def alice(api):
    return api("alice")


def post(client, item: dict, action: str, body: dict | None = None):
    return client.post(f"/api/workitems/{item['id']}/{action}", body or {}, format="json")


def status_of(client, item: dict) -> str:
    return client.get(f"/api/workitems/{item['id']}/").json()["status"]


def field_values(client, item: dict) -> dict:
    return {f["variable"]: f.get("value") for f in client.get(f"/api/workitems/{item['id']}/").json()["fields"]}


def instance_of(client, item: dict) -> dict:
    response = client.get(f"/api/instances/{item['instance']}/")
    assert response.status_code == 200
    return response.json()


# ------------------------------------------------------------------------------ pick up


def test_picking_up_an_offered_item_starts_processing_it(claim, alice):
    assert claim["status"] == "offered"
    response = post(alice, claim, "pickup")
    assert response.status_code == 200
    assert response.json()["status"] == "processing"
    assert my_items(alice)[0]["status"] == "processing"


def test_picking_up_an_item_already_being_processed_is_a_conflict(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "pickup")
    assert response.status_code == 409
    assert "processing" in response.json()["detail"]


def test_an_item_must_be_picked_up_before_it_is_completed(claim, alice):
    response = post(alice, claim, "complete", {"button": "accept", "values": {"reason": "ok"}})
    assert response.status_code == 409
    assert status_of(alice, claim) == "offered"


# ----------------------------------------------------------------------------- complete


def test_completing_stores_the_values_and_moves_the_instance_along_the_button(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "complete", {"button": "accept", "values": {"reason": "receipts attached"}})
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert my_items(alice) == []
    instance = instance_of(alice, claim)
    assert instance["status"] == "completed"
    assert instance["variables"]["reason"] == "receipts attached"
    assert instance["variables"]["outcome"] == "accepted"
    assert [w["status"] for w in instance["work_items"]] == ["completed"]


def test_completing_an_item_twice_is_a_conflict(claim, alice):
    post(alice, claim, "pickup")
    assert post(alice, claim, "complete", {"button": "accept", "values": {"reason": "ok"}}).status_code == 200
    again = post(alice, claim, "complete", {"button": "decline", "values": {"reason": "no"}})
    assert again.status_code == 409
    assert instance_of(alice, claim)["variables"]["outcome"] == "accepted"


def test_a_button_the_item_does_not_have_is_refused_naming_button(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "complete", {"button": "escalate", "values": {"reason": "ok"}})
    assert response.status_code == 400
    assert "accept" in response.json()["errors"]["button"][0]
    assert status_of(alice, claim) == "processing"


def test_a_value_of_the_wrong_type_is_refused_by_field_and_the_item_stays_open(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "complete", {"button": "accept", "values": {"reason": "ok", "amount": "lots"}})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["amount"]
    assert status_of(alice, claim) == "processing"
    assert instance_of(alice, claim)["status"] == "waiting"


def test_a_required_field_left_empty_is_refused(claim, alice):
    post(alice, claim, "pickup")
    for values in ({}, {"reason": ""}):
        response = post(alice, claim, "complete", {"button": "accept", "values": values})
        assert response.status_code == 400
        assert response.json()["errors"] == {"reason": ["is required"]}
    assert status_of(alice, claim) == "processing"


def test_the_form_marks_the_required_field(claim, alice):
    fields = {f["variable"]: f for f in alice.get(f"/api/workitems/{claim['id']}/").json()["fields"]}
    assert fields["reason"]["required"] is True
    assert fields["amount"]["required"] is False


def test_a_read_only_value_sent_back_unchanged_is_accepted(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "complete",
                    {"button": "accept", "values": {"claimant": "Maria", "amount": "120.00", "reason": "ok"}})
    assert response.status_code == 200
    assert instance_of(alice, claim)["variables"]["claimant"] == "Maria"


@pytest.mark.parametrize("sent", [120, "120", 120.0, "120.00"])
def test_a_read_only_decimal_sent_back_as_a_number_or_other_text_is_unchanged(demo, api, sent):
    dave, bob = api("dave"), api("bob")
    launch(dave, "Expense Approval", {"employee": "dave", "amount": "120.00"})
    [item] = my_items(bob)
    post(bob, item, "pickup")
    response = post(bob, item, "complete", {"button": "approve", "values": {"amount": sent, "comment": "ok"}})
    assert response.status_code == 200, response.json()


def test_a_read_only_field_without_a_value_may_come_back_blank(demo, api):
    launch(api("carol"), "Expense Approval", {"employee": "carol", "amount": "80"})  # no iban given
    carol = api("carol")
    [item] = my_items(carol)
    post(carol, item, "pickup")
    response = post(carol, item, "complete", {"button": "done", "values": {"iban": "", "sum": "80"}})
    assert response.status_code == 200, response.json()


def test_a_changed_read_only_value_is_refused(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "complete", {"button": "accept", "values": {"claimant": "Mallory", "reason": "ok"}})
    assert response.status_code == 400
    assert response.json()["errors"] == {"claimant": ["is read-only"]}
    assert instance_of(alice, claim)["variables"]["claimant"] == "Maria"


def test_a_value_for_a_variable_not_on_the_form_is_refused(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "complete", {"button": "accept", "values": {"reason": "ok", "outcome": "paid"}})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["outcome"]


# --------------------------------------------------------------------------------- save


def test_saved_values_are_shown_on_the_form_as_a_draft(claim, alice):
    post(alice, claim, "pickup")
    response = post(alice, claim, "save", {"values": {"reason": "waiting for receipts", "amount": 99.5}})
    assert response.status_code == 200
    assert response.json()["status"] == "processing"
    values = field_values(alice, claim)
    assert values["reason"] == "waiting for receipts"
    assert values["amount"] == "99.5"
    assert instance_of(alice, claim)["variables"]["reason"] is None  # not stored in the instance yet


def test_saved_values_are_validated_like_completed_ones(claim, alice):
    post(alice, claim, "pickup")
    wrong_type = post(alice, claim, "save", {"values": {"amount": "lots"}})
    assert wrong_type.status_code == 400
    assert list(wrong_type.json()["errors"]) == ["amount"]
    read_only = post(alice, claim, "save", {"values": {"claimant": "Mallory"}})
    assert read_only.status_code == 400
    assert read_only.json()["errors"] == {"claimant": ["is read-only"]}
    assert field_values(alice, claim)["amount"] == "120.00"


def test_a_draft_may_leave_required_fields_empty(claim, alice):
    post(alice, claim, "pickup")
    assert post(alice, claim, "save", {"values": {"amount": "100"}}).status_code == 200


def test_saved_values_are_used_when_completing_without_sending_them_again(claim, alice):
    post(alice, claim, "pickup")
    post(alice, claim, "save", {"values": {"reason": "receipts checked", "amount": "110"}})
    response = post(alice, claim, "complete", {"button": "decline"})
    assert response.status_code == 200
    variables = instance_of(alice, claim)["variables"]
    assert variables["reason"] == "receipts checked"
    assert variables["amount"] == "110"
    assert variables["outcome"] == "declined"


# -------------------------------------------------------------------------- hold, resume


def test_an_item_can_be_held_and_resumed(claim, alice):
    post(alice, claim, "pickup")
    held = post(alice, claim, "hold")
    assert held.status_code == 200
    assert held.json()["status"] == "held"
    assert my_items(alice)[0]["status"] == "held"
    resumed = post(alice, claim, "resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "processing"


def test_holding_a_held_item_or_resuming_a_processing_one_is_a_conflict(claim, alice):
    post(alice, claim, "pickup")
    assert post(alice, claim, "resume").status_code == 409
    post(alice, claim, "hold")
    assert post(alice, claim, "hold").status_code == 409
    assert status_of(alice, claim) == "held"


def test_an_offered_item_cannot_be_held(claim, alice):
    assert post(alice, claim, "hold").status_code == 409


def test_a_held_item_can_be_completed(claim, alice):
    post(alice, claim, "pickup")
    post(alice, claim, "hold")
    response = post(alice, claim, "complete", {"button": "accept", "values": {"reason": "back from lunch"}})
    assert response.status_code == 200
    assert instance_of(alice, claim)["status"] == "completed"


def test_only_the_items_user_may_act_on_it(claim, api):
    bob = api("bob")
    for action in ("pickup", "hold", "resume", "save", "complete"):
        assert post(bob, claim, action, {"button": "accept", "values": {}}).status_code == 404
