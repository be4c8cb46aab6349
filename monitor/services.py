"""What supervisors do in the Process Monitor: filter, watch, save filters, repair.

Rows are what ``GET /api/instances/`` lists, plus who or which workgroup the instance
waits on and when it entered its current state. They name states, work items, people and
workgroups, never a variable's value, so the security specifications have nothing to mask
in them; the details page reads variables through ``processes.services.instances``, which
asks the policy. Repairs call the same services as the pages and the API.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, Min, Q, QuerySet
from django.utils import timezone

from administration import policy
from administration.models import User
from administration.parameters import integer_parameter
from monitor.diagram import draw
from monitor.filters import Filter, Row, parse_filter
from monitor.models import SavedFilter
from monitor.timeline import Entry, timeline
from processes.errors import NotFound, ServiceError
from processes.models import HistoryEntry, ProcessDefinition, ProcessInstance, RelatedInteraction
from processes.services import instances
from processes.services.definitions import compiled_process
from workitems.models import OPEN_STATUSES, WorkItem

CAP_PARAMETER = "PAS Maximum Monitored Flows"
CAP_MINIMUM = 100
FIRST_ROWS = 100  # rows of a snapshot's first message; the rest follow in snapshot_rows messages
IDS_AS_A_LIST = 1000  # rows' ids passed to the queries of their extra columns as a list, up to this many
ROW_FIELDS = ("id", "process_name", "definition__version", "status", "current_state", "waiting_on",
              "waiting_detail", "error", "started_by__username", "started_at", "updated_at", "ended_at",
              "is_test", "parent_id", "depth")


class TooBroad(ServiceError):
    """A filter (or a subscription that grew) matches more instances than the monitor may watch."""

    def __init__(self, count: int, cap: int) -> None:
        super().__init__(
            f"This filter matches more than the {cap} instances the monitor watches at once "
            f"({CAP_PARAMETER}). Narrow it: choose a process, a status or a state, or a shorter period."
        )
        self.count = count
        self.cap = cap


def monitor_cap() -> int:
    """``PAS Maximum Monitored Flows``, read live (default 5,000, never below 100: the seed)."""
    return max(CAP_MINIMUM, integer_parameter(CAP_PARAMETER))


# ------------------------------------------------------------------------- filtering


def filtered_instances(user: User, f: Filter, now: datetime | None = None) -> QuerySet[ProcessInstance]:
    """The instances ``user`` may see that ``f`` matches: ``filters.matches`` as a query."""
    found = instances.visible_instances(user)
    exact = {"process_name": f.process, "definition__version": f.version, "current_state": f.state,
             "waiting_on": f.waiting_on, "started_by__username": f.started_by}
    found = found.filter(**{key: value for key, value in exact.items() if value not in ("", None)})
    if f.status:
        found = found.filter(status__in=f.status)
    if f.started_after is not None:
        found = found.filter(started_at__gte=f.started_after)
    if f.started_before is not None:
        found = found.filter(started_at__lt=f.started_before)
    if f.waiting_longer_than is not None:
        found = found.filter(updated_at__lte=(now or timezone.now()) - timezone.timedelta(
            minutes=f.waiting_longer_than))
    if f.error:  # "<> ''" lets the planner read the partial index of instances with an error
        found = found.exclude(error="").filter(error__icontains=f.error)
    # "id IN (open items of …)": PostgreSQL starts from the few open items, not from every instance.
    open_items = WorkItem.objects.filter(status__in=OPEN_STATUSES).values("instance_id")
    if f.waiting_user:
        found = found.filter(pk__in=open_items.filter(user__username=f.waiting_user))
    if f.waiting_workgroup:
        found = found.filter(pk__in=open_items.filter(workgroup__name=f.waiting_workgroup))
    if f.q:
        referenced = (RelatedInteraction.objects.filter(reference__icontains=f.q.strip()).order_by()
                      .values("instance_id"))
        if f.q_id is not None:  # one set of ids: the planner reads two indexes instead of every instance
            referenced = referenced.union(ProcessInstance.objects.filter(pk=f.q_id).order_by().values("pk"))
        found = found.filter(pk__in=referenced)
    return found


def matching_ids(user: User, f: Filter, limit: int) -> list[int]:
    """The ids of at most ``limit`` instances ``f`` matches now (one query on the ids alone)."""
    return list(filtered_instances(user, f).order_by().values_list("pk", flat=True)[:limit])


def next_crossing(user: User, f: Filter, now: datetime) -> datetime | None:
    """The next moment an instance the user may see starts to match ``f`` by waiting alone
    (``filters.crossing`` as one query), or None when ``f`` has no ``waiting_longer_than`` or
    nothing will cross without a change."""
    if f.waiting_longer_than is None:
        return None
    wait = timezone.timedelta(minutes=f.waiting_longer_than)
    oldest = (filtered_instances(user, f.without_wait()).filter(updated_at__gt=now - wait)
              .aggregate(at=Min("updated_at"))["at"])
    return oldest + wait if oldest is not None else None


ORDER = ("-started_at", "-id")  # a snapshot's rows: newest first


@dataclass(frozen=True)
class FirstRows:
    """What a subscription shows first: how many match (at most the cap) and the first rows."""

    total: int
    rows: list[dict[str, Any]]
    after: tuple[datetime, int] | None  # where the rest begins (None: there is no rest)


def first_rows(user: User, f: Filter, size: int = FIRST_ROWS) -> FirstRows:
    """How many instances ``f`` matches and the first ``size`` rows, newest first (three
    queries of ``size`` rows, whatever the count); ``TooBroad`` past the cap, ``NotAllowed``
    without the license."""
    policy.require_monitor(user)
    cap = monitor_cap()
    found = filtered_instances(user, f)
    # Counting at most cap + 1 matches says "too many" without counting every match of a broad filter.
    matched = found.values("pk")[: cap + 1].count()
    if matched > cap:
        raise TooBroad(matched, cap)
    rows = list(found.order_by(*ORDER).values(*ROW_FIELDS)[:size])
    after = (rows[-1]["started_at"], rows[-1]["id"]) if rows and matched > len(rows) else None
    return FirstRows(matched, serialize_rows(rows), after)


def rows_after(user: User, f: Filter, after: tuple[datetime, int]) -> list[dict[str, Any]]:
    """The rest of a snapshot: the rows ``f`` matches that come after ``after`` (the last of the
    first rows) in the snapshot's order. A position, not an offset: an instance that stops
    matching meanwhile does not shift what follows (its change reaches the socket)."""
    started_at, last_id = after
    found = filtered_instances(user, f).filter(Q(started_at__lt=started_at) | Q(started_at=started_at,
                                                                                pk__lt=last_id))
    rows = list(found.order_by(*ORDER).values(*ROW_FIELDS))
    # A few ids go as a list; thousands as the filter itself, which would otherwise run once more.
    return serialize_rows(rows, within=found.values("pk") if len(rows) > IDS_AS_A_LIST else None)


def snapshot(user: User, f: Filter) -> list[dict[str, Any]]:
    """Every row ``f`` matches, newest first; ``TooBroad`` past the cap, ``NotAllowed`` without the license."""
    first = first_rows(user, f)
    return first.rows + (rows_after(user, f, first.after) if first.after is not None else [])


@dataclass(frozen=True)
class ChangedRow:
    """A changed instance read once for every socket of a server process: ``visible_to`` decides per user."""

    row: Row
    shown: dict[str, Any]
    started_by_id: int | None
    category: str | None = None

    def visible_to(self, user: User) -> bool:
        return policy.can_view_instance(user, self.started_by_id, self.row.process, self.category)


def changed_rows(ids: list[int]) -> dict[int, ChangedRow]:
    """Instances as matching reads them and as rows show them, for whoever may see them (an id
    that is gone is left out). Four queries for any number of ids: the monitor's hub reads each
    batch of changes with one call."""
    values = list(ProcessInstance.objects.filter(pk__in=ids)
                  .values(*ROW_FIELDS, "started_by_id", "definition__category"))
    if not values:
        return {}
    shown = {row["id"]: row for row in serialize_rows(values)}
    references: dict[int, list[str]] = defaultdict(list)
    for instance_id, reference in (RelatedInteraction.objects.filter(instance_id__in=ids).order_by()
                                   .values_list("instance_id", "reference")):
        references[instance_id].append(reference)
    changed = {}
    for v in values:
        row = shown[v["id"]]
        changed[v["id"]] = ChangedRow(Row(
            id=v["id"], process=v["process_name"], version=v["definition__version"],
            status=v["status"], state=v["current_state"], waiting_on=v["waiting_on"],
            started_by=v["started_by__username"] or "", started_at=v["started_at"],
            updated_at=v["updated_at"], error=v["error"],
            waiting_users=tuple(row["waiting_users"]), waiting_workgroups=tuple(row["waiting_workgroups"]),
            references=tuple(references.get(v["id"], ())),
        ), row, v["started_by_id"], v["definition__category"])
    return changed


def changed_row(instance_id: int) -> ChangedRow | None:
    """One instance as ``changed_rows`` reads it (None: gone)."""
    return changed_rows([instance_id]).get(instance_id)


def current_row(user: User, instance_id: int) -> tuple[Row, dict[str, Any]] | None:
    """An instance as matching reads it and as a row shows it (None: gone, or not the user's to see)."""
    changed = changed_row(instance_id)
    if changed is None or not changed.visible_to(user):
        return None
    return changed.row, changed.shown


def serialize_rows(rows: list[dict[str, Any]], within: QuerySet | None = None) -> list[dict[str, Any]]:
    """Rows as the socket and the page show them (two more queries, whatever the number of rows).

    ``within``: a query of the rows' ids, used in place of a list of thousands of ids (which
    PostgreSQL must parse and plan: most of a large snapshot's time, docs/performance.md).
    """
    ids = within if within is not None else [row["id"] for row in rows]
    people = _open_work_item_people(ids)
    entered = _state_entered_at(ids)
    nobody: tuple[set[str], set[str]] = (set(), set())
    return [
        {
            "id": row["id"],
            "process": row["process_name"],
            "version": row["definition__version"],
            "status": row["status"],
            "state": row["current_state"],
            "waiting_on": row["waiting_on"],
            "waiting_detail": row["waiting_detail"],
            "waiting_users": sorted(people.get(row["id"], nobody)[0]),
            "waiting_workgroups": sorted(people.get(row["id"], nobody)[1]),
            "error": row["error"],
            "started_by": row["started_by__username"],
            "started_at": _iso(row["started_at"]),
            "updated_at": _iso(row["updated_at"]),
            "ended_at": _iso(row["ended_at"]),
            "state_since": _iso(entered.get(row["id"])),
            "is_test": row["is_test"],
            "parent": row["parent_id"],
            "depth": row["depth"],
        }
        for row in rows
    ]


def _open_work_item_people(ids: Iterable[int] | QuerySet) -> dict[int, tuple[set[str], set[str]]]:
    people: dict[int, tuple[set[str], set[str]]] = {}
    open_items = (WorkItem.objects.filter(instance_id__in=ids, status__in=OPEN_STATUSES).order_by()
                  .values_list("instance_id", "user__username", "workgroup__name"))
    for instance_id, username, workgroup in open_items:
        users, workgroups = people.get(instance_id) or people.setdefault(instance_id, (set(), set()))
        if username:
            users.add(username)
        if workgroup:
            workgroups.add(workgroup)
    return people


def _state_entered_at(ids: Iterable[int] | QuerySet) -> dict[int, datetime]:
    entries = (HistoryEntry.objects.filter(instance_id__in=ids, what="state_entered").order_by()
               .values("instance_id").annotate(at=Max("at")).values_list("instance_id", "at"))
    return dict(entries)


def _iso(moment: datetime | None) -> str | None:
    """``2026-12-01T09:00:00.123456Z``, as the API writes times (rows are built by the thousand)."""
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def watchable_processes(user: User) -> list[str]:
    """The process names the filter form offers: those whose instances the user may see."""
    definitions = ProcessDefinition.objects.all()
    if not policy.can_view_all_instances(user):
        scope = policy.principal_for(user)
        definitions = definitions.filter(scope.scope_q("view", "name", "category")
                                         | Q(name__in=ProcessInstance.objects.filter(started_by=user)
                                             .values("process_name")))
    return list(definitions.order_by("name").values_list("name", flat=True).distinct())


# ---------------------------------------------------------------------- saved filters


def saved_filters(user: User) -> list[SavedFilter]:
    policy.require_monitor(user)
    return list(SavedFilter.objects.filter(user=user))


def save_filter(user: User, name: str, data: dict[str, Any]) -> SavedFilter:
    """Create or replace the user's filter called ``name`` (``FilterInvalid`` for a bad key)."""
    policy.require_monitor(user)
    name = (name or "").strip()[:100]
    if not name:
        raise ServiceError("A filter needs a name.")
    f = parse_filter(data)
    saved, _ = SavedFilter.objects.update_or_create(user=user, name=name, defaults={"filter": f.as_dict()})
    return saved


def delete_filter(user: User, filter_id: int) -> None:
    policy.require_monitor(user)
    deleted, _ = SavedFilter.objects.filter(user=user, pk=filter_id).delete()
    if not deleted:
        raise NotFound("No such filter.")


# --------------------------------------------------------------------------- repairs

REPAIR_DONE = {
    "cancel": "Instance cancelled.",
    "retry": "The failed action runs again.",
    "skip": "The failed action was skipped.",
}
REPAIRS = {
    "cancel": instances.cancel_instance,
    "retry": instances.retry_instance,
    "skip": instances.skip_instance,
}


def move(user: User, instance_id: int, state: str, comment: str = "") -> ProcessInstance:
    """Move to another state from the monitor: the same service as ``POST /api/instances/{id}/move``."""
    policy.require_monitor(user)
    instances.visible_instance(user, instance_id)
    return instances.move_instance(user, instance_id, state, comment=comment)


def repair(user: User, instance_id: int, action: str, comment: str = "") -> ProcessInstance:
    """Cancel, retry or skip from the monitor: the same services as the pages and the API."""
    policy.require_monitor(user)
    instances.visible_instance(user, instance_id)  # 404 before 403 for what the user cannot see
    return REPAIRS[action](user, instance_id, comment=comment)


# --------------------------------------------------------------------------- details


def instance_details(user: User, instance_id: int) -> dict[str, Any]:
    """What the details page shows: the variables the user may see, the timeline in words,
    work items with their people, parent, subprocesses and related interactions."""
    policy.require_monitor(user)
    instance = instances.visible_instance(user, instance_id)
    instance = (ProcessInstance.objects.select_related("definition", "started_by", "parent")
                .get(pk=instance.pk))
    items = list(WorkItem.objects.filter(instance=instance).select_related("user", "workgroup").order_by("id"))
    recipients: dict[str, list[str]] = defaultdict(list)
    for item in items:
        recipients[item.name].append(f"workgroup {item.workgroup.name}" if item.workgroup_id
                                     else item.user.username if item.user_id else "nobody")
    entries = [Entry(e.at, e.what, e.detail, e.user) for e in instance.history.order_by("id")]
    children = list(instances.visible_instances(user).filter(parent=instance).order_by("id")
                    .values("id", "process_name", "status"))
    return {
        "instance": instance,
        "variables": [(name, shown_value(value))
                      for name, value in instances.instance_variables(user, instance).items()],
        "locals": [(where, [(name, shown_value(value)) for name, value in values.items()])
                   for where, values in instances.instance_locals(user, instance)],
        "timeline": list(reversed(timeline(entries, recipients))),
        "work_items": items,
        "children": children,
        "interactions": list(instance.related_interactions.select_related("created_by")),
        "retryable": instance.status in instances.MANAGEABLE_STATUSES,
        "can_manage": policy.can_manage(user, instance.process_name, instance.definition.category),
        "states": list(compiled_process(instance.definition_id).states),
        "diagram_svg": draw(instance.definition.document, instance.current_state,
                            [e.detail for e in entries if e.what == "state_entered"]),
    }


def shown_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
