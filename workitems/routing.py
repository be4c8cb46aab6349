"""Offering group-routed work items to workgroup members.

Simple first-come routing: a queued item is offered to the licensed, active member with
the fewest open group-routed items (then the one offered work least recently). The ACD
with skills and presence replaces this choice later; the entry points stay.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from administration.models import LICENSES, User
from workitems.models import WorkItem

GROUP_LICENSES = LICENSES[LICENSES.index("group_routed"):]
ACTIVE = ("offered", "processing", "held")


def choose_member(item: WorkItem) -> User | None:
    return (
        User.objects.filter(workgroups=item.workgroup_id, is_active=True, license__in=GROUP_LICENSES)
        .annotate(load=Count("work_items", filter=Q(work_items__status__in=ACTIVE,
                                                    work_items__workgroup__isnull=False)))
        .order_by("load", "username")
        .first()
    )


def offer_to_workgroup_member(item: WorkItem) -> bool:
    """Offer a queued item to a member; False when nobody qualifies (it stays queued)."""
    member = choose_member(item)
    if member is None:
        return False
    item.user = member
    item.status = "offered"
    item.offered_at = timezone.now()
    item.save(update_fields=["user", "status", "offered_at", "updated_at"])
    return True


def route_queued_items(limit: int = 200) -> int:
    """Offer what waits in the queues (run by the sweep); returns how many were offered."""
    from processes.services.runtime import lock_instance

    offered = 0
    queued = WorkItem.objects.filter(status="queued", workgroup__isnull=False).values_list("pk", "instance_id")
    for item_id, instance_id in queued[:limit]:
        with transaction.atomic():
            if lock_instance(instance_id, skip_locked=True) is None:
                continue
            item = WorkItem.objects.select_for_update().filter(pk=item_id, status="queued").first()
            offered += bool(item) and offer_to_workgroup_member(item)
    return offered
