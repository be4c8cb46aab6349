"""One JSON Schema per ``/ws/workitems/`` message type (Zulip's event_schema, for our socket).

The tests check every message they receive against these; the consumer checks what
clients send against ``CLIENT_MESSAGES``. A new message type gets its schema here first.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from administration.models import PRESENCE_CHOICES
from workitems.models import WORK_ITEM_STATUSES

TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}
NULLABLE_TIMESTAMP = {"anyOf": [TIMESTAMP, {"type": "null"}]}
NULLABLE_NAME = {"type": ["string", "null"]}

# The fields of an item in GET /api/workitems/ (workitems.api.serializers.WorkItemSerializer).
WORK_ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "instance": {"type": "integer"},
        "process": {"type": "string"},
        "name": {"type": "string"},
        "category": {"type": "string"},
        "description": {"type": "string"},
        "priority": {"type": "integer"},
        "status": {"enum": [name for name, _ in WORK_ITEM_STATUSES]},
        "user": NULLABLE_NAME,
        "workgroup": NULLABLE_NAME,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "offered_at": NULLABLE_TIMESTAMP,
    },
    "required": ["id", "instance", "process", "name", "category", "description", "priority", "status", "user",
                 "workgroup", "created_at", "updated_at", "offered_at"],
    "additionalProperties": False,
}


def _message(type_name: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    properties = properties or {}
    return {
        "type": "object",
        "properties": {"type": {"const": type_name}, **properties},
        "required": ["type", *properties],
        "additionalProperties": False,
    }


# Whether any engine node is live (workitems.engine_watch); the monitor's socket sends it too.
ENGINE = _message("engine", {"running": {"type": "boolean"}})

SERVER_MESSAGES: dict[str, dict[str, Any]] = {
    # On connect: the user's open items, as GET /api/workitems/ lists them.
    "snapshot": _message("snapshot", {"work_items": {"type": "array", "items": WORK_ITEM}}),
    # An item became the user's (offered by the ACD or directly, transferred to them, taken from the queue).
    "added": _message("added", {"work_item": WORK_ITEM}),
    # Still the user's, something changed (picked up, held, resumed, a draft saved).
    "changed": _message("changed", {"work_item": WORK_ITEM}),
    # No longer the user's: completed, withdrawn, cancelled, transferred away, offer taken back.
    "removed": _message("removed", {"id": {"type": "integer"}}),
    # The user's presence changed (in this window or another).
    "presence": _message("presence", {"status": {"enum": [name for name, _ in PRESENCE_CHOICES]},
                                      "since": NULLABLE_TIMESTAMP}),
    # Something changed in the queue of one of the user's workgroups: read "My queues" again.
    "queue": _message("queue", {"workgroup": {"type": "string"}}),
    # Whether an engine node is live: at connect only when none is, then whenever that changes.
    "engine": ENGINE,
    # The answer to a ping: the connection is alive.
    "pong": _message("pong"),
    # A client message that could not be understood.
    "error": _message("error", {"reason": {"type": "string"}}),
}

CLIENT_MESSAGES: dict[str, dict[str, Any]] = {
    "ping": _message("ping"),
}

def validation_error(message: Any, schemas: dict[str, dict[str, Any]]) -> str | None:
    """Why ``message`` fits none of ``schemas`` (None: it fits the one its ``type`` names)."""
    if not isinstance(message, dict) or message.get("type") not in schemas:
        known = ", ".join(sorted(schemas))
        return f"a message is a JSON object whose type is one of: {known}"
    try:
        jsonschema.validate(message, schemas[message["type"]])
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "the message"
        return f"{message['type']}: {where}: {error.message}"
    return None


def validate_server_message(message: Any) -> None:
    """Raise ``ValueError`` unless ``message`` is a valid server message (used by the tests)."""
    if error := validation_error(message, SERVER_MESSAGES):
        raise ValueError(error)
