"""``invoke_web_service``: call an operation of a SOAP web service (1.1 or 1.2) with zeep.

``invoke_web_service(params)`` takes what the engine emits (``wsdl``, ``operation``,
``service``, ``port``, ``inputs``, ``timeout``) and returns the operation's result as a JSON
value (objects, lists, strings, numbers; decimals as strings, dates as ISO text), which the
engine walks with the action's ``outputs`` paths. A failure raises
:class:`~processes.external.errors.ExternalActionError` with one of these types:

``configuration``  the WSDL cannot be used as asked (no such file, operation, service or port;
                   several services or ports and none chosen; not a valid WSDL)
``bad_input``      an input cannot be converted to the type the WSDL gives its parameter
``soap_fault``     the service answered with a SOAP fault: the message is its faultstring
``timeout``        no complete answer within ``timeout`` seconds
``certificate``    the HTTPS server's certificate is not trusted by the CA bundle
``transport``      the server cannot be reached or did not answer with SOAP

The WSDL is parsed once and the zeep client kept in a small LRU cache keyed by the WSDL's
location (and a local file's modification time) and by the content hash of the CA bundle.
A WSDL published at a URL is therefore not fetched again when the service changes it:
re-import the process definition's WSDL or call :func:`clear_wsdl_cache`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import isodate
import requests
import urllib3
import zeep
import zeep.exceptions
from django.conf import settings
from lxml import etree
from zeep.helpers import serialize_object
from zeep.xsd.types import builtins as xsd_builtins

from . import results, trust
from .errors import ExternalActionError

CACHE_SIZE = 32
DEFAULT_TIMEOUT = 60.0

_clients: OrderedDict[tuple[str, int | None, str], zeep.Client] = OrderedDict()  # (wsdl, file version, bundle)
_clients_lock = threading.Lock()


def invoke_web_service(params: dict[str, Any]) -> Any:
    wsdl = params.get("wsdl")
    operation = params.get("operation")
    if not isinstance(wsdl, str) or not wsdl.strip():
        raise ExternalActionError("configuration", "invoke_web_service needs \"wsdl\": a URL or an uploaded file")
    if not isinstance(operation, str) or not operation:
        raise ExternalActionError("configuration", "invoke_web_service needs \"operation\"")
    timeout = _timeout(params.get("timeout"))
    deadline = _Deadline(timeout)
    bundle = trust.ca_bundle()
    try:
        client = _client(wsdl.strip(), bundle, deadline)
        proxy, binding = _bind(client, params.get("service"), params.get("port"))
        inputs = _inputs(binding, operation, params.get("inputs") or {})
        with client.transport.bounded(deadline):
            result = proxy[operation](**inputs)
    except ExternalActionError:
        raise
    except Exception as error:  # noqa: BLE001 - every failure becomes the action's error
        raise _failure(error, deadline, bundle) from error
    return json_value(serialize_object(result, target_cls=dict))


def clear_wsdl_cache() -> None:
    """Forget every parsed WSDL: the next call of each service loads its WSDL again."""
    with _clients_lock:
        _clients.clear()


def cached_wsdls() -> list[str]:
    with _clients_lock:
        return [key[0] for key in _clients]


# ------------------------------------------------------------------------ the deadline


class _DeadlineExceeded(Exception):
    pass


class _Deadline:
    """The whole call (WSDL on first use, connect, send, answer) must end by ``ends``."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.ends = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        if self.ends is None:
            return None
        left = self.ends - time.monotonic()
        if left <= 0:
            raise _DeadlineExceeded()
        return left

    def describe(self) -> str:
        seconds = self.seconds or 0
        shown = f"{seconds:g}" if seconds != int(seconds) else str(int(seconds))
        return f"no answer within {shown} s"


def _timeout(value: Any) -> float | None:
    """``timeout`` in seconds; absent: ``IPA_WEB_SERVICE_TIMEOUT`` (60); ``0``: no limit."""
    if value is None or value == "":
        value = getattr(settings, "IPA_WEB_SERVICE_TIMEOUT", DEFAULT_TIMEOUT)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ExternalActionError("configuration", f"timeout must be a number of seconds, not {value!r}")
    if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
        raise ExternalActionError("configuration", f"timeout must be a number of seconds, not {value!r}")
    return seconds or None


class _PinnedSession(requests.Session):
    """A session that verifies against its own bundle even when REQUESTS_CA_BUNDLE is set
    (requests lets that variable override ``Session.verify``); proxies from the environment
    still apply."""

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["verify"] = self.verify
        return merged


class _Transport(zeep.Transport):
    """zeep's transport with every request bounded by the calling thread's deadline.

    requests' own timeout is per socket operation; here the connect and the wait for the
    headers share the time left (urllib3's ``total``), and the body is read in chunks with the
    socket's timeout set to the time left before each one, so a server that trickles its
    answer is cut off too.
    """

    def __init__(self, session: requests.Session):
        super().__init__(session=session, cache=None)
        self._local = threading.local()

    @contextmanager
    def bounded(self, deadline: _Deadline) -> Iterator[None]:
        previous = getattr(self._local, "deadline", None)
        self._local.deadline = deadline
        try:
            yield
        finally:
            self._local.deadline = previous

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        deadline: _Deadline | None = getattr(self._local, "deadline", None)
        left = deadline.remaining() if deadline else None
        timeout = None if left is None else urllib3.Timeout(total=left)
        response = self.session.request(method, url, timeout=timeout, stream=True, **kwargs)
        try:
            body = bytearray()
            for chunk in _chunks(response, deadline):
                body += chunk
            response._content = bytes(body)
            response._content_consumed = True
        finally:
            response.close()
        return response

    def get(self, address, params, headers):  # type: ignore[no-untyped-def]
        return self._request("GET", address, params=params, headers=headers)

    def post(self, address, message, headers):  # type: ignore[no-untyped-def]
        return self._request("POST", address, data=message, headers=headers)

    def _load_remote_data(self, url):  # type: ignore[no-untyped-def]
        response = self._request("GET", url)
        response.raise_for_status()
        return response.content


def _chunks(response: requests.Response, deadline: _Deadline | None) -> Iterator[bytes]:
    """The body, each read at most one system call (``read1``), the deadline checked between."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 < 2.3: whole chunks, bounded per read only
        yield from raw.stream(64 * 1024, decode_content=True)
        return
    while True:
        if deadline is not None:
            _socket_timeout(raw, deadline.remaining())
        chunk = raw.read1(64 * 1024, decode_content=True)
        if not chunk:
            return
        yield chunk


def _socket_timeout(raw: Any, seconds: float | None) -> None:
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None and seconds is not None:
        sock.settimeout(max(seconds, 0.001))


# ---------------------------------------------------------------------- the WSDL cache


def _location(wsdl: str) -> tuple[str, int | None]:
    """A URL as it is; an uploaded file (a path or ``file://``) inside ``IPA_WSDL_DIR``."""
    scheme = urlparse(wsdl).scheme.lower()
    if scheme in ("http", "https"):
        return wsdl, None
    if scheme == "file":
        wsdl = urlparse(wsdl).path
    elif scheme and len(scheme) > 1:
        raise ExternalActionError("configuration", f"the WSDL must be an http(s) URL or an uploaded file, not {wsdl}")
    folder = Path(getattr(settings, "IPA_WSDL_DIR", "wsdl")).resolve()
    path = Path(wsdl)
    path = (path if path.is_absolute() else folder / path).resolve()
    if not path.is_relative_to(folder):
        raise ExternalActionError("configuration", f"a WSDL file must be in the uploaded WSDL folder {folder}: {wsdl}")
    try:
        modified = path.stat().st_mtime_ns
    except OSError:
        raise ExternalActionError("configuration", f"no WSDL file {path}")
    return str(path), modified


def _client(wsdl: str, bundle: trust.Bundle, deadline: _Deadline) -> zeep.Client:
    location, version = _location(wsdl)
    key = (location, version, bundle.path)  # the path is named by the bundle's content hash
    with _clients_lock:
        client = _clients.get(key)
        if client is not None:
            _clients.move_to_end(key)
            return client
    session = _PinnedSession()
    session.verify = bundle.path
    transport = _Transport(session)
    zeep_settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    with transport.bounded(deadline):
        client = zeep.Client(location, transport=transport, settings=zeep_settings)
    with _clients_lock:
        _clients[key] = client
        _clients.move_to_end(key)
        while len(_clients) > CACHE_SIZE:
            _clients.popitem(last=False)
    return client


# --------------------------------------------------------------- service, port, inputs


def _kind(port: Any) -> str:
    name = type(port.binding).__name__
    return {"Soap11Binding": "SOAP 1.1", "Soap12Binding": "SOAP 1.2"}.get(name, "HTTP")


def _bind(client: zeep.Client, service: str | None, port: str | None) -> tuple[Any, Any]:
    services = client.wsdl.services
    if service:
        if service not in services:
            raise ExternalActionError(
                "configuration", f"the WSDL has no service \"{service}\"; it has: {', '.join(services) or 'none'}")
        chosen = services[service]
    elif len(services) == 1:
        chosen = next(iter(services.values()))
    elif not services:
        raise ExternalActionError("configuration", "the WSDL defines no service")
    else:
        raise ExternalActionError("configuration", f"the WSDL has several services: {', '.join(services)}; "
                                                   "set \"service\"")
    ports = chosen.ports
    if port:
        if port not in ports:
            raise ExternalActionError("configuration", f"the service \"{chosen.name}\" has no port \"{port}\"; "
                                                       f"it has: {', '.join(ports) or 'none'}")
        bound = ports[port]
    elif len(ports) == 1:
        bound = next(iter(ports.values()))
    elif not ports:
        raise ExternalActionError("configuration", f"the service \"{chosen.name}\" has no port")
    else:
        listed = ", ".join(f"{name} ({_kind(each)})" for name, each in ports.items())
        raise ExternalActionError("configuration", f"the service \"{chosen.name}\" has several ports: {listed}; "
                                                   "set \"port\"")
    return client.bind(chosen.name, bound.name), bound.binding


def _inputs(binding: Any, operation: str, inputs: Any) -> dict[str, Any]:
    operations = binding.all()
    if operation not in operations:
        raise ExternalActionError("configuration", f"the port has no operation \"{operation}\"; "
                                                   f"it has: {', '.join(sorted(operations)) or 'none'}")
    if not isinstance(inputs, dict):
        raise ExternalActionError("bad_input", "inputs must be an object from parameter name to value")
    body = getattr(operations[operation].input, "body", None)
    elements = dict(getattr(getattr(body, "type", None), "elements", None) or [])
    if not elements:
        return dict(inputs)
    converted = {}
    for name, value in inputs.items():
        if name not in elements:
            raise ExternalActionError("bad_input", f"the operation {operation} has no parameter \"{name}\"; "
                                                   f"it takes: {', '.join(elements) or 'none'}")
        converted[name] = _convert(elements[name], value, name)
    return converted


def _convert(element: Any, value: Any, path: str) -> Any:
    if value is None:
        return None
    if getattr(element, "accepts_multiple", False) and isinstance(value, list | tuple):
        return [_convert_one(element.type, each, f"{path}.{index}") for index, each in enumerate(value)]
    return _convert_one(element.type, value, path)


def _convert_one(xsd_type: Any, value: Any, path: str) -> Any:
    if value is None:
        return None
    children = getattr(xsd_type, "elements", None)
    if children is not None:  # a complex type
        fields = dict(children)
        if isinstance(value, dict):
            converted = {}
            for name, each in value.items():
                if name not in fields:
                    raise ExternalActionError("bad_input", f"{path} has no field \"{name}\"; "
                                                           f"it has: {', '.join(fields) or 'none'}")
                converted[name] = _convert(fields[name], each, f"{path}.{name}")
            return converted
        if isinstance(value, list | tuple) and len(fields) == 1:
            # An array wrapper (WCF's ArrayOfstring, spyne's stringArray): a list fills its one element.
            (name, child), = fields.items()
            return {name: _convert(child, list(value), path)}
        raise ExternalActionError("bad_input", f"{path} must be an object with {', '.join(fields) or 'no fields'}")
    if isinstance(value, dict | list | tuple):
        raise ExternalActionError("bad_input", f"{path} must be a single value, not {type(value).__name__}")
    if not isinstance(xsd_type, xsd_builtins.BuiltinType):
        return value
    try:
        if isinstance(xsd_type, xsd_builtins.Boolean):
            return _boolean(value)
        if isinstance(value, bool) and not isinstance(xsd_type, xsd_builtins.String):
            raise ValueError("a boolean is not a number or date")
        if isinstance(xsd_type, xsd_builtins.String):
            return value if isinstance(value, str) else json_text(value)
        text = value if isinstance(value, str) else str(value)
        converted = xsd_type.pythonvalue(text.strip())
        if isinstance(converted, float) and math.isnan(converted) and text.strip() != "NaN":
            raise ValueError("not a number")
        return converted
    except ExternalActionError:
        raise
    except Exception:  # noqa: BLE001 - any conversion failure is bad input
        # The message names the parameter and the kind of value, never the value (supervisors see it).
        type_name = getattr(getattr(xsd_type, "qname", None), "localname", None) or type(xsd_type).__name__
        kind = "a boolean" if isinstance(value, bool) else "a text" if isinstance(value, str) else "a number"
        raise ExternalActionError("bad_input", f"{path}: {kind} that is not a valid {type_name}")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(text)


def json_text(value: Any) -> str:
    converted = json_value(value)
    return converted if isinstance(converted, str) else str(converted)


# ------------------------------------------------------------------------ the result


def json_value(value: Any) -> Any:
    """What zeep returned, as the format's JSON (``results.json_value``, the same for every
    action: decimals as exact text, dates and datetimes ISO 8601), with zeep's own leftovers
    (``xsd:any`` elements, ISO durations) turned into text first."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dict):
        return {str(key): json_value(each) for key, each in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_value(each) for each in value]
    if isinstance(value, etree._Element):
        return etree.tostring(value, encoding="unicode")
    if isinstance(value, isodate.Duration):
        return isodate.duration_isoformat(value)
    try:
        return results.json_value(value)
    except TypeError:
        return str(value)


# ------------------------------------------------------------------------ the errors

_VERIFY = re.compile(r"certificate verify failed: ([^(')\"]+)", re.IGNORECASE)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _where(error: Exception) -> str:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    if url:
        parsed = urlparse(url)
        return f"{parsed.scheme}://{parsed.netloc}"
    return ""


def _failure(error: Exception, deadline: _Deadline, bundle: trust.Bundle) -> ExternalActionError:
    text = str(error)
    if isinstance(error, zeep.exceptions.Fault):
        return ExternalActionError("soap_fault", error.message or str(error.code or "SOAP fault"))
    if isinstance(error, _DeadlineExceeded | requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return ExternalActionError("timeout", deadline.describe())
    if isinstance(error, requests.exceptions.SSLError | urllib3.exceptions.SSLError):
        return _certificate_failure(error, bundle)
    if isinstance(error, requests.ConnectionError) and "timed out" in text.lower():
        return ExternalActionError("timeout", deadline.describe())
    if isinstance(error, requests.HTTPError):
        status = getattr(error.response, "status_code", "?")
        url = getattr(error.response, "url", "") or ""
        return ExternalActionError("transport", f"the server answered HTTP {status} for {url}")
    if isinstance(error, requests.ConnectionError | urllib3.exceptions.HTTPError):
        where = _where(error)
        reason = _ERRNO.search(text)
        detail = reason.group(1).strip() if reason else text[:300]
        return ExternalActionError("transport", f"cannot reach {where or 'the server'}: {detail}")
    if isinstance(error, requests.RequestException):
        return ExternalActionError("transport", text[:300])
    if isinstance(error, zeep.exceptions.TransportError):
        status = getattr(error, "status_code", None)
        prefix = f"the server answered HTTP {status}" if status else "the server did not answer with SOAP"
        return ExternalActionError("transport", f"{prefix}: {error.message[:200]}")
    if isinstance(error, zeep.exceptions.ValidationError):
        return ExternalActionError("bad_input", error.message or text)
    if isinstance(error, zeep.exceptions.XMLSyntaxError | zeep.exceptions.WsdlSyntaxError
                  | zeep.exceptions.LookupError | zeep.exceptions.NamespaceError | etree.XMLSyntaxError):
        return ExternalActionError("configuration", f"the WSDL cannot be used: {text[:300]}")
    if isinstance(error, zeep.exceptions.XMLParseError):
        return ExternalActionError("transport", f"the answer is not valid SOAP: {text[:300]}")
    if isinstance(error, OSError):
        return ExternalActionError("transport", text[:300])
    if isinstance(error, TypeError | ValueError):
        return ExternalActionError("bad_input", text[:300])
    return ExternalActionError("transport", f"{type(error).__name__}: {text[:300]}")


def _certificate_failure(error: Exception, bundle: trust.Bundle) -> ExternalActionError:
    text = str(error)
    match = _VERIFY.search(text)
    where = _where(error)
    if bundle.certificates == 0:
        return ExternalActionError(
            "certificate", f"the CA bundle is empty: no certification authority can vouch for the server's "
                           f"certificate ({where or text[:200]})")
    if not match:
        return ExternalActionError("transport", f"the TLS handshake with {where or 'the server'} failed: {text[:300]}")
    detail = match.group(1).strip()
    context = f"{where}: {detail}" if where else detail
    lowered = detail.lower()
    if "mismatch" in lowered or "doesn't match" in lowered:
        return ExternalActionError("certificate", f"the server's certificate is not valid for its address ({context})")
    if "expired" in lowered or "not yet valid" in lowered:
        return ExternalActionError("certificate", f"the server's certificate is out of its validity period ({context})")
    return ExternalActionError(
        "certificate", f"the server's certificate is not signed by a certification authority in the CA bundle "
                       f"({context}; the bundle has {bundle.describe()})")
