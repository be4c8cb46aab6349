"""JSON request bodies, bounded: in size (413) and in nesting (400), never a 500.

DRF's own parser reads the request stream directly, so Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` never applies to a JSON body; and Python's decoder meets
a body nested a thousand levels deep with a ``RecursionError``. Both are refused here with
an answer that names the limit.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import renderers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

MAX_DEPTH = 100  # levels of nested lists and objects: process documents need a few dozen


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def body_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


class BoundedJSONParser(BaseParser):
    """DRF's JSON parser with the bounds. Not a subclass of it on purpose: DRF reads the whole
    body through Django's ``request.body`` for its own parser, whose size error is an HTML 400;
    this one gets the stream and answers 413 itself."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = body_limit()
        request = (parser_context or {}).get("request")
        declared = int((request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0)
        if limit and declared > limit:
            raise BodyTooLarge(f"The request body is {declared} bytes; the limit is {limit} bytes.")
        raw = stream.read(limit + 1) if limit else stream.read()
        if limit and len(raw) > limit:
            raise BodyTooLarge(f"The request body is larger than the limit of {limit} bytes.")
        if request is not None:
            request._request._body = raw  # read once: a view may still look at request.body
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(f"The request body is not {encoding} text.") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant) if text.strip() else {}
        except RecursionError:
            raise ParseError(f"The JSON is nested more than {MAX_DEPTH} levels deep.") from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        if nesting_depth(data) > MAX_DEPTH:
            raise ParseError(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
        return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def nesting_depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (a scalar: 0), counted without recursion."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        deepest = max(deepest, depth)
        children = current.values() if isinstance(current, dict) else current
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
