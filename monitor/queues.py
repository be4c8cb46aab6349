"""Workgroup queues as supervisors see them (the seed's Interaction Supervisor): counts per
status, each open item with who holds it and since when, the members' presence and load.

Agents see the counts of their own workgroups (``GET /api/queues/``); the Process Monitor
license shows every workgroup with its items and members. Descriptions are left out: they may
render a protected value, and the item's name, process and instance say what it is.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Min, Q

from administration import policy
from administration.models import User, Workgroup
from workitems.models import OPEN_STATUSES, WorkItem


def queue_counts(user: User) -> list[dict[str, Any]]:
    """``GET /api/queues/``: per workgroup the user belongs to (all, with the monitor license)."""
    policy.require_any_license(user)
    workgroups = Workgroup.objects.all() if policy.can_monitor(user) else user.workgroups.all()
    counted = workgroups.order_by("name").annotate(
        **{status: Count("work_items", filter=Q(work_items__status=status)) for status in OPEN_STATUSES},
        oldest_queued_at=Min("work_items__created_at", filter=Q(work_items__status="queued")),
    )
    return [{"workgroup": wg.name, **{s: getattr(wg, s) for s in OPEN_STATUSES},
             "oldest_queued_at": wg.oldest_queued_at} for wg in counted]


def queues(user: User, now: datetime) -> list[dict[str, Any]]:
    """Every workgroup with its members and the open items of the instances the user may see
    (Process Monitor license); each item says whether the user may move it (Manage right for its process)."""
    policy.require_monitor(user)
    items_by_group: dict[int, list[WorkItem]] = defaultdict(list)
    open_items = (WorkItem.objects.filter(status__in=OPEN_STATUSES, workgroup__isnull=False)
                  .annotate(process_category=F("instance__definition__category"))
                  .select_related("user").only("id", "name", "process_name", "instance_id", "status", "priority",
                                               "workgroup_id", "user__username", "user__first_name",
                                               "user__last_name", "created_at", "updated_at", "offered_at")
                  .order_by("-priority", "created_at", "id"))
    if not policy.can_view_all_instances(user):  # the items of the instances the user may see
        open_items = open_items.filter(policy.viewable_q(user, "instance__"))
    load: Counter[int] = Counter()
    for item in open_items:
        items_by_group[item.workgroup_id].append(item)
    for user_id in WorkItem.objects.filter(status__in=OPEN_STATUSES, user__isnull=False).values_list(
            "user_id", flat=True):
        load[user_id] += 1
    members: dict[int, list[User]] = defaultdict(list)
    for member in User.objects.filter(workgroups__isnull=False).prefetch_related("workgroups").distinct():
        for workgroup in member.workgroups.all():
            members[workgroup.pk].append(member)
    result = []
    for workgroup in Workgroup.objects.order_by("name"):
        items = items_by_group[workgroup.pk]
        counts = Counter(item.status for item in items)
        queued = [item for item in items if item.status == "queued"]
        result.append({
            "workgroup": workgroup,
            "counts": [(status, counts[status]) for status in OPEN_STATUSES],
            "items": [{**_item_row(item, now),
                       "can_move": policy.can_manage(user, item.process_name, item.process_category)}
                      for item in items],
            "oldest_queued": min(queued, key=lambda item: item.created_at) if queued else None,
            "members": [{"user": m, "load": load[m.pk]} for m in sorted(members[workgroup.pk],
                                                                        key=lambda m: m.username)],
        })
    return result


def _item_row(item: WorkItem, now: datetime) -> dict[str, Any]:
    since = item.offered_at if item.status == "offered" and item.offered_at else (
        item.created_at if item.status == "queued" else item.updated_at)
    return {"item": item, "since": since, "waiting_seconds": (now - since).total_seconds()}
