"""The API as the production server runs it: ``ipa_portal.asgi.application``, whose middleware runs
synchronously in one thread per request. Tokens, sessions, CSRF and the security headers hold there
as under the test client."""

import asyncio

import pytest
from django.test import Client

from ipa_portal.asgi import application, django_asgi_app

pytestmark = pytest.mark.django_db(transaction=True)  # the request runs in one of the server's threads


@pytest.fixture(autouse=True)
def _close_the_servers_connections():
    yield
    django_asgi_app.close_connections()  # its threads keep theirs between requests, as in production


def asgi(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode()),
                         *((k.lower().encode(), v.encode()) for k, v in headers.items())],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    answer: dict = {"body": b""}

    async def run() -> None:
        answered = asyncio.Event()
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict:
            if messages:
                return messages.pop()
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            else:
                answer["body"] += message.get("body", b"")
                if not message.get("more_body"):
                    answered.set()

        await application(scope, receive, send)

    asyncio.run(run())
    return answer["status"], answer["headers"], answer["body"]


def test_a_token_reads_the_api_and_no_token_is_refused(api, directory):
    from rest_framework.authtoken.models import Token

    from administration.models import User

    token, _ = Token.objects.get_or_create(user=User.objects.get(username="bob"))
    status, headers, body = asgi("GET", "/api/me", {"Authorization": f"Token {token.key}"})
    assert status == 200 and b'"bob"' in body
    assert "content-security-policy" in headers and headers["x-frame-options"] == "DENY"
    assert asgi("GET", "/api/me", {})[0] == 401


def test_a_session_needs_its_csrf_token_to_post(directory):
    client = Client()
    assert client.login(username="bob", password="bob-pass")
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    status, _, body = asgi("POST", "/api/me/presence", {"Cookie": cookie, "Content-Type": "application/json"},
                           b'{"presence": "available"}')
    assert status == 403 and b"CSRF" in body
    assert asgi("GET", "/api/me", {"Cookie": cookie})[0] == 200
