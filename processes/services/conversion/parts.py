"""The instance file's vocabulary: its format name, the parts of an instance line, names to ids.

See ``processes/services/conversion/__init__.py`` for what the conversion tool guarantees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from administration.models import User, Workgroup
from processes.errors import ServiceError
from processes.models import (
    ExternalCall,
    HistoryEntry,
    InstanceImport,
    PendingEvent,
    ProcessInstance,
    RelatedInteraction,
)

FORMAT = "ipa.instances/v1"
OPEN_STATUSES = ("running", "waiting", "error", "restored_in_error")
CHUNK = 200  # instances read or written per round of queries

Progress = Callable[[int, int], None]  # (done, total)


class ImportRefused(ServiceError):
    """The file cannot be imported as it is; nothing was written."""


# ------------------------------------------------------------------------ parts of an instance


@dataclass
class ImportContext:
    """What loading one file needs across instances: names to ids, and what was not found."""

    batch: InstanceImport
    missing: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _users: dict[str, int | None] = field(default_factory=dict)
    _workgroups: dict[str, int | None] = field(default_factory=dict)

    def user_id(self, username: str | None) -> int | None:
        """The id of the user named so here; a name not found is noted (the import is refused)."""
        if not username:
            return None
        if username not in self._users:
            self._users[username] = User.objects.filter(username=username).values_list("pk", flat=True).first()
        if self._users[username] is None:
            self.missing["users"].add(username)
        return self._users[username]

    def workgroup_id(self, name: str | None) -> int | None:
        if not name:
            return None
        if name not in self._workgroups:
            self._workgroups[name] = Workgroup.objects.filter(name=name).values_list("pk", flat=True).first()
        if self._workgroups[name] is None:
            self.missing["workgroups"].add(name)
        return self._workgroups[name]


@dataclass
class InstancePart:
    """Rows another app keeps per instance, carried in the instance's line under ``key``.

    ``export(instance_ids)`` returns JSON-ready rows per instance id (names, not ids, for users
    and workgroups); ``load(context, instance, rows)`` creates them for the new instance and
    returns how many it created.
    """

    key: str
    export: Callable[[list[int]], dict[int, list[dict[str, Any]]]]
    load: Callable[[ImportContext, ProcessInstance, list[dict[str, Any]]], int]


_parts: dict[str, InstancePart] = {}


def register_instance_part(part: InstancePart) -> None:
    _parts[part.key] = part


def instance_parts() -> list[InstancePart]:
    return [*_BUILT_IN_PARTS, *_parts.values()]


def moment(value: str | None) -> datetime | None:
    """A datetime written by ``export_instances`` (ISO 8601 with its offset), or None."""
    return parse_datetime(value) if value else None


def _rows(queryset, instance_ids: list[int], columns: list[str],
          rename: dict[str, str] | None = None) -> dict[int, list[dict[str, Any]]]:
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in queryset.filter(instance_id__in=instance_ids).order_by("instance_id", "id").values(
            "instance_id", *columns):
        instance_id = row.pop("instance_id")
        for old, new in (rename or {}).items():
            row[new] = row.pop(old)
        rows[instance_id].append(row)
    return rows


def _export_history(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return _rows(HistoryEntry.objects, ids, ["at", "what", "detail", "user"])


def _load_history(context: ImportContext, instance: ProcessInstance, rows: list[dict[str, Any]]) -> int:
    HistoryEntry.objects.bulk_create([HistoryEntry(instance=instance, at=moment(r["at"]), what=r["what"],
                                                   detail=r.get("detail", ""), user=r.get("user", "")) for r in rows])
    return len(rows)


def _export_events(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return _rows(PendingEvent.objects, ids, ["kind", "token", "payload", "due_at", "created_at"])


def _load_events(context: ImportContext, instance: ProcessInstance, rows: list[dict[str, Any]]) -> int:
    PendingEvent.objects.bulk_create([PendingEvent(instance=instance, kind=r["kind"], token=r.get("token", ""),
                                                   payload=r.get("payload") or {}, due_at=moment(r["due_at"]))
                                      for r in rows])
    return len(rows)


CALL_COLUMNS = ["token", "kind", "params", "status", "owner", "node", "worker", "error_type", "created_at",
                "dispatched_at", "started_at", "finished_at"]


def _export_calls(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return _rows(ExternalCall.objects, ids, CALL_COLUMNS)


def _load_calls(context: ImportContext, instance: ProcessInstance, rows: list[dict[str, Any]]) -> int:
    times = ("created_at", "dispatched_at", "started_at", "finished_at")
    ExternalCall.objects.bulk_create([
        ExternalCall(instance=instance, **{c: moment(r.get(c)) if c in times else r.get(c) or "" for c in CALL_COLUMNS
                                           if c != "params"}, params=r.get("params") or {})
        for r in rows])
    return len(rows)


def _export_interactions(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return _rows(RelatedInteraction.objects, ids, ["type", "reference", "description", "created_by__username",
                                                   "created_at"], {"created_by__username": "created_by"})


def _load_interactions(context: ImportContext, instance: ProcessInstance, rows: list[dict[str, Any]]) -> int:
    made = RelatedInteraction.objects.bulk_create([
        RelatedInteraction(instance=instance, type=r["type"], reference=r["reference"],
                           description=r.get("description", ""), created_by_id=context.user_id(r.get("created_by")))
        for r in rows])
    for interaction, row in zip(made, rows, strict=True):  # created_at is set on insert: put the original back
        RelatedInteraction.objects.filter(pk=interaction.pk).update(created_at=moment(row["created_at"]))
    return len(rows)


_BUILT_IN_PARTS = [
    InstancePart("history", _export_history, _load_history),
    InstancePart("pending_events", _export_events, _load_events),
    InstancePart("external_calls", _export_calls, _load_calls),
    InstancePart("related_interactions", _export_interactions, _load_interactions),
]


def chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
