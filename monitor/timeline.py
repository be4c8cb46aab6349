"""An instance's history as sentences for people: the one formatter of history codes.

Pure and typed (no Django import). History entries name states, actions, work items and
variables, never values (processes.models.HistoryEntry), so the sentences cannot leak a
protected value either. The code and the technical position (``states.Pay.actions[0]``)
stay available beside each sentence, for a disclosure, never as the headline.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from processes.history_text import sent_item

EXTERNAL_WORDS = {
    "invoke_web_service": "the web service",
    "run_handler": "the handler",
    "database": "the database query on",
    "send_email": "the email",
}
ACTION_FAILED = re.compile(rf"^(?P<label>(?:{'|'.join(EXTERNAL_WORDS)})(?: [^:]+)?) failed: (?P<rest>.*)$",
                           re.DOTALL)
FAULT = re.compile(r"^in state (?P<state>.+?), (?P<where>\S+): (?P<reason>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Entry:
    at: datetime
    what: str
    detail: str
    user: str


@dataclass(frozen=True)
class Moment:
    at: datetime
    text: str
    technical: str
    by: str
    kind: str  # the code, for styling (error, comment ...)


def duration_text(seconds: float) -> str:
    """``2 h``, ``5 min``, ``40 s``, ``3 d`` (the largest whole unit)."""
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def external_words(label: str) -> str:
    """``invoke_web_service Credit Check`` -> ``the web service “Credit Check”``."""
    kind, _, name = label.partition(" ")
    words = EXTERNAL_WORDS.get(kind, kind.replace("_", " "))
    return f"{words} “{name}”" if name else words


def error_words(error: str) -> tuple[str, str]:
    """An instance's error as people read it (`` in the state “Score”: …`` or ``: …``) and its technical
    position (``states.Score.actions[0]``, or empty), which belongs behind a disclosure."""
    fault = FAULT.match(error)
    if fault:
        return f" in the state “{fault['state']}”: {_plain_reason(fault['reason'])}", fault["where"]
    return f": {_plain_reason(error)}", ""


def _plain_reason(reason: str) -> str:
    """``run_handler http_json failed: …`` -> ``the handler “http_json” failed: …``."""
    failed = ACTION_FAILED.match(reason)
    if not failed:
        return reason
    return f"{external_words(failed['label'])} failed: {failed['rest']}"


def timeline(entries: Sequence[Entry], recipients: Mapping[str, Sequence[str]] | None = None) -> list[Moment]:
    """Sentences for ``entries`` (oldest first). ``recipients[name]`` lists, in order, who each
    work item called ``name`` went to (``workgroup Managers``, ``bob``)."""
    sent: dict[str, int] = defaultdict(int)
    timers: dict[str, datetime] = {}
    moments = []
    for entry in entries:
        text = _sentence(entry, recipients or {}, sent, timers)
        technical = f"{entry.what} {entry.detail}".strip()
        moments.append(Moment(entry.at, text, technical, entry.user, entry.what))
    return moments


def _sentence(entry: Entry, recipients: Mapping[str, Sequence[str]], sent: dict[str, int],
              timers: dict[str, datetime]) -> str:
    what, detail, who = entry.what, entry.detail, entry.user or "Someone"
    name, _, rest = detail.partition(": ")
    if what == "launched":
        return f"{entry.user} started the process" if entry.user else "The process started"
    if what == "state_entered":
        return f"Entered the state “{detail}”"
    if what == "state_left":
        return f"Left the state “{detail}”"
    if what == "work_item_sent":
        item, destination = sent_item(detail)
        places = recipients.get(item) or ()
        index = sent[item]
        sent[item] += 1
        if index < len(places):
            return f"Sent “{item}” to {places[index]}"
        return f"Sent “{item}” to {destination}" if destination else f"Sent “{item}”"
    if what == "work_item_completed":
        return f"{who} completed “{name}” with “{rest}”"
    if what == "work_item_timed_out":
        return f"Nobody completed “{detail}” in time: it was withdrawn"
    if what == "work_item_undeliverable":
        return f"Could not deliver “{name}”: {rest}"
    if what == "timer_started":
        timers[detail] = entry.at
        return "Started waiting for a timer"
    if what == "timer_fired":
        started = timers.get(detail)
        if started is None:
            return "The timer fired"
        return f"Waited {duration_text((entry.at - started).total_seconds())} for the timer"
    if what == "external_started":
        return f"Called {external_words(detail)}"
    if what == "external_finished":
        return f"{external_words(detail).capitalize()} answered"
    if what == "external_failed":
        return f"{external_words(name).capitalize()} failed: {rest}"
    if what == "error":
        return f"Stopped in error{error_words(detail)[0]}"
    if what in ("retried", "skipped"):
        action = "ran the failed action again" if what == "retried" else "skipped the failed action"
        return f"{who} {action}"
    if what == "cancelled":
        return f"{entry.user} cancelled the instance" if entry.user else "The instance was cancelled"
    if what == "moved":
        left, _, entered = detail.partition(" -> ")
        return f"{who} moved it from the state “{left}” to “{entered}”"
    if what == "comment":
        return f"{who} noted: “{rest or detail}”"
    if what == "assigned":
        return f"Set “{detail}”"
    if what == "decision":
        return "A decision took no branch" if detail == "no branch" else f"A decision took {detail}"
    if what == "task_called":
        return f"Called the task “{detail}”"
    if what == "task_returned":
        return f"The task “{detail}” returned"
    if what == "parallel_started":
        return f"Split into {detail}"
    if what == "subprocess_launched":
        return f"Launched the subprocess “{detail}”"
    if what == "child_created":
        return f"Created the subprocess instance {detail}"
    if what == "subprocess_ended":
        return f"The subprocess “{name}” ended: {rest}"
    if what == "completed":
        return "Completed"
    return f"{what.replace('_', ' ').capitalize()}{': ' + detail if detail else ''}"
