"""My queues: counts and queued items of the agent's workgroups, and a ``queue`` message when one changes."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from tests.workitems.conftest import holder
from tests.workitems.test_websocket import socket_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_engine_node")]


def test_an_agent_sees_how_much_waits_in_each_of_their_workgroups(agent, ticket):
    from administration.models import Workgroup
    from workitems.queues import my_queues

    ann = agent("ann")
    agent("ben", presence="away", workgroups=[Workgroup.objects.create(name="Other")])
    offered, first, second = ticket("printer"), ticket("screen", urgency=3), ticket("mouse")
    assert holder(offered) == ("offered", "ann")
    [desk] = my_queues(ann)
    assert (desk.workgroup, desk.queued, desk.offered, desk.processing, desk.held) == ("Desk", 2, 1, 0, 0)
    assert desk.oldest_queued_at == first.created_at
    assert [(i.id, i.name, i.process, i.priority) for i in desk.items] == [(first.pk, "Answer", "Ticket", 3),
                                                                            (second.pk, "Answer", "Ticket", 0)]


def test_the_queue_page_shows_no_description_nor_value_before_an_offer(agent, ticket):
    ann = agent("ann", presence="away")
    ticket("the secret topic")
    browser = Client()
    browser.force_login(ann)
    page = browser.get("/workitems/queues/").content.decode()
    assert "1 queued" in page and "Answer" in page
    assert "secret" not in page


def test_the_list_page_shows_my_queues_and_filters_only_by_statuses_an_agent_can_have(agent, ticket):
    ann = agent("ann", presence="away")
    ticket("printer")
    browser = Client()
    browser.force_login(ann)
    page = browser.get("/workitems/").content.decode()
    assert "My queues" in page and "1 queued" in page
    assert '<option value="queued"' not in page


def test_members_are_told_when_their_queue_changes(agent, ticket):
    from workitems import services

    ann = agent("ann", presence="away")
    agent("ben", presence="away")

    async def scenario():
        socket, _ = await socket_of("ben")
        item = await sync_to_async(ticket)("printer")  # queued: nobody is available
        assert await socket.receive(queues=True) == {"type": "queue", "workgroup": "Desk"}
        await sync_to_async(services.pickup_work_item)(ann, item.pk)  # taken from the queue by ann
        assert await socket.receive(queues=True) == {"type": "queue", "workgroup": "Desk"}
        await socket.close()

    async_to_sync(scenario)()


def test_a_burst_of_changes_to_a_queue_is_told_at_once_and_once_more_at_its_end(agent, ticket, monkeypatch):
    from workitems import delivery

    monkeypatch.setattr(delivery, "QUEUE_MESSAGE_INTERVAL_SECONDS", 2.0)
    agent("ben", presence="away")

    async def scenario():
        socket, _ = await socket_of("ben")
        for topic in ("printer", "scanner", "screen"):
            await sync_to_async(ticket)(topic)  # queued: nobody is available
        assert await socket.receive(queues=True) == {"type": "queue", "workgroup": "Desk"}  # the first, at once
        assert await socket.receive(queues=True) == {"type": "queue", "workgroup": "Desk"}  # the rest, as one
        assert await socket.communicator.receive_nothing(timeout=2.5)
        await socket.close()

    async_to_sync(scenario)()
