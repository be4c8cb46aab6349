"""History entries and errors in plain words, for the people who read them.

The engine and the services record history as a code and a short detail
(``("work_item_completed", "Approve Expense: approve")``): the codes stay in the API for
scripts, and every page (the work item client, the instance page, the monitor) shows the
sentence this module makes of them instead. Pure functions, no Django: what is not known
here is passed in (who did it, the labels of buttons).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

# A position in a definition, as the engine writes it into errors: states.Mail.actions[0].when
_POSITION = re.compile(r"(?:states|tasks|work_items|variables)\.[^,:\s\[]+(?:\[\d+\]|\.[A-Za-z_]+)*")
_SENT_TO = re.compile(r"^(?P<item>.+?) to (?P<kind>workgroup|user) (?P<whom>.+)$")


ACRONYMS = frozenset({"iban", "bic", "id", "vat", "url", "sku", "pin", "ssn", "api", "crm", "pdf", "ip"})


def humanize(name: str) -> str:
    """``customer_name`` -> ``Customer name``; ``iban`` -> ``IBAN``; ``approve`` -> ``Approve``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.replace("_", " ").replace("-", " ")).split()
    if not words:
        return name
    text = " ".join(word.upper() if word.lower() in ACRONYMS else word if word.isupper() and len(word) > 1
                    else word.lower() for word in words)
    return _first_up(text)


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def error_text(message: str) -> str:
    """An engine or service error without the positions only a designer reads.

    ``in state Mail, states.Mail.actions[0]: the server refused`` -> ``in state Mail: the server refused``.
    """
    text = _POSITION.sub("", message)
    text = re.sub(r",\s*:", ":", text)
    text = re.sub(r"\s+,", ",", text)
    return re.sub(r"\s{2,}", " ", text).strip(" ,")


def _item_and_button(detail: str, buttons: Mapping[str, str]) -> tuple[str, str]:
    item, _, button = detail.rpartition(": ")
    if not item:
        return detail, ""
    return item, buttons.get(button) or humanize(button)


def sent_item(detail: str) -> tuple[str, str]:
    """A ``work_item_sent`` detail as (item name, destination in words: "workgroup Managers", or "")."""
    match = _SENT_TO.match(detail)
    return (match["item"], f"{match['kind']} {match['whom']}") if match else (detail, "")


def _sent(detail: str) -> str:
    match = _SENT_TO.match(detail)
    if match is None:
        return f"Sent {detail}" if detail else "Sent a work item"
    return f"Sent {match['item']} to {match['kind']} {match['whom']}"


_FOR_AWAY = re.compile(r"^(?P<item>.+?) to user (?P<whom>\S+) for (?P<away>\S+)$")


def _substituted(detail: str) -> str:
    match = _FOR_AWAY.match(detail)
    if match is None:
        return f"Sent {detail} to a substitute"
    return f"Sent {match['item']} to {match['whom']}, for {match['away']}, who is away"


def _completed(detail: str, who: str, buttons: Mapping[str, str]) -> str:
    item, button = _item_and_button(detail, buttons)
    subject = who or "Someone"
    return f"{subject} completed {item} with {button}" if button else f"{subject} completed {item}"


_Sentence = Callable[[str], str]
SENTENCES: dict[str, _Sentence] = {
    "launched": lambda d: "Started",
    "completed": lambda d: "Finished",
    "cancelled": lambda d: f"Cancelled {d}".strip(),
    "state_entered": lambda d: f"Entered {d}",
    "state_left": lambda d: f"Left {d}",
    "assigned": lambda d: f"Set {humanize(d).lower()}" if d else "Set a value",
    "decision": lambda d: {"otherwise": "Took the otherwise branch", "no branch": "No branch applied"}.get(
        d, f"Took {d}"),
    "loop_stopped": lambda d: "Stopped repeating: " + d.removeprefix("loop stopped at ").replace(
        "max_iterations", "the most repetitions allowed"),
    "task_called": lambda d: f"Started task {d}",
    "task_returned": lambda d: f"Task {d} finished",
    "parallel_started": lambda d: f"Started {d} side by side",
    "work_item_sent": _sent,
    "work_item_substituted": lambda d: _substituted(d),
    "work_item_timed_out": lambda d: f"Nobody completed {d} in time",
    "work_item_undeliverable": lambda d: "Could not send " + d.replace(": no ", ": there is no ", 1),
    "timer_started": lambda d: "Started waiting",
    "timer_fired": lambda d: "The wait is over",
    "subprocess_launched": lambda d: f"Started {d}",
    "child_created": lambda d: f"Started {d}",
    "subprocess_ended": lambda d: "{} ended ({})".format(*d.rsplit(": ", 1)) if ": " in d else f"{d} ended",
    "subprocess_not_launched": lambda d: f"Could not start a sub-process: {error_text(d)}",
    "external_started": lambda d: f"Asked {_service(d)}",
    "external_finished": lambda d: f"{_first_up(_service(d))} answered",
    "external_failed": lambda d: f"{_first_up(_service(d.split(': ')[0]))} failed",
    "external_late": lambda d: "A late answer was set aside",
    "error": lambda d: f"Stopped with an error: {error_text(d)}",
    "restored_in_error": lambda d: f"Interrupted while waiting on another system; it needs a supervisor: {d}",
    "event_ignored": lambda d: "Something arrived that nothing was waiting for",
    "event_dropped": lambda d: "Something arrived after the end and was set aside",
}

_SERVICES = {"invoke_web_service": "the web service", "run_handler": "the handler", "database": "the database",
             "send_email": "the mail server"}


def _service(label: str) -> str:
    kind, _, name = label.partition(" ")
    what = _SERVICES.get(kind, humanize(kind).lower())
    return f"{what} {name}".strip()


def history_sentence(what: str, detail: str = "", *, who: str = "", buttons: Mapping[str, str] | None = None,
                     on_behalf_of: str = "") -> str:
    """One history entry as a sentence: ``("work_item_completed", "Approve Expense: approve", who="bob")``
    -> ``bob completed Approve Expense with Approve``.

    ``buttons`` maps button ids to their labels where the page knows them; an unknown code is
    humanized rather than shown as it is.
    """
    detail = detail or ""
    if what == "work_item_completed":
        sentence = _completed(detail, who, buttons or {})
    else:
        sentence = SENTENCES[what](detail) if what in SENTENCES else (
            f"{humanize(what)}: {detail}" if detail else humanize(what))
    if on_behalf_of:
        sentence += f", for {on_behalf_of}, who is away"
    return sentence
