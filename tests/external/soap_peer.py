"""A real SOAP service for the web service tests and the demo, built with spyne.

Operations (document/literal wrapped, as WCF publishes them):

- ``add(a: int, b: int) -> int``
- ``fail(message: str)``: always answers with a SOAP fault whose faultstring is ``message``
- ``sleep(seconds: float) -> str``: answers ``"slept"`` after that many seconds
- ``customer(id: str) -> Customer {name, items: [str], balance: decimal, since: date}``
- ``lookup(id: str) -> {customer: Customer, found: bool}``: two outputs, so ``result.customer.name``
- ``next_day(day: date) -> date``

:class:`SoapPeer` serves it on a free loopback port, over HTTP or over HTTPS (with a
certificate from a test CA), in SOAP 1.1 or SOAP 1.2, in a thread; it counts the requests it
receives so that tests can see how often the WSDL was fetched.
"""

from __future__ import annotations

import ssl
import threading
import time
import warnings
from collections import Counter
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

with warnings.catch_warnings():  # spyne imports cgi, deprecated since Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from spyne import (
        Application,
        Array,
        Boolean,
        ComplexModel,
        Date,
        Decimal,
        Double,
        Fault,
        Integer,
        ServiceBase,
        Unicode,
        rpc,
    )
    from spyne.protocol.soap import Soap11, Soap12
    from spyne.server.wsgi import WsgiApplication

NAMESPACE = "urn:ipa:test:calculator"

CUSTOMERS = {
    "42": {"name": "Ada Lovelace", "items": ["analytical engine", "notes"], "balance": "1234.50",
           "since": "1843-07-10"},
    "7": {"name": "Grace Hopper", "items": ["compiler"], "balance": "0.10", "since": "1952-05-01"},
}


class Customer(ComplexModel):
    __namespace__ = NAMESPACE
    name = Unicode
    items = Unicode(max_occurs="unbounded")
    balance = Decimal
    since = Date


def _customer(customer_id: str) -> Customer | None:
    import datetime
    import decimal

    data = CUSTOMERS.get(str(customer_id))
    if data is None:
        return None
    return Customer(name=data["name"], items=list(data["items"]), balance=decimal.Decimal(data["balance"]),
                    since=datetime.date.fromisoformat(data["since"]))


class Calculator(ServiceBase):
    @rpc(Integer, Integer, _returns=Integer)
    def add(ctx, a, b):  # noqa: N805 - spyne's calling convention
        return a + b

    @rpc(Unicode, _returns=Unicode)
    def fail(ctx, message):  # noqa: N805
        raise Fault(faultcode="Client.Refused", faultstring=message or "refused")

    @rpc(Double, _returns=Unicode)
    def sleep(ctx, seconds):  # noqa: N805
        time.sleep(seconds or 0)
        return "slept"

    @rpc(Unicode, _returns=Customer)
    def customer(ctx, id):  # noqa: N805, A002
        found = _customer(id)
        if found is None:
            raise Fault(faultcode="Client.NotFound", faultstring=f"no customer {id}")
        return found

    @rpc(Unicode, _returns=(Customer, Boolean), _out_variable_names=("customer", "found"))
    def lookup(ctx, id):  # noqa: N805, A002
        found = _customer(id)
        return found, found is not None

    @rpc(Date, _returns=Date)
    def next_day(ctx, day):  # noqa: N805
        import datetime

        return day + datetime.timedelta(days=1)

    @rpc(Array(Unicode), _returns=Integer)  # an array wrapper type, as WCF's ArrayOfstring
    def count(ctx, words):  # noqa: N805
        return len(words or [])


def soap_application(soap: str = "1.1", name: str = "CalculatorService") -> WsgiApplication:
    protocol = Soap12 if soap == "1.2" else Soap11
    app = Application([Calculator], tns=NAMESPACE, name=name, in_protocol=protocol(validator="lxml"),
                      out_protocol=protocol())
    return WsgiApplication(app)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            return  # a client that refused our certificate, or went away: what the tests ask for
        super().handle_error(request, client_address)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class SoapPeer:
    """The calculator served on ``127.0.0.1:<free port>`` until :meth:`stop`.

    ``tls`` is an ``ssl.SSLContext`` for the server side (HTTPS) or None (HTTP).
    ``requests`` counts ``(method, "?wsdl" or path)`` of every request received.
    """

    def __init__(self, soap: str = "1.1", tls: ssl.SSLContext | None = None, port: int = 0,
                 host: str = "127.0.0.1", name: str = "CalculatorService"):
        self.soap = soap
        self.tls = tls
        self.requests: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        application = soap_application(soap, name)
        scheme = "https" if tls else "http"

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            query = environ.get("QUERY_STRING", "")
            with self._lock:
                self.requests[(environ["REQUEST_METHOD"], "?wsdl" if query.lower() == "wsdl" else
                               environ.get("PATH_INFO", "/"))] += 1
            environ["wsgi.url_scheme"] = scheme
            if environ.get("PATH_INFO", "/") != "/":  # spyne would answer anything; a real server does not
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found"]
            return application(environ, start_response)

        self.server = make_server(host, port, counted, server_class=_Server, handler_class=_QuietHandler)
        if tls is not None:
            # The handshake happens in the request's thread, not in accept(): a client that
            # refuses our certificate cannot stall the server.
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.host = host
        self.url = f"{scheme}://{host}:{self.port}/"
        self.wsdl = f"{self.url}?wsdl"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"soap-peer-{self.port}")

    def start(self) -> SoapPeer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def count(self, method: str, what: str) -> int:
        with self._lock:
            return self.requests[(method, what)]

    def __enter__(self) -> SoapPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
