"""One error shape for the whole API: RFC 9457 problem details.

Every refusal under ``/api/`` answers ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; a ``400`` adds ``errors``: messages keyed by field (form values,
request bodies, query filters), or a list of ``{path, message}`` for a process definition.
Domain errors (``FormInvalid``, ``NotAllowed``, ``Conflict`` ...) and DRF's own (bad JSON,
``405``, ``401``) go through :func:`api_exception_handler`; unknown paths and ids that are not
numbers through :func:`not_found`, and crashes through :func:`server_error`, so a client never
receives an HTML page. ``docs/api.md`` lists the problem types.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from administration.policy import NotAllowed, NotVisible
from ipa_portal.problems import (  # noqa: F401 - the problem document, re-exported for the API
    DEFINITION_INVALID,
    PROBLEM_JSON,
    PROBLEM_TYPES,
    VALIDATION,
    problem_body,
    problem_type,
)
from processes.engine.validation import DefinitionInvalid
from processes.errors import Conflict, FormInvalid, LaunchBlocked, NotFound, ServiceError

logger = logging.getLogger(__name__)

def problem(status: int, detail: str, *, slug: str | None = None, errors: Any = None,
            headers: dict[str, str] | None = None) -> Response:
    return Response(problem_body(status, detail, slug=slug, errors=errors), status=status, headers=headers,
                    content_type=PROBLEM_JSON)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: every error a view raises becomes a problem document."""
    if isinstance(exc, FormInvalid):
        return problem(400, exc.message, slug=VALIDATION, errors=exc.errors)
    if isinstance(exc, DefinitionInvalid):
        return problem(400, f"The definition has {len(exc.errors)} error(s).", slug=DEFINITION_INVALID,
                       errors=[error.to_dict() for error in exc.errors])
    if isinstance(exc, (NotVisible, NotFound)):
        return problem(404, str(exc) or "Not found.")
    if isinstance(exc, NotAllowed):
        return problem(403, str(exc))
    if isinstance(exc, Conflict):
        return problem(409, str(exc))
    if isinstance(exc, LaunchBlocked):
        return problem(503, str(exc), headers={"Retry-After": str(exc.retry_after_seconds)})
    if isinstance(exc, ServiceError):
        return problem(400, str(exc))
    if isinstance(exc, exceptions.ValidationError):
        return problem(400, "Some values are not valid.", slug=VALIDATION, errors=dict(field_errors(exc.detail)))
    response = exception_handler(exc, context)  # APIException, Http404, PermissionDenied
    if response is None:
        return None  # a crash: server_error answers it
    detail = exc.detail if isinstance(exc, exceptions.APIException) else None
    if isinstance(exc, Http404):
        text = "Not found."
    elif isinstance(exc, PermissionDenied):
        text = "You may not do this."
    else:
        text = str(detail) if isinstance(detail, str) else HTTPStatus(response.status_code).phrase
    body = problem_body(response.status_code, text)
    headers = {name: value for name, value in response.items() if name.lower() != "content-type"}
    return Response(body, status=response.status_code, headers=headers, content_type=PROBLEM_JSON)


def field_errors(detail: Any, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    """DRF's nested error detail flattened to ``{"values.amount": [...], "ids[0]": [...]}``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key)
            yield from field_errors(value, name)
    elif isinstance(detail, list) and detail and all(isinstance(d, str) for d in detail):
        yield prefix or api_settings.NON_FIELD_ERRORS_KEY, [str(d) for d in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                yield from field_errors(value, f"{prefix}[{index}]")
    else:
        yield prefix or api_settings.NON_FIELD_ERRORS_KEY, [str(detail)]


def _json_problem(status: int, detail: str) -> HttpResponse:
    return JsonResponse(problem_body(status, detail), status=status, content_type=PROBLEM_JSON)


@csrf_exempt  # a POST to nowhere is a 404, not a CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any path under ``/api/`` that names no endpoint (an unknown path, an id that is no number)."""
    return _json_problem(404, f"No endpoint at {request.path}.")


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's ``handler500``: a problem document under ``/api/``, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return _json_problem(500, "The server failed; the error is logged.")
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a problem document under ``/api/``, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return _json_problem(403, "The session cookie needs a CSRF token; scripts send a token instead.")
    return csrf.csrf_failure(request, reason)
