"""A button may ask first (``confirm``) and need fields (``requires``): the service refuses it otherwise."""

import pytest

from tests.conftest import launch, my_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def approval(demo, api) -> int:
    """bob's Approve Expense item (dave's 250.00), picked up."""
    launch(api("dave"), "Expense Approval", {"employee": "dave", "amount": "250.00"})
    [item] = my_items(api("bob"))
    assert api("bob").post(f"/api/workitems/{item['id']}/pickup").status_code == 200
    return item["id"]


def press(client, item_id: int, button: str, values: dict | None = None, **extra):
    return client.post(f"/api/workitems/{item_id}/complete", {"button": button, "values": values or {}, **extra},
                       format="json")


def test_reject_needs_a_comment_before_anything_else(approval, api):
    response = press(api("bob"), approval, "reject", confirmed=True)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["comment"]


def test_reject_needs_its_question_answered(approval, api):
    response = press(api("bob"), approval, "reject", {"comment": "Private dinner"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"button": ["Reject this expense? The employee will not be paid."]}
    assert my_items(api("bob"))[0]["status"] == "processing"  # nothing happened


def test_answered_and_commented_reject_completes(approval, api):
    response = press(api("bob"), approval, "reject", {"comment": "Private dinner"}, confirmed=True)
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_the_other_button_asks_nothing(approval, api):
    assert press(api("bob"), approval, "approve").status_code == 200
