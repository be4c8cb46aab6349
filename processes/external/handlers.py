"""``run_handler``: Python callables registered with the server, run with a timeout.

A handler is a function decorated with :func:`handler`, which gives it the name processes
call it by and a description of its inputs and outputs::

    @handler(name="credit_score", inputs={"customer_id": "string"}, outputs={"score": "integer"})
    def credit_score(customer_id):
        return {"score": 720}

The ``IPA_HANDLERS`` setting lists the dotted paths of the handlers the server offers. The
action's ``inputs`` are passed as keyword arguments; the return value (any JSON value, or
Python values with a JSON form such as ``Decimal`` or ``date``) is the action's ``result``.
A handler that raises :class:`ExternalActionError` chooses the ``error`` the process sees;
any other exception becomes ``handler_error`` naming the exception's type (its text may
hold the values the handler was given, so it goes to the server log only).

The timeout is the action's ``timeout``, else ``PAS_HandlerResponseTimeout`` (the engine
fills it in; ``0`` = unlimited). The handler runs in a thread of its own and the runner stops
waiting for it at the timeout; Python cannot stop a thread, so the abandoned one runs on to
its end in the background, and whatever it returns then is ignored.

Two handlers ship as examples: ``http_json`` (a JSON call over HTTP) and ``render_template``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from functools import lru_cache
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from processes.engine.references import child, did_you_mean, quoted
from processes.engine.validation import DefinitionError

from .addresses import open_checked
from .errors import ExternalActionError

log = logging.getLogger("ipa.engine.external")

Handler = Callable[..., Any]


def handler(*, name: str, inputs: dict[str, str] | None = None, outputs: dict[str, str] | None = None,
            description: str = "") -> Callable[[Handler], Handler]:
    """Mark a callable as a handler named ``name``; ``inputs``/``outputs`` map names to format types."""

    def mark(function: Handler) -> Handler:
        function.handler_name = name
        function.inputs = dict(inputs or {})
        function.outputs = dict(outputs or {})
        function.description = description or (function.__doc__ or "").strip().split("\n")[0]
        return function

    return mark


# ---------------------------------------------------------------------------- registry


def registered_handlers() -> dict[str, Handler]:
    """{name: callable} of the handlers in ``IPA_HANDLERS`` (read again when the setting changes)."""
    return _load(tuple(getattr(settings, "IPA_HANDLERS", ())))


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> dict[str, Handler]:
    found: dict[str, Handler] = {}
    for path in paths:
        function = import_string(path)  # a wrong path is a configuration error: fail loudly
        name = getattr(function, "handler_name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{path} in IPA_HANDLERS is not decorated with @handler(name=...)")
        if name in found:
            raise TypeError(f"two handlers in IPA_HANDLERS are named {name!r}")
        found[name] = function
    return found


def find_handler(name: str) -> Handler | None:
    return registered_handlers().get(name)


def describe_handlers() -> list[dict[str, Any]]:
    """Name, description, inputs and outputs of every handler, for designers."""
    return [{"name": name, "description": getattr(function, "description", ""),
             "inputs": function.inputs, "outputs": function.outputs}
            for name, function in sorted(registered_handlers().items())]


def definition_errors(document: Any) -> list[DefinitionError]:
    """A ``run_handler`` naming no registered handler, or an input the handler does not take.

    Checked when a definition is imported (after the format's own validation), with the
    action's JSON path, so a process never reaches a handler this server does not have.
    """
    handlers = registered_handlers()
    errors = []
    for path, action in _actions(document, ""):
        if action.get("action") != "run_handler" or not isinstance(action.get("handler"), str):
            continue
        name = action["handler"]
        function = handlers.get(name)
        if function is None:
            known = ", ".join(sorted(handlers)) or "none"
            errors.append(DefinitionError(f"{path}.handler", f"unknown handler {quoted(name)}"
                                          f"{did_you_mean(name, handlers)}; registered handlers are {known}"))
            continue
        accepted = list(function.inputs)
        for key in action.get("inputs") or {}:
            if accepted and key not in accepted:
                errors.append(DefinitionError(child(f"{path}.inputs", key),
                                              f"handler {quoted(name)} has no input {quoted(key)} "
                                              f"(its inputs are {', '.join(accepted)})"))
    return errors


def _actions(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every action object in the document with its JSON path, however deeply nested."""
    if isinstance(node, dict):
        if isinstance(node.get("action"), str):
            yield path, node
        for key, value in node.items():
            yield from _actions(value, child(path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _actions(value, child(path, index))


# ------------------------------------------------------------------------- running


def run_handler(params: dict[str, Any]) -> Any:
    """The runner of ``run_handler``: call the handler with the inputs, within the timeout."""
    name = params.get("handler")
    function = find_handler(name) if isinstance(name, str) else None
    if function is None:
        raise ExternalActionError("unknown_handler", f"no handler named {name!r} is registered with this server")
    timeout = _seconds(params.get("timeout"))
    future: Future[Any] = Future()
    thread = threading.Thread(target=_call, args=(function, dict(params.get("inputs") or {}), future),
                              name=f"handler-{name}", daemon=True)
    thread.start()
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        future.cancel()
        raise ExternalActionError("timeout", f"handler {name} did not answer within {timeout:g} s") from None
    except ExternalActionError:
        raise
    except TypeError as error:
        if _is_signature_error(error, function):
            raise ExternalActionError("bad_input", f"handler {name} does not take these inputs") from None
        raise _failure(name, error) from None
    except Exception as error:
        raise _failure(name, error) from None


def _seconds(value: Any) -> float | None:
    """The timeout in seconds; None (no limit) for 0 or nothing."""
    try:
        seconds = float(value or 0)
    except (TypeError, ValueError):
        raise ExternalActionError("bad_input", f"timeout must be a number of seconds, not {value!r}") from None
    return seconds if seconds > 0 else None


def _call(function: Handler, inputs: dict[str, Any], future: Future[Any]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(function(**inputs))
    except BaseException as error:  # noqa: B036 - handed to the waiting runner
        future.set_exception(error)
    finally:
        connection.close()  # a handler that used the ORM opened this thread's own connection


def _is_signature_error(error: TypeError, function: Handler) -> bool:
    """A TypeError raised by the call itself (unknown or missing keyword), not inside the handler."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and traceback.tb_frame.f_code.co_name == "_call"


def _failure(name: str, error: BaseException) -> ExternalActionError:
    log.error("handler %s raised %s", name, type(error).__name__, exc_info=error)
    return ExternalActionError("handler_error", f"handler {name} raised {type(error).__name__}; "
                                                "see the server log")


# ---------------------------------------------------------------- shipped handlers


@handler(
    name="http_json",
    inputs={"url": "string", "method": "string", "body": "json", "headers": "json", "timeout": "decimal"},
    outputs={"status": "integer", "body": "json"},
)
def http_json(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None,
              timeout: Any = 10) -> dict[str, Any]:
    """Call a JSON API over HTTP(S): send ``body`` as JSON, return the status and the parsed answer.

    HTTPS is verified against the system's certificate authorities. The host must be a public
    address (``processes.external.addresses``: no loopback, private or link-local address
    unless the installation allows it). A status of 400 or more,
    an unreachable server or an answer that is not JSON raise ``ExternalActionError``.
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ExternalActionError("bad_input", "url must be an http:// or https:// address")
    where = f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the query: it may carry values
    data = None if body is None else json.dumps(body).encode()
    request = Request(url, data=data, method=(method or "GET").upper(),
                      headers={"Accept": "application/json", **({"Content-Type": "application/json"} if data else {}),
                               **{str(k): str(v) for k, v in (headers or {}).items()}})
    try:
        with open_checked(request, float(timeout or 10)) as response:  # http(s) checked above, the host below
            status, raw = response.status, response.read()
    except HTTPError as error:
        raise ExternalActionError("http_error", f"{where} answered HTTP {error.code} {error.reason}") from None
    except URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise ExternalActionError("timeout", f"{where} did not answer within {float(timeout or 10):g} s") from None
        raise ExternalActionError("connection_failed", f"cannot reach {where}: {error.reason}") from None
    except TimeoutError:
        raise ExternalActionError("timeout", f"{where} did not answer within {float(timeout or 10):g} s") from None
    try:
        parsed = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise ExternalActionError("bad_response", f"{where} did not answer with JSON") from None
    return {"status": status, "body": parsed}


@handler(
    name="render_template",
    inputs={"template": "string", "values": "json", "html": "boolean"},
    outputs={"text": "string"},
)
def render_template(template: str, values: dict[str, Any] | None = None, html: bool = False) -> dict[str, str]:
    """Fill a Django template (``Dear {{ name }}``) with ``values``; ``html`` escapes them for HTML."""
    from django.template import Context, Engine, TemplateSyntaxError

    try:
        compiled = Engine(autoescape=bool(html)).from_string(template or "")
    except TemplateSyntaxError as error:
        raise ExternalActionError("bad_input", f"the template is not valid: {error}") from None
    return {"text": compiled.render(Context(values or {}, autoescape=bool(html)))}
