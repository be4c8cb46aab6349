"""Designers import, version and publish definitions over the API."""

import copy
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

EXPENSE = json.loads((Path(__file__).resolve().parents[2] / "demo/processes/expense_approval.json").read_text())


def test_a_designer_imports_a_definition_as_a_draft(directory, api):
    response = api("admin").post("/api/definitions/", EXPENSE, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["version"], body["published"]) == ("Expense Approval", 1, False)


def test_importing_an_existing_name_makes_a_new_version(directory, api):
    admin = api("admin")
    admin.post("/api/definitions/", EXPENSE, format="json")
    second = admin.post("/api/definitions/", EXPENSE, format="json").json()
    assert second["version"] == 2
    listed = admin.get("/api/definitions/", {"name": "Expense Approval"}).json()
    assert [d["version"] for d in listed["results"]] == [2, 1]


def test_an_invalid_definition_is_refused_with_every_error_and_its_path(directory, api):
    broken = copy.deepcopy(EXPENSE)
    broken["format"] = "ipa.process/v0"
    broken["states"][0]["actions"][0]["branches"][0]["actions"][1]["state"] = "Paymnet"
    response = api("admin").post("/api/definitions/", broken, format="json")
    assert response.status_code == 400
    errors = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert "format" in errors
    assert "states[0].actions[0].branches[0].actions[1].state" in errors
    assert "Payment" in errors["states[0].actions[0].branches[0].actions[1].state"]


def test_a_body_that_is_not_json_is_refused_with_a_clear_error(directory, api):
    response = api("admin").post("/api/definitions/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_only_process_designers_import_or_publish(directory, api):
    assert api("sam").post("/api/definitions/", EXPENSE, format="json").status_code == 403
    assert api("sam").get("/api/definitions/").status_code == 403
    draft = api("admin").post("/api/definitions/", EXPENSE, format="json").json()
    assert api("sam").post(f"/api/definitions/{draft['id']}/publish").status_code == 403


def test_publishing_makes_a_version_launchable_and_instances_keep_their_version(directory, api):
    admin = api("admin")
    v1 = admin.post("/api/definitions/", EXPENSE, format="json").json()
    launch = {"inputs": {"employee": "dave", "amount": "500"}}
    assert admin.post("/api/processes/Expense%20Approval/launch", launch, format="json").status_code == 404
    assert admin.post(f"/api/definitions/{v1['id']}/publish").status_code == 200
    first = admin.post("/api/processes/Expense%20Approval/launch", launch, format="json").json()
    v2 = admin.post("/api/definitions/", EXPENSE, format="json").json()
    admin.post(f"/api/definitions/{v2['id']}/publish")
    second = admin.post("/api/processes/Expense%20Approval/launch", launch, format="json").json()
    assert (first["version"], second["version"]) == (1, 2)
    assert admin.get(f"/api/instances/{first['id']}/").json()["version"] == 1
    processes = admin.get("/api/processes/").json()["results"]
    assert [(p["name"], p["version"]) for p in processes] == [("Expense Approval", 2)]


def test_publishing_twice_is_a_conflict(directory, api):
    admin = api("admin")
    v1 = admin.post("/api/definitions/", EXPENSE, format="json").json()
    assert admin.post(f"/api/definitions/{v1['id']}/publish").status_code == 200
    assert admin.post(f"/api/definitions/{v1['id']}/publish").status_code == 409


def test_a_designer_launches_a_draft_as_a_test_process_and_others_cannot(directory, api):
    api("admin").post("/api/definitions/", EXPENSE, format="json")
    inputs = {"inputs": {"employee": "dave", "amount": "5"}, "test": True}
    test_run = api("admin").post("/api/processes/Expense%20Approval/launch", inputs, format="json")
    assert test_run.status_code == 201
    assert test_run.json()["is_test"] is True
    assert api("dave").post("/api/processes/Expense%20Approval/launch", inputs, format="json").status_code == 403
