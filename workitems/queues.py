"""My queues: what waits in the workgroups an agent belongs to, as far as the agent may see it.

For each workgroup: how many items are queued, offered, processing and held, the oldest
queued item's time, and the queued items themselves by name, process, category, priority
and age. Never a description or a form value: those may carry data an agent sees only once
the item is offered to them (the policy decides then, per field).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min

from administration import policy
from administration.models import User, Workgroup
from workitems.models import OPEN_STATUSES, WorkItem

ITEMS_SHOWN = 50  # queued items listed per workgroup; the counts cover all


@dataclass
class QueuedItem:
    id: int
    name: str
    process: str
    category: str
    priority: int
    created_at: datetime


@dataclass
class Queue:
    workgroup: str
    workgroup_id: int
    queued: int = 0
    offered: int = 0
    processing: int = 0
    held: int = 0
    oldest_queued_at: datetime | None = None
    items: list[QueuedItem] = field(default_factory=list)


def queue_workgroups(user: User) -> list[Workgroup]:
    """The workgroups whose queues ``user`` sees: their own."""
    policy.require_any_license(user)
    return list(Workgroup.objects.filter(members=user).order_by("name"))


def my_queues(user: User) -> list[Queue]:
    queues = {w.pk: Queue(workgroup=w.name, workgroup_id=w.pk) for w in queue_workgroups(user)}
    counts = (WorkItem.objects.filter(workgroup_id__in=list(queues), status__in=OPEN_STATUSES).order_by()
              .values("workgroup_id", "status").annotate(n=Count("pk"), oldest=Min("created_at")))
    for row in counts:
        queue = queues[row["workgroup_id"]]
        setattr(queue, row["status"], row["n"])
        if row["status"] == "queued":
            queue.oldest_queued_at = row["oldest"]
    for queue in queues.values():
        if queue.queued:
            waiting = (WorkItem.objects.filter(workgroup_id=queue.workgroup_id, status="queued")
                       .order_by("-priority", "created_at", "id")
                       .values_list("pk", "name", "process_name", "category", "priority", "created_at"))
            queue.items = [QueuedItem(*row) for row in waiting[:ITEMS_SHOWN]]
    return list(queues.values())
