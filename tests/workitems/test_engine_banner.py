"""``/ws/workitems/`` says when no engine node is alive and when one beats again (the pages' banner).

Nothing but the database tells a web process that every node died: its ``EngineWatch`` reads
whether a node is live every ``ENGINE_WATCH_SECONDS`` and tells the open sockets on a change.
Real channel layer (in memory, or Redis with REDIS_URL); every message is checked against its schema.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from processes.models import EngineNode
from processes.services import nodes
from tests.workitems.test_websocket import run, socket_of
from workitems.delivery import wait_until_sent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_watch(settings):
    settings.ENGINE_WATCH_SECONDS = 0.05


def heartbeat_goes_old(storage_id: str) -> None:
    """As if the node had stopped beating longer ago than ENGINE_NODE_TIMEOUT (killed, hung, cut off)."""
    EngineNode.objects.filter(storage_id=storage_id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.ENGINE_NODE_TIMEOUT + 60))


def test_an_agent_is_told_when_the_only_engine_node_dies_and_when_it_beats_again(agent, ticket):
    agent("ann")
    nodes.register_node("node-1")
    ticket("printer")
    assert wait_until_sent()  # its push is gone before the socket opens, not received after the snapshot

    async def scenario():
        socket, snapshot = await socket_of("ann")
        assert len(snapshot["work_items"]) == 1
        assert await socket.receive_nothing()  # a live node: the page hears nothing about the engine
        await sync_to_async(heartbeat_goes_old)("node-1")
        assert await socket.receive() == {"type": "engine", "running": False}
        assert await socket.receive_nothing()  # said once, not on every reading
        await sync_to_async(nodes.beat)("node-1")
        assert await socket.receive() == {"type": "engine", "running": True}
        await socket.close()

    run(scenario)


def test_a_socket_opened_while_no_node_is_alive_is_told_after_its_snapshot(agent, ticket):
    agent("ann")
    nodes.register_node("node-1")
    item = ticket("printer")
    assert wait_until_sent()
    heartbeat_goes_old("node-1")

    async def scenario():
        socket, snapshot = await socket_of("ann")
        assert [i["id"] for i in snapshot["work_items"]] == [item.pk]  # the work on screen stays
        assert await socket.receive() == {"type": "engine", "running": False}
        await sync_to_async(nodes.register_node)("node-2")  # another node starts
        assert await socket.receive() == {"type": "engine", "running": True}
        await socket.close()

    run(scenario)


def test_a_node_that_stopped_cleanly_is_not_alive(agent):
    agent("ann")
    nodes.register_node("node-1")

    async def scenario():
        socket, _ = await socket_of("ann")
        assert await socket.receive_nothing()
        await sync_to_async(nodes.stop_node)("node-1")
        assert await socket.receive() == {"type": "engine", "running": False}
        await socket.close()

    run(scenario)


def test_every_socket_of_the_process_is_told(agent):
    agent("ann")
    agent("ben")
    nodes.register_node("node-1")

    async def scenario():
        sockets = [(await socket_of(name))[0] for name in ("ann", "ann", "ben")]
        for socket in sockets:
            assert await socket.receive_nothing()
        await sync_to_async(heartbeat_goes_old)("node-1")
        for socket in sockets:
            assert await socket.receive() == {"type": "engine", "running": False}
        for socket in sockets:
            await socket.close()

    run(scenario)
