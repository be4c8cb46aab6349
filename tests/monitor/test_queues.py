"""Queues per workgroup: counts over the API, the page with holders and agents, moving an item."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.monitor.conftest import user
from workitems.models import WorkItem


@pytest.fixture
def queued(probe):
    """Two Probe items for Managers: one offered to bob (available), one queued behind it."""
    from workitems import services

    first, second = probe("One"), probe("Two")
    services.pickup_work_item(user("bob"), WorkItem.objects.get(instance=first).pk)
    return WorkItem.objects.get(instance=first), WorkItem.objects.get(instance=second)


def counts(api, username: str) -> dict[str, dict]:
    response = api(username).get("/api/queues/")
    assert response.status_code == 200, response.json()
    return {row["workgroup"]: row for row in response.json()["results"]}


def test_agents_get_the_counts_of_their_own_workgroups_and_supervisors_of_all(queued, api):
    assert list(counts(api, "bob")) == ["Managers"]
    managers = counts(api, "sam")["Managers"]
    assert {k: managers[k] for k in ("queued", "offered", "processing", "held")} == {
        "queued": 1, "offered": 0, "processing": 1, "held": 0}
    assert managers["oldest_queued_at"] is not None
    assert set(counts(api, "sam")) == {"Managers", "Payroll", "Underwriters"}


def test_the_queues_page_shows_who_holds_each_item_and_the_agents_load(queued):
    sam = Client()
    sam.force_login(user("sam"))
    page = sam.get("/monitor/queues/").content.decode()
    assert "Managers" in page and f'data-item="{queued[0].pk}"' in page and f'data-item="{queued[1].pk}"' in page
    assert "1 open item" in page  # bob's load
    alice = Client()
    alice.force_login(user("alice"))
    assert alice.get("/monitor/queues/").status_code == 403


def test_a_supervisor_with_manage_moves_an_item_to_another_person(queued):
    sam = Client()
    sam.force_login(user("sam"))
    response = sam.post(f"/monitor/queues/items/{queued[1].pk}/move", {"to": "user:alice"})
    assert response.status_code == 302
    queued[1].refresh_from_db()
    assert (queued[1].status, queued[1].user.username) == ("offered", "alice")


def test_without_manage_an_item_cannot_be_moved(queued):
    vic = Client()
    vic.force_login(user("vic"))
    assert vic.post(f"/monitor/queues/items/{queued[1].pk}/move", {"to": "user:alice"}).status_code == 403
    assert "move-form" not in vic.get("/monitor/queues/").content.decode()
