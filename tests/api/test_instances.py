"""Seeing and managing instances: view right or originator, manage right, filters, protected values."""

import pytest

from tests.conftest import launch

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(demo, api):
    """(payroll_run, dave_run): carol's expense with an iban only Payroll may see, waiting on a
    manager in state Approval; and dave's small expense, waiting on Payroll in state Payment."""
    payroll_run = launch(api("carol"), "Expense Approval", {"employee": "dave", "amount": "500", "iban": "DE89"})
    dave_run = launch(api("dave"), "Expense Approval", {"employee": "dave", "amount": "50"})
    return payroll_run["id"], dave_run["id"]


def test_the_originator_sees_their_instance_and_no_other(started, api):
    payroll_id, dave_id = started
    dave = api("dave")
    assert [i["id"] for i in dave.get("/api/instances/").json()["results"]] == [dave_id]
    assert dave.get(f"/api/instances/{dave_id}/").status_code == 200
    assert dave.get(f"/api/instances/{payroll_id}/").status_code == 404


def test_the_view_right_shows_every_instance(started, api):
    ids = {i["id"] for i in api("sam").get("/api/instances/").json()["results"]}
    assert set(started) <= ids


def test_a_protected_value_is_left_out_for_users_not_on_its_specification(started, api):
    payroll_id, _ = started
    hidden = api("sam").get(f"/api/instances/{payroll_id}/").json()["variables"]
    assert "iban" not in hidden
    assert hidden["amount"] == "500"
    assert api("carol").get(f"/api/instances/{payroll_id}/").json()["variables"]["iban"] == "DE89"


def test_history_names_variables_but_never_their_values(started, api):
    payroll_id, _ = started
    detail = api("admin").get(f"/api/instances/{payroll_id}/").json()
    text = " ".join(f"{h['what']} {h['detail']}" for h in detail["history"])
    assert "launched" in text
    assert "DE89" not in text and "500" not in text


def test_instances_filter_by_process_status_state_and_originator(started, api):
    payroll_id, dave_id = started
    sam = api("sam")

    def ids(**query):
        response = sam.get("/api/instances/", query)
        assert response.status_code == 200, response.json()
        return {i["id"] for i in response.json()["results"]}

    assert ids(process="Expense Approval") == {payroll_id, dave_id}
    assert ids(process="Car Loan") == set()
    assert ids(state="Approval") == {payroll_id}
    assert ids(state="Payment") == {dave_id}
    assert ids(started_by="dave") == {dave_id}
    assert ids(status="waiting", waiting_on="work_item") == {payroll_id, dave_id}
    assert ids(started_after="2000-01-01T00:00:00Z") == {payroll_id, dave_id}
    assert ids(started_before="2000-01-01T00:00:00Z") == set()


def test_a_bad_filter_value_names_the_filter(started, api):
    response = api("sam").get("/api/instances/", {"status": "sleeping", "started_after": "yesterday"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) >= {"status", "started_after"}


def test_instances_are_paginated(started, api):
    page = api("sam").get("/api/instances/", {"page_size": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]


def test_cancel_needs_the_manage_right_and_cancels_open_work_items(started, api):
    _, dave_id = started
    assert api("dave").post(f"/api/instances/{dave_id}/cancel").status_code == 403
    response = api("sam").post(f"/api/instances/{dave_id}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["ended_at"]
    assert [w["status"] for w in body["work_items"]] == ["cancelled"]
    assert api("sam").post(f"/api/instances/{dave_id}/cancel").status_code == 409


def test_retry_and_skip_need_an_instance_in_error(started, api):
    _, dave_id = started
    assert api("sam").post(f"/api/instances/{dave_id}/retry").status_code == 409
    assert api("sam").post(f"/api/instances/{dave_id}/skip").status_code == 409


def test_managing_an_instance_the_caller_cannot_see_is_a_404(started, api):
    payroll_id, _ = started
    assert api("dave").post(f"/api/instances/{payroll_id}/cancel").status_code == 404


def test_related_interactions_appear_on_the_instance(started, api):
    _, dave_id = started
    dave = api("dave")
    response = dave.post(f"/api/instances/{dave_id}/interactions",
                         {"type": "call", "reference": "+1 555 0100", "description": "asked about status"},
                         format="json")
    assert response.status_code == 201
    related = dave.get(f"/api/instances/{dave_id}/").json()["related_interactions"]
    assert [(r["type"], r["reference"], r["created_by"]) for r in related] == [("call", "+1 555 0100", "dave")]
    bad = dave.post(f"/api/instances/{dave_id}/interactions", {"type": "call"}, format="json")
    assert bad.status_code == 400 and "reference" in bad.json()["errors"]
