"""A ``user`` or ``workgroup`` value given at launch or in a form must name one that exists."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_launch_naming_no_existing_user_is_refused_by_field(demo, api):
    response = api("dave").post("/api/processes/Expense Approval/launch",
                                {"inputs": {"employee": "nobody", "amount": "250.00"}}, format="json")
    assert response.status_code == 400
    body = response.json()
    errors = body.get("errors") or body.get("inputs") or body
    assert errors["employee"] == ["names no existing user"], body


def test_a_launch_naming_an_existing_user_goes_ahead(demo, api):
    response = api("dave").post("/api/processes/Expense Approval/launch",
                                {"inputs": {"employee": "dave", "amount": "250.00"}}, format="json")
    assert response.status_code == 201
