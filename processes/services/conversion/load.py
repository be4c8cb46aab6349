"""``import_instances`` and ``back_out``: a file loaded under ``import`` in one transaction, or removed again."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from processes.engine.validation import validate_definition
from processes.errors import Conflict, NotFound
from processes.external import handlers, recovery
from processes.models import (
    IMPORT_STORAGE_ID,
    ExternalCall,
    HistoryEntry,
    ImportedInstance,
    InstanceImport,
    ProcessDefinition,
    ProcessInstance,
)

from .parts import CHUNK, FORMAT, ImportContext, ImportRefused, Progress, chunks, instance_parts, moment


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
    for chunk in chunks(instance_ids, 500):
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
        for chunk in chunks(ids, 500):
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
