"""/ws/workitems/ against the real ASGI app: the Origin check (scheme, host and port) and
sockets closed with 4401 at logout, token revocation and deactivation."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from tests.workitems.test_websocket import open_socket, run, socket_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_engine_node")]


def browser_of(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def headers_of(browser: Client, origin: bytes, host: bytes = b"portal.example.com") -> list[tuple[bytes, bytes]]:
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    return [(b"cookie", cookie), (b"origin", origin), (b"host", host)]


async def close_code_after_messages(socket) -> int:
    """The close code, past the messages sent before it (logging out first says: offline)."""
    while True:
        output = await socket.communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output["code"]


@pytest.fixture
def portal_host(settings):
    settings.ALLOWED_HOSTS = ["*"]  # the case where any host used to let any origin in


def test_a_configured_origin_is_accepted(agent, portal_host, settings):
    settings.IPA_ALLOWED_ORIGINS = ["https://desk.example.com:8443"]
    headers = headers_of(browser_of(agent("ann")), b"https://desk.example.com:8443")

    async def scenario():
        socket = await open_socket(headers=headers)
        assert (await socket.receive())["type"] == "snapshot"
        await socket.close()

    run(scenario)


def test_revoking_a_token_closes_its_sockets_with_4401(agent):
    agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")

        @sync_to_async
        def revoke():
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user__username="ann").delete()

        await revoke()
        assert await socket.close_code() == 4401

    run(scenario)


def test_deactivating_a_user_closes_their_sockets_with_4401(agent):
    ann = agent("ann")

    async def scenario():
        socket, _ = await socket_of("ann")

        @sync_to_async
        def deactivate():
            ann.is_active = False
            ann.save()

        await deactivate()
        assert await socket.close_code() == 4401

    run(scenario)
