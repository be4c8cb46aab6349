"""Peers for the web service tests, started on loopback: the spyne calculator over HTTP
(SOAP 1.1 and 1.2) and over HTTPS with a certificate from a test CA (trustme), and a server
that trickles its answer one byte at a time. A test module names the fixtures it uses
(``http_peer = peers.http_peer``).
"""

from __future__ import annotations

import copy
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
from lxml import etree

from tests.external.soap_peer import SoapPeer

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP11_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_NS = "http://schemas.xmlsoap.org/wsdl/soap12/"



def tls_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context


@pytest.fixture(scope="session")
def test_ca() -> trustme.CA:
    return trustme.CA(organization_name="IPA test CA")


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    return trustme.CA(organization_name="Somebody else's CA")


@pytest.fixture(scope="session", autouse=False)
def _quiet_spyne() -> None:
    # spyne logs every fault it answers with as an ERROR: the tests ask for those.
    logging.getLogger("spyne").setLevel(logging.CRITICAL)


@pytest.fixture(scope="module")
def http_peer(_quiet_spyne) -> Iterator[SoapPeer]:
    with SoapPeer("1.1") as peer:
        yield peer


@pytest.fixture(scope="module")
def soap12_peer(_quiet_spyne) -> Iterator[SoapPeer]:
    with SoapPeer("1.2") as peer:
        yield peer


@pytest.fixture(scope="module")
def https_peer(_quiet_spyne, test_ca) -> Iterator[SoapPeer]:
    with SoapPeer("1.1", tls=tls_context(test_ca, "127.0.0.1")) as peer:
        yield peer


@pytest.fixture(scope="module")
def https_localhost_peer(_quiet_spyne, test_ca) -> Iterator[SoapPeer]:
    """Signed by the test CA but for ``localhost`` only, served on 127.0.0.1: a name mismatch."""
    with SoapPeer("1.1", tls=tls_context(test_ca, "localhost")) as peer:
        yield peer


@pytest.fixture
def web_service_settings(settings, tmp_path):
    """No public CAs, no bundle file, uploaded WSDLs in tmp_path/wsdl, and no cached WSDL."""
    from processes.external.web_service import clear_wsdl_cache

    settings.IPA_TRUST_PUBLIC_CAS = False
    settings.IPA_CA_BUNDLE = ""
    settings.IPA_WSDL_DIR = tmp_path / "wsdl"
    settings.IPA_WSDL_DIR.mkdir()
    clear_wsdl_cache()
    yield settings
    clear_wsdl_cache()


def wsdl_with_services(peer_wsdl: str, folder: Path, name: str, services: dict[str, dict[str, str]]) -> Path:
    """An uploaded WSDL file: the peer's WSDL with its one service replaced by ``services``
    (service name -> {port name: address}), every port on the peer's binding."""
    document = etree.fromstring(requests.get(peer_wsdl, timeout=5).content)
    original = document.find(f"{{{WSDL_NS}}}service")
    template = original.find(f"{{{WSDL_NS}}}port")
    parent = original.getparent()
    index = parent.index(original)
    parent.remove(original)
    for offset, (service_name, ports) in enumerate(services.items()):
        service = etree.Element(f"{{{WSDL_NS}}}service", name=service_name)
        for port_name, address in ports.items():
            port = copy.deepcopy(template)
            port.set("name", port_name)
            for location in port:
                location.set("location", address)
            service.append(port)
        parent.insert(index + offset, service)
    path = folder / name
    path.write_bytes(etree.tostring(document, xml_declaration=True, encoding="utf-8"))
    return path


class TricklePeer:
    """Answers any HTTP request with a 200 whose body comes one byte every ``interval`` seconds
    (at most ``limit`` seconds, then it closes): a server slower than any timeout, though never silent."""

    def __init__(self, interval: float = 0.2, limit: float = 10.0):
        self.interval = interval
        self.limit = limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"trickle-{self.port}")

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(2)
            try:
                received = b""
                while b"\r\n\r\n" not in received:
                    data = connection.recv(65536)
                    if not data:
                        return
                    received += data
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
                                   b"Content-Length: 100000\r\n\r\n")
                ends = time.monotonic() + self.limit
                while time.monotonic() < ends and not self._stop.is_set():
                    connection.sendall(b" ")
                    time.sleep(self.interval)
            except OSError:
                return

    def __enter__(self) -> TricklePeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def trickle_peer() -> Iterator[TricklePeer]:
    with TricklePeer() as peer:
        yield peer


def wsdl_with_both_versions(peer11: SoapPeer, peer12: SoapPeer, folder: Path, name: str = "both.wsdl") -> Path:
    """One service with a SOAP 1.1 port (``Soap11``, on ``peer11``) and a SOAP 1.2 port
    (``Soap12``, on ``peer12``), as WCF publishes a basicHttpBinding and a SOAP 1.2 endpoint."""
    document = etree.fromstring(requests.get(peer11.wsdl, timeout=5).content)
    other = etree.fromstring(requests.get(peer12.wsdl, timeout=5).content)
    binding12 = other.find(f"{{{WSDL_NS}}}binding")
    binding12.set("name", "CalculatorService12")
    service = document.find(f"{{{WSDL_NS}}}service")
    service.addprevious(binding12)
    port11 = service.find(f"{{{WSDL_NS}}}port")
    port11.set("name", "Soap11")
    port12 = etree.SubElement(service, f"{{{WSDL_NS}}}port", name="Soap12", binding="tns:CalculatorService12")
    etree.SubElement(port12, f"{{{SOAP12_NS}}}address", location=peer12.url)
    path = folder / name
    path.write_bytes(etree.tostring(document, xml_declaration=True, encoding="utf-8"))
    return path


@pytest.fixture
def engine_tasks_here():
    """Engine tasks (external calls, events) run in this process after the commit, also when the
    suite runs against PostgreSQL and Redis, where no Celery worker reads the broker in these tests."""
    from ipa_portal.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager
