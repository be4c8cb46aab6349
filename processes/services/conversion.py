"""The conversion tool (the seed's PFCT): moving running instances between installations.

``export_instances`` writes the open instances, with the definition versions they run, their
history, pending events (timers included), external calls, related interactions and what
other apps keep per instance (work items), as JSON lines in the ``ipa.instances/v1`` format
(docs/instance-file.md). It reads one consistent snapshot and writes nothing to the database.

``import_instances`` loads such a file in one transaction, all or nothing, under the reserved
storage id ``import`` (``IMPORT_STORAGE_ID``) that no node has: no engine delivers their events,
runs their external actions or steps them, so they can be looked at, and removed again with
``back_out``, until ``flow_admin transfer import NODE`` hands them to a live node.

Other apps add the rows they keep per instance with ``register_instance_part`` (in ``ready``),
so this module imports none of them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from administration.models import User, Workgroup
from processes.engine.validation import validate_definition
from processes.errors import Conflict, NotFound, ServiceError
from processes.external import handlers, recovery
from processes.models import (
    IMPORT_STORAGE_ID,
    ExternalCall,
    HistoryEntry,
    ImportedInstance,
    InstanceImport,
    PendingEvent,
    ProcessDefinition,
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

# --------------------------------------------------------------------------------- export


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


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


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
        for chunk in _chunks(sorted(frontier), 500):
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
        for chunk in _chunks(ids):
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


# --------------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    batch: int
    instances: int = 0
    definitions_created: int = 0
    definitions_reused: int = 0
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    restored_in_error: list[int] = field(default_factory=list)


def read_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The file's records, header first; refuses another format and a line that is not JSON."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ImportRefused(f"Line {number} is not JSON ({exc}); nothing was imported.") from exc
        if number == 1 and (not isinstance(record, dict) or record.get("format") != FORMAT):
            found = record.get("format") if isinstance(record, dict) else None
            raise ImportRefused(f"This is not an {FORMAT} file (its first line says format {found!r}); "
                                "nothing was imported.")
        yield record


def import_instances(lines: Iterable[str], *, file: str = "", progress: Progress | None = None) -> ImportReport:
    """Load a file under ``IMPORT_STORAGE_ID`` in one transaction; refused whole on any problem.

    Definitions already here with the same name, version and document are reused; the same
    name and version with another document is refused by name. Users and workgroups are
    found by name and must exist (import the directory first). External actions that were
    running when the file was written may or may not have run: they are lost, and their
    instances restored in error (the seed's rule), as after a node's death.
    """
    records = read_records(lines)
    header = next(records, None)
    if header is None:
        raise ImportRefused("The file is empty; nothing was imported.")
    total = int(header.get("instances") or 0)
    with transaction.atomic():
        batch = InstanceImport.objects.create(file=file[:500], format=FORMAT,
                                              exported_at=str(header.get("exported_at", ""))[:40])
        context, report = ImportContext(batch), ImportReport(batch=batch.pk)
        definitions: dict[tuple[str, int], ProcessDefinition] = {}
        new_ids: dict[int, int] = {}
        parents: list[tuple[int, int]] = []
        trailer = None
        for record in records:
            kind = record.get("type")
            if kind == "definition":
                definitions[(record["name"], record["version"])] = _definition_for(record, batch, report)
            elif kind == "instance":
                instance = _load_instance(record, definitions, context, report)
                new_ids[record["id"]] = instance.pk
                if record.get("parent"):
                    parents.append((instance.pk, record["parent"]))
                if progress and report.instances % CHUNK == 0:
                    progress(report.instances, total)
            elif kind == "end":
                trailer = record
        _check_complete(trailer, report, context)
        for child, parent in parents:  # a parent not in the file had ended: the child stands alone
            if parent in new_ids:
                ProcessInstance.objects.filter(pk=child).update(parent_id=new_ids[parent])
        report.restored_in_error = _restore_calls_in_flight(list(new_ids.values()))
        batch.counts = {"instances": report.instances, **report.rows}
        batch.save(update_fields=["counts", "created_definitions"])
    if progress:
        progress(report.instances, total)
    return report


def _check_complete(trailer: dict[str, Any] | None, report: ImportReport, context: ImportContext) -> None:
    if trailer is None:
        raise ImportRefused("The file stops before its last line (the export did not finish, or the file was cut); "
                            "nothing was imported.")
    if trailer.get("instances") != report.instances:
        raise ImportRefused(f"The file's last line counts {trailer.get('instances')} instances but it holds "
                            f"{report.instances}; nothing was imported.")
    if context.missing:
        names = "; ".join(f"{kind}: {', '.join(sorted(found))}" for kind, found in sorted(context.missing.items()))
        raise ImportRefused(f"These are not in this installation's directory ({names}). Import the directory "
                            "first (export_directory, then import_directory here); nothing was imported.")


def _definition_for(record: dict[str, Any], batch: InstanceImport, report: ImportReport) -> ProcessDefinition:
    name, version, document = record["name"], record["version"], record["document"]
    existing = ProcessDefinition.objects.filter(name=name, version=version).first()
    if existing is not None:
        if existing.document != document:
            raise ImportRefused(f"Process definition {name!r} version {version} is here already with other "
                                "content; nothing was imported. Give one of them another name or version.")
        report.definitions_reused += 1
        return existing
    errors = [*validate_definition(document), *handlers.definition_errors(document)]
    if errors:
        raise ImportRefused(f"Process definition {name!r} version {version} is not valid here: {errors[0].path}: "
                            f"{errors[0].message}; nothing was imported.")
    publish = bool(record.get("published")) and not ProcessDefinition.objects.filter(name=name,
                                                                                     published=True).exists()
    definition = ProcessDefinition.objects.create(
        name=name, version=version, document=document, category=record.get("category", ""),
        description=record.get("description", ""), published=publish,
        published_at=timezone.now() if publish else None)
    batch.created_definitions.append(definition.pk)
    report.definitions_created += 1
    return definition


def _load_instance(record: dict[str, Any], definitions: dict[tuple[str, int], ProcessDefinition],
                   context: ImportContext, report: ImportReport) -> ProcessInstance:
    definition = definitions.get((record["process"], record["version"]))
    if definition is None:
        raise ImportRefused(f"Instance {record['id']} runs {record['process']!r} version {record['version']}, "
                            "which the file does not carry; nothing was imported.")
    instance = ProcessInstance.objects.create(
        definition=definition, process_name=definition.name, status=record["status"],
        current_state=record.get("current_state", ""), waiting_on=record.get("waiting_on", ""),
        waiting_detail=record.get("waiting_detail", ""), error=record.get("error", ""),
        started_by_id=context.user_id(record.get("started_by")), initiator=record.get("initiator", ""),
        ended_at=moment(record.get("ended_at")), is_test=bool(record.get("is_test")),
        parent_token=record.get("parent_token", ""), depth=record.get("depth", 0), owner=IMPORT_STORAGE_ID,
        execution=record.get("execution") or {})
    # started_at and updated_at are set on insert; ``update`` puts the originals back.
    ProcessInstance.objects.filter(pk=instance.pk).update(started_at=moment(record["started_at"]),
                                                         updated_at=moment(record.get("updated_at")) or timezone.now())
    ImportedInstance.objects.create(batch=context.batch, instance=instance, source_id=record["id"])
    for part in instance_parts():
        report.rows[part.key] += part.load(context, instance, record.get(part.key) or [])
    HistoryEntry.objects.create(instance=instance, at=timezone.now(), what="imported",
                                detail=f"imported from another installation, where it was #{record['id']} "
                                       f"(batch {context.batch.pk})")
    report.instances += 1
    return instance


def _restore_calls_in_flight(instance_ids: list[int]) -> list[int]:
    running = []
    for chunk in _chunks(instance_ids, 500):
        running += ExternalCall.objects.filter(instance_id__in=chunk, status="running").values_list("pk", flat=True)
    return recovery.restore_lost_calls(running, "export took the instance to another installation")


# -------------------------------------------------------------------------------- back out


@dataclass
class BackOut:
    batch: int
    instances: int
    definitions: int


def back_out(batch_id: int) -> BackOut:
    """Remove a batch whose instances all still wait under ``IMPORT_STORAGE_ID``, and the definitions it added."""
    with transaction.atomic():
        batch = InstanceImport.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            known = ", ".join(str(pk) for pk in InstanceImport.objects.filter(backed_out_at=None)
                              .values_list("pk", flat=True)) or "none"
            raise NotFound(f"There is no import batch {batch_id} (batches not backed out: {known}).")
        if batch.backed_out_at is not None:
            raise Conflict(f"Import batch {batch_id} was backed out already, at {batch.backed_out_at:%Y-%m-%d %H:%M}.")
        instances = ProcessInstance.objects.filter(imported_from__batch=batch)
        handed = instances.exclude(owner=IMPORT_STORAGE_ID).count()
        if handed:
            raise Conflict(f"{handed} instances of import batch {batch_id} were handed to engine nodes already and "
                           "may have moved on; nothing was backed out. Cancel them in the monitor instead.")
        ids = list(instances.values_list("pk", flat=True))
        for chunk in _chunks(ids, 500):
            ProcessInstance.objects.filter(pk__in=chunk).delete()
        unused = (ProcessDefinition.objects.filter(pk__in=batch.created_definitions)
                  .exclude(pk__in=ProcessInstance.objects.values("definition_id")))
        definitions = unused.count()
        unused.delete()
        batch.backed_out_at = timezone.now()
        batch.save(update_fields=["backed_out_at"])
    return BackOut(batch_id, len(ids), definitions)


def batches() -> list[InstanceImport]:
    return list(InstanceImport.objects.all())
