"""Variables: where a name resolves, how values move between JSON and expressions.

Inside the execution state every value is JSON (its storage form from ``values.to_json``);
inside expressions it is a Python value (``values.from_json``). A name resolves
innermost first: the locals of the task being run, then the current state's locals, then
the globals — with the built-ins ``initiator``, ``instance_id`` and, inside ``on_error``,
``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import values
from .expressions import compile_expression, compile_template
from .process import Process


@dataclass(frozen=True)
class ScopedVariable:
    """A variable visible at some point of an instance: what a work item form shows."""

    name: str
    spec: Mapping[str, Any]
    value: Any  # JSON storage form


Layer = tuple[Mapping[str, dict[str, Any]], dict[str, Any]]  # (specs by name, JSON values by name)


def natural_json(value: Any) -> Any:
    """The JSON form of an expression's result when no variable type says otherwise.

    Decimals become text (``"12.50"``), dates and datetimes ISO 8601 text, durations ISO
    8601 durations; ValueError for what JSON cannot hold.
    """
    return values.to_json("json", value)


def to_storage(type_name: str, value: Any) -> Any:
    """Coerce ``value`` to ``type_name`` and return its JSON storage form (or ValueError)."""
    return values.to_json(type_name, value)


def default_locals(specs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: values.default_value(spec) for name, spec in specs.items()}


LocalWritten = Callable[[str, Any, Mapping[str, Any]], None]  # (name, JSON value, spec) of a logged local


class Scope:
    """The variables one thread sees at its current position."""

    def __init__(self, layers: list[Layer], builtins: Mapping[str, Any],
                 logged_local_written: LocalWritten | None = None) -> None:
        self.layers = layers  # innermost first; the globals last
        self.builtins = builtins
        self.logged_local_written = logged_local_written

    def find(self, name: str) -> Layer | None:
        for specs, stored in self.layers:
            if name in specs:
                return specs, stored
        return None

    def spec(self, name: str) -> dict[str, Any]:
        found = self.find(name)
        if found is None:
            raise ValueError(f"cannot assign to {name}: no variable of that name is in scope")
        return found[0][name]

    def names(self, wanted: Iterable[str]) -> dict[str, Any]:
        """Python values for the names an expression reads (those that resolve)."""
        names: dict[str, Any] = {}
        for name in wanted:
            if name == "error" and "error" in self.builtins:
                names[name] = self.builtins[name]
                continue
            found = self.find(name)
            if found is not None:
                specs, stored = found
                names[name] = values.from_json(specs[name]["type"], stored.get(name))
            elif name in self.builtins:
                names[name] = self.builtins[name]
        return names

    def evaluate(self, source: Any, now: datetime) -> Any:
        """Evaluate an expression (a non-string is a JSON literal and stands for itself)."""
        if not isinstance(source, str):
            return source
        expression = compile_expression(source)
        return expression.evaluate(self.names(expression.names), now)

    def render(self, source: str, now: datetime) -> str:
        template = compile_template(source)
        return template.render(self.names(template.names), now)

    def convert(self, name: str, value: Any) -> Any:
        """``value`` in the storage form of variable ``name`` (ValueError naming the variable)."""
        spec = self.spec(name)
        try:
            return to_storage(spec["type"], value)
        except ValueError as error:
            raise ValueError(f"cannot assign to {name}: {error}") from error

    def write(self, name: str, stored_value: Any) -> None:
        """Store an already converted value in the innermost scope declaring ``name``."""
        found = self.find(name)
        assert found is not None, name
        found[1][name] = stored_value
        spec = found[0][name]
        if self.logged_local_written is not None and spec.get("log") and found[1] is not self.layers[-1][1]:
            self.logged_local_written(name, stored_value, spec)

    def visible(self) -> dict[str, ScopedVariable]:
        seen: dict[str, ScopedVariable] = {}
        for specs, stored in reversed(self.layers):
            for name, spec in specs.items():
                seen[name] = ScopedVariable(name, spec, stored.get(name))
        return seen


def thread_scope(thread: dict[str, Any]) -> tuple[str | None, Any]:
    """The task scope id and the ``error`` built-in visible at the top of ``thread``.

    Walking down the thread's frames, the first frame that starts a task body names the
    task scope; ``error`` is visible only from the ``on_error`` frame up to such a
    boundary. A parallel branch inherits both from where its ``parallel`` began.
    """
    error = None
    for frame in reversed(thread["stack"]):
        if "error" in frame and error is None:
            error = frame["error"]
        if "scope" in frame:
            return frame["scope"], error
    base = thread.get("base") or {}
    return base.get("scope"), error if error is not None else base.get("error")


def build_scope(
    process: Process, state: dict[str, Any], thread: dict[str, Any], builtins: Mapping[str, Any],
    logged_local_written: LocalWritten | None = None,
) -> Scope:
    task_scope, error = thread_scope(thread)
    layers: list[Layer] = []
    if task_scope is not None:
        scope = state["scopes"][task_scope]
        layers.append((process.task_locals[scope["task"]], scope["vars"]))
    if state["state"] is not None:
        layers.append((process.state_locals[state["state"]], state["locals"]))
    layers.append((process.globals, state["globals"]))
    if error is not None:
        builtins = {**builtins, "error": error}
    return Scope(layers, builtins, logged_local_written)
