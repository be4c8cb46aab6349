"""Variable-level logging: new values of variables flagged ``log: true``, and reading them back.

The runtime hands every applied step here; only variables whose definition says ``log: true``
are written (with the process, version, when and by whom): globals, compared before and after
the step, and a state's or task's locals, each value the interpreter reports giving them (a
local may live and die within one step). ``variable`` is the name as declared in its scope.
Reading applies the caller's View right to each row's instance and security specifications
to each value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from administration import policy
from administration.models import User
from processes.engine import LocalValueSet
from processes.models import ProcessDefinition, ProcessInstance, VariableLogEntry
from processes.services.definitions import compiled_process

REPORT_FIELDS = ("instance", "process", "version", "variable", "value", "at", "by")


def record_logged_values(instance: ProcessInstance, before: dict | None, after: dict | None, actor: str,
                         now: datetime, local_values: Iterable[LocalValueSet] = ()) -> None:
    """Write the logged globals whose value this step set or changed, and each value the
    interpreter reports it gave a logged local (``LocalValueSet`` effects)."""
    rows = [(value.variable, value.value, value.security) for value in local_values]
    globals_ = compiled_process(instance.definition_id).globals
    if after:
        old, new = (before or {}).get("globals") or {}, after.get("globals") or {}
        rows += [(name, new[name], spec.get("security") or "") for name, spec in globals_.items()
                 if spec.get("log") and name in new and (name not in old or old[name] != new[name])]
    if not rows:
        return
    version = ProcessDefinition.objects.values_list("version", flat=True).get(pk=instance.definition_id)
    VariableLogEntry.objects.bulk_create([
        VariableLogEntry(instance_id=instance.pk, process_name=instance.process_name, version=version,
                         variable=name, value=value, security=security, at=now, by=actor)
        for name, value, security in rows
    ])


@dataclass(frozen=True)
class ReportFilter:
    process: str = ""
    variable: str = ""
    after: datetime | None = None
    before: datetime | None = None


def logged_values(user: User, wanted: ReportFilter) -> QuerySet[VariableLogEntry]:
    """The logged values of instances the user may view, oldest first."""
    rows = VariableLogEntry.objects.all()
    if not policy.can_view_all_instances(user):
        rows = rows.filter(policy.viewable_q(user, "instance__"))
    if wanted.process:
        rows = rows.filter(process_name=wanted.process)
    if wanted.variable:
        rows = rows.filter(variable=wanted.variable)
    if wanted.after:
        rows = rows.filter(at__gte=wanted.after)
    if wanted.before:
        rows = rows.filter(at__lte=wanted.before)
    return rows.order_by("at", "id")


def report_rows(user: User, rows: QuerySet[VariableLogEntry]) -> Iterator[dict[str, Any]]:
    """Each row as the API and CSV give it; a value under a specification the user is not on is left out."""
    for row in rows.iterator(chunk_size=500):
        entry = {"instance": row.instance_id, "process": row.process_name, "version": row.version,
                 "variable": row.variable, "at": row.at.isoformat(), "by": row.by}
        if policy.may_see(user, row.security or None):
            entry["value"] = row.value
        yield entry
