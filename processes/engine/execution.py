"""One step of an instance: a working copy of its execution state and the run loop.

The execution state is JSON only (see ``docs/design/engine-contract.md``)::

    {"v": 1,
     "state": "Intake",                  # current process state, None once ended
     "globals": {...}, "locals": {...},  # JSON values; locals of the current state
     "scopes": {"s1": {"task": "Pay", "vars": {...}, "depth": 1}},   # live task calls
     "threads": {"t1": THREAD, ...},
     "ready": [],                        # threads parked runnable by a fault
     "counters": {"w": 3, "t": 1, "s": 1}}

    THREAD = {"parent": None | "t1", "children": [...], "base": None | {"scope", "error"},
              "stack": [FRAME, ...], "wait": None | WAIT, "fault": None | "message"}
    FRAME  = {"block": ["states", "Intake", "actions", 0, "otherwise"], "at": 2,
              "p": None | {...progress of the action at `at`},
              "scope": "s1" (a task body), "error": {...} (an on_error body)}
    WAIT   = {"token": "w3", "kind": "work_item", "detail": "work item Approve", "timer": true}

A thread runs the action at the top frame's ``at``. An action either finishes (the run
loop moves ``at`` on), pushes a nested list of actions (a new frame; when that list runs
out the frame is popped and the owning action runs again with its progress ``p``), or
stops the thread (a wait, a ``parallel`` waiting for its branches, a change of state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .expressions import ExpressionError
from .process import Process, format_position
from .scopes import Scope, build_scope, default_locals
from .types import CancelTimer, Context, Effect, LocalValueSet, Record, Step, WithdrawWorkItem

STATE_VERSION = 1

# What an action tells the run loop.
NEXT = "next"  # the action is done: go on with the following one
PUSHED = "pushed"  # a nested list of actions was entered: run it
STOP = "stop"  # the thread stops here (it waits, or the instance moved on)


class Fault(Exception):
    """A runtime fault of the process being run: the instance goes to status ``error``.

    ``key`` locates the fault inside the action (``"branches", 0, "when"``).
    """

    def __init__(self, reason: str, *key: str | int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key


class Here:
    """The action one thread is running, and what that action may do."""

    def __init__(self, run: Execution, tid: str) -> None:
        self.run = run
        self.tid = tid
        self.thread: dict[str, Any] = run.threads[tid]
        self.frame: dict[str, Any] = self.thread["stack"][-1]
        self.position: list[str | int] = [*self.frame["block"], self.frame["at"]]
        self.action: dict[str, Any] = run.process.action(self.position)
        self._scope: Scope | None = None

    @property
    def scope(self) -> Scope:
        if self._scope is None:
            self._scope = self.run.scope(self.thread)
        return self._scope

    @property
    def progress(self) -> dict[str, Any] | None:
        return self.frame.get("p")

    @progress.setter
    def progress(self, value: dict[str, Any] | None) -> None:
        self.frame["p"] = value

    def evaluate(self, source: Any, *key: str | int) -> Any:
        try:
            return self.scope.evaluate(source, self.run.ctx.now)
        except (ExpressionError, ValueError) as error:
            raise Fault(str(error), *key) from error

    def render(self, source: str, *key: str | int) -> str:
        try:
            return self.scope.render(source, self.run.ctx.now)
        except (ExpressionError, ValueError) as error:
            raise Fault(str(error), *key) from error

    def convert(self, name: str, value: Any, *key: str | int) -> Any:
        """``value`` in the storage form of the variable ``name`` visible here."""
        try:
            return self.scope.convert(name, value)
        except ValueError as error:
            raise Fault(str(error), *key) from error

    def assign(self, name: str, value: Any, *key: str | int) -> None:
        self.scope.write(name, self.convert(name, value, *key))

    def push(self, *suffix: str | int, then_next: bool = True, **extra: Any) -> str:
        """Run the list of actions at ``suffix`` inside this action, then (by default) move on."""
        if then_next:
            self.progress = {"then": "next"}
        self.thread["stack"].append({"block": [*self.position, *suffix], "at": 0, "p": None, **extra})
        return PUSHED

    def wait(self, token: str, kind: str, detail: str, **extra: Any) -> str:
        self.thread["wait"] = {"token": token, "kind": kind, "detail": detail, **extra}
        return STOP

    def end_wait(self) -> dict[str, Any]:
        wait: dict[str, Any] = self.thread["wait"]
        self.thread["wait"] = None
        return wait


Action = Callable[[Here], str]
Resume = Callable[[Here], str]


def new_state(globals_: dict[str, Any]) -> dict[str, Any]:
    return {
        "v": STATE_VERSION,
        "state": None,
        "globals": globals_,
        "locals": {},
        "scopes": {},
        "threads": {},
        "ready": [],
        "counters": {"w": 0, "t": 0, "s": 0},
    }


def thread_number(tid: str) -> int:
    return int(tid[1:])


class Execution:
    """A step in progress: the state being changed, the effects so far, the threads to run."""

    def __init__(
        self, process: Process, state: dict[str, Any], ctx: Context, actions: Mapping[str, Action]
    ) -> None:
        self.process = process
        self.state = state
        self.ctx = ctx
        self.actions = actions
        self.effects: list[Effect] = []
        self.queue: list[str] = []
        self.dispatched = 0
        self.recorded = 0  # history entries of this step
        self.launched = 0  # subprocesses launched in this step
        self.builtins = {"initiator": ctx.initiator, "instance_id": ctx.instance_id}

    @property
    def threads(self) -> dict[str, dict[str, Any]]:
        threads: dict[str, dict[str, Any]] = self.state["threads"]
        return threads

    def new_id(self, kind: str) -> str:
        """A new token (``w``), thread (``t``) or task scope (``s``) id."""
        counters = self.state["counters"]
        counters[kind] = counters.get(kind, 0) + 1
        return f"{kind}{counters[kind]}"

    def emit(self, *effects: Effect) -> None:
        self.effects.extend(effects)

    def record(self, what: str, detail: str = "") -> None:
        self.recorded += 1
        self.effects.append(Record(what, detail))

    def scope(self, thread: dict[str, Any]) -> Scope:
        return build_scope(self.process, self.state, thread, self.builtins, self.logged_local_written)

    def logged_local_written(self, name: str, value: Any, spec: Mapping[str, Any]) -> None:
        self.effects.append(LocalValueSet(name, value, spec.get("security") or ""))

    def locals_created(self, specs: Mapping[str, dict[str, Any]], stored: Mapping[str, Any]) -> None:
        """A state or task was entered: the first values of its logged locals are new values."""
        for name, spec in specs.items():
            if spec.get("log"):
                self.logged_local_written(name, stored.get(name), spec)

    def ordered_threads(self) -> list[tuple[str, dict[str, Any]]]:
        return sorted(self.threads.items(), key=lambda item: thread_number(item[0]))

    def add_thread(self, block: list[str | int], parent: str | None = None, base: Any = None) -> str:
        tid = self.new_id("t")
        self.threads[tid] = {
            "parent": parent,
            "children": [],
            "base": base,
            "stack": [{"block": block, "at": 0, "p": None}],
            "wait": None,
            "fault": None,
        }
        return tid

    # ------------------------------------------------------------------ running

    def run(self, tid: str | None = None, resume: Resume | None = None) -> None:
        """Run ``tid`` (first ending its wait with ``resume``), then every queued thread.

        A fault stops the step: threads still queued are parked in ``ready`` and run
        again when the fault is retried or skipped.
        """
        if tid is not None and not self.run_thread(tid, resume):
            self.park()
            return
        while self.queue:
            tid = self.queue.pop(0)
            if tid in self.threads and not self.run_thread(tid):
                self.park()
                return

    def park(self) -> None:
        self.state["ready"].extend(t for t in self.queue if t in self.threads)
        self.queue.clear()

    def run_thread(self, tid: str, resume: Resume | None = None) -> bool:
        """Run one thread until it stops; False if it faulted."""
        thread = self.threads[tid]
        while True:
            frame = thread["stack"][-1]
            progress = frame.get("p")
            if progress and progress.get("then") == "next":
                self.advance(frame)
                continue
            if frame["at"] >= len(self.process.block(frame["block"])):
                if len(thread["stack"]) == 1:
                    self.end_thread(tid)
                    return True
                thread["stack"].pop()
                continue
            here = Here(self, tid)
            try:
                if resume is not None:
                    outcome, resume = resume(here), None
                else:
                    outcome = self.dispatch(here)
            except Fault as fault:
                self.fault(here, fault)
                return False
            except Exception as error:  # noqa: BLE001 - an engine bug must not crash the caller's step
                # Only the kind: the message of an unexpected error may quote a variable's value.
                self.fault(here, Fault(f"internal error: {type(error).__name__}"))
                return False
            if outcome == NEXT:
                self.advance(frame)
            elif outcome == STOP:
                return True

    def dispatch(self, here: Here) -> str:
        """Run one action, if the step's bounds allow one more (checked before it starts, so a
        bound stops the step between two actions and nothing is left half-done)."""
        self.dispatched += 1
        limit = self.ctx.max_actions_per_step
        if self.dispatched > limit:
            raise Fault(f"more than {limit} actions in one step (a loop that never waits?): stopped at the "
                        "server's PAS_MaxActionsPerStep")
        if self.recorded >= self.ctx.max_history_per_step:
            raise Fault(f"{self.recorded} history entries in one step: stopped at the server's "
                        "PAS_MaxHistoryPerStep")
        return self.actions[here.action["action"]](here)

    def count_launch(self) -> None:
        """One more subprocess from this step, if the bounds on one step and one launch tree allow it."""
        per_step, per_tree = self.ctx.max_launches_per_step, self.ctx.max_instances_per_launch
        if self.launched >= per_step:
            raise Fault(f"{self.launched} subprocesses launched in one step: stopped at the server's "
                        "PAS_MaxSubprocessesPerStep")
        if self.ctx.launch_tree_size + self.launched >= per_tree:
            raise Fault(f"the launch tree already has {per_tree} instances: stopped at the server's "
                        "PAS_MaxInstancesPerLaunch")
        self.launched += 1

    @staticmethod
    def advance(frame: dict[str, Any]) -> None:
        frame["at"] += 1
        frame["p"] = None

    def fault(self, here: Here, fault: Fault) -> None:
        where = format_position([*here.position, *fault.key])
        message = f"in state {self.state['state']}, {where}: {fault.reason}"
        here.thread["fault"] = message
        self.record("error", message)

    def end_thread(self, tid: str) -> None:
        thread = self.threads.pop(tid)
        parent = thread["parent"]
        if parent is None:
            self.complete()
            return
        siblings = self.threads[parent]["children"]
        siblings.remove(tid)
        if not siblings:
            self.queue.insert(0, parent)

    # ------------------------------------------------------------------ states

    def enter_state(self, name: str, inputs: dict[str, Any]) -> None:
        self.state["state"] = name
        self.state["locals"] = {**default_locals(self.process.state_locals[name]), **inputs}
        self.locals_created(self.process.state_locals[name], self.state["locals"])
        self.record("state_entered", name)
        self.queue = [self.add_thread(["states", name, "actions"])]

    def leave_state(self) -> None:
        """End every thread (cancelling what they wait for) and drop the state's variables."""
        for _, thread in self.ordered_threads():
            wait = thread["wait"]
            if wait is None:
                continue
            if wait["kind"] == "work_item":
                self.emit(WithdrawWorkItem(wait["token"]))
                if wait.get("timer"):
                    self.emit(CancelTimer(wait["token"]))
            elif wait["kind"] == "timer":
                self.emit(CancelTimer(wait["token"]))
        self.state.update(locals={}, scopes={}, threads={}, ready=[])
        self.queue.clear()

    def complete(self) -> None:
        self.leave_state()
        self.state["state"] = None
        self.record("completed")

    # ------------------------------------------------------------------ outcome

    def step(self) -> Step:
        name = self.state["state"]
        if name is None:
            return Step(self.state, self.effects, "completed", None, None)
        threads = [thread for _, thread in self.ordered_threads()]
        fault = next((t["fault"] for t in threads if t["fault"]), "")
        wait = next((t["wait"] for t in threads if t["wait"]), None)
        return Step(
            state=self.state,
            effects=self.effects,
            status="error" if fault else "waiting",
            current_state=name,
            waiting_on=wait["kind"] if wait else None,
            waiting_detail=wait["detail"] if wait else "",
            error=fault,
        )
