"""The API as the production server runs it: ``ipa_portal.asgi.application``, whose middleware runs
synchronously in one of the server's threads per request. Tokens, sessions, CSRF and the security headers hold there
as under the test client."""

import asyncio

import pytest
from django.test import Client

from ipa_portal.asgi import application, django_asgi_app
from tests.api.asgi_client import request

pytestmark = pytest.mark.django_db(transaction=True)  # the request runs in one of the server's threads


@pytest.fixture(autouse=True)
def _close_the_servers_connections():
    yield
    django_asgi_app.close_connections()  # its threads keep theirs between requests, as in production


def asgi(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    return asyncio.run(request(application, method, path, headers, body))


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
