"""Small builders for engine tests: definitions, a context, and an instance driver.

``Instance`` drives the pure interpreter the way the Django layer does: it keeps the
execution state between steps, passes it through ``json.dumps``/``json.loads`` before
every step (so the state is proven to be JSON only) and checks that ``handle`` never
changes the dict it was given.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from processes.engine import (
    Context,
    Effect,
    Event,
    Launch,
    Record,
    Step,
    compile_process,
    handle,
    start,
)

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def context(**overrides: Any) -> Context:
    return Context(**{"now": NOW, "instance_id": 7, "initiator": "ann", **overrides})


def var(name: str, type: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type, **extra}


def state(
    name: str, *actions: dict[str, Any], variables: Sequence[dict] = (), inputs: Sequence[str] = ()
) -> dict:
    return {"name": name, "variables": list(variables), "inputs": list(inputs), "actions": list(actions)}


def task(
    name: str,
    *actions: dict[str, Any],
    variables: Sequence[dict] = (),
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "name": name,
        "variables": list(variables),
        "inputs": list(inputs),
        "outputs": list(outputs),
        "actions": list(actions),
    }


def work_item(
    name: str, buttons: tuple[str, ...] = ("ok",), fields: Sequence[dict] = (), **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "fields": list(fields),
        "buttons": [{"id": button, "label": button.title()} for button in buttons],
        **extra,
    }


def definition(
    *actions: dict[str, Any],
    variables: Sequence[dict] = (),
    locals: Sequence[dict] = (),
    states: Sequence[dict] = (),
    tasks: Sequence[dict] = (),
    work_items: Sequence[dict] = (),
    name: str = "Test Process",
) -> dict[str, Any]:
    """A definition; with ``actions`` its first state is ``Main`` running them."""
    all_states = ([state("Main", *actions, variables=locals)] if actions or not states else []) + list(states)
    return {
        "format": "ipa.process/v1",
        "name": name,
        "variables": list(variables),
        "start_state": all_states[0]["name"],
        "states": all_states,
        "tasks": list(tasks),
        "work_items": list(work_items),
    }


def act(kind: str, **keys: Any) -> dict[str, Any]:
    """An action: ``act("assign", variable="x", value="1")``."""
    return {"action": kind, **keys}


def send(item: str, exits: dict[str, list] | None = None, to: dict | None = None, **keys: Any) -> dict:
    """A ``send_work_item`` to workgroup Clerks whose buttons have empty exits by default."""
    return act(
        "send_work_item",
        work_item=item,
        to=to or {"workgroup": "Clerks"},
        exits=exits if exits is not None else {"ok": []},
        **keys,
    )


class Instance:
    """One instance of a definition, stepped through JSON like the layer does."""

    def __init__(self, document: dict[str, Any], **ctx: Any) -> None:
        self.process = compile_process(document)
        self.ctx = context(**ctx)
        self.state: dict[str, Any] | None = None
        self.step: Step | None = None
        self.steps: list[Step] = []

    def start(self, **inputs: Any) -> Step:
        return self._keep(start(self.process, Launch(inputs), self.ctx))

    def send(self, event: Event, **ctx: Any) -> Step:
        assert self.state is not None, "start the instance first"
        given = json.loads(json.dumps(self.state))
        before = copy.deepcopy(given)
        step = handle(self.process, given, event, context(**{**self._ctx_fields(), **ctx}))
        assert given == before, "handle() changed the state it was given"
        return self._keep(step)

    def _ctx_fields(self) -> dict[str, Any]:
        return {name: getattr(self.ctx, name) for name in self.ctx.__dataclass_fields__}

    def _keep(self, step: Step) -> Step:
        self.state = json.loads(json.dumps(step.state))
        assert self.state == step.state, "the state does not survive a JSON round trip"
        self.step = step
        self.steps.append(step)
        return step

    @property
    def status(self) -> str:
        assert self.step is not None
        return self.step.status

    @property
    def globals(self) -> dict[str, Any]:
        assert self.state is not None
        return self.state["globals"]

    def effects(self, kind: type | None = None) -> list[Effect]:
        """The last step's effects (of one kind)."""
        assert self.step is not None
        return [e for e in self.step.effects if kind is None or isinstance(e, kind)]

    def history(self) -> list[tuple[str, str]]:
        """Every Record of every step so far, as (what, detail)."""
        return [(e.what, e.detail) for step in self.steps for e in step.effects if isinstance(e, Record)]

    def records(self) -> list[tuple[str, str]]:
        """The last step's Records."""
        return [(e.what, e.detail) for e in self.effects(Record)]

    def token(self, kind: type) -> str:
        """The token of the last step's only effect of ``kind``."""
        found = self.effects(kind)
        assert len(found) == 1, found
        return found[0].token
