"""What the OpenAPI schema says beyond the serializers: the problem documents every operation can
answer, and the process definition document that ``POST /api/definitions/`` takes.

Views declare their refusals with :func:`refusals` (``400``, ``403``, ``404``, ``409``, ``503``);
the postprocessing hook :func:`declare_common_refusals` adds the ones that follow from the
framework: ``401`` on every operation that needs credentials and ``415`` on every operation
with a JSON body. So the schema lists every status a client can receive, each with its body.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ipa_portal.errors import PROBLEM_JSON, PROBLEM_TYPES, problem_type
from processes.engine.validation import PROCESS_SCHEMA

# Query parameters where an empty value means "not given" (django-filter's filters of
# GET /api/instances/, ``status`` of GET /api/workitems/, ``page``).
FILTERS_IGNORING_EMPTY = {"page", "process", "status", "state", "started_by", "waiting_on", "started_after",
                          "started_before"}

DESCRIPTIONS = {
    400: "Values or a query that the server refuses; `errors` says why, per field.",
    401: "No credentials, or credentials the server does not know.",
    403: "The caller lacks the license or right, or sent a value under a security specification "
         "they are not on.",
    404: "Nothing the caller may see has this id or name (in a list: no such page).",
    409: "The current status of the work item or instance does not allow this.",
    413: "The body is larger than the server takes (`DATA_UPLOAD_MAX_MEMORY_SIZE`).",
    415: "The body is not `application/json`.",
    429: "Too many failed logins from this address: locked out for a while (`Retry-After`).",
    503: "Launches wait while a takeover restores a dead engine node; retry after `Retry-After` seconds.",
}


class ProblemSerializer(serializers.Serializer):
    """An error (RFC 9457 problem details)."""

    type = serializers.CharField(help_text="A URI that names the kind of problem, e.g. "
                                           f"`{problem_type(PROBLEM_TYPES[409])}`.")
    title = serializers.CharField(help_text="The status's short phrase.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="A sentence for a person: what went wrong and what to do.")


class ValidationProblemSerializer(ProblemSerializer):
    """A refused request: ``errors`` maps each field (``values.amount``, a filter's name) to its messages."""

    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class DefinitionErrorSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Where in the document, e.g. `states[0].actions[1].state`.")
    message = serializers.CharField()


class DefinitionProblemSerializer(ProblemSerializer):
    """A process definition that cannot be imported: every fault at once."""

    errors = DefinitionErrorSerializer(many=True)


def refusals(*codes: int, invalid: type[serializers.Serializer] = ValidationProblemSerializer) -> dict:
    """``responses`` entries for ``@extend_schema``: each code with its problem body."""
    return {
        (code, PROBLEM_JSON): OpenApiResponse(invalid if code == 400 else ProblemSerializer,
                                              description=DESCRIPTIONS[code])
        for code in codes
    }


def _problem_response(code: int, component: str) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[code],
            "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{component}"}}}}


def declare_common_refusals(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: ``401`` where credentials are needed, ``415`` where a body is read;
    ids as integers; and the ``ProcessDocument`` component."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ProcessDocument"] = process_document_schema()
    for name, schema in schemas.items():
        if name.endswith("Request"):
            for field in schema.get("properties", {}).values():
                # An optional field's default is the server's business; some generators (openapi-
                # typescript) make a field with a default required. The description says it instead.
                if "default" in field:
                    default = field.pop("default")
                    field["description"] = f"{field.get('description', '')} Default: {json.dumps(default)}.".strip()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("pattern") == "^[0-9]+$":
                    parameter["schema"] = {"type": "integer"}  # ids are numbers, whatever the URL regex says
                if parameter["in"] == "query" and parameter["name"] in FILTERS_IGNORING_EMPTY:
                    parameter["allowEmptyValue"] = True  # ``?started_before=`` filters nothing
            responses = operation.setdefault("responses", {})
            if {} not in operation.get("security", [{}]):
                responses.setdefault("401", _problem_response(401, "Problem"))
            if any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
                responses.setdefault("400", _problem_response(400, "ValidationProblem"))  # page_size=x
                responses.setdefault("404", _problem_response(404, "Problem"))  # a page past the last
            if "requestBody" in operation:
                responses.setdefault("413", _problem_response(413, "Problem"))
                responses.setdefault("415", _problem_response(415, "Problem"))
    return result


def process_document_schema() -> dict[str, Any]:
    """The body of ``POST /api/definitions/``: the process JSON Schema's top level, pointing to
    the whole schema (``/api/schema/process.json``), which the server validates the body against."""
    properties = {}
    for name, spec in PROCESS_SCHEMA["properties"].items():
        if name == "$schema":
            continue
        # No titles: generators name classes after them.
        shallow = {key: spec[key] for key in ("description", "type", "minLength", "minItems") if key in spec}
        if "const" in spec:
            shallow.update(type="string", enum=[spec["const"]])
        if spec.get("type") == "array":
            shallow["items"] = {"type": "object", "additionalProperties": True}
        properties[name] = shallow
    return {
        "type": "object",
        "description": "A process definition document (`docs/process-format.md`). The server validates it "
                       "in full against the JSON Schema served at `/api/schema/process.json`; this schema "
                       "gives its top level.",
        "externalDocs": {"description": "The process definition JSON Schema", "url": "/api/schema/process.json"},
        "properties": properties,
        "required": list(PROCESS_SCHEMA.get("required", [])),
        "additionalProperties": True,
    }


class PortalAutoSchema(AutoSchema):
    """Operation ids a generated client reads well: ``launch_process``, ``complete_work_item``.

    Views give theirs with ``@extend_schema(operation_id=...)``; a view class serving several
    verbs (``cancel``/``retry``/``skip``) names its noun in ``operation_noun`` and its verb in
    ``action_name``.
    """

    def _is_list_view(self, serializer: Any = None) -> bool:
        # drf-spectacular picks the lowest status key; ``(400, media type)`` keys sort before ``200``.
        if serializer is None:
            serializer = self.get_response_serializers()
        if isinstance(serializer, dict):
            serializer = {code: s for code, s in serializer.items()
                          if str(code[0] if isinstance(code, tuple) else code).startswith("2")}
        return super()._is_list_view(serializer)

    def get_operation_id(self) -> str:
        verb, noun = getattr(self.view, "action_name", ""), getattr(self.view, "operation_noun", "")
        if verb and noun:
            return f"{verb}_{noun}"
        return super().get_operation_id()
