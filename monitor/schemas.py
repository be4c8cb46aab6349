"""One JSON Schema per ``/ws/monitor/`` message type (as ``workitems.schemas`` for its socket).

The tests check every message they receive against ``SERVER_MESSAGES``; the consumer checks
what clients send against ``CLIENT_MESSAGES``.
"""

from __future__ import annotations

from typing import Any

from monitor.filters import STATUSES
from workitems.schemas import ENGINE, NULLABLE_TIMESTAMP, TIMESTAMP, _message, validation_error

NAMES = {"type": "array", "items": {"type": "string"}}

# A row: the fields of GET /api/instances/, plus who or which queue it waits on and since when
# it is in its current state.
INSTANCE_ROW = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "process": {"type": "string"},
        "version": {"type": "integer"},
        "status": {"enum": list(STATUSES)},
        "state": {"type": "string"},
        "waiting_on": {"type": "string"},
        "waiting_detail": {"type": "string"},
        "waiting_users": NAMES,
        "waiting_workgroups": NAMES,
        "error": {"type": "string"},
        "started_by": {"type": ["string", "null"]},
        "started_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "ended_at": NULLABLE_TIMESTAMP,
        "state_since": NULLABLE_TIMESTAMP,
        "is_test": {"type": "boolean"},
        "parent": {"type": ["integer", "null"]},
        "depth": {"type": "integer"},
    },
    "additionalProperties": False,
}
INSTANCE_ROW["required"] = list(INSTANCE_ROW["properties"])

SERVER_MESSAGES: dict[str, dict[str, Any]] = {
    # The answer to subscribe: how many instances the filter matches that the user may see
    # (total) and the first of them, newest first; when total is more, snapshot_rows follow.
    "snapshot": _message("snapshot", {"instances": {"type": "array", "items": INSTANCE_ROW},
                                      "cap": {"type": "integer"}, "total": {"type": "integer"}}),
    # The rest of the snapshot, in order, in messages of at most 500 rows (a WebSocket message
    # has a size limit: Daphne's is 1 MiB, about 2,000 rows).
    "snapshot_rows": _message("snapshot_rows", {"instances": {"type": "array", "items": INSTANCE_ROW}}),
    # The filter matches more than PAS Maximum Monitored Flows (at subscribe, or grown past it since).
    "refused": _message("refused", {"reason": {"type": "string"}, "cap": {"type": "integer"}}),
    # An instance that matches changed (or started to match).
    "changed": _message("changed", {"instance": INSTANCE_ROW}),
    # An instance stopped matching (or may no longer be seen).
    "removed": _message("removed", {"id": {"type": "integer"}}),
    # The queues page asked to watch queues: something about work items or instances changed.
    "queues_changed": _message("queues_changed"),
    # Whether an engine node is live: at connect only when none is, then whenever that changes.
    "engine": ENGINE,
    "pong": _message("pong"),
    "error": _message("error", {"reason": {"type": "string"}}),
}

CLIENT_MESSAGES: dict[str, dict[str, Any]] = {
    "subscribe": _message("subscribe", {"filter": {"type": "object"}}),
    "unsubscribe": _message("unsubscribe"),
    "watch_queues": _message("watch_queues"),
    "ping": _message("ping"),
}


def validate_server_message(message: Any) -> None:
    if error := validation_error(message, SERVER_MESSAGES):
        raise ValueError(error)
