"""``/ws/workitems/`` against the real ASGI app: snapshot, live pushes after commit, refusals.

The channel layer is the in-memory one on the embedded default and Redis when REDIS_URL is
set. Every message received is checked against its schema in ``workitems.schemas``.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from tests.workitems.conftest import ticket_process
from workitems.schemas import validate_server_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_engine_node")]
WAIT = 5  # seconds a push may take to arrive (Redis included)


class Socket:
    """A client of /ws/workitems/ whose every received message is checked against its schema."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator

    async def receive(self, *, queues: bool = False) -> dict:
        """The next message; ``queue`` messages (a workgroup's queue changed) only when ``queues``."""
        while True:
            message = await self.communicator.receive_json_from(timeout=WAIT)
            validate_server_message(message)
            if queues or message["type"] != "queue":
                return message

    async def receive_nothing(self) -> bool:
        """Nothing but ``queue`` messages arrives for a moment."""
        while not await self.communicator.receive_nothing(timeout=0.3):
            message = await self.communicator.receive_json_from(timeout=WAIT)
            validate_server_message(message)
            if message["type"] != "queue":
                return False
        return True

    async def send(self, message) -> None:
        await self.communicator.send_json_to(message)

    async def close_code(self) -> int:
        output = await self.communicator.receive_output(timeout=WAIT)
        assert output["type"] == "websocket.close", output
        return output["code"]

    async def close(self) -> None:
        await self.communicator.disconnect()


async def open_socket(query: str = "", headers: list | None = None) -> Socket:
    from ipa_portal.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/workitems/{query}", headers=headers or [])
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected
    return Socket(communicator)


@sync_to_async
def token_for(username: str) -> str:
    from rest_framework.authtoken.models import Token

    from administration.models import User

    return Token.objects.get_or_create(user=User.objects.get(username=username))[0].key


async def socket_of(username: str) -> tuple[Socket, dict]:
    """A socket authenticated with the user's token, and the snapshot it received."""
    socket = await open_socket(f"?token={await token_for(username)}")
    snapshot = await socket.receive()
    assert snapshot["type"] == "snapshot"
    return socket, snapshot


def rest_list(username: str) -> list[dict]:
    from rest_framework.test import APIClient

    from administration.models import User

    client = APIClient()
    client.force_authenticate(User.objects.get(username=username))
    return client.get("/api/workitems/").json()["results"]


def run(scenario) -> None:
    async_to_sync(scenario)()


# ---------------------------------------------------------------------------- connecting


def test_on_connect_the_server_sends_the_users_open_items_as_the_rest_list_shows_them(agent, ticket):
    agent("ann")
    item = ticket("printer")

    async def scenario():
        socket, snapshot = await socket_of("ann")
        assert snapshot["work_items"] == await sync_to_async(rest_list)("ann")
        assert [i["id"] for i in snapshot["work_items"]] == [item.pk]
        await socket.close()

    run(scenario)


def test_an_agent_with_nothing_to_do_gets_an_empty_snapshot(agent):
    agent("ann")

    async def scenario():
        socket, snapshot = await socket_of("ann")
        assert snapshot == {"type": "snapshot", "work_items": []}
        await socket.close()

    run(scenario)


def test_a_connection_without_credentials_is_closed_with_4401(desk):
    async def scenario():
        socket = await open_socket()
        assert await socket.close_code() == 4401

    run(scenario)


def test_a_connection_with_a_wrong_token_is_closed_with_4401(desk):
    async def scenario():
        socket = await open_socket("?token=not-a-token")
        assert await socket.close_code() == 4401

    run(scenario)


def test_a_user_without_a_license_is_closed_with_4403(desk):
    from administration.models import User

    User.objects.create_user("nolan", password="nolan-pass-1")

    async def scenario():
        socket = await open_socket(f"?token={await token_for('nolan')}")
        assert await socket.close_code() == 4403

    run(scenario)


def session_headers(user, origin: bytes) -> list[tuple[bytes, bytes]]:
    browser = Client()
    browser.force_login(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    return [(b"cookie", cookie), (b"origin", origin), (b"host", b"127.0.0.1:8000")]


def test_the_session_of_a_page_of_this_site_authenticates(agent):
    headers = session_headers(agent("ann"), b"http://127.0.0.1:8000")

    async def scenario():
        socket = await open_socket(headers=headers)
        assert (await socket.receive())["type"] == "snapshot"
        await socket.close()

    run(scenario)


def test_the_session_cookie_sent_by_a_page_of_another_site_is_not_enough(agent):
    headers = session_headers(agent("ann"), b"https://evil.example")

    async def scenario():
        socket = await open_socket(headers=headers)
        assert await socket.close_code() == 4401

    run(scenario)


def test_a_ping_is_answered_with_a_pong(agent):
    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        await socket.send({"type": "ping"})
        assert await socket.receive() == {"type": "pong"}
        await socket.close()

    run(scenario)


@pytest.mark.parametrize("message", [{"type": "dance"}, ["ping"], {"type": "ping", "extra": 1}])
def test_a_message_the_server_does_not_understand_is_answered_with_an_error(agent, message):
    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        await socket.send(message)
        answer = await socket.receive()
        assert answer["type"] == "error" and answer["reason"]
        await socket.send({"type": "ping"})  # the connection goes on
        assert await socket.receive() == {"type": "pong"}
        await socket.close()

    run(scenario)


# ---------------------------------------------------------------------------- live pushes


def test_an_item_offered_by_the_acd_arrives_as_added_when_a_process_is_launched(agent, ticket):
    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        item = await sync_to_async(ticket)("printer")
        added = await socket.receive()
        assert added["type"] == "added"
        assert added["work_item"] == (await sync_to_async(rest_list)("ann"))[0]
        assert (added["work_item"]["id"], added["work_item"]["status"]) == (item.pk, "offered")
        assert added["work_item"]["description"] == "About printer"
        await socket.close()

    run(scenario)


def test_picking_up_changes_the_item_and_completing_removes_it(agent, ticket):
    from workitems import services

    ann = agent("ann")
    item = ticket("printer")

    async def scenario():
        socket, _ = await socket_of("ann")
        await sync_to_async(services.pickup_work_item)(ann, item.pk)
        changed = await socket.receive()
        assert (changed["type"], changed["work_item"]["status"]) == ("changed", "processing")
        await sync_to_async(services.complete_work_item)(ann, item.pk, "done", {})
        assert await socket.receive() == {"type": "removed", "id": item.pk}
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


def test_completing_an_item_removes_it_and_the_next_waiting_item_arrives(agent, ticket):
    from workitems import services

    ann = agent("ann")
    first, second = ticket("first"), ticket("second")

    async def scenario():
        socket, snapshot = await socket_of("ann")
        assert [i["id"] for i in snapshot["work_items"]] == [first.pk]
        await sync_to_async(services.pickup_work_item)(ann, first.pk)
        await socket.receive()
        await sync_to_async(services.complete_work_item)(ann, first.pk, "done", {})
        messages = [await socket.receive(), await socket.receive()]
        assert {"type": "removed", "id": first.pk} in messages
        [added] = [m for m in messages if m["type"] == "added"]
        assert added["work_item"]["id"] == second.pk
        await socket.close()

    run(scenario)


def test_an_offer_taken_back_is_removed_from_one_agent_and_added_at_the_next(agent, ticket):
    from administration.presence import set_presence

    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")

    async def scenario():
        ann_socket, _ = await socket_of("ann")
        ben_socket, _ = await socket_of("ben")
        await sync_to_async(set_presence)(ann, "away")
        assert await ann_socket.receive() == {"type": "presence", "status": "away",
                                              "since": (await ann_socket_since(ann))}
        assert await ann_socket.receive() == {"type": "removed", "id": item.pk}
        added = await ben_socket.receive()
        assert (added["type"], added["work_item"]["id"], added["work_item"]["user"]) == ("added", item.pk, "ben")
        assert await ann_socket.receive_nothing() and await ben_socket.receive_nothing()
        await ann_socket.close()
        await ben_socket.close()

    run(scenario)


@sync_to_async
def ann_socket_since(user) -> str:
    user.refresh_from_db()
    return user.presence_since.isoformat().replace("+00:00", "Z")


def test_put_presence_is_pushed_to_the_users_windows(agent, api):
    agent("ann", presence="away")
    ann = api("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        response = await sync_to_async(ann.put)("/api/me/presence", {"status": "available"}, format="json")
        assert response.status_code == 200
        message = await socket.receive()
        assert (message["type"], message["status"]) == ("presence", "available")
        await socket.close()

    run(scenario)


def test_a_transfer_removes_the_item_from_the_sender_and_adds_it_at_the_receiver(agent, ticket):
    from workitems import services

    ann = agent("ann")
    agent("dan", license="direct_routed", workgroups=())
    item = ticket("printer")

    async def scenario():
        ann_socket, _ = await socket_of("ann")
        dan_socket, _ = await socket_of("dan")
        await sync_to_async(services.transfer_work_item)(ann, item.pk, to_user="dan")
        assert await ann_socket.receive() == {"type": "removed", "id": item.pk}
        added = await dan_socket.receive()
        assert (added["type"], added["work_item"]["user"], added["work_item"]["workgroup"]) == ("added", "dan", None)
        await ann_socket.close()
        await dan_socket.close()

    run(scenario)


def test_nothing_is_pushed_for_a_change_that_was_rolled_back(agent, ticket):
    agent("ann")

    def launch_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            ticket("never")
            raise RuntimeError("rolled back")

    async def scenario():
        socket, _ = await socket_of("ann")
        await sync_to_async(launch_then_fail)()
        assert await socket.receive_nothing()
        await sync_to_async(ticket)("printer")
        assert (await socket.receive())["work_item"]["description"] == "About printer"
        await socket.close()

    run(scenario)


def test_other_users_items_are_not_pushed(agent, ticket):
    agent("ann")
    agent("ben", presence="away")

    async def scenario():
        socket, _ = await socket_of("ben")
        await sync_to_async(ticket)("printer")  # offered to ann
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


# ------------------------------------------------------------- only to open sockets


def test_a_user_with_no_socket_open_gets_nothing_on_the_channel_layer_and_catches_up_on_connecting(agent, ticket):
    import asyncio

    from channels.layers import get_channel_layer

    from workitems import delivery, services

    agent("ann", idle_minutes=5)
    ben = agent("ben", idle_minutes=50)

    async def scenario():
        layer = get_channel_layer()
        listener = await layer.new_channel()  # on ben's group, as his socket would be: no socket row
        await layer.group_add(delivery.user_group(ben.pk), listener)
        ann_socket, _ = await socket_of("ann")
        for_ben = await sync_to_async(ticket)("printer")  # ben waited longest
        for_ann = await sync_to_async(ticket)("scanner")
        added = await ann_socket.receive()
        assert (added["type"], added["work_item"]["id"]) == ("added", for_ann.pk)
        # one receive for the whole test: cancelling it would drop the listener (Redis pub/sub)
        heard = asyncio.ensure_future(layer.receive(listener))
        done, _ = await asyncio.wait([heard], timeout=0.5)
        assert not done  # nothing sent to ben's group

        ben_socket, snapshot = await socket_of("ben")
        assert [item["id"] for item in snapshot["work_items"]] == [for_ben.pk]
        await sync_to_async(services.pickup_work_item)(ben, for_ben.pk)  # now he has a socket: pushed
        changed = await ben_socket.receive()
        assert (changed["type"], changed["work_item"]["status"]) == ("changed", "processing")
        message = (await asyncio.wait_for(heard, WAIT))["message"]
        assert (message["type"], message["work_item"]["id"]) == ("changed", for_ben.pk)
        await layer.group_discard(delivery.user_group(ben.pk), listener)
        await ann_socket.close()
        await ben_socket.close()

    run(scenario)


def test_a_push_left_out_by_a_process_that_did_not_know_of_the_socket_yet_is_caught_up(agent, ticket, settings,
                                                                                      monkeypatch):
    from workitems import sockets

    settings.WORKITEMS_OPEN_SOCKETS_MAX_AGE = 0.1  # sockets held by other processes too
    ann = agent("ann")
    monkeypatch.setattr(sockets, "has_open_socket", lambda user_id: user_id != ann.pk)  # not heard of yet

    async def scenario():
        socket, snapshot = await socket_of("ann")
        assert snapshot["work_items"] == []
        item = await sync_to_async(ticket)("printer")  # not pushed
        added = await socket.receive()  # the catch-up, once every process has read the sockets again
        assert (added["type"], added["work_item"]["id"]) == ("added", item.pk)
        assert added["work_item"] == (await sync_to_async(rest_list)("ann"))[0]
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


def test_a_removal_left_out_is_caught_up_too(agent, ticket, settings, monkeypatch):
    from workitems import services, sockets

    settings.WORKITEMS_OPEN_SOCKETS_MAX_AGE = 0.1
    ann = agent("ann")
    item = ticket("printer")
    monkeypatch.setattr(sockets, "has_open_socket", lambda user_id: user_id != ann.pk)  # not heard of yet

    async def scenario():
        socket, snapshot = await socket_of("ann")
        assert [i["id"] for i in snapshot["work_items"]] == [item.pk]
        await sync_to_async(services.pickup_work_item)(ann, item.pk)  # elsewhere, say: not pushed
        await sync_to_async(services.complete_work_item)(ann, item.pk, "done", {})
        assert await socket.receive() == {"type": "removed", "id": item.pk}
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


def test_the_catch_up_sends_nothing_when_no_push_was_left_out(agent, ticket, settings):
    import asyncio

    settings.WORKITEMS_OPEN_SOCKETS_MAX_AGE = 0.1
    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        item = await sync_to_async(ticket)("printer")
        added = await socket.receive()
        assert (added["type"], added["work_item"]["id"]) == ("added", item.pk)
        await asyncio.sleep(1)  # past the catch-up
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


# ------------------------------------------------------------------------------ security


CARD_CHECK = {**ticket_process("Card Check", []),
              "variables": [{"name": "topic", "type": "string", "input": True, "required": True},
                            {"name": "urgency", "type": "integer", "input": True, "default": 0},
                            {"name": "card", "type": "string", "input": True, "security": "Cards"}],
              "work_items": [{"name": "Answer", "description": "Check card {{ card }} about {{ topic }}",
                              "buttons": [{"id": "done", "label": "Done"}]}]}


@pytest.fixture
def card_check(desk, agent):
    """ann (not on the Cards specification) and ben (on it); lena launches with a card number."""
    from administration.models import SecuritySpecification, User
    from processes.services.definitions import import_definition

    import_definition(CARD_CHECK, publish=True)
    agent("ann", idle_minutes=50)
    ben = agent("ben", idle_minutes=5, presence="away")
    cards = SecuritySpecification.objects.create(name="Cards")
    cards.users.add(ben, User.objects.get(username="lena"))


def launch_card_check():
    from administration.models import User
    from processes.services.instances import launch_process
    from workitems.models import WorkItem

    instance = launch_process(User.objects.get(username="lena"), "Card Check",
                              {"topic": "a refund", "card": "4111111111111111"})
    return WorkItem.objects.get(instance=instance)


def test_a_masked_description_stays_masked_in_every_push_and_shows_to_who_may_see_it(card_check):
    from administration.models import User
    from workitems import services

    async def scenario():
        ann_socket, _ = await socket_of("ann")
        ben_socket, _ = await socket_of("ben")
        item = await sync_to_async(launch_card_check)()
        added = await ann_socket.receive()
        assert added["work_item"]["description"] == "Check card ••• about a refund"
        assert "4111" not in str(added)
        assert added["work_item"] == (await sync_to_async(rest_list)("ann"))[0]

        ann = await sync_to_async(User.objects.get)(username="ann")
        await sync_to_async(services.pickup_work_item)(ann, item.pk)
        changed = await ann_socket.receive()
        assert changed["type"] == "changed" and "4111" not in str(changed)

        await sync_to_async(services.transfer_work_item)(ann, item.pk, to_user="ben")
        assert await ann_socket.receive() == {"type": "removed", "id": item.pk}
        to_ben = await ben_socket.receive()
        assert to_ben["work_item"]["description"] == "Check card 4111111111111111 about a refund"
        await ann_socket.close()
        await ben_socket.close()

    run(scenario)


def test_a_masked_description_stays_masked_in_the_snapshot(card_check):
    launch_card_check()

    async def scenario():
        socket, snapshot = await socket_of("ann")
        [item] = snapshot["work_items"]
        assert item["description"] == "Check card ••• about a refund"
        await socket.close()

    run(scenario)


def test_a_push_reaches_the_socket_without_a_hop_to_the_sync_thread(agent, monkeypatch):
    """Channels would close old database connections in the sync thread before every message: one
    hop per socket per push, in a row, which stalled 500 agents' pushes (docs/performance.md)."""
    from channels import consumer
    from channels.layers import get_channel_layer

    from workitems import delivery

    hops = []

    async def close_old_connections_hop():
        hops.append(1)

    monkeypatch.setattr(consumer, "aclose_old_connections", close_old_connections_hop)
    ann = agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")
        message = {"type": "removed", "id": 1}
        await get_channel_layer().group_send(delivery.user_group(ann.pk), {"type": delivery.PUSH_EVENT,
                                                                           "message": message})
        assert await socket.receive() == message
        await socket.close()

    run(scenario)
    assert hops == []
