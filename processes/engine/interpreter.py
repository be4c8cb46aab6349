"""The engine's entry points: start an instance, handle an event, look inside a state.

``start`` and ``handle`` are pure: they read the definition, the execution state (never
changed in place), the event and the context, and return a ``Step``. A runtime fault of
the process (a bad value, a division by zero, a depth past the threshold ...) puts the
instance in status ``error`` with a message naming the place; it is never raised.
"""

from __future__ import annotations

import copy
from typing import Any

from .execution import Execution, Resume, new_state
from .external import EXTERNAL_ACTIONS, resume_external_failed, resume_external_finished
from .flow import FLOW_ACTIONS
from .process import Process, format_position
from .scopes import ScopedVariable, build_scope, to_storage
from .types import (
    Context,
    Event,
    ExternalFailed,
    ExternalFinished,
    Launch,
    MoveTo,
    Retry,
    Skip,
    Step,
    SubprocessEnded,
    TimerFired,
    WorkItemCompleted,
)
from .values import default_value
from .waits import (
    WAIT_ACTIONS,
    resume_subprocess_ended,
    resume_timer_fired,
    resume_work_item_completed,
    resume_work_item_timed_out,
)

ACTIONS = {**FLOW_ACTIONS, **WAIT_ACTIONS, **EXTERNAL_ACTIONS}

# How an ignored event names its wait in history: "timer w3".
WAIT_WORDS = {
    WorkItemCompleted: "work item",
    TimerFired: "timer",
    SubprocessEnded: "subprocess",
    ExternalFinished: "external",
    ExternalFailed: "external",
}


def start(process: Process, event: Launch, ctx: Context) -> Step:
    """Launch an instance: globals from their defaults, then the launch inputs.

    The inputs must already be validated by the caller (names of globals, values that
    fit their types); a value that does not is a caller's mistake and raises ValueError.
    """
    globals_ = {name: default_value(spec) for name, spec in process.globals.items()}
    for name, value in event.inputs.items():
        spec = process.globals.get(name)
        if spec is None:
            raise ValueError(f"launch input {name}: the process has no variable of that name")
        try:
            globals_[name] = to_storage(spec["type"], value)
        except ValueError as error:
            raise ValueError(f"launch input {name}: {error}") from error
    run = Execution(process, new_state(globals_), ctx, ACTIONS)
    run.record("launched")
    run.enter_state(process.start_state, {})
    run.run()
    return run.step()


def handle(process: Process, state: dict[str, Any], event: Event, ctx: Context) -> Step:
    """Apply one event to an instance's execution state (which is left unchanged)."""
    if isinstance(event, Launch):
        raise TypeError("a Launch starts a new instance: call start()")
    run = Execution(process, copy.deepcopy(state), ctx, ACTIONS)
    if isinstance(event, Retry | Skip):
        _supervise(run, event)
    elif isinstance(event, MoveTo):
        _move(run, event)
    else:
        _resume(run, event)
    return run.step()


def _resume(run: Execution, event: Event) -> None:
    tid, resume = _waiting_thread(run, event)
    if tid is None or resume is None:
        run.record("event_ignored", f"{WAIT_WORDS[type(event)]} {getattr(event, 'token', '')}")
        return
    run.run(tid, resume)


def _waiting_thread(run: Execution, event: Event) -> tuple[str | None, Resume | None]:
    """The thread whose wait the event ends, and how it goes on."""
    for tid, thread in run.ordered_threads():
        wait = thread["wait"]
        if wait is None or wait["token"] != getattr(event, "token", None):
            continue
        kind = wait["kind"]
        match event:
            case WorkItemCompleted() if kind == "work_item":
                return tid, lambda here: resume_work_item_completed(here, event)
            case TimerFired() if kind == "timer":
                return tid, resume_timer_fired
            case TimerFired() if kind == "work_item" and wait.get("timer"):
                return tid, resume_work_item_timed_out
            case SubprocessEnded() if kind == "subprocess":
                return tid, lambda here: resume_subprocess_ended(here, event)
            case ExternalFinished() if kind == "external":
                return tid, lambda here: resume_external_finished(here, event)
            case ExternalFailed() if kind == "external":
                return tid, lambda here: resume_external_failed(here, event)
    return None, None


def _move(run: Execution, event: MoveTo) -> None:
    """Leave the current state whatever it waits on, and enter ``event.state`` (Camunda's
    instance modification); an unknown state is refused before anything changes."""
    if event.state not in run.process.states:
        raise ValueError(f"the process has no state named {event.state!r}")
    left = run.state["state"]
    run.leave_state()
    run.record("moved", f"{left} -> {event.state}")
    run.enter_state(event.state, {})
    run.run()


def _supervise(run: Execution, event: Retry | Skip) -> None:
    """Retry or skip every faulted action; with none, every external action in flight.

    Retry runs the action again (an external action gets a new token, so a late answer
    to the old one is ignored); Skip moves past it as if it had produced nothing.
    """
    word = "retried" if isinstance(event, Retry) else "skipped"
    ordered = run.ordered_threads()
    faulted = [tid for tid, thread in ordered if thread["fault"]]
    if faulted:
        for tid in faulted:
            run.threads[tid]["fault"] = None
            _reposition(run, tid, event, word)
        run.queue = faulted + run.state["ready"]
        run.state["ready"] = []
    else:
        in_flight = [tid for tid, thread in ordered if (thread["wait"] or {}).get("kind") == "external"]
        if not in_flight:
            run.record("event_ignored", f"{word}: no faulted action and no external action in flight")
            return
        for tid in in_flight:
            run.threads[tid]["wait"] = None
            _reposition(run, tid, event, word)
        run.queue = in_flight
    run.run()


def _reposition(run: Execution, tid: str, event: Retry | Skip, word: str) -> None:
    frame = run.threads[tid]["stack"][-1]
    run.record(word, format_position([*frame["block"], frame["at"]]))
    if isinstance(event, Skip):
        task_scope = (frame.get("p") or {}).get("scope")
        if task_scope is not None:
            run.state["scopes"].pop(task_scope, None)
        Execution.advance(frame)


def scope_at(process: Process, state: dict[str, Any], token: str) -> dict[str, ScopedVariable]:
    """The variables visible to the thread waiting on ``token`` (KeyError if none waits)."""
    for thread in state["threads"].values():
        wait = thread.get("wait")
        if wait and wait["token"] == token:
            return build_scope(process, state, thread, {}).visible()
    raise KeyError(token)


def global_values(state: dict[str, Any]) -> dict[str, Any]:
    """The instance's global variables as JSON values."""
    return copy.deepcopy(state["globals"])
