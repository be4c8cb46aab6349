"""An indexed, read-only view of a valid process definition.

``compile_process`` does no validation (``validation.py`` does that before a definition
is stored): it indexes states, tasks, work items and variables by name so the
interpreter can find them quickly, and resolves *positions* — lists such as
``["states", "Intake", "actions", 0, "exits", "approve"]`` that name a list of actions
inside the definition. Positions use state and task names rather than indexes, so an
execution state that stores them is readable, and errors can name the place in the
same words (``states.Intake.actions[0].exits.approve``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

Position = Sequence[str | int]


def _by_name(items: Sequence[dict[str, Any]] | None) -> Mapping[str, dict[str, Any]]:
    return MappingProxyType({item["name"]: item for item in items or ()})


@dataclass(frozen=True, eq=False)
class Process:
    """A definition indexed by name. Never mutate the dicts it hands out."""

    document: Mapping[str, Any]
    name: str
    start_state: str
    globals: Mapping[str, dict[str, Any]]
    states: Mapping[str, dict[str, Any]]
    tasks: Mapping[str, dict[str, Any]]
    work_items: Mapping[str, dict[str, Any]]
    state_locals: Mapping[str, Mapping[str, dict[str, Any]]]
    task_locals: Mapping[str, Mapping[str, dict[str, Any]]]
    _blocks: dict[tuple[str | int, ...], list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    @property
    def input_variables(self) -> tuple[dict[str, Any], ...]:
        """The globals that may be given at launch, in the order they are declared."""
        return tuple(spec for spec in self.globals.values() if spec.get("input"))

    @cached_property
    def launches_subprocesses(self) -> bool:
        """Whether an action anywhere launches a subprocess (then a step counts its launch tree)."""
        return _has_action(self.document, "launch_process")

    def block(self, position: Position) -> list[dict[str, Any]]:
        """The list of actions at ``position`` (see the module docstring)."""
        key = tuple(position)
        found = self._blocks.get(key)
        if found is None:
            found = self._blocks[key] = self._walk(key)
        return found

    def action(self, position: Position) -> dict[str, Any]:
        """The action at ``position``: a block's position followed by an index."""
        *block, index = position
        assert isinstance(index, int), f"{format_position(position)} is not the position of an action"
        return self.block(block)[index]

    def _walk(self, key: tuple[str | int, ...]) -> Any:
        kind, name, *rest = key
        assert isinstance(name, str), f"{format_position(key)} does not start with a state or task name"
        node: Any = self.states[name] if kind == "states" else self.tasks[name]
        for part in rest:
            node = node[part]
        return node


def _has_action(node: Any, kind: str) -> bool:
    if isinstance(node, Mapping):
        return node.get("action") == kind or any(_has_action(value, kind) for value in node.values())
    if isinstance(node, list):
        return any(_has_action(item, kind) for item in node)
    return False


def compile_process(document: dict[str, Any]) -> Process:
    """Index a valid definition. The document is not copied: do not change it afterwards."""
    states = document.get("states") or []
    tasks = document.get("tasks") or []
    return Process(
        document=document,
        name=document["name"],
        start_state=document["start_state"],
        globals=_by_name(document.get("variables")),
        states=_by_name(states),
        tasks=_by_name(tasks),
        work_items=_by_name(document.get("work_items")),
        state_locals=MappingProxyType({s["name"]: _by_name(s.get("variables")) for s in states}),
        task_locals=MappingProxyType({t["name"]: _by_name(t.get("variables")) for t in tasks}),
    )


def format_position(position: Position) -> str:
    """``["states", "Intake", "actions", 0, "when"]`` -> ``states.Intake.actions[0].when``."""
    text = ""
    for part in position:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
