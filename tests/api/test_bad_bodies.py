"""Bad request bodies get clean answers: 413 over the size limit, 400 nested too deep, never a 500."""

import json

import pytest

pytestmark = pytest.mark.django_db


def post_raw(client, path: str, body: str):
    return client.post(path, body, content_type="application/json")


def test_json_nested_a_little_past_the_bound_is_refused_too(directory, api):
    body = '{"inputs": {"x": ' + "[" * 150 + "]" * 150 + "}}"
    response = post_raw(api("dave"), "/api/processes/Expense Approval/launch", body)
    assert response.status_code == 400
    assert "nested more than 100 levels" in response.content.decode()


def test_a_token_request_over_the_limit_is_refused_too(db):
    from rest_framework.test import APIClient

    response = post_raw(APIClient(), "/api/auth/token", json.dumps({"username": "x" * 3_000_000, "password": "p"}))
    assert response.status_code == 413


@pytest.mark.parametrize("action, body", [("pickup", None), ("hold", None), ("resume", None),
                                          ("complete", {"button": "approve"})])
def test_a_work_item_id_past_the_database_s_range_is_not_found(directory, api, action, body):
    response = api("alice").post(f"/api/workitems/{2**64}/{action}", body, format="json")
    assert response.status_code == 404
    assert response.json()["status"] == 404
