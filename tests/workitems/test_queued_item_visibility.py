"""A queued workgroup item is visible only to the members who may take it."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(agent, ticket):
    """A Desk ticket queued (nobody available), dan a direct-routed Desk member, ann a group-routed one."""
    agent("dan", license="direct_routed")
    agent("ann", presence="away")
    item = ticket("printer")
    assert item.status == "queued"
    return item


def test_a_direct_routed_member_cannot_read_the_form_of_a_queued_item(queued, api):
    response = api("dan").get(f"/api/workitems/{queued.pk}/")
    assert response.status_code == 404
    assert "printer" not in response.content.decode()
    assert api("dan").post(f"/api/workitems/{queued.pk}/pickup").status_code == 404


def test_a_group_routed_member_reads_and_takes_it(queued, api):
    response = api("ann").get(f"/api/workitems/{queued.pk}/")
    assert response.status_code == 200
    assert response.json()["description"] == "About printer"
    assert api("ann").post(f"/api/workitems/{queued.pk}/pickup").status_code == 200
