"""The ACD: which agent is offered a workgroup's work item (docs/design/acd.md).

A group-routed item is ``queued`` to its workgroup and **offered** to one member who holds
the group-routed license or higher, is Available, has every skill the item asks for at
least at its ``min_level`` and has room: fewer than ``ACD_MaxItemsPerAgent`` group-routed
items offered, processing or held (direct-routed items do not count). Items go highest
priority first, then oldest; an item goes to the qualifying agent idle the longest
(``User.idle_since``), an agent who let this item's offer lapse coming last. An offer not
picked up within ``ACD_OfferTimeoutSeconds`` goes back to the queue and on to the next
agent; an agent who stops being Available keeps what they picked up but loses their offers.

Every function here runs inside the caller's transaction (the engine step, the completion,
the presence change), so a routing decision commits or rolls back with the change that
caused it. No double offers: an agent's row is locked (``SELECT … FOR UPDATE SKIP LOCKED``)
before their room is counted, and instances and items are locked with ``SKIP LOCKED`` too,
so routing never waits on a lock and cannot deadlock with the engine; whatever it skipped
the sweep routes a moment later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed, post_save
from django.utils import timezone

from administration import policy, presence
from administration.models import User, UserSkill
from administration.parameters import integer_parameter
from processes.services import runtime
from workitems import delivery
from workitems.models import WorkItem

MAX_ITEMS_PARAMETER = "ACD_MaxItemsPerAgent"
OFFER_TIMEOUT_PARAMETER = "ACD_OfferTimeoutSeconds"

HOLDING = ("offered", "processing", "held")  # what takes up an agent's room
WORKING = ("processing", "held")  # picked up: finishing it makes the agent idle again
CANDIDATES_TRIED = 20  # agents locked in turn for one item before it waits for the sweep
QUEUE_DEPTH = 200  # queued items of one workgroup looked at per routing
LAPSES_REMEMBERED = 20


def acd_parameter(name: str) -> int:
    """A whole-number ACD server parameter (a bad or missing value means its default)."""
    return max(0, integer_parameter(name))


# ------------------------------------------------------------------------ who qualifies


def _load() -> Subquery:
    """Group-routed items an agent holds (offered, processing or held)."""
    held = (WorkItem.objects.filter(user=OuterRef("pk"), workgroup__isnull=False, status__in=HOLDING)
            .order_by().values("user").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(held, output_field=IntegerField()), 0)


def _available_members(workgroup_id: int, room: int):
    return (User.objects.filter(policy.may_take_group_work_q(), workgroups=workgroup_id, is_active=True,
                                presence="available")
            .annotate(load=_load()).filter(load__lt=room))


def _qualifying_agents(item: WorkItem, room: int):
    """Candidates for ``item``, best first: never-lapsed by idle time, then lapsed oldest lapse first."""
    agents = _available_members(item.workgroup_id, room)
    for name, min_level in item.skills:
        agents = agents.filter(Exists(UserSkill.objects.filter(user=OuterRef("pk"), skill__name=name,
                                                               level__gte=min_level)))
    lapsed = [When(pk=agent_id, then=Value(rank)) for rank, agent_id in enumerate(item.lapsed_offers, 1)]
    lapse_rank = Case(*lapsed, default=Value(0), output_field=IntegerField()) if lapsed else Value(0)
    return agents.annotate(lapse_rank=lapse_rank).order_by("lapse_rank", F("idle_since").asc(nulls_first=True),
                                                            "pk")


def choose_agent(item: WorkItem, room: int) -> User | None:
    """Lock and return the best agent for ``item`` who still has room once locked; None: nobody."""
    for agent_id in _qualifying_agents(item, room).values_list("pk", flat=True)[:CANDIDATES_TRIED]:
        agent = (User.objects.select_for_update(skip_locked=True)
                 .filter(pk=agent_id, is_active=True, presence="available").first())
        # Counted after the lock: whoever offered this agent something before has committed.
        if agent is not None and _holding(agent_id) < room:
            return agent
    return None


def _holding(agent_id: int) -> int:
    return WorkItem.objects.filter(user_id=agent_id, workgroup__isnull=False, status__in=HOLDING).count()


# ------------------------------------------------------------------- offering and taking back


def offer(item: WorkItem, agent: User) -> None:
    previous = item.user_id
    item.user, item.status, item.offered_at = agent, "offered", timezone.now()
    item.save(update_fields=["user", "status", "offered_at", "updated_at"])
    delivery.work_item_changed(item, previous)


def take_back_offer(item: WorkItem, *, lapsed: bool) -> None:
    """An offered item goes back to its queue (``lapsed``: its agent let the offer time out)."""
    previous = item.user_id
    if lapsed:
        note_passed_over(item, previous)
    item.user, item.status, item.offered_at = None, "queued", None
    item.save(update_fields=["user", "status", "offered_at", "lapsed_offers", "updated_at"])
    delivery.work_item_changed(item, previous)


def note_passed_over(item: WorkItem, agent_id: int | None) -> None:
    """``agent_id`` let the item go (offer lapsed, sent back to the queue): offer it to others first."""
    if agent_id is not None:
        item.lapsed_offers = [*(a for a in item.lapsed_offers if a != agent_id), agent_id][-LAPSES_REMEMBERED:]


def route_item(item: WorkItem) -> bool:
    """Offer one queued item (locked by the caller) to the best agent; False: it waits in the queue."""
    agent = choose_agent(item, acd_parameter(MAX_ITEMS_PARAMETER))
    if agent is None:
        return False
    offer(item, agent)
    return True


def route_workgroups(workgroup_ids: Iterable[int | None]) -> int:
    """Offer what waits in these workgroups' queues, in order; returns how many were offered."""
    return sum(_route_queue(w) for w in sorted({w for w in workgroup_ids if w}))


def _route_queue(workgroup_id: int) -> int:
    room = acd_parameter(MAX_ITEMS_PARAMETER)
    queue = list(WorkItem.objects.filter(workgroup_id=workgroup_id, status="queued")
                 .order_by("-priority", "created_at", "id").values_list("pk", "instance_id")[:QUEUE_DEPTH])
    if not queue or not _available_members(workgroup_id, room).exists():
        return 0
    offered = 0
    for item_id, instance_id in queue:
        item = _lock_item(item_id, instance_id, status="queued")
        if item is None:
            continue
        agent = choose_agent(item, room)
        if agent is not None:
            offer(item, agent)
            offered += 1
        elif not _available_members(workgroup_id, room).exists():
            break  # nobody left with room: the rest waits
    return offered


def _lock_item(item_id: int, instance_id: int, **still) -> WorkItem | None:
    """Instance then item, as every path does; None when busy elsewhere or no longer as expected."""
    if runtime.lock_instance(instance_id, skip_locked=True) is None:
        return None
    return WorkItem.objects.select_for_update(of=("self",)).filter(pk=item_id, **still).first()


def workgroups_of(agent_ids: Iterable[int]) -> set[int]:
    return set(User.workgroups.through.objects.filter(user_id__in=list(agent_ids))
               .values_list("workgroup_id", flat=True))


def route_for_agents(agent_ids: Iterable[int]) -> int:
    """These agents may have room or qualify now: route the queues of their workgroups."""
    agent_ids = [a for a in agent_ids if a]
    return route_workgroups(workgroups_of(agent_ids)) if agent_ids else 0


def agents_finished(agent_ids: Iterable[int]) -> None:
    """These agents finished a group-routed item they had picked up: idle from now on."""
    agent_ids = sorted({a for a in agent_ids if a})
    if agent_ids:
        User.objects.filter(pk__in=agent_ids).update(idle_since=timezone.now())


def items_left_agents(items: Iterable[tuple[int | None, int | None, str]]) -> None:
    """Group items (agent, workgroup, status before) left their agents: free them and route."""
    items = [(agent, status) for agent, workgroup, status in items if agent and workgroup]
    agents_finished(agent for agent, status in items if status in WORKING)
    route_for_agents({agent for agent, _ in items})


# --------------------------------------------------------------------------- presence


def presence_changed(agent: User, previous: str) -> None:
    """Presence hook (inside the presence change's transaction): route, or take offers back."""
    if agent.presence == "available":
        route_for_agents([agent.pk])
        return
    if previous != "available":
        return
    offers = (WorkItem.objects.filter(user=agent, status="offered", workgroup__isnull=False)
              .values_list("pk", "instance_id"))
    workgroups = set()
    for item_id, instance_id in list(offers):
        # The agent's row is locked here: never wait for an instance (the sweep takes back what is busy).
        item = _lock_item(item_id, instance_id, user=agent, status="offered")
        if item is not None:
            take_back_offer(item, lapsed=False)
            workgroups.add(item.workgroup_id)
    route_workgroups(workgroups)


def route_after_commit(agent_ids: Iterable[int]) -> None:
    """A directory change (skill, membership) may let these agents take queued work."""
    agent_ids = list(agent_ids)

    def route() -> None:
        with transaction.atomic():
            route_for_agents(agent_ids)

    transaction.on_commit(route, robust=True)


# ------------------------------------------------------------------------------ the sweep


def take_back_stale_offers(limit: int = 500) -> int:
    """Sweep hook: offers that lapsed, or whose agent is no longer Available, go back and on."""
    timeout = acd_parameter(OFFER_TIMEOUT_PARAMETER)
    lapsed = Q(offered_at__lte=timezone.now() - timedelta(seconds=timeout)) if timeout else Q(pk__in=[])
    unavailable = (~Q(user__presence="available") | Q(user__is_active=False)
                   | ~policy.may_take_group_work_q(prefix="user__"))
    stale = (WorkItem.objects.filter(status="offered", workgroup__isnull=False).filter(lapsed | unavailable)
             .order_by("offered_at").values_list("pk", "instance_id")[:limit])
    taken_back = 0
    for item_id, instance_id in list(stale):
        with transaction.atomic():
            item = _lock_item(item_id, instance_id, status="offered")
            if item is None or not _is_stale(item, timeout):
                continue
            agent_id = item.user_id
            take_back_offer(item, lapsed=_has_lapsed(item, timeout))
            route_workgroups({item.workgroup_id} | workgroups_of([agent_id]))
            taken_back += 1
    return taken_back


def _has_lapsed(item: WorkItem, timeout: int) -> bool:
    return bool(timeout) and item.offered_at is not None and (
        item.offered_at <= timezone.now() - timedelta(seconds=timeout))


def _is_stale(item: WorkItem, timeout: int) -> bool:
    agent = item.user
    return (item.workgroup_id is not None and (
        agent is None or agent.presence != "available" or not agent.is_active
        or not policy.may_take_group_work(agent) or _has_lapsed(item, timeout)))


def route_queued_items() -> int:
    """Sweep hook: route every queue that has waiting items (catches what a skipped lock left)."""
    workgroups = (WorkItem.objects.filter(status="queued", workgroup__isnull=False)
                  .order_by().values_list("workgroup_id", flat=True).distinct())
    offered = 0
    for workgroup_id in sorted(workgroups):
        with transaction.atomic():
            offered += _route_queue(workgroup_id)
    return offered


# --------------------------------------------------------------------------- wiring


def _skill_level_saved(sender, instance: UserSkill, **kwargs) -> None:
    route_after_commit([instance.user_id])


def _workgroups_changed(sender, instance, action: str, reverse: bool, pk_set: set[int] | None, **kwargs) -> None:
    if action == "post_add":
        route_after_commit(sorted(pk_set or ()) if reverse else [instance.pk])


def register() -> None:
    """Presence changes, skill grants and new memberships route; the sweep takes back stale offers."""
    presence.register_presence_hook(delivery.presence_changed)  # pushed first: then what it caused
    presence.register_presence_hook(presence_changed)
    runtime.register_sweep_hook(take_back_stale_offers)
    post_save.connect(_skill_level_saved, sender=UserSkill, dispatch_uid="workitems.routing.skill")
    m2m_changed.connect(_workgroups_changed, sender=User.workgroups.through, dispatch_uid="workitems.routing.member")
