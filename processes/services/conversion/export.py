"""``export_instances``: open instances to ``ipa.instances/v1`` lines, from one snapshot, reading only."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from processes.models import ProcessDefinition, ProcessInstance

from .parts import FORMAT, OPEN_STATUSES, Progress, chunks, instance_parts


@dataclass
class ExportReport:
    instances: int = 0
    definitions: int = 0
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (instance id, why) not written
    notes: list[tuple[int, str]] = field(default_factory=list)  # written, but worth knowing


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()  # full precision: DjangoJSONEncoder would cut microseconds
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def as_line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=_json_default, ensure_ascii=False, separators=(",", ":")) + "\n"


def selected_instance_ids(processes: Iterable[str] = (), statuses: Iterable[str] = ()) -> list[int]:
    """The open instances that match, with their open parents and children (a family travels whole)."""
    open_instances = ProcessInstance.objects.filter(status__in=OPEN_STATUSES).order_by()
    chosen = open_instances
    if processes := list(processes):
        chosen = chosen.filter(process_name__in=processes)
    if statuses := list(statuses):
        chosen = chosen.filter(status__in=statuses)
    family = set(chosen.values_list("pk", flat=True))
    frontier = family if (processes or statuses) else set()
    while frontier:
        found: set[int] = set()
        for chunk in chunks(sorted(frontier), 500):
            parents = ProcessInstance.objects.filter(pk__in=chunk).values("parent_id")
            found |= set(open_instances.filter(Q(parent_id__in=chunk) | Q(pk__in=parents))
                         .values_list("pk", flat=True))
        frontier = found - family
        family |= frontier
    return sorted(family)


def export_instances(out: TextIO, *, processes: Iterable[str] = (), statuses: Iterable[str] = (),
                     progress: Progress | None = None) -> ExportReport:
    """Write the matching open instances to ``out`` as ``ipa.instances/v1`` lines; read only.

    On PostgreSQL the whole export reads one snapshot (``REPEATABLE READ READ ONLY``), so an
    instance and its rows agree even while engines keep running; SQLite's read transaction
    gives the same. An instance that cannot be written is left out and reported, not fatal.
    """
    report, processes, statuses = ExportReport(), list(processes), list(statuses)
    outermost = not connection.in_atomic_block  # inside a caller's transaction, isolation is the caller's
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        ids = selected_instance_ids(processes, statuses)
        out.write(as_line({"format": FORMAT, "type": "header", "exported_at": timezone.now(),
                           "database": connection.vendor,
                           "filter": {"process": sorted(processes), "status": sorted(statuses)},
                           "instances": len(ids)}))
        written_definitions: set[int] = set()
        for chunk in chunks(ids):
            _export_chunk(out, chunk, written_definitions, report)
            if progress:
                progress(report.instances + len(report.skipped), len(ids))
        out.write(as_line({"type": "end", "instances": report.instances, "definitions": report.definitions,
                           "skipped": [{"id": pk, "reason": why} for pk, why in report.skipped]}))
    return report


def _export_chunk(out: TextIO, ids: list[int], written_definitions: set[int], report: ExportReport) -> None:
    instances = list(ProcessInstance.objects.filter(pk__in=ids).order_by("pk")
                     .select_related("started_by", "definition")
                     .only(*INSTANCE_COLUMNS, "started_by__username", "definition__version"))
    parts = {part.key: part.export(ids) for part in instance_parts()}
    for instance in instances:
        try:
            lines = []
            if instance.definition_id not in written_definitions:
                lines.append(as_line(_definition_record(instance.definition_id)))
            record = _instance_record(instance, {key: rows.get(instance.pk, []) for key, rows in parts.items()})
            lines.append(as_line(record))
        except Exception as exc:  # one instance that cannot be written does not stop the others
            report.skipped.append((instance.pk, f"{type(exc).__name__}: {exc}"))
            continue
        out.write("".join(lines))
        if len(lines) == 2:
            written_definitions.add(instance.definition_id)
            report.definitions += 1
        report.instances += 1
        for key in parts:
            report.rows[key] += len(record[key])
        if any(call["status"] == "running" for call in record["external_calls"]):
            report.notes.append((instance.pk, "an external action was running: it is restored in error on import"))
    for pk in sorted(set(ids) - {instance.pk for instance in instances}):
        report.skipped.append((pk, "gone before it could be read"))


INSTANCE_COLUMNS = ["id", "definition", "process_name", "status", "current_state", "waiting_on", "waiting_detail",
                    "error", "initiator", "started_at", "updated_at", "ended_at", "is_test", "parent",
                    "parent_token", "depth", "owner", "execution"]


def _definition_record(definition_id: int) -> dict[str, Any]:
    definition = ProcessDefinition.objects.get(pk=definition_id)
    return {"type": "definition", "name": definition.name, "version": definition.version,
            "published": definition.published, "category": definition.category,
            "description": definition.description, "document": definition.document}


def _instance_record(instance: ProcessInstance, parts: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "instance", "id": instance.pk, "process": instance.process_name,
        "version": instance.definition.version,
        "status": instance.status, "current_state": instance.current_state, "waiting_on": instance.waiting_on,
        "waiting_detail": instance.waiting_detail, "error": instance.error,
        "started_by": instance.started_by.username if instance.started_by else None,
        "initiator": instance.initiator, "started_at": instance.started_at, "updated_at": instance.updated_at,
        "ended_at": instance.ended_at, "is_test": instance.is_test, "parent": instance.parent_id,
        "parent_token": instance.parent_token, "depth": instance.depth, "owner": instance.owner,
        "execution": instance.execution, **parts,
    }
