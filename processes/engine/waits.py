"""Actions that wait inside the portal: work items, timers and subprocesses.

Each action starts its wait with a new token and stops the thread; the matching
``resume_*`` function runs when the event naming that token arrives, with ``here`` on
the waiting action.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import values
from .execution import NEXT, Fault, Here
from .expressions import compile_expression
from .scopes import natural_json
from .types import (
    CancelTimer,
    LaunchSubprocess,
    SendWorkItem,
    StartTimer,
    SubprocessEnded,
    WithdrawWorkItem,
    WorkItemCompleted,
)


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(here: Here, text: str, *key: str | int) -> timedelta:
    try:
        return values.parse_duration(text)
    except ValueError as error:
        raise Fault(str(error), *key) from error


# ----------------------------------------------------------------------- work items


def send_work_item(here: Here) -> str:
    run, action = here.run, here.action
    name = action["work_item"]
    item = run.process.work_items[name]
    to = action["to"]
    user = workgroup = None
    skills: tuple[tuple[str, int], ...] = ()
    priority = 0
    if "user" in to:
        user = here.render(to["user"], "to", "user").strip()
        if not user:
            raise Fault(f"work item {name} has no user to go to", "to", "user")
    else:
        workgroup = here.render(to["workgroup"], "to", "workgroup").strip()
        if not workgroup:
            raise Fault(f"work item {name} has no workgroup to go to", "to", "workgroup")
        skills = tuple((skill["name"], int(skill.get("min_level", 0))) for skill in to.get("skills") or ())
        if to.get("priority") is not None:
            priority = _priority(here, here.evaluate(to["priority"], "to", "priority"))
    description = here.render(item.get("description") or "", "work_item")
    timeout = action.get("timeout")
    due = run.ctx.now + _duration(here, timeout, "timeout") if timeout else None

    token = run.new_id("w")
    category = item.get("category") or ""
    run.emit(SendWorkItem(token, name, description, category, user, workgroup, skills, priority))
    if due is not None:
        run.emit(StartTimer(token, due))
    run.record("work_item_sent", name + _destination(to))
    return here.wait(token, "work_item", f"work item {name}", timer=due is not None)


def _destination(to: dict[str, Any]) -> str:
    """`` to workgroup Managers`` when the definition names it; a computed one is a value, left out."""
    kind = "user" if "user" in to else "workgroup"
    written = str(to[kind])
    return "" if "{{" in written or "{%" in written else f" to {kind} {written.strip()}"


def _priority(here: Here, value: Any) -> int:
    try:
        return int(values.coerce("integer", value))
    except ValueError as error:
        raise Fault(f"the priority must be a whole number: {error}", "to", "priority") from error


def resume_work_item_completed(here: Here, event: WorkItemCompleted) -> str:
    """Store the form's values where the item was sent, then run the button's exit."""
    run, action = here.run, here.action
    name = action["work_item"]
    wait = here.end_wait()
    if wait.get("timer"):
        run.emit(CancelTimer(wait["token"]))
    if event.button not in (action.get("exits") or {}):
        raise Fault(f"work item {name} has no exit for button {event.button!r}", "exits")
    fields = run.process.work_items[name].get("fields") or []
    writable = [field["variable"] for field in fields if not field.get("readonly")]
    stored = {
        variable: here.convert(variable, event.values[variable], "work_item")
        for variable in writable
        if variable in event.values
    }
    for variable, value in stored.items():
        here.scope.write(variable, value)
    run.record("work_item_completed", f"{name}: {event.button}")
    return here.push("exits", event.button)


def resume_work_item_timed_out(here: Here) -> str:
    run, name = here.run, here.action["work_item"]
    run.emit(WithdrawWorkItem(here.end_wait()["token"]))
    run.record("work_item_timed_out", name)
    if here.action.get("on_timeout"):
        return here.push("on_timeout")
    return NEXT


# --------------------------------------------------------------------------- timers


def wait(here: Here) -> str:
    run, action = here.run, here.action
    shown = True
    if action.get("duration"):
        due = run.ctx.now + _duration(here, action["duration"], "duration")
    else:
        due = _moment(here.evaluate(action["until"], "until"))
        shown = not _reads_protected(here, action["until"])
    token = run.new_id("w")
    run.emit(StartTimer(token, due))
    run.record("timer_started", token)
    # The detail is shown to every viewer of the instance: a time computed from a protected
    # variable would reveal it, so then it says only that there is one.
    detail = f"timer until {format_utc(due)}" if shown else "timer until a protected time"
    return here.wait(token, "timer", detail)


def _reads_protected(here: Here, source: Any) -> bool:
    """Whether the expression reads a variable under a security specification."""
    if not isinstance(source, str):
        return False
    for name in compile_expression(source).names:
        found = here.scope.find(name)
        if found is not None and found[0][name].get("security"):
            return True
    return False


def _moment(value: Any) -> datetime:
    """A due time from an ``until`` value: a datetime, a date (midnight UTC) or ISO text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as error:  # Python's message quotes the text: it may be a protected value
            raise Fault("until gave text that is not an ISO 8601 date or time", "until") from error
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise Fault(f"until must give a date or a datetime, not {type(value).__name__}", "until")


def resume_timer_fired(here: Here) -> str:
    here.run.record("timer_fired", here.end_wait()["token"])
    return NEXT


# ----------------------------------------------------------------------- subprocesses


def launch_process(here: Here) -> str:
    run, action = here.run, here.action
    threshold = run.ctx.depth_threshold
    if run.ctx.depth + 1 > threshold:
        raise Fault(f"subprocess depth past PAS_DepthThreshold ({threshold})")
    name = action["process"]
    inputs = {}
    for variable, source in (action.get("inputs") or {}).items():
        try:
            inputs[variable] = natural_json(here.evaluate(source, "inputs", variable))
        except ValueError as error:
            raise Fault(str(error), "inputs", variable) from error
    run.count_launch()
    waits = bool(action.get("wait", False))
    token = run.new_id("w")
    run.emit(LaunchSubprocess(token, name, inputs, waits))
    run.record("subprocess_launched", name)
    if not waits:
        return NEXT
    return here.wait(token, "subprocess", f"subprocess {name}")


def resume_subprocess_ended(here: Here, event: SubprocessEnded) -> str:
    name = here.action["process"]
    here.end_wait()
    if event.status != "completed":
        raise Fault(f"subprocess {name} ended {event.status}")
    stored = {}
    for variable, child_variable in (here.action.get("outputs") or {}).items():
        if child_variable not in event.variables:
            raise Fault(f"subprocess {name} has no variable {child_variable}", "outputs", variable)
        stored[variable] = here.convert(variable, event.variables[child_variable], "outputs", variable)
    for variable, value in stored.items():
        here.scope.write(variable, value)
    here.run.record("subprocess_ended", f"{name}: {event.status}")
    return NEXT


WAIT_ACTIONS = {"send_work_item": send_work_item, "wait": wait, "launch_process": launch_process}
