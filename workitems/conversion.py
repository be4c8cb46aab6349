"""Work items in the conversion tool's file (``processes.services.conversion``).

An instance's work items travel with it, people and workgroups by name; ``lapsed_offers``
(agent ids here) travel as user names. Registered in ``WorkitemsConfig.ready``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from administration.models import User
from processes.models import ProcessInstance
from processes.services.conversion import ImportContext, InstancePart, moment, register_instance_part
from workitems.models import WorkItem

COLUMNS = ["token", "process_name", "name", "category", "description", "priority", "status", "skills", "draft",
           "button", "created_at", "updated_at", "offered_at", "completed_at", "lapsed_offers"]
TIMES = ("created_at", "updated_at", "offered_at", "completed_at")


def export_work_items(instance_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    items = list(WorkItem.objects.filter(instance_id__in=instance_ids).order_by("instance_id", "id")
                 .values("instance_id", *COLUMNS, "user__username", "workgroup__name"))
    agents = {agent for item in items for agent in item["lapsed_offers"] or []}
    names = dict(User.objects.filter(pk__in=agents).values_list("pk", "username")) if agents else {}
    for item in items:
        row = {column: item[column] for column in COLUMNS}
        row["user"], row["workgroup"] = item["user__username"], item["workgroup__name"]
        row["lapsed_offers"] = [names[agent] for agent in item["lapsed_offers"] or [] if agent in names]
        rows[item["instance_id"]].append(row)
    return rows


def load_work_items(context: ImportContext, instance: ProcessInstance, rows: list[dict[str, Any]]) -> int:
    items = [
        WorkItem(instance=instance, **{c: row.get(c) for c in COLUMNS if c not in TIMES and c != "lapsed_offers"},
                 user_id=context.user_id(row.get("user")), workgroup_id=context.workgroup_id(row.get("workgroup")),
                 offered_at=moment(row.get("offered_at")), completed_at=moment(row.get("completed_at")),
                 lapsed_offers=[pk for pk in map(context.user_id, row.get("lapsed_offers") or []) if pk])
        for row in rows
    ]
    WorkItem.objects.bulk_create(items)
    for item, row in zip(items, rows, strict=True):  # set on insert: the queue's order needs the originals
        WorkItem.objects.filter(pk=item.pk).update(created_at=moment(row["created_at"]),
                                                   updated_at=moment(row["updated_at"]))
    return len(items)


def register() -> None:
    register_instance_part(InstancePart("work_items", export_work_items, load_work_items))
