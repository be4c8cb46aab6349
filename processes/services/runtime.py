"""The durable runtime: one engine step is one database transaction.

A step locks the instance row, runs the pure interpreter, applies the effects it
returned (work items, timers, subprocesses, history), saves the new execution state and
commits. Whatever must leave the database (a Celery task for the next event, a
WebSocket push) is handed over with ``transaction.on_commit``, so a rolled-back step
never reaches anyone. Events that could not be delivered (a worker died after the
commit) stay in ``PendingEvent`` and are picked up by the periodic sweep.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from administration.parameters import integer_parameter
from processes import engine
from processes.errors import Conflict
from processes.models import IMPORT_STORAGE_ID, HistoryEntry, PendingEvent, ProcessInstance
from processes.queries import HotQuery, insert_row, insert_rows, save_fields
from processes.services import reporting
from processes.services.definitions import compiled_process

log = logging.getLogger("ipa.engine")


@dataclass
class StepPlan:
    """What one step writes besides the instance row, gathered while applying effects."""

    instance: ProcessInstance
    now: datetime
    actor: str = ""
    history: list[HistoryEntry] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def record(self, what: str, detail: str = "") -> None:
        self.history.append(
            HistoryEntry(instance=self.instance, at=self.now, what=what, detail=detail[:500], user=self.actor)
        )

    def schedule(self, instance: ProcessInstance, kind: str, token: str = "", payload: Any = None,
                 due_at: datetime | None = None) -> None:
        self.events.append(
            PendingEvent(instance=instance, kind=kind, token=token, payload=payload or {}, due_at=due_at or self.now)
        )


EffectApplier = Callable[[ProcessInstance, Any, StepPlan], None]
EventDispatcher = Callable[[list[int]], None]
_appliers: dict[type, EffectApplier] = {}
_end_hooks: list[Callable[[ProcessInstance, StepPlan], None]] = []
_sweep_hooks: list[Callable[[], None]] = []
_after_step_hooks: list[Callable[[int], None]] = []


def _leave_events_to_the_sweep(event_ids: list[int]) -> None:
    """The dispatcher until one is registered: the periodic sweep delivers every due event."""


_event_dispatcher: EventDispatcher = _leave_events_to_the_sweep


def register_effect(effect_type: type, applier: EffectApplier) -> None:
    """Tell the runtime how to apply an effect kind (apps register theirs in ``AppConfig.ready``)."""
    _appliers[effect_type] = applier


def register_event_dispatcher(dispatcher: EventDispatcher) -> None:
    """Who delivers committed events right away (``processes.tasks`` registers its Celery task)."""
    global _event_dispatcher
    _event_dispatcher = dispatcher


def register_end_hook(hook: Callable[[ProcessInstance, StepPlan], None]) -> None:
    """Called inside the transaction when an instance is cancelled."""
    if hook not in _end_hooks:
        _end_hooks.append(hook)


def register_sweep_hook(hook: Callable[[], None]) -> None:
    if hook not in _sweep_hooks:
        _sweep_hooks.append(hook)


def register_after_step(hook: Callable[[int], None]) -> None:
    """Called with an instance's id after a transaction that changed its row has committed."""
    _after_step_hooks.append(hook)


def end_hooks() -> list[Callable[[ProcessInstance, StepPlan], None]]:
    return list(_end_hooks)


def node_storage_id() -> str:
    """The storage id of this engine node (``ENGINE_STORAGE_ID``, else the host name)."""
    return settings.ENGINE_STORAGE_ID or socket.gethostname()


# ------------------------------------------------------------------------ running steps


def engine_context(instance: ProcessInstance, now: datetime, process: engine.Process) -> engine.Context:
    return engine.Context(
        now=now,
        instance_id=instance.pk,
        initiator=instance.initiator,
        depth=instance.depth,
        depth_threshold=integer_parameter("PAS_DepthThreshold"),
        handler_timeout=integer_parameter("PAS_HandlerResponseTimeout"),
        max_loop_iterations=integer_parameter("PAS_MaxLoopIterations"),
        max_actions_per_step=integer_parameter("PAS_MaxActionsPerStep"),
        max_history_per_step=integer_parameter("PAS_MaxHistoryPerStep"),
        max_launches_per_step=integer_parameter("PAS_MaxSubprocessesPerStep"),
        max_instances_per_launch=integer_parameter("PAS_MaxInstancesPerLaunch"),
        launch_tree_size=launch_tree_size(instance) if process.launches_subprocesses else 1,
    )


def launch_tree_size(instance: ProcessInstance) -> int:
    """How many instances the launch that ``instance`` belongs to has grown into, its top one included."""
    top = instance.launch_tree or instance.pk
    if top is None:
        return 1
    return 1 + ProcessInstance.objects.filter(launch_tree=top).count()


_lock_instance = {
    skip: HotQuery(lambda pk, skip=skip: ProcessInstance.objects.select_for_update(skip_locked=skip)
                   .filter(pk=pk).order_by())
    for skip in (False, True)
}


def lock_instance(instance_id: int, *, skip_locked: bool = False) -> ProcessInstance | None:
    """The instance row, locked until the transaction ends (None: gone, or busy with ``skip_locked``)."""
    return _lock_instance[skip_locked].first(instance_id)


def run_step(instance: ProcessInstance, event: Any, *, actor: str = "") -> engine.Step:
    """Hand ``event`` to the engine for a locked ``instance`` and apply the outcome."""
    if instance.owner == IMPORT_STORAGE_ID:  # imported, not handed to a node yet (services/conversion)
        raise Conflict("This instance was imported and waits to be handed to an engine node (flow_admin transfer).")
    now = timezone.now()
    process = compiled_process(instance.definition_id)
    context = engine_context(instance, now, process)
    if isinstance(event, engine.Launch):
        step = engine.start(process, event, context)
    else:
        step = engine.handle(process, instance.execution, event, context)
    apply_step(instance, step, StepPlan(instance=instance, now=now, actor=actor))
    return step


STEP_FIELDS = ("execution", "status", "current_state", "waiting_on", "waiting_detail", "error", "ended_at",
               "updated_at")


def apply_step(instance: ProcessInstance, step: engine.Step, plan: StepPlan) -> None:
    before = instance.execution
    local_values = []
    for effect in step.effects:
        if isinstance(effect, engine.Record):
            plan.record(effect.what, effect.detail)
        elif isinstance(effect, engine.LocalValueSet):
            local_values.append(effect)
        else:
            _appliers[type(effect)](instance, effect, plan)
    instance.execution = step.state
    instance.status = step.status
    instance.current_state = step.current_state or ""
    instance.waiting_on = step.waiting_on or ""
    instance.waiting_detail = (step.waiting_detail or "")[:300]
    instance.error = step.error or ""
    if step.status in ("completed", "cancelled"):
        instance.ended_at = plan.now
        notify_parent(instance, plan)
    if instance._state.adding:  # a launch that named its row beforehand: written once, whole
        insert_row(instance)
    else:
        save_fields(instance, STEP_FIELDS)
    reporting.record_logged_values(instance, before, step.state, plan.actor, plan.now,  # variables with log: true
                                   local_values)
    save_plan(plan)


def save_plan(plan: StepPlan) -> None:
    insert_rows(plan.history)
    if plan.events:
        PendingEvent.objects.bulk_create(plan.events)
        due_now = [e.pk for e in plan.events if e.due_at <= plan.now and e.pk is not None]
        if due_now:
            plan.after_commit.append(lambda: dispatch_events(due_now))
    for callback in plan.after_commit:
        transaction.on_commit(callback)
    instance_changed(plan.instance.pk)


def instance_changed(instance_id: int) -> None:
    """Tell the after-step hooks (the monitor) once the current transaction commits."""
    for hook in _after_step_hooks:
        transaction.on_commit(lambda hook=hook: hook(instance_id), robust=True)


def notify_parent(instance: ProcessInstance, plan: StepPlan) -> None:
    """A child the parent waits for has ended: queue the event that resumes the parent."""
    if instance.parent_id and instance.parent_token:
        plan.schedule(
            ProcessInstance(pk=instance.parent_id),
            "subprocess_ended",
            instance.parent_token,
            {"status": instance.status, "variables": engine.global_values(instance.execution)
             if instance.execution else {}, "process": instance.process_name},
        )


def dispatch_events(event_ids: list[int]) -> None:
    """Ask a worker to deliver these events now (the sweep delivers them anyway if this is lost)."""
    _event_dispatcher(event_ids)


# --------------------------------------------------------------------- pending events


def engine_event(event: PendingEvent) -> Any:
    payload = event.payload or {}
    if event.kind == "start":
        return engine.Launch(inputs=payload.get("inputs", {}))
    if event.kind == "timer":
        return engine.TimerFired(token=event.token)
    if event.kind == "subprocess_ended":
        return engine.SubprocessEnded(
            token=event.token, status=payload.get("status", ""), variables=payload.get("variables", {})
        )
    if event.kind == "external_finished":
        return engine.ExternalFinished(token=event.token, result=payload.get("result"))
    if event.kind == "external_failed":
        return engine.ExternalFailed(token=event.token, error=payload.get("error", {}))
    raise ValueError(f"unknown event kind {event.kind!r}")


def process_pending_event(event_id: int, *, skip_locked: bool = False) -> bool:
    """Deliver one pending event to its instance, exactly once. True when it was consumed."""
    instance_id = PendingEvent.objects.filter(pk=event_id).values_list("instance_id", flat=True).first()
    if instance_id is None:
        return False
    with transaction.atomic():
        instance = lock_instance(instance_id, skip_locked=skip_locked)
        if instance is None:
            return False
        # Re-read under the instance lock: another worker may have consumed it meanwhile.
        event = PendingEvent.objects.filter(pk=event_id).first()
        if event is None or event.due_at > timezone.now():
            return False
        if instance.has_ended:
            event.delete()
            HistoryEntry.objects.create(
                instance=instance, at=timezone.now(), what="event_dropped",
                detail=f"{event.kind} {event.token} arrived after the instance ended".strip(),
            )
            return True
        if instance.status not in ("running", "waiting") or instance.owner == IMPORT_STORAGE_ID:
            return False  # in error, or imported and not handed to a node: the event waits
        try:
            with transaction.atomic():
                run_step(instance, engine_event(event))
                event.delete()
        except Exception as exc:  # a bug, not a process fault: park the instance, keep the event
            log.exception("engine step failed for instance %s on %s %s", instance.pk, event.kind, event.token)
            park_in_error(instance, f"the engine failed while handling {event.kind} {event.token}: "
                                    f"{type(exc).__name__}; see the server log")
    return True


def park_in_error(instance: ProcessInstance, message: str) -> None:
    """Stop an instance in ``error`` after an unexpected failure, so no worker retries it in a loop."""
    instance.refresh_from_db()
    instance.status = "error"
    instance.error = message
    instance.save(update_fields=["status", "error", "updated_at"])
    HistoryEntry.objects.create(instance=instance, at=timezone.now(), what="error", detail=message[:500])
    instance_changed(instance.pk)


def run_due_events(limit: int = 500) -> int:
    """Deliver every due event of instances that can take one; returns how many were consumed."""
    due = list(
        PendingEvent.objects.filter(due_at__lte=timezone.now(), instance__status__in=("running", "waiting"))
        .exclude(instance__owner=IMPORT_STORAGE_ID).order_by("due_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(process_pending_event(event_id, skip_locked=True) for event_id in due)


def sweep() -> int:
    """The periodic sweep: due timers, undelivered events, then the other apps' hooks."""
    consumed = run_due_events()
    for hook in _sweep_hooks:
        try:
            hook()
        except Exception:  # one failing hook must not starve the others
            log.exception("sweep hook %s failed", getattr(hook, "__qualname__", hook))
    return consumed


def run_until_quiet(max_rounds: int = 100) -> int:
    """Sweep until nothing is due (tests and the embedded engine); returns events consumed."""
    total = 0
    for _ in range(max_rounds):
        consumed = sweep()
        total += consumed
        if not consumed:
            break
    return total


# --------------------------------------------------------------- effects of this app


def start_timer(instance: ProcessInstance, effect: engine.StartTimer, plan: StepPlan) -> None:
    plan.schedule(instance, "timer", effect.token, due_at=effect.due)


def cancel_timer(instance: ProcessInstance, effect: engine.CancelTimer, plan: StepPlan) -> None:
    PendingEvent.objects.filter(instance=instance, kind="timer", token=effect.token).delete()


register_effect(engine.StartTimer, start_timer)
register_effect(engine.CancelTimer, cancel_timer)
