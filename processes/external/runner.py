"""The lifecycle every external action shares: recorded with its step, run after it, reported back.

1. The step that reaches the action emits ``RunExternal``; its applier here inserts an
   ``ExternalCall`` (``pending``) in the step's transaction and, after the commit, hands the
   call to a runner: a Celery task (``processes.tasks.run_external_call``), or on the
   embedded default a small thread pool of this process.
2. The runner marks the call ``running`` in a short transaction, with the storage id of its
   node and the identity of its process, if it is still ``pending`` and its instance still
   waits for it (a redelivered task finds it running and does nothing).
3. It runs the action outside any transaction, bounded by the action's timeout.
4. In one transaction it marks the call ``finished`` and records the engine event,
   ``external_finished`` (the JSON result) or ``external_failed`` (``{type, message}``);
   after the commit the event is delivered like any other (``runtime.dispatch_events``).

The applier, the end hook and the Celery dispatcher are registered by ``ProcessesConfig.ready``:
this module imports neither Celery nor the tasks. What happens when the runner or its process
goes away: ``recovery.py``. See docs/external-actions.md.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from processes import engine
from processes.models import ExternalCall, HistoryEntry, PendingEvent, ProcessInstance
from processes.services import runtime

from .errors import ExternalActionError
from .results import json_value

log = logging.getLogger("ipa.engine.external")

# What runs each kind: a callable taking the engine's params, returning a JSON-able result or
# raising ExternalActionError. Imported when first used, so a kind whose module (or library)
# is missing fails as "not_available" instead of keeping the server from starting.
RUNNERS = {
    "invoke_web_service": "processes.external.web_service.invoke_web_service",
    "run_handler": "processes.external.handlers.run_handler",
    "database": "processes.external.database.run_statement",
    "send_email": "processes.external.email.send_email",
}


def describe(kind: str, params: dict[str, Any]) -> str:
    """How people see a call: ``run_handler lookup``, ``database crm``, ``send_email``."""
    name = {"invoke_web_service": "operation", "run_handler": "handler", "database": "data_source"}.get(kind)
    value = params.get(name) if name else None
    return f"{kind} {value}" if isinstance(value, str) and value else kind


# ------------------------------------------------------------------- 1. with the step


def start_external_call(instance: ProcessInstance, effect: engine.RunExternal, plan: runtime.StepPlan) -> None:
    """The ``RunExternal`` applier: record the call in the step, hand it to a runner after commit."""
    call = ExternalCall.objects.create(
        instance=instance, token=effect.token, kind=effect.kind, params=effect.params,
        owner=instance.owner, created_at=plan.now, dispatched_at=plan.now,
    )
    plan.after_commit.append(partial(dispatch_call, call.pk))


def cancel_pending_calls(instance: ProcessInstance, plan: runtime.StepPlan) -> None:
    """An end hook: the calls of a cancelled instance that have not started never will."""
    ExternalCall.objects.filter(instance=instance, status="pending").update(
        status="cancelled", finished_at=plan.now, params={})


def dispatch_call(call_id: int) -> None:
    """Hand a call to a runner: the registered one (a Celery task), else this process."""
    _call_dispatcher(call_id)


def register_call_dispatcher(dispatcher: Callable[[int], None]) -> None:
    """Who runs dispatched calls (``processes.tasks`` registers its Celery task on the production stack)."""
    global _call_dispatcher
    _call_dispatcher = dispatcher


# ------------------------------------------------- the embedded default: this process

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_inline = threading.local()


def run_in_this_process(call_id: int) -> None:
    """Run a call here: in the pool (``EXTERNAL_CALL_THREADS``), else in this thread.

    The pool keeps a request from waiting for the action and a chain of actions from nesting
    one call inside the previous one's commit. A caller still inside a transaction (a test
    that runs the commit callbacks itself) runs the call in this thread: another thread's
    connection could not see the row yet.
    """
    threads = getattr(settings, "EXTERNAL_CALL_THREADS", 0)
    if threads > 0 and not connection.in_atomic_block:
        _pool(threads).submit(_run_in_pool_thread, call_id)
    else:
        run_inline(call_id)


def _pool(threads: int) -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="external-call")
        return _executor


def _run_in_pool_thread(call_id: int) -> None:
    try:
        run_call(call_id)
    except Exception:  # left pending or running: the sweep or a takeover sees to it
        log.exception("external call %s failed in its runner", call_id)
    finally:
        connection.close()  # this pool thread's own connection


def run_inline(call_id: int) -> None:
    """Run a call in this thread; one dispatched while another runs here waits for it (no nesting)."""
    queue: deque[int] | None = getattr(_inline, "queue", None)
    if queue is not None:
        queue.append(call_id)
        return
    _inline.queue = queue = deque([call_id])
    try:
        while queue:
            next_id = queue.popleft()
            try:
                run_call(next_id)
            except Exception:
                log.exception("external call %s failed in its runner", next_id)
    finally:
        _inline.queue = None


_call_dispatcher: Callable[[int], None] = run_in_this_process


# -------------------------------------------------------------------- 2-4. the runner


def run_call(call_id: int) -> None:
    """The Celery task's body: claim the call, run the action, record the outcome, deliver it."""
    call = claim_call(call_id)
    if call is None:
        return
    result, error = perform(call.kind, call.params)
    event_id = record_outcome(call, result, error)
    if event_id is not None:
        runtime.dispatch_events([event_id])


def claim_call(call_id: int) -> ExternalCall | None:
    """``pending`` -> ``running`` on this node, in a short transaction; None when there is nothing to run.

    A call whose instance ended, or stopped waiting for it (a retry gave the action a new
    token, a takeover restored it in error), is ``cancelled`` instead: it never started.
    """
    instance_id = ExternalCall.objects.filter(pk=call_id).values_list("instance_id", flat=True).first()
    if instance_id is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        instance = runtime.lock_instance(instance_id)  # the instance first, as everywhere
        call = ExternalCall.objects.select_for_update(skip_locked=True).filter(pk=call_id, status="pending").first()
        if call is None:
            return None  # running or ended already: a redelivered task
        if instance is None or not _still_wanted(instance, call.token):
            call.status, call.finished_at, call.params = "cancelled", now, {}
            call.save(update_fields=["status", "finished_at", "params"])
            return None
        call.status, call.started_at = "running", now
        call.node, call.worker = runtime.node_storage_id(), process_identity()
        call.save(update_fields=["status", "started_at", "node", "worker"])
    return call


def _still_wanted(instance: ProcessInstance, token: str) -> bool:
    if instance.has_ended or instance.status == "restored_in_error":
        return False
    return token in external_waits(instance.execution)


def external_waits(execution: dict[str, Any]) -> dict[str, str]:
    """{token: label} of the external actions an execution state waits for."""
    waits = [thread.get("wait") or {} for thread in (execution or {}).get("threads", {}).values()]
    return {wait["token"]: wait.get("detail", "") for wait in waits if wait.get("kind") == "external"}


def perform(kind: str, params: dict[str, Any]) -> tuple[Any, dict[str, str] | None]:
    """Run the action (outside any transaction): ``(result, None)`` or ``(None, error)``."""
    what = describe(kind, params)
    if kind not in RUNNERS:
        return None, {"type": "not_available", "message": f"{kind} is not an external action of this server"}
    try:
        action = import_string(RUNNERS[kind])
    except ImportError:
        log.exception("the runner of %s cannot be imported", kind)
        return None, {"type": "not_available", "message": f"{kind} is not available on this server"}
    try:
        raw = action(params)
    except ExternalActionError as error:
        return None, {"type": str(error.type), "message": str(error.message)[:2000]}
    except Exception as error:  # a bug in a runner: say so without the values it may hold
        log.exception("%s failed unexpectedly", what)
        return None, _internal(what, error)
    try:
        return json_value(raw), None
    except TypeError:
        return None, {"type": "bad_result", "message": f"{what} returned a value that has no JSON form"}


def _internal(what: str, error: BaseException) -> dict[str, str]:
    return {"type": "internal", "message": f"{what} failed unexpectedly ({type(error).__name__}); "
                                           "see the server log"}


def record_outcome(call: ExternalCall, result: Any, error: dict[str, str] | None) -> int | None:
    """``running`` -> ``finished`` with the event that resumes the instance, in one transaction.

    Returns the event's id, to deliver after the commit. A call declared lost meanwhile (its
    node was taken for dead) keeps its instance as the supervisor sees it: the late outcome
    is only written in the history.
    """
    now = timezone.now()
    with transaction.atomic():
        instance = runtime.lock_instance(call.instance_id)
        current = ExternalCall.objects.select_for_update().filter(pk=call.pk).first()
        if instance is None or current is None:
            return None  # the instance was deleted meanwhile
        if current.status != "running":
            outcome = f"failed ({error['type']})" if error else "succeeded"
            HistoryEntry.objects.create(
                instance=instance, at=now, what="external_late",
                detail=f"{describe(call.kind, call.params)} {call.token} {outcome} after it was {current.status}",
            )
            return None
        current.status, current.finished_at, current.params = "finished", now, {}
        current.error_type = (error or {}).get("type", "")[:60]
        current.save(update_fields=["status", "finished_at", "params", "error_type"])
        event = PendingEvent.objects.create(
            instance=instance, token=call.token, due_at=now,
            kind="external_failed" if error else "external_finished",
            payload={"error": error} if error else {"result": result},
        )
    return event.pk


# --------------------------------------------------------------- process identity

_identity: tuple[int, str] | None = None


def process_identity() -> str:
    """``"host pid nonce"`` of this process; the nonce tells a restarted process that got the same pid."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:  # a forked child is a process of its own
        _identity = (pid, f"{socket.gethostname()} {pid} {secrets.token_hex(4)}")
    return _identity[1]

