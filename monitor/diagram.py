"""A read-only diagram of a process definition as SVG: states, their actions, the transitions.

Pure and typed (no Django import): drawn from the definition document alone, with the current
state outlined and the states the instance passed through shaded. States are stacked top to
bottom in the document's order, each box listing its actions in a few words; a transition
(a ``change_state`` anywhere in a state's actions, exits and branches included) is an arrow
drawn in the margin from one box to the other. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

BOX_WIDTH = 340
LINE = 18
PADDING = 10
GAP = 34
LEFT = 20
MARGIN = 150  # room on the right for the arrows
MAX_ACTIONS = 8


@dataclass(frozen=True)
class StateBox:
    name: str
    lines: tuple[str, ...]
    targets: tuple[str, ...]


def action_words(action: Mapping[str, Any]) -> str:
    """One action in a few words: ``Work item “Check” → Managers``, ``Wait PT1H``."""
    kind = str(action.get("action", ""))
    if kind == "send_work_item":
        to = action.get("to") or {}
        where = to.get("workgroup") or to.get("user") or ""
        return f"Work item “{action.get('work_item')}”" + (f" → {where}" if isinstance(where, str) and where else "")
    if kind == "invoke_web_service":
        return f"Web service “{action.get('operation', '')}”"
    if kind == "run_handler":
        return f"Handler “{action.get('handler', '')}”"
    if kind == "database":
        return f"Database “{action.get('data_source', '')}”"
    if kind == "launch_process":
        return f"Subprocess “{action.get('process', '')}”"
    if kind == "call_task":
        return f"Task “{action.get('task', '')}”"
    if kind == "change_state":
        return f"Go to “{action.get('state', '')}”"
    if kind == "wait":
        return f"Wait {action.get('duration') or 'until ' + str(action.get('until', ''))}"
    if kind == "assign":
        return f"Set {action.get('variable', '')}"
    return kind.replace("_", " ").capitalize()


def _nested_actions(action: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """Every action inside ``action`` (exits, branches, loops, parallel branches, handlers)."""
    for value in action.values():
        if isinstance(value, list):
            for entry in value:
                if isinstance(entry, Mapping):
                    if "action" in entry:
                        yield entry
                        yield from _nested_actions(entry)
                    else:
                        yield from _nested_actions(entry)
        elif isinstance(value, Mapping):
            yield from _nested_actions(value)


def state_boxes(document: Mapping[str, Any]) -> list[StateBox]:
    boxes = []
    for state in document.get("states") or []:
        actions = [a for a in state.get("actions") or [] if isinstance(a, Mapping)]
        every = [inner for action in actions for inner in (action, *_nested_actions(action))]
        targets = tuple(dict.fromkeys(str(a["state"]) for a in every
                                      if a.get("action") == "change_state" and a.get("state")))
        lines = [action_words(a) for a in actions[:MAX_ACTIONS]]
        if len(actions) > MAX_ACTIONS:
            lines.append(f"… {len(actions) - MAX_ACTIONS} more")
        boxes.append(StateBox(str(state.get("name", "")), tuple(lines), targets))
    return boxes


def draw(document: Mapping[str, Any], current: str = "", visited: Sequence[str] = ()) -> str:
    """The SVG of ``document``, ``current`` outlined and ``visited`` shaded."""
    boxes = state_boxes(document)
    tops: dict[str, tuple[float, float]] = {}
    y = 20.0
    parts: list[str] = []
    seen = set(visited)
    for box in boxes:
        height = PADDING * 2 + LINE * (1 + max(1, len(box.lines)))
        tops[box.name] = (y, height)
        classes = ["state"]
        if box.name in seen:
            classes.append("visited")
        if box.name == current:
            classes.append("current")
        label = f"State {box.name}" + (" (current)" if box.name == current else "")
        parts.append(f'<g class="{" ".join(classes)}" data-state="{escape(box.name)}" aria-label="{escape(label)}">')
        parts.append(f'<rect x="{LEFT}" y="{y}" width="{BOX_WIDTH}" height="{height}" rx="8" />')
        parts.append(f'<text x="{LEFT + PADDING}" y="{y + PADDING + 13}" class="name">{escape(box.name)}'
                     f'{" ◀ now" if box.name == current else ""}</text>')
        for index, line in enumerate(box.lines or ("(no actions)",)):
            parts.append(f'<text x="{LEFT + PADDING + 8}" y="{y + PADDING + 13 + LINE * (index + 1)}">'
                         f'{escape(line)}</text>')
        parts.append("</g>")
        y += height + GAP
    parts.extend(_arrows(boxes, tops, document.get("start_state")))
    width = LEFT + BOX_WIDTH + MARGIN
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="process-diagram" viewBox="0 0 {width} {y}" '
            f'width="{width}" height="{y}" role="img" aria-label="Diagram of the process states">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" /></marker></defs>'
            + "".join(parts) + "</svg>")


def _arrows(boxes: Sequence[StateBox], tops: Mapping[str, tuple[float, float]], start: Any) -> list[str]:
    parts = []
    right = LEFT + BOX_WIDTH
    lane = 0
    for box in boxes:
        for target in box.targets:
            if target not in tops:
                continue
            lane += 1
            out = right + 12 + (lane % 8) * 15
            y1 = tops[box.name][0] + tops[box.name][1] / 2
            y2 = tops[target][0] + 14
            parts.append(f'<path class="transition" d="M {right} {y1} C {out} {y1}, {out} {y2}, {right} {y2}" '
                         f'marker-end="url(#arrow)"><title>{escape(box.name)} → {escape(target)}</title></path>')
    if isinstance(start, str) and start in tops:
        y = tops[start][0] + 14
        parts.append(f'<path class="transition start" d="M {LEFT - 16} {y} L {LEFT} {y}" marker-end="url(#arrow)" />')
    return parts

