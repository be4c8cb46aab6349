"""Actions run outside the step: web services, handlers, database queries, email.

The engine evaluates the parameters, emits ``RunExternal`` and waits; the layer runs the
action after commit and reports ``ExternalFinished`` or ``ExternalFailed``.
"""

from __future__ import annotations

from typing import Any

from .execution import NEXT, Fault, Here
from .scopes import natural_json
from .types import ExternalFailed, ExternalFinished, RunExternal

EXTERNAL_KINDS = ("invoke_web_service", "run_handler", "database", "send_email")


def label(action: dict[str, Any]) -> str:
    """How people see the action: ``run_handler lookup``, ``database crm``, ``send_email``."""
    kind = action["action"]
    name = {
        "invoke_web_service": action.get("operation"),
        "run_handler": action.get("handler"),
        "database": action.get("data_source"),
    }.get(kind)
    return f"{kind} {name}" if name else kind


def run_external(here: Here) -> str:
    kind = here.action["action"]
    params = PARAMETERS[kind](here)
    token = here.run.new_id("w")
    here.run.emit(RunExternal(token, kind, params))
    here.run.record("external_started", label(here.action))
    return here.wait(token, "external", label(here.action))


def _evaluated(here: Here, key: str) -> dict[str, Any]:
    evaluated = {}
    for name, source in (here.action.get(key) or {}).items():
        try:
            evaluated[name] = natural_json(here.evaluate(source, key, name))
        except ValueError as error:
            raise Fault(str(error), key, name) from error
    return evaluated


def _web_service(here: Here) -> dict[str, Any]:
    action = here.action
    return {
        "wsdl": action["wsdl"],
        "operation": action["operation"],
        "service": action.get("service"),
        "port": action.get("port"),
        "inputs": _evaluated(here, "inputs"),
        "timeout": action.get("timeout"),
    }


def _handler(here: Here) -> dict[str, Any]:
    timeout = here.action.get("timeout")
    return {
        "handler": here.action["handler"],
        "inputs": _evaluated(here, "inputs"),
        "timeout": here.run.ctx.handler_timeout if timeout is None else timeout,
    }


def _database(here: Here) -> dict[str, Any]:
    return {
        "data_source": here.action["data_source"],
        "sql": here.action["sql"],
        "params": _evaluated(here, "params"),
        "mode": (here.action.get("result") or {}).get("mode", "rowcount"),
    }


def _email(here: Here) -> dict[str, Any]:
    action = here.action
    to = here.evaluate(action["to"], "to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list | tuple) or not all(isinstance(address, str) for address in to):
        raise Fault("to must give an address or a list of addresses", "to")
    return {
        "to": list(to),
        "subject": here.render(action.get("subject") or "", "subject"),
        "body": here.render(action.get("body") or "", "body"),
        "html_body": here.render(action["html_body"], "html_body") if action.get("html_body") else None,
    }


PARAMETERS = {
    "invoke_web_service": _web_service,
    "run_handler": _handler,
    "database": _database,
    "send_email": _email,
}


def resume_external_finished(here: Here, event: ExternalFinished) -> str:
    """Copy what the action returned into variables, then go on."""
    action = here.action
    here.end_wait()
    stored = {}
    if action["action"] == "database":
        into = (action.get("result") or {}).get("into")
        if into:
            stored[into] = here.convert(into, event.result, "result", "into")
    elif action["action"] != "send_email":
        for variable, path in (action.get("outputs") or {}).items():
            value = _walk(event.result, path, f"{label(action)} returned no {path}", variable)
            stored[variable] = here.convert(variable, value, "outputs", variable)
    for variable, value in stored.items():
        here.scope.write(variable, value)
    here.run.record("external_finished", label(action))
    return NEXT


def _walk(result: Any, path: str, missing: str, variable: str) -> Any:
    """``result.customer.name`` / ``result.items.0`` inside the returned value."""
    head, *parts = path.split(".")
    if head != "result":
        raise Fault(missing, "outputs", variable)
    node = result
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise Fault(missing, "outputs", variable)
    return node


def resume_external_failed(here: Here, event: ExternalFailed) -> str:
    """Run ``on_error`` with ``error`` in scope, or stop the instance on this action."""
    action = here.action
    here.end_wait()
    error = {"type": str(event.error.get("type", "")), "message": str(event.error.get("message", ""))}
    if action.get("on_error") is None:
        raise Fault(f"{label(action)} failed: {error['message']}")
    here.run.record("external_failed", f"{label(action)}: {error['type']}")
    return here.push("on_error", error=error)


EXTERNAL_ACTIONS = {kind: run_external for kind in EXTERNAL_KINDS}
