"""http_json refuses loopback, link-local and private addresses (SSRF) unless allowed."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from processes.external import handlers
from processes.external.addresses import refused_reason
from processes.external.errors import ExternalActionError
from tests.external.support import handlers_registered, runs_here  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("handlers_registered", "runs_here")]


class Inside(BaseHTTPRequestHandler):
    """A service on loopback that a process must not reach, and a redirect to it."""

    def do_GET(self):  # noqa: N802 - the standard library's name
        if self.path.startswith("/hop"):
            self.send_response(302)
            self.send_header("Location", self.path.split("to=", 1)[1])
            self.end_headers()
            return
        data = json.dumps({"admin": "inside"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def inside():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inside)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(url: str):
    return handlers.run_handler({"handler": "http_json", "inputs": {"url": url}, "timeout": 10})


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "169.254.169.254", "10.1.2.3", "192.168.0.1",
                                     "172.16.5.5", "fd00::1", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1"])
def test_addresses_that_are_not_public_are_refused(address):
    assert refused_reason(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_pass(address):
    assert refused_reason(address) is None


def test_a_call_to_loopback_is_refused(inside):
    with pytest.raises(ExternalActionError) as caught:
        call(f"{inside}/admin")
    assert caught.value.type == "refused_address"
    assert "IPA_HTTP_ALLOW_PRIVATE_ADDRESSES" in caught.value.message


def test_a_host_name_that_resolves_to_loopback_is_refused(inside):
    port = inside.rsplit(":", 1)[1]
    with pytest.raises(ExternalActionError) as caught:
        call(f"http://localhost:{port}/admin")
    assert caught.value.type == "refused_address"


def test_a_redirect_to_loopback_is_refused(inside, settings):
    from processes.external import addresses

    # The first hop is allowed (as if it were public), the redirect's target is checked again.
    checked = []
    original = addresses.check_url

    def first_hop_public(url):
        checked.append(url)
        if len(checked) > 1:
            settings.IPA_HTTP_ALLOW_PRIVATE_ADDRESSES = False
        original(url)

    settings.IPA_HTTP_ALLOW_PRIVATE_ADDRESSES = True
    addresses.check_url = first_hop_public
    try:
        with pytest.raises(ExternalActionError) as caught:
            call(f"{inside}/hop?to={inside}/admin")
    finally:
        addresses.check_url = original
    assert caught.value.type == "refused_address"
    assert len(checked) == 2


def test_an_installation_may_allow_private_addresses(inside, settings):
    settings.IPA_HTTP_ALLOW_PRIVATE_ADDRESSES = True
    assert call(f"{inside}/admin") == {"status": 200, "body": {"admin": "inside"}}
