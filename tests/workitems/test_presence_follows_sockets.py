"""Presence follows the person: the last socket closed, the agent turns Offline after the grace.

Real sockets against the ASGI app (as in test_websocket.py); the sweep hook runs as the
periodic sweep would. The grace is a server parameter: 0 here, so nothing waits on a clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from tests.workitems.conftest import holder, set_parameter
from tests.workitems.test_websocket import socket_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_engine_node")]


def presence_of(username: str) -> str:
    from administration.models import User

    return User.objects.get(username=username).presence


def sweep() -> int:
    from workitems.sockets import drop_absent_agents

    return drop_absent_agents()


def test_an_agent_whose_last_socket_closed_turns_offline_and_the_offer_moves_on(agent, ticket):
    set_parameter("Presence_OfflineGraceSeconds", "0")
    agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    assert holder(item) == ("offered", "ann")

    async def scenario():
        first, _ = await socket_of("ann")
        second, _ = await socket_of("ann")
        await first.close()
        assert await sync_to_async(sweep)() == 0  # one window is still open
        assert await sync_to_async(presence_of)("ann") == "available"
        await second.close()

    async_to_sync(scenario)()
    assert sweep() == 1
    assert presence_of("ann") == "offline"
    assert holder(item) == ("offered", "ben")


def test_within_the_grace_a_reload_keeps_the_agent_available(agent):
    set_parameter("Presence_OfflineGraceSeconds", "60")
    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        await socket.close()
        assert await sync_to_async(sweep)() == 0
        again, _ = await socket_of("ann")  # the reloaded page
        await again.close()

    async_to_sync(scenario)()
    assert presence_of("ann") == "available"


def test_after_the_grace_the_agent_is_offline(agent):
    from workitems.models import ClientSocket

    set_parameter("Presence_OfflineGraceSeconds", "60")
    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        await socket.close()

    async_to_sync(scenario)()
    ClientSocket.objects.update(closed_at=timezone.now() - timedelta(seconds=61))
    assert sweep() == 1
    assert presence_of("ann") == "offline"
    assert not ClientSocket.objects.exists()  # forgotten once acted on


def test_a_socket_whose_server_process_died_counts_as_closed_once_it_stops_pinging(agent):
    from workitems.models import ClientSocket
    from workitems.sockets import STALE_AFTER

    set_parameter("Presence_OfflineGraceSeconds", "0")
    ann = agent("ann")
    long_ago = timezone.now() - STALE_AFTER - timedelta(seconds=1)
    ClientSocket.objects.create(user=ann, channel_name="specific.dead-daphne!1", opened_at=long_ago,
                                seen_at=long_ago)
    assert sweep() == 1
    assert presence_of("ann") == "offline"


def test_a_ping_keeps_the_socket_alive(agent):
    from workitems.models import ClientSocket

    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        await sync_to_async(ClientSocket.objects.update)(seen_at=timezone.now() - timedelta(hours=1))
        await socket.send({"type": "ping"})
        assert await socket.receive() == {"type": "pong"}
        assert await sync_to_async(sweep)() == 0
        await socket.close()

    async_to_sync(scenario)()
    assert presence_of("ann") == "available"


def test_a_user_who_never_opened_a_socket_is_left_alone(agent):
    set_parameter("Presence_OfflineGraceSeconds", "0")
    agent("ann")
    assert sweep() == 0
    assert presence_of("ann") == "available"


def test_logging_in_again_makes_the_offline_agent_available(agent):
    from django.test import Client

    set_parameter("Presence_OfflineGraceSeconds", "0")
    agent("ann", presence="offline")
    Client().post("/accounts/login/", {"username": "ann", "password": "ann-pass-1"})
    assert presence_of("ann") == "available"
