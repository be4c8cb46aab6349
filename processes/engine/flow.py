"""Actions that steer the flow inside an instance: no waiting on the outside world.

Each function runs the action ``here`` points at and says what the run loop does next
(``NEXT``, ``PUSHED`` or ``STOP``). An action with a nested list of actions runs again,
with its progress, when that list runs out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import values
from .execution import NEXT, PUSHED, STOP, Fault, Here
from .scopes import default_locals, natural_json, thread_scope, to_storage


def assign(here: Here) -> str:
    variable = here.action["variable"]
    here.assign(variable, here.evaluate(here.action["value"], "value"), "value")
    here.run.record("assigned", variable)
    return NEXT


def decision(here: Here) -> str:
    for index, branch in enumerate(here.action.get("branches") or []):
        if here.evaluate(branch["when"], "branches", index, "when"):
            here.run.record("decision", f"branch {index + 1}")
            return here.push("branches", index, "actions")
    if "otherwise" in here.action:
        here.run.record("decision", "otherwise")
        return here.push("otherwise")
    here.run.record("decision", "no branch")
    return NEXT


def loop(here: Here) -> str:
    """``while`` is evaluated before every iteration; ``max_iterations`` caps them."""
    done = (here.progress or {}).get("n", 0)
    if not here.evaluate(here.action["while"], "while"):
        return NEXT
    limit = here.action.get("max_iterations")
    if limit is not None and done >= limit:
        here.run.record("loop_stopped", f"loop stopped at max_iterations ({limit})")
        return NEXT
    if limit is None and done >= here.run.ctx.max_loop_iterations:
        # No bound of its own (across waits too): the server's bound parks the instance in error.
        raise Fault(f"the loop ran {done} times and has no max_iterations: stopped at the server's "
                    "PAS_MaxLoopIterations", "while")
    here.progress = {"n": done + 1}
    return here.push("actions", then_next=False)


def for_each(here: Here) -> str:
    """The collection is evaluated once and kept (as JSON) in the action's progress."""
    progress = here.progress
    if progress is None:
        collection = here.evaluate(here.action["collection"], "collection")
        if not isinstance(collection, list | tuple):
            raise Fault(f"the collection must be a list, not {type(collection).__name__}", "collection")
        try:
            items = natural_json(collection)
        except ValueError as error:
            raise Fault(str(error), "collection") from error
        progress = here.progress = {"items": items, "i": 0}
    index = progress["i"]
    if index >= len(progress["items"]):
        return NEXT
    here.assign(here.action["item"], progress["items"][index], "item")
    progress["i"] = index + 1
    return here.push("actions", then_next=False)


def call_task(here: Here) -> str:
    if here.progress is None:
        return _call(here)
    return _return(here, here.progress["scope"])


def _call(here: Here) -> str:
    run, name = here.run, here.action["task"]
    task_scope, _ = thread_scope(here.thread)
    depth = run.state["scopes"][task_scope]["depth"] + 1 if task_scope else 1
    if depth > run.ctx.depth_threshold:
        raise Fault(f"task recursion deeper than PAS_DepthThreshold ({run.ctx.depth_threshold})")
    specs = run.process.task_locals[name]
    local_values = default_locals(specs)
    local_values.update(_inputs(here, specs, f"task {name}"))
    scope_id = run.new_id("s")
    run.state["scopes"][scope_id] = {"task": name, "vars": local_values, "depth": depth}
    run.locals_created(specs, local_values)
    here.progress = {"scope": scope_id}
    here.thread["stack"].append({"block": ["tasks", name, "actions"], "at": 0, "p": None, "scope": scope_id})
    run.record("task_called", name)
    return PUSHED


def _return(here: Here, scope_id: str) -> str:
    run = here.run
    scope = run.state["scopes"][scope_id]
    specs = run.process.task_locals[scope["task"]]
    copied = {}
    for caller_variable, task_variable in (here.action.get("outputs") or {}).items():
        value = values.from_json(specs[task_variable]["type"], scope["vars"].get(task_variable))
        copied[caller_variable] = here.convert(caller_variable, value, "outputs", caller_variable)
    for name, value in copied.items():
        here.scope.write(name, value)
    del run.state["scopes"][scope_id]
    run.record("task_returned", scope["task"])
    return NEXT


def _inputs(here: Here, specs: Mapping[str, dict[str, Any]], owner: str) -> dict[str, Any]:
    """The action's ``inputs`` evaluated here and converted to the target's local types."""
    converted = {}
    for local, source in (here.action.get("inputs") or {}).items():
        value = here.evaluate(source, "inputs", local)
        spec = specs.get(local)
        if spec is None:
            raise Fault(f"{owner} has no local variable {local}", "inputs", local)
        try:
            converted[local] = to_storage(spec["type"], value)
        except ValueError as error:
            raise Fault(f"cannot assign to {local}: {error}", "inputs", local) from error
    return converted


def change_state(here: Here) -> str:
    run, target = here.run, here.action["state"]
    inputs = _inputs(here, run.process.state_locals[target], f"state {target}")
    run.record("state_left", run.state["state"])
    run.leave_state()
    run.enter_state(target, inputs)
    return STOP


def end_process(here: Here) -> str:
    here.run.complete()
    return STOP


def parallel(here: Here) -> str:
    """One thread per branch; this thread goes on when the last branch has ended."""
    branches = here.action.get("branches") or []
    if not branches:
        return NEXT
    task_scope, error = thread_scope(here.thread)
    base = {"scope": task_scope, "error": error} if task_scope or error is not None else None
    children = [
        here.run.add_thread([*here.position, "branches", index], parent=here.tid, base=base)
        for index in range(len(branches))
    ]
    here.thread["children"] = children
    here.progress = {"then": "next"}
    here.run.queue[0:0] = children
    here.run.record("parallel_started", f"{len(branches)} branches")
    return STOP


FLOW_ACTIONS = {
    "assign": assign,
    "decision": decision,
    "loop": loop,
    "for_each": for_each,
    "call_task": call_task,
    "change_state": change_state,
    "end_process": end_process,
    "parallel": parallel,
}
