"""Every refusal under /api/ is one shape: an RFC 9457 problem document, never an HTML page."""

import pytest

from tests.api.test_definitions import EXPENSE
from tests.conftest import complete, launch, my_items

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
PREFIX = "tag:ipa-portal,2026:problem:"


def problem_of(response, status: int) -> dict:
    """The response's problem document, after checking its status, media type and members."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith(PREFIX)
    assert body["title"] and body["detail"]
    assert ("errors" in body) == (status == 400)
    return body


def test_an_anonymous_call_is_a_401_problem_that_asks_for_a_token(api):
    response = api(None).get("/api/workitems/")
    body = problem_of(response, 401)
    assert body["type"] == PREFIX + "not-authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_a_missing_right_is_a_403_problem_with_a_sentence(demo, api):
    body = problem_of(api("sam").get("/api/definitions/"), 403)
    assert body["type"] == PREFIX + "forbidden"
    assert "Process Designer" in body["detail"] or "process designer" in body["detail"]


def test_an_unknown_path_under_api_is_a_404_problem(api, directory):
    body = problem_of(api("admin").get("/api/no-such-thing/"), 404)
    assert body["type"] == PREFIX + "not-found"


def test_an_id_that_is_not_a_number_is_a_404_problem_even_for_anonymous_callers(api):
    problem_of(api(None).get("/api/workitems/abc/"), 404)
    problem_of(api(None).post("/api/instances/x1/cancel"), 404)


def test_an_id_nobody_has_is_a_404_problem(demo, api):
    body = problem_of(api("admin").get("/api/instances/999999/"), 404)
    assert body["detail"] == "No such instance."


def test_a_method_the_endpoint_does_not_have_is_a_405_problem(demo, api):
    response = api("alice").delete("/api/workitems/")
    body = problem_of(response, 405)
    assert body["type"] == PREFIX + "method-not-allowed"
    assert "GET" in response["Allow"]


def test_a_form_encoded_body_is_a_415_problem(demo, api):
    response = api("dave").post("/api/processes/Expense%20Approval/launch", "inputs=1",
                                content_type="application/x-www-form-urlencoded")
    body = problem_of(response, 415)
    assert body["type"] == PREFIX + "unsupported-media-type"


def test_malformed_json_is_a_400_problem(demo, api):
    response = api("dave").post("/api/processes/Expense%20Approval/launch", "{not json",
                                content_type="application/json")
    body = problem_of(response, 400)
    assert body["errors"] == {}


def test_invalid_values_are_a_400_problem_keyed_by_field(demo, api):
    response = api("dave").post("/api/processes/Expense%20Approval/launch",
                                {"inputs": {"employee": "dave", "amount": "lots"}})
    body = problem_of(response, 400)
    assert body["type"] == PREFIX + "validation"
    assert list(body["errors"]) == ["amount"]


def test_a_body_the_serializer_refuses_is_keyed_by_its_fields(demo, api):
    body = problem_of(api("dave").post("/api/processes/Expense%20Approval/launch", {"inputs": [1]}), 400)
    assert list(body["errors"]) == ["inputs"]
    body = problem_of(api("alice").put("/api/me/presence", {"status": "asleep"}), 400)
    assert list(body["errors"]) == ["status"]


def test_an_empty_transfer_is_a_400_problem(demo, api):
    started = launch(api("dave"), "Expense Approval", {"employee": "dave", "amount": "250"})
    [item] = [i for i in my_items(api("bob")) if i["instance"] == started["id"]]
    body = problem_of(api("bob").post(f"/api/workitems/{item['id']}/transfer", {}), 400)
    assert body["errors"] == {"user": ["give either a user or a workgroup"]}


def test_a_second_completion_is_a_409_problem(demo, api):
    bob = api("bob")
    started = launch(api("dave"), "Expense Approval", {"employee": "dave", "amount": "250"})
    [item] = [i for i in my_items(bob) if i["instance"] == started["id"]]
    complete(bob, item["id"], "approve")
    body = problem_of(bob.post(f"/api/workitems/{item['id']}/complete", {"button": "approve"}), 409)
    assert body["type"] == PREFIX + "conflict"
    assert "completed" in body["detail"]


def test_an_invalid_definition_lists_its_faults_by_path(directory, api):
    broken = {**EXPENSE, "format": "ipa.process/v0"}
    body = problem_of(api("admin").post("/api/definitions/", broken), 400)
    assert body["type"] == PREFIX + "definition-invalid"
    assert {"path": "format", "message": body["errors"][0]["message"]} in body["errors"]


def test_wrong_credentials_are_a_400_problem(directory, api):
    body = problem_of(api(None).post("/api/auth/token", {"username": "alice", "password": "nope"}), 400)
    assert body["detail"] == "Wrong user name or password."


def test_a_crash_under_api_is_a_500_problem_without_its_message():
    from django.test import RequestFactory

    from ipa_portal.errors import server_error

    response = server_error(RequestFactory().get("/api/workitems/"))
    assert response.status_code == 500 and response["Content-Type"] == PROBLEM
    assert b"Traceback" not in response.content
