"""Where work items go: transfers, workgroup queues and items that time out."""

from datetime import timedelta

import pytest

from tests.conftest import complete, launch, my_items

pytestmark = pytest.mark.django_db

NIGHT_DESK = {
    "format": "ipa.process/v1",
    "name": "Night Desk",
    "variables": [{"name": "topic", "type": "string", "input": True, "required": True}],
    "start_state": "Answer",
    "states": [
        {"name": "Answer", "actions": [
            {"action": "send_work_item", "work_item": "Answer Call", "to": {"workgroup": "Night Shift"},
             "exits": {"done": [{"action": "end_process"}]}}]},
    ],
    "work_items": [{"name": "Answer Call", "description": "Call about {{ topic }}",
                    "buttons": [{"id": "done", "label": "Done"}]}],
}

QUOTE_REQUEST = {
    "format": "ipa.process/v1",
    "name": "Quote Request",
    "variables": [
        {"name": "customer", "type": "string", "input": True, "required": True},
        {"name": "outcome", "type": "string", "default": "open"},
    ],
    "start_state": "Quote",
    "states": [
        {"name": "Quote", "actions": [
            {"action": "send_work_item", "work_item": "Send Quote", "to": {"user": "{{ initiator }}"},
             "timeout": "PT1H",
             "on_timeout": [{"action": "assign", "variable": "outcome", "value": "\"expired\""},
                            {"action": "change_state", "state": "Follow Up"}],
             "exits": {"sent": [{"action": "assign", "variable": "outcome", "value": "\"sent\""},
                                {"action": "end_process"}]}}]},
        {"name": "Follow Up", "actions": [
            {"action": "send_work_item", "work_item": "Call Customer", "to": {"workgroup": "Managers"},
             "exits": {"called": [{"action": "end_process"}]}}]},
    ],
    "work_items": [
        {"name": "Send Quote", "description": "Quote for {{ customer }}", "buttons": [{"id": "sent"}]},
        {"name": "Call Customer", "description": "The quote for {{ customer }} expired",
         "buttons": [{"id": "called"}]},
    ],
}


def publish(document: dict) -> None:
    from processes.services.definitions import import_definition

    import_definition(document, publish=True)


def transfer(client, item_id: int, **to):
    return client.post(f"/api/workitems/{item_id}/transfer", to, format="json")


def instance(client, instance_id: int) -> dict:
    response = client.get(f"/api/instances/{instance_id}/")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def approval(demo, api) -> dict:
    """bob's Approve Expense item for dave's expense of 250.00."""
    launch(api("dave"), "Expense Approval", {"employee": "dave", "amount": "250.00"})
    [item] = my_items(api("bob"))
    return item


@pytest.fixture
def night_shift(demo):
    """A workgroup whose only member, dave, is licensed for direct-routed items only."""
    from administration.models import User, Workgroup

    group = Workgroup.objects.create(name="Night Shift")
    User.objects.get(username="dave").workgroups.add(group)
    return group


# ----------------------------------------------------------------------------- transfer


def test_an_item_transferred_to_a_user_is_offered_to_them_and_leaves_the_sender(approval, api):
    bob, alice = api("bob"), api("alice")
    response = transfer(bob, approval["id"], user="alice")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["user"]) == ("offered", "alice")
    assert my_items(bob) == []
    assert [(i["id"], i["status"]) for i in my_items(alice)] == [(approval["id"], "offered")]
    complete(alice, approval["id"], "approve")


def test_a_processing_item_can_be_transferred(approval, api):
    bob = api("bob")
    bob.post(f"/api/workitems/{approval['id']}/pickup")
    assert transfer(bob, approval["id"], user="carol").json()["status"] == "offered"
    assert [i["id"] for i in my_items(api("carol"))] == [approval["id"]]


def test_an_item_transferred_to_a_workgroup_is_queued_then_offered_to_a_member(approval, api):
    response = transfer(api("bob"), approval["id"], workgroup="Underwriters")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["user"]) == ("offered", "alice")
    assert response.json()["workgroup"] == "Underwriters"
    assert [i["id"] for i in my_items(api("alice"))] == [approval["id"]]
    assert my_items(api("bob")) == []


def test_transferring_to_an_unknown_user_is_refused_naming_user(approval, api):
    response = transfer(api("bob"), approval["id"], user="nobody")
    assert response.status_code == 400
    assert "nobody" in response.json()["errors"]["user"][0]
    assert [i["id"] for i in my_items(api("bob"))] == [approval["id"]]


def test_transferring_to_an_unknown_workgroup_is_refused_naming_workgroup(approval, api):
    response = transfer(api("bob"), approval["id"], workgroup="Nobody")
    assert response.status_code == 400
    assert "workgroup" in response.json()["errors"]


def test_transferring_to_a_user_without_a_license_is_refused(approval, api):
    from administration.models import User

    User.objects.create_user("erin", password="erin-pass-1")
    response = transfer(api("bob"), approval["id"], user="erin")
    assert response.status_code == 400
    assert "license" in response.json()["errors"]["user"][0]
    assert my_items(api("bob"))[0]["status"] == "offered"


def test_a_transfer_needs_exactly_one_target(approval, api):
    assert transfer(api("bob"), approval["id"]).status_code == 400
    assert transfer(api("bob"), approval["id"], user="alice", workgroup="Payroll").status_code == 400


def test_someone_elses_item_cannot_be_transferred(approval, api):
    assert transfer(api("alice"), approval["id"], user="alice").status_code == 404
    assert my_items(api("alice")) == []


def test_a_user_with_the_manage_right_may_transfer_anyones_item(approval, api):
    response = transfer(api("sam"), approval["id"], user="carol")
    assert response.status_code == 200
    assert [i["id"] for i in my_items(api("carol"))] == [approval["id"]]
    assert my_items(api("bob")) == []


def test_a_completed_item_cannot_be_transferred(approval, api):
    complete(api("bob"), approval["id"], "reject", {"comment": "Not a business expense"}, confirmed=True)
    assert transfer(api("bob"), approval["id"], user="alice").status_code == 409


# ------------------------------------------------------------------------- group routing


def test_an_item_for_a_workgroup_is_offered_to_one_member(approval, api):
    assert approval["status"] == "offered"
    assert approval["user"] == "bob"
    assert approval["workgroup"] == "Managers"


def test_a_group_item_waits_in_the_queue_until_a_licensed_member_joins(night_shift, api, engine_runs):
    from administration.models import User

    publish(NIGHT_DESK)
    started = launch(api("alice"), "Night%20Desk", {"topic": "a lost card"})
    engine_runs()
    [item] = instance(api("alice"), started["id"])["work_items"]
    assert item["status"] == "queued"
    assert my_items(api("dave")) == []  # a direct-routed license does not take group items
    assert my_items(api("alice")) == []

    User.objects.get(username="alice").workgroups.add(night_shift)
    engine_runs()
    [offered] = my_items(api("alice"))
    assert (offered["id"], offered["status"]) == (item["id"], "offered")
    assert offered["description"] == "Call about a lost card"


# ------------------------------------------------------------------------------ timeouts


def test_an_item_not_done_in_time_is_withdrawn_and_the_instance_follows_on_timeout(demo, api, engine_runs,
                                                                                  time_passes):
    publish(QUOTE_REQUEST)
    alice = api("alice")
    started = launch(alice, "Quote%20Request", {"customer": "Acme"})
    [item] = my_items(alice)
    engine_runs()
    assert my_items(alice)[0]["status"] == "offered"  # not due yet

    time_passes(timedelta(hours=2))
    engine_runs()
    assert my_items(alice) == []
    withdrawn = alice.get("/api/workitems/", {"status": "withdrawn"}).json()["results"]
    assert [(i["id"], i["status"]) for i in withdrawn] == [(item["id"], "withdrawn")]
    after = instance(alice, started["id"])
    assert after["variables"]["outcome"] == "expired"
    assert after["state"] == "Follow Up"
    assert [i["name"] for i in my_items(api("bob"))] == ["Call Customer"]


def test_a_withdrawn_item_can_no_longer_be_completed(demo, api, engine_runs, time_passes):
    publish(QUOTE_REQUEST)
    alice = api("alice")
    launch(alice, "Quote%20Request", {"customer": "Acme"})
    [item] = my_items(alice)
    alice.post(f"/api/workitems/{item['id']}/pickup")
    time_passes(timedelta(hours=2))
    engine_runs()
    response = alice.post(f"/api/workitems/{item['id']}/complete", {"button": "sent"}, format="json")
    assert response.status_code == 409


def test_an_item_done_in_time_cancels_its_timeout(demo, api, engine_runs, time_passes):
    publish(QUOTE_REQUEST)
    alice = api("alice")
    started = launch(alice, "Quote%20Request", {"customer": "Acme"})
    complete(alice, my_items(alice)[0]["id"], "sent")
    time_passes(timedelta(hours=2))
    engine_runs()
    after = instance(alice, started["id"])
    assert (after["status"], after["variables"]["outcome"]) == ("completed", "sent")
    assert my_items(api("bob")) == []
