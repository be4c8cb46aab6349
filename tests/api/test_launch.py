"""Launching a process: rights, input validation keyed by field, security specifications."""

import pytest

pytestmark = pytest.mark.django_db

LAUNCH = "/api/processes/Expense%20Approval/launch"


def test_the_process_list_shows_launch_inputs_to_users_with_the_launch_right(demo, api):
    processes = {p["name"]: p for p in api("dave").get("/api/processes/").json()["results"]}
    assert set(processes) == {"Expense Approval", "Car Loan", "Credit Check", "Web Service Demo",
                              "Customer Onboarding"}
    inputs = {i["name"]: i for i in processes["Expense Approval"]["inputs"]}
    assert inputs["amount"] == {"name": "amount", "type": "decimal", "required": True, "default": None}
    assert "iban" not in inputs  # dave is not on the Payroll specification


def test_users_without_the_launch_right_cannot_list_or_launch(demo, api):
    sam = api("sam")  # the Supervisor role gives launch; strip it for this test
    from administration.models import Role, User

    Role.objects.filter(name="Supervisor").update(rights=["view", "manage"])
    User.objects.filter(username="sam").update(rights=[])
    assert sam.get("/api/processes/").status_code == 403
    assert sam.post(LAUNCH, {"inputs": {"employee": "sam", "amount": "5"}}, format="json").status_code == 403


def test_a_launch_returns_the_instance_waiting_on_its_first_work_item(demo, api):
    response = api("dave").post(LAUNCH, {"inputs": {"employee": "dave", "amount": "500"}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "waiting"
    assert body["waiting_on"] == "work_item"
    assert body["started_by"] == "dave"
    assert body["variables"]["amount"] == "500"
    assert [w["name"] for w in body["work_items"]] == ["Approve Expense"]


def test_bad_inputs_are_refused_with_one_error_per_field(demo, api):
    response = api("dave").post(LAUNCH, {"inputs": {"amount": "-3", "colour": "red"}}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["employee"] == ["is required"]
    assert "at least 0" in errors["amount"][0]
    assert "not a launch input" in errors["colour"][0]


def test_a_value_of_the_wrong_type_names_its_field(demo, api):
    response = api("dave").post(LAUNCH, {"inputs": {"employee": "dave", "amount": "lots"}}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["amount"]


def test_numbers_are_accepted_for_decimals_and_kept_exact(demo, api):
    body = api("dave").post(LAUNCH, {"inputs": {"employee": "dave", "amount": 0.1}}, format="json").json()
    assert body["variables"]["amount"] == "0.1"


def test_a_user_not_on_a_security_specification_cannot_send_its_value(demo, api):
    response = api("dave").post(LAUNCH, {"inputs": {"employee": "dave", "amount": "5", "iban": "DE89"}},
                                format="json")
    assert response.status_code == 403
    assert "iban" not in response.json()["detail"]


def test_a_user_on_the_specification_may_send_and_see_the_value(demo, api):
    response = api("carol").post(LAUNCH, {"inputs": {"employee": "dave", "amount": "500", "iban": "DE89"}},
                                 format="json")
    assert response.status_code == 201
    assert response.json()["variables"]["iban"] == "DE89"


def test_launching_an_unknown_process_is_a_404(demo, api):
    response = api("dave").post("/api/processes/No%20Such/launch", {"inputs": {}}, format="json")
    assert response.status_code == 404
