"""``/ws/monitor/`` against the real ASGI app: subscribe, snapshot, live changes, the cap, refusals.

The channel layer is the in-memory one on the embedded default and Redis when REDIS_URL is
set. Every message received is checked against its schema in ``monitor.schemas``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from monitor.schemas import validate_server_message
from tests.monitor.conftest import SECRET, complete_check, set_cap

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_engine_node")]
WAIT = 5  # seconds a push may take to arrive (Redis included)


class Socket:
    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.received: list[dict] = []

    async def receive(self, timeout: float = WAIT) -> dict:
        message = await self.communicator.receive_json_from(timeout=timeout)
        validate_server_message(message)
        self.received.append(message)
        return message

    async def receive_nothing(self) -> bool:
        return await self.communicator.receive_nothing(timeout=0.3)

    async def receive_until(self, wanted, timeout: float = WAIT) -> dict:
        """The first message for which ``wanted(message)`` holds (a change may be pushed more than once)."""
        while True:
            message = await self.receive(timeout)
            if wanted(message):
                return message

    async def send(self, message) -> None:
        await self.communicator.send_json_to(message)

    async def subscribe(self, data: dict) -> dict:
        await self.send({"type": "subscribe", "filter": data})
        return await self.receive()

    async def close_code(self) -> int:
        output = await self.communicator.receive_output(timeout=WAIT)
        assert output["type"] == "websocket.close", output
        return output["code"]

    async def close(self) -> None:
        await self.communicator.disconnect()


@sync_to_async
def token_for(username: str) -> str:
    from rest_framework.authtoken.models import Token

    from administration.models import User

    return Token.objects.get_or_create(user=User.objects.get(username=username))[0].key


async def socket_of(username: str | None) -> Socket:
    from ipa_portal.asgi import application

    query = f"?token={await token_for(username)}" if username else ""
    communicator = WebsocketCommunicator(application, f"/ws/monitor/{query}")
    connected, _ = await communicator.connect(timeout=WAIT)
    assert connected
    return Socket(communicator)


def run(scenario) -> None:
    async_to_sync(scenario)()


def test_nothing_is_sent_until_a_filter_is_subscribed(world):
    async def scenario():
        socket = await socket_of("sam")
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


def test_a_subscription_gets_a_snapshot_then_each_change_as_the_engine_commits(probe, engine_runs):
    first = probe("Acme")

    async def scenario():
        socket = await socket_of("sam")
        snapshot = await socket.subscribe({"process": "Probe", "status": ["waiting", "error"]})
        assert snapshot["type"] == "snapshot" and [row["id"] for row in snapshot["instances"]] == [first.pk]
        second = await sync_to_async(probe)("Zenith", divisor=0)
        added = await socket.receive()
        assert added["type"] == "changed" and added["instance"]["id"] == second.pk
        assert added["instance"]["state"] == "Review"
        await sync_to_async(complete_check)(second)
        changed = await socket.receive_until(lambda m: m["type"] == "changed" and m["instance"]["status"] == "error")
        assert changed["instance"]["id"] == second.pk and changed["instance"]["state"] == "Pay"
        await sync_to_async(complete_check)(first, "reject")  # completes: no longer matches
        removed = await socket.receive_until(lambda m: m["type"] == "removed")
        assert removed == {"type": "removed", "id": first.pk}
        await socket.close()

    run(scenario)


def test_changes_outside_the_filter_are_not_pushed(probe):
    async def scenario():
        socket = await socket_of("sam")
        await socket.subscribe({"started_by": "bob"})
        await sync_to_async(probe)("Acme", by="alice")
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


def test_a_filter_broader_than_the_cap_is_refused(probe):
    async def scenario():
        await sync_to_async(set_cap)("100")
        await sync_to_async(make_instances)(101)
        socket = await socket_of("sam")
        refused = await socket.subscribe({"process": "Probe"})
        assert refused["type"] == "refused" and refused["cap"] == 100 and "Narrow" in refused["reason"]
        await sync_to_async(probe)("After")  # a refused subscription gets no changes
        assert await socket.receive_nothing()
        snapshot = await socket.subscribe({"process": "Probe", "started_by": "bob"})
        assert snapshot["type"] == "snapshot"
        await socket.close()

    run(scenario)


def test_a_subscription_that_grows_past_the_cap_is_ended_with_refused(probe):
    async def scenario():
        await sync_to_async(set_cap)("100")
        await sync_to_async(make_instances)(100)
        socket = await socket_of("sam")
        snapshot = await socket.subscribe({"process": "Probe"})
        assert len(snapshot["instances"]) == 100
        await sync_to_async(probe)("One too many")
        refused = await socket.receive_until(lambda m: m["type"] == "refused")
        assert refused["type"] == "refused" and "stopped" in refused["reason"]
        await sync_to_async(probe)("Later")
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


def test_an_instance_enters_a_waiting_longer_than_filter_when_its_wait_passes_without_a_change(probe):
    waiting = probe("Acme")
    fresh = probe("Zenith")

    @sync_to_async
    def last_changed_ago(instance, age: timedelta) -> None:  # as if it had waited that long (no step)
        from processes.models import ProcessInstance

        ProcessInstance.objects.filter(pk=instance.pk).update(updated_at=timezone.now() - age)

    async def scenario():
        await last_changed_ago(waiting, timedelta(seconds=58))  # one minute's wait passes in 2 s
        socket = await socket_of("sam")
        snapshot = await socket.subscribe({"process": "Probe", "waiting_longer_than": 1})
        assert snapshot["type"] == "snapshot" and snapshot["instances"] == []
        crossed = await socket.receive_until(lambda m: m["type"] == "changed", timeout=60)
        assert crossed["instance"]["id"] == waiting.pk and crossed["instance"]["status"] == "waiting"
        assert fresh.pk not in [m["instance"]["id"] for m in socket.received if m["type"] == "changed"]
        await socket.close()

    run(scenario)


def test_a_snapshot_of_more_than_a_hundred_rows_comes_as_the_count_and_the_first_rows_then_the_rest(probe):
    @sync_to_async
    def newest_first() -> list[int]:
        from processes.models import ProcessInstance

        return list(ProcessInstance.objects.filter(process_name="Probe").order_by("-started_at", "-id")
                    .values_list("id", flat=True))

    async def scenario():
        await sync_to_async(make_instances)(620)
        socket = await socket_of("sam")
        first = await socket.subscribe({"process": "Probe"})
        assert first["type"] == "snapshot" and first["total"] == 620 and len(first["instances"]) == 100
        rest = [await socket.receive(), await socket.receive()]
        assert [(m["type"], len(m["instances"])) for m in rest] == [("snapshot_rows", 500), ("snapshot_rows", 20)]
        assert [row["id"] for m in [first, *rest] for row in m["instances"]] == await newest_first()
        launched = await sync_to_async(probe)("After")  # then live, as after any snapshot
        assert (await socket.receive_until(lambda m: m["type"] == "changed"))["instance"]["id"] == launched.pk
        await socket.close()

    run(scenario)


def test_without_the_monitor_license_the_socket_closes_with_4403(world):
    async def scenario():
        socket = await socket_of("alice")
        assert await socket.close_code() == 4403

    run(scenario)


def test_without_credentials_the_socket_closes_with_4401(world):
    async def scenario():
        socket = await socket_of(None)
        assert await socket.close_code() == 4401

    run(scenario)


@pytest.mark.parametrize("message", [{"type": "subscribe"}, {"type": "subscribe", "filter": {"colour": "red"}},
                                     {"type": "dance"}])
def test_a_message_or_filter_the_server_cannot_use_is_answered_with_an_error(world, message):
    async def scenario():
        socket = await socket_of("sam")
        await socket.send(message)
        answer = await socket.receive()
        assert answer["type"] == "error" and answer["reason"]
        await socket.send({"type": "ping"})
        assert await socket.receive() == {"type": "pong"}
        await socket.close()

    run(scenario)


def test_unsubscribe_ends_the_pushes(probe):
    async def scenario():
        socket = await socket_of("sam")
        await socket.subscribe({})
        await socket.send({"type": "unsubscribe"})
        await socket.send({"type": "ping"})  # answered once the server has handled the unsubscribe
        assert (await socket.receive())["type"] == "pong"
        await sync_to_async(probe)("Acme")
        assert await socket.receive_nothing()
        await socket.close()

    run(scenario)


def test_a_protected_value_never_appears_in_a_snapshot_or_a_push(probe):
    async def scenario():
        socket = await socket_of("sam")
        await socket.subscribe({})
        instance = await sync_to_async(probe)("Acme", secret=SECRET)
        await socket.receive()
        await sync_to_async(complete_check)(instance)
        await socket.receive_until(lambda m: m["type"] == "changed" and m["instance"]["state"] == "Pay")
        await socket.subscribe({})
        assert all(SECRET not in json.dumps(message) for message in socket.received)
        assert len(socket.received) >= 3
        await socket.close()

    run(scenario)


def test_a_supervisor_sees_pushes_only_for_instances_they_may_see(probe):
    async def scenario():
        from administration.models import User

        await sync_to_async(User.objects.create_user)("nia", password="x", license="process_monitor",
                                                      rights=["launch"])
        socket = await socket_of("nia")
        await socket.subscribe({})
        await sync_to_async(probe)("Not hers")
        assert await socket.receive_nothing()
        mine = await sync_to_async(probe)("Hers", by="nia")
        assert (await socket.receive())["instance"]["id"] == mine.pk
        await socket.close()

    run(scenario)


def make_instances(count: int) -> None:
    from administration.models import User
    from processes.models import ProcessDefinition, ProcessInstance

    definition = ProcessDefinition.objects.get(name="Probe")
    alice = User.objects.get(username="alice")
    ProcessInstance.objects.bulk_create([
        ProcessInstance(definition=definition, process_name="Probe", status="waiting", started_by=alice)
        for _ in range(count)
    ])


def test_the_queues_page_is_told_when_work_changes(probe):
    async def scenario():
        socket = await socket_of("sam")
        await socket.send({"type": "watch_queues"})
        assert (await socket.receive()) == {"type": "queues_changed"}
        await sync_to_async(probe)("Acme")
        assert (await socket.receive()) == {"type": "queues_changed"}
        await socket.close()

    run(scenario)


def test_revoking_the_token_closes_the_monitor_socket_with_4401(world):
    async def scenario():
        socket = await socket_of("sam")
        assert await socket.receive_nothing()

        @sync_to_async
        def revoke():
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user__username="sam").delete()

        await revoke()
        assert await socket.close_code() == 4401

    run(scenario)


def test_deactivating_a_supervisor_closes_the_monitor_socket_with_4401(world):
    async def scenario():
        socket = await socket_of("sam")
        assert await socket.receive_nothing()

        @sync_to_async
        def deactivate():
            from administration.models import User

            User.objects.filter(username="sam").update(is_active=False)
            sam = User.objects.get(username="sam")
            sam.save()  # the save is what tells the sockets

        await deactivate()
        assert await socket.close_code() == 4401

    run(scenario)


def test_a_supervisor_is_told_when_no_engine_node_is_alive_and_when_one_beats_again(probe, settings):
    from datetime import timedelta

    from django.utils import timezone

    from processes.models import EngineNode
    from processes.services import nodes

    settings.ENGINE_WATCH_SECONDS = 0.05
    first = probe("Acme")

    def heartbeat_goes_old() -> None:
        EngineNode.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=settings.ENGINE_NODE_TIMEOUT + 60))

    def is_engine(message: dict) -> bool:  # (the launch's change may arrive after the snapshot)
        return message["type"] == "engine"

    async def scenario():
        socket = await socket_of("sam")
        snapshot = await socket.subscribe({"process": "Probe"})
        assert [row["id"] for row in snapshot["instances"]] == [first.pk]
        await sync_to_async(heartbeat_goes_old)()
        assert await socket.receive_until(is_engine) == {"type": "engine", "running": False}
        second = await socket_of("sam")  # a monitor opened meanwhile is told at once
        assert await second.receive() == {"type": "engine", "running": False}
        await sync_to_async(nodes.beat)()
        for each in (socket, second):
            assert await each.receive_until(is_engine) == {"type": "engine", "running": True}
            await each.close()

    run(scenario)
