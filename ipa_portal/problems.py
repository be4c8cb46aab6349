"""The one error shape of the API: RFC 9457 problem details, as plain data.

Nothing here imports DRF, so modules that DRF's settings load (the authentication classes)
can answer with a problem document too; ``ipa_portal.errors`` turns exceptions into them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"

# ``type`` of each problem: a tag URI (RFC 9457, section 3.1.1: a stable name, not a page).
_TYPE_PREFIX = "tag:ipa-portal,2026:problem:"
PROBLEM_TYPES: dict[int, str] = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "throttled",
    500: "server-error",
    503: "unavailable",
}
VALIDATION = "validation"
DEFINITION_INVALID = "definition-invalid"


def problem_type(slug: str) -> str:
    return _TYPE_PREFIX + slug


def problem_body(status: int, detail: str, *, slug: str | None = None, errors: Any = None) -> dict[str, Any]:
    """The problem document for ``status``; ``errors`` is set on every ``400`` (maybe empty)."""
    body: dict[str, Any] = {
        "type": problem_type(slug or PROBLEM_TYPES.get(status, "error")),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if status == 400:
        body["errors"] = {} if errors is None else errors
    return body
