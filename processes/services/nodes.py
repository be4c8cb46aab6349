"""Engine nodes: who runs the engine, who owns which instance, who takes over from the dead.

Every process that runs the engine (a Celery worker, or ``serve``'s embedded engine
thread) is an ``EngineNode`` known by its storage id. It registers when it starts and
beats while it runs; it is live while its heartbeat is younger than ``ENGINE_NODE_TIMEOUT``
seconds. New instances go to the least-loaded live node. A node that stops cleanly hands
its open instances to the live ones; the live nodes' sweep takes over from a node whose
heartbeat expired and puts the instances whose external action was in flight in
``restored_in_error``, since nobody can know how far that action ran (the seed's rule).
See docs/design/nodes.md.
"""

from __future__ import annotations

import heapq
import logging
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from administration.parameters import boolean_parameter, integer_parameter
from processes.errors import Conflict, LaunchBlocked, NotFound, ServiceError
from processes.external import recovery
from processes.models import IMPORT_STORAGE_ID, OPEN_STATUSES, EngineNode, ProcessInstance
from processes.services import runtime

log = logging.getLogger("ipa.engine.nodes")

LOAD_STATUSES = ("running", "waiting", "error")  # what a node's load counts
LAUNCH_VIEW_SECONDS = 1.0  # how long a launch trusts the node list it read
LATE_LAUNCH_WINDOW = timedelta(seconds=60)  # how long after a node goes the sweep looks for launches onto it


RestoreHook = Callable[[list[int], str], None]
_restore_hooks: list[RestoreHook] = []


def register_restore_hook(hook: RestoreHook) -> None:
    """``hook(instance_ids, reason)`` runs, in the transaction, when instances are restored: taken over
    from a dead node, handed over from ``import``, or owned by a node that starts again (work items
    register the seed's restore rules here)."""
    _restore_hooks.append(hook)


def _restore(instance_ids: list[int], reason: str) -> None:
    if instance_ids:
        for hook in _restore_hooks:
            hook(instance_ids, reason)


def _open_ids(owner: str, instance_ids: list[int] | None = None) -> list[int]:
    instances = ProcessInstance.objects.filter(owner=owner, status__in=OPEN_STATUSES)
    if instance_ids is not None:
        instances = instances.filter(pk__in=instance_ids)
    return list(instances.order_by("pk").values_list("pk", flat=True))


def node_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "ENGINE_NODE_TIMEOUT", 30))


def heartbeat_interval() -> float:
    """Beat six times per timeout, so a few slow beats do not make a node look dead."""
    return max(0.2, node_timeout().total_seconds() / 6)


def any_node_live() -> bool:
    """Whether any engine node beats: one small query (the pages' engine banner asks every few seconds)."""
    return EngineNode.objects.filter(stopped_at=None, heartbeat_at__gte=timezone.now() - node_timeout()).exists()


def node_state(node: EngineNode, now: datetime) -> str:
    """``live``, ``dead`` (heartbeat expired), ``restoring`` (dead, a takeover under way),
    ``taken over`` or ``stopped`` (cleanly)."""
    if node.stopped_at is not None:
        return "taken over" if node.taken_over_by else "stopped"
    if node.heartbeat_at >= now - node_timeout():
        return "live"
    return "restoring" if node.restoring_until and node.restoring_until > now else "dead"


# ------------------------------------------------------------ registration, heartbeats


def register_node(storage_id: str | None = None) -> EngineNode:
    """Record that this process now runs the engine as ``storage_id`` (default: this node's).

    A node that ran before under this storage id has restarted: what it still owns is restored.
    """
    storage_id = storage_id or runtime.node_storage_id()
    if storage_id == IMPORT_STORAGE_ID:
        raise ServiceError(f"The storage id {IMPORT_STORAGE_ID!r} is reserved for imported instances; "
                           "give this node another ENGINE_STORAGE_ID.")
    now = timezone.now()
    with transaction.atomic():
        node, created = EngineNode.objects.update_or_create(
            storage_id=storage_id,
            defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "started_at": now,
                      "heartbeat_at": now, "stopped_at": None, "taken_over_by": ""},
        )
        if not created and _restore_hooks:
            _restore(_open_ids(storage_id), f"engine node {storage_id} restarted")
    return node


def beat(storage_id: str | None = None) -> None:
    """Tell the other nodes this one is alive (a node taken over while it hung is live again)."""
    storage_id = storage_id or runtime.node_storage_id()
    updated = EngineNode.objects.filter(storage_id=storage_id).update(
        heartbeat_at=timezone.now(), stopped_at=None, taken_over_by=""
    )
    if not updated:
        register_node(storage_id)


class Heartbeat:
    """Keeps one node's row fresh: from the engine loop (``beat_if_due``) or from its own thread."""

    def __init__(self, storage_id: str | None = None) -> None:
        self.storage_id = storage_id or runtime.node_storage_id()
        self.interval = heartbeat_interval()
        self._last_beat: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def beat_if_due(self) -> None:
        if self._last_beat is None:
            register_node(self.storage_id)
        elif time.monotonic() - self._last_beat >= self.interval:
            beat(self.storage_id)
        else:
            return
        self._last_beat = time.monotonic()

    def start_thread(self) -> None:
        """Register now, then beat from a daemon thread that a busy task pool cannot hold up."""
        self.beat_if_due()
        self._thread = threading.Thread(target=self._run, daemon=True, name="engine-heartbeat")
        self._thread.start()

    def stop_thread(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                beat(self.storage_id)
            except Exception:  # the database is away: try again next time, never die
                log.exception("heartbeat of engine node %s failed", self.storage_id)
            finally:
                close_old_connections()
        connection.close()  # this thread's own connection


_worker_heartbeat: Heartbeat | None = None


def start_worker_node(**signal: object) -> None:
    """A Celery worker is ready (``worker_ready``): register it and start beating."""
    global _worker_heartbeat
    _worker_heartbeat = Heartbeat()
    _worker_heartbeat.start_thread()


def stop_worker_node(**signal: object) -> None:
    """A Celery worker shuts down warm (``worker_shutdown``): stop beating, hand over, mark stopped."""
    if _worker_heartbeat is not None:
        _worker_heartbeat.stop_thread()
        moved = stop_node(_worker_heartbeat.storage_id)
        log.info("engine node %s stopped; handed over %s", _worker_heartbeat.storage_id, moved or "nothing")


def stop_node(storage_id: str | None = None) -> dict[str, int]:
    """A clean stop: give the node's open instances to the live nodes (if any) and mark it stopped."""
    storage_id = storage_id or runtime.node_storage_id()
    now = timezone.now()
    with transaction.atomic():
        node = EngineNode.objects.select_for_update().filter(storage_id=storage_id).first()
        if node is None:
            return {}
        moved = _hand_to_the_other_live_nodes(storage_id, now)
        node.stopped_at, node.taken_over_by, node.restoring_until = now, "", None
        node.save(update_fields=["stopped_at", "taken_over_by", "restoring_until"])
    forget_nodes()
    return moved


# ------------------------------------------------------------------ ownership at launch


@dataclass
class NodesView:
    """What a launch needs to know: live nodes with their loads, and whether a takeover is restoring."""

    loads: dict[str, int]
    restoring: bool
    read_at: float = field(default_factory=time.monotonic)


_launch_view: NodesView | None = None
_launch_lock = threading.Lock()


def _read_nodes(now: datetime) -> NodesView:
    """One query: the live nodes and restoring ones, each with its count of loaded instances."""
    load = (
        ProcessInstance.objects.filter(owner=OuterRef("storage_id"), status__in=LOAD_STATUSES)
        .order_by().values("owner").annotate(n=Count("pk")).values("n")
    )
    rows = (
        EngineNode.objects.filter(Q(stopped_at=None, heartbeat_at__gte=now - node_timeout())
                                  | Q(restoring_until__gt=now))
        .annotate(load=Coalesce(Subquery(load, output_field=IntegerField()), 0))
        .values_list("storage_id", "stopped_at", "heartbeat_at", "restoring_until", "load")
    )
    loads, restoring = {}, False
    for storage_id, stopped_at, heartbeat_at, restoring_until, count in rows:
        if stopped_at is None and heartbeat_at >= now - node_timeout():
            loads[storage_id] = count
        restoring = restoring or bool(restoring_until and restoring_until > now)
    return NodesView(loads=loads, restoring=restoring)


def choose_owner(loads: dict[str, int], threshold: int) -> str | None:
    """The least-loaded node; one that owns more than ``threshold`` only when all the others do too."""
    under = {storage_id: n for storage_id, n in loads.items() if n <= threshold}
    pool = under or loads
    return min(pool, key=lambda storage_id: (pool[storage_id], storage_id), default=None)


def owner_for_new_instance(*, user_launch: bool = True) -> str:
    """The storage id a new instance goes to: the least-loaded live node, else this process's own.

    A user's launch raises ``LaunchBlocked`` while a takeover is restoring and
    ``PAS_blockLaunchDuringRestore`` is on (subprocesses of running instances are not blocked).
    Costs at most one query: the node list is read again only after
    ``LAUNCH_VIEW_SECONDS``, and in between each choice counts towards its node's load.
    """
    global _launch_view
    with _launch_lock:
        if _launch_view is None or time.monotonic() - _launch_view.read_at > LAUNCH_VIEW_SECONDS:
            _launch_view = _read_nodes(timezone.now())
        view = _launch_view
        if user_launch and view.restoring and boolean_parameter("PAS_blockLaunchDuringRestore"):
            raise LaunchBlocked(
                "New processes cannot start while the instances of an engine node that stopped responding "
                "are being restored (PAS_blockLaunchDuringRestore); try again in a few seconds."
            )
        owner = choose_owner(view.loads, integer_parameter("PAS_LoadBalanceThreshold"))
        if owner is None:
            return runtime.node_storage_id()
        view.loads[owner] += 1
        return owner


def forget_nodes() -> None:
    """Make the next launch read the node list again (after a change here, and in tests)."""
    global _launch_view
    _launch_view = None


# ---------------------------------------------------------------------------- takeover


@dataclass
class Handover:
    """What moved from one storage id: instances per new owner, and those restored in error."""

    source: str
    moved: dict[str, int]
    restored_in_error: list[int]

    @property
    def total(self) -> int:
        return sum(self.moved.values())


def take_over_dead_nodes() -> list[Handover]:
    """Move the open instances of every dead node to the live nodes (one small query when none is dead),
    and those launched onto a node just after it stopped or was taken over."""
    now = timezone.now()
    recent = Q(stopped_at=None) | Q(stopped_at__gte=now - LATE_LAUNCH_WINDOW)
    states = {node.storage_id: node_state(node, now) for node in EngineNode.objects.filter(recent)}
    if "live" not in states.values():
        return []  # nobody is left to take over
    handovers = [take_over(storage_id) for storage_id, state in states.items() if state == "dead"]
    handovers += [hand_out_late_launches(storage_id)
                  for storage_id, state in states.items() if state in ("stopped", "taken over")]
    return [handover for handover in handovers if handover is not None]


def hand_out_late_launches(storage_id: str) -> Handover | None:
    """Give the live nodes what was launched onto ``storage_id`` after it stopped or was taken over.

    A launch trusts the node list it read for ``LAUNCH_VIEW_SECONDS``, and its transaction may
    commit after the node's instances were handed out, so a node that has just gone can still be
    given a new instance; nobody would ever run it. The sweep looks for such late arrivals for
    ``LATE_LAUNCH_WINDOW`` after a node goes. None when there is nothing to move.
    """
    if not ProcessInstance.objects.filter(owner=storage_id, status__in=OPEN_STATUSES).exists():
        return None
    with transaction.atomic():
        moved = _hand_to_the_other_live_nodes(storage_id, timezone.now())
    if not moved:
        return None
    forget_nodes()
    log.info("instances launched onto engine node %s after it went handed to %s", storage_id, moved)
    return Handover(storage_id, moved, [])


def take_over_in_sweep() -> None:
    """The sweep hook: a failed takeover is logged and tried again next sweep, never stops the sweep."""
    try:
        take_over_dead_nodes()
    except Exception:
        log.exception("taking over dead engine nodes failed; the next sweep tries again")


def take_over(storage_id: str) -> Handover | None:
    """Take over one dead node; None when it is alive again, or another node is at it already.

    First a short transaction claims the node (``restoring_until``, which launches see);
    then one transaction moves its instances and marks it taken over. Both lock the node's
    row with ``skip_locked``, so of two live nodes sweeping at once only one goes on.
    """
    lease = _claim(storage_id)
    if lease is None:
        return None
    with transaction.atomic():
        node = (EngineNode.objects.select_for_update(skip_locked=True)
                .filter(storage_id=storage_id, restoring_until=lease).first())
        if node is None:
            return None  # our claim expired and another node took it
        now = timezone.now()
        loads = _read_nodes(now).loads
        loads.pop(storage_id, None)
        if node.stopped_at is not None or node.heartbeat_at >= now - node_timeout() or not loads:
            node.restoring_until = None  # it came back, or nobody is left to take over
            node.save(update_fields=["restoring_until"])
            return None
        restored = _restore_external_waits(storage_id, now)
        _restore(_open_ids(storage_id), f"engine node {storage_id} stopped responding")
        moved = _hand_out(storage_id, loads)
        node.stopped_at, node.taken_over_by, node.restoring_until = now, runtime.node_storage_id(), None
        node.save(update_fields=["stopped_at", "taken_over_by", "restoring_until"])
    forget_nodes()
    handover = Handover(storage_id, moved, restored)
    log.warning("engine node %s stopped responding: %s instances moved to %s, %s restored in error",
                storage_id, handover.total, moved, len(restored))
    return handover


def _claim(storage_id: str) -> datetime | None:
    now = timezone.now()
    with transaction.atomic():
        node = (
            EngineNode.objects.select_for_update(skip_locked=True)
            .filter(storage_id=storage_id, stopped_at=None, heartbeat_at__lt=now - node_timeout())
            .filter(Q(restoring_until=None) | Q(restoring_until__lte=now))
            .first()
        )
        if node is None:
            return None
        node.restoring_until = now + node_timeout()  # a lease: if we die meanwhile, it runs out
        node.save(update_fields=["restoring_until"])
    return node.restoring_until


def _hand_out(source: str, loads: dict[str, int], instance_ids: list[int] | None = None) -> dict[str, int]:
    """Give ``source``'s open instances to the nodes in ``loads``, each to the least-loaded one."""
    instances = ProcessInstance.objects.filter(owner=source, status__in=OPEN_STATUSES)
    if instance_ids is not None:
        instances = instances.filter(pk__in=instance_ids)
    heap = [(count, storage_id) for storage_id, count in loads.items()]
    heapq.heapify(heap)
    shares: dict[str, list[int]] = defaultdict(list)
    for pk in instances.order_by("pk").values_list("pk", flat=True):
        count, storage_id = heapq.heappop(heap)
        shares[storage_id].append(pk)
        heapq.heappush(heap, (count + 1, storage_id))
    for storage_id, pks in shares.items():
        for start in range(0, len(pks), 500):
            ProcessInstance.objects.filter(pk__in=pks[start:start + 500], owner=source).update(owner=storage_id)
    return {storage_id: len(pks) for storage_id, pks in shares.items()}


def _hand_to_the_other_live_nodes(storage_id: str, now: datetime) -> dict[str, int]:
    """Give ``storage_id``'s open instances to the other live nodes; with none live, they stay."""
    loads = _read_nodes(now).loads
    loads.pop(storage_id, None)
    return _hand_out(storage_id, loads) if loads else {}


def _restore_external_waits(source: str, now: datetime, instance_ids: list[int] | None = None) -> list[int]:
    """The external actions that were running on the dead node ``source`` go to ``restored_in_error``.

    The runners record which node runs each call (``ExternalCall.node``), so this is known,
    not guessed: a call still pending never started (the sweep hands it out again) and one
    that finished has its result recorded; only a running one may have partly run. Its
    instance is restored in error whichever node owns it.
    """
    return recovery.restore_calls_of_node(source, instance_ids)


def transfer_instances(source: str, target: str, instance_ids: list[int] | None = None) -> Handover:
    """Move open instances from ``source`` to the live node ``target`` by hand (``flow_admin transfer``).

    ``target`` ``any``: each to the least-loaded live node. From a dead node this restores in-flight
    external actions in error, as a takeover would; from a dead node or from ``import`` the
    restore hooks run (work items come back as the seed's restore rules say).
    """
    if source == target:
        raise ServiceError("The source and the target are the same storage id.")
    now = timezone.now()
    known = {node.storage_id: node for node in EngineNode.objects.all()}
    if target == "any":
        if not (loads := _read_nodes(now).loads):
            raise Conflict("No engine node is live; start one, then transfer.")
    elif target not in known:
        names = ", ".join(known) or "none"
        raise NotFound(f"No engine node has registered with storage id {target!r} (known: {names}).")
    elif (state := node_state(known[target], now)) != "live":
        raise Conflict(f"Engine node {target!r} is {state}; move instances only to a live node.")
    else:
        loads = {target: 0}
    with transaction.atomic():
        if instance_ids is not None:
            found = set(ProcessInstance.objects.filter(pk__in=instance_ids, owner=source, status__in=OPEN_STATUSES)
                        .values_list("pk", flat=True))
            if missing := sorted(set(instance_ids) - found):
                raise NotFound(f"Not open instances owned by {source!r}: {', '.join(map(str, missing))}.")
        restored = []
        if source in known and node_state(known[source], now) == "dead":
            restored = _restore_external_waits(source, now, instance_ids)
            _restore(_open_ids(source, instance_ids), f"engine node {source} stopped responding")
        elif source == IMPORT_STORAGE_ID:
            _restore(_open_ids(source, instance_ids), "the instance was moved here from another installation")
        moved = _hand_out(source, loads, instance_ids)
    forget_nodes()
    return Handover(source, moved, restored)


# ------------------------------------------------------------------------------- reads


@dataclass
class NodeReport:
    storage_id: str
    node: EngineNode | None  # None: instances name a storage id no node ever registered
    state: str
    owned: Counter[str]


def owned_counts() -> dict[str, Counter[str]]:
    """Open instances per owner and status."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = (ProcessInstance.objects.filter(status__in=OPEN_STATUSES).order_by()
            .values_list("owner", "status").annotate(n=Count("pk")))
    for owner, status, n in rows:
        counts[owner][status] = n
    return counts


def node_reports() -> list[NodeReport]:
    """Every registered node with its state and the open instances it owns."""
    now, counts = timezone.now(), owned_counts()
    return [NodeReport(node.storage_id, node, node_state(node, now), counts.get(node.storage_id, Counter()))
            for node in EngineNode.objects.all()]


def orphan_reports() -> list[NodeReport]:
    """Storage ids that own open instances but have no live node (dead, stopped, or never registered)."""
    now, counts = timezone.now(), owned_counts()
    nodes = {node.storage_id: node for node in EngineNode.objects.filter(storage_id__in=list(counts))}
    reports = []
    for owner in sorted(counts):
        node = nodes.get(owner)
        state = node_state(node, now) if node else "imported" if owner == IMPORT_STORAGE_ID else "unknown"
        if state != "live":
            reports.append(NodeReport(owner, node, state, counts[owner]))
    return reports


def owned_instances(owner: str, status: str | None = None) -> QuerySet[ProcessInstance]:
    instances = ProcessInstance.objects.filter(owner=owner).order_by("pk")
    return instances.filter(status=status) if status else instances

