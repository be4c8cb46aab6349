"""The rules of a process definition that its JSON Schema cannot express: names.

Names must resolve — states, tasks, work items, buttons and variables in scope — and be
unique where they are declared; expressions and templates must parse and read only
variables in scope; state-level actions must stay out of tasks. ``validation.py`` runs
these checks beside the structural ones. They inspect only the parts that are sound
enough to read and skip everything else, so a malformed document never makes them fail.

A name resolves innermost first: the enclosing task's locals (a task does not see its
caller's locals), else the enclosing state's locals, then the globals. ``initiator`` and
``instance_id`` are always in scope, and ``error`` inside an ``on_error`` list.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from processes.engine import values
from processes.engine.expressions import ExpressionError, compile_expression, compile_template

BUILTIN_NAMES = frozenset({"initiator", "instance_id"})
ERROR_NAME = "error"  # in scope inside on_error
ACTION_KINDS = frozenset(
    {
        "assign",
        "decision",
        "loop",
        "for_each",
        "call_task",
        "change_state",
        "end_process",
        "send_work_item",
        "invoke_web_service",
        "run_handler",
        "database",
        "send_email",
        "launch_process",
        "wait",
        "parallel",
    }
)  # each has a check_<kind> method below
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQL_PARAMETER = re.compile(r"%\(([^)]*)\)s")

Problem = tuple[str, str]  # (path, message)


def json_path(parts: Iterable[Any]) -> str:
    """``["states", 1, "exits", "approve", 2]`` -> ``states[1].exits.approve[2]``; ``[]`` -> ``$``."""
    path = ""
    for part in parts:
        path = child(path, part)
    return path or "$"


def child(path: str, part: Any) -> str:
    """``path`` extended by a list index or a key (quoted when it is not a plain name)."""
    if isinstance(part, int) and not isinstance(part, bool):
        return f"{path}[{part}]"
    part = str(part)
    if NAME.fullmatch(part):
        return f"{path}.{part}" if path else part
    return f"{path}[{json.dumps(part, ensure_ascii=False)}]"


def did_you_mean(word: Any, candidates: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` when a candidate is close to ``word``, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f" (did you mean {quoted(close[0])}?)" if close else ""


def quoted(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def check_references(document: Any) -> list[Problem]:
    """Every naming problem of ``document`` as ``(path, message)`` pairs, in no order."""
    if not isinstance(document, dict):
        return []
    checker = _Checker(document)
    checker.check()
    return checker.problems


# --------------------------------------------------------------------- reading safely


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _is_name(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and NAME.fullmatch(value) is not None


def _by_name(items: Any, path: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """{name: (path, item)} for the dict items of a list; the first of duplicates wins."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for index, item in enumerate(_list(items)):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            found.setdefault(item["name"], (f"{path}[{index}]", item))
    return found


def _variables(items: Any) -> dict[str, dict[str, Any]]:
    return {name: spec for name, (_, spec) in _by_name(items, "").items() if _is_name(name)}


def _strings(items: Any) -> list[str]:
    return [item for item in _list(items) if isinstance(item, str)]


# --------------------------------------------------------------------------- scopes


@dataclass(frozen=True)
class _Scope:
    """What the actions at one place may read and write."""

    owner: str  # 'state "Intake"' or 'task "Pay"', for messages
    variables: Mapping[str, dict[str, Any]]  # name -> spec, innermost wins
    builtins: frozenset[str] = BUILTIN_NAMES
    in_task: bool = False

    @property
    def readable(self) -> frozenset[str]:
        return frozenset(self.variables) | self.builtins

    def on_error(self) -> _Scope:
        return replace(self, builtins=self.builtins | {ERROR_NAME})


@dataclass(frozen=True)
class _SendSite:
    """A send_work_item naming a known work item, whose fields are checked in its scope."""

    item_path: str  # work_items[2]
    item: dict[str, Any]
    path: str  # the send_work_item action
    scope: _Scope


# -------------------------------------------------------------------------- checker


class _Checker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.globals = _variables(document.get("variables"))
        self.states = _by_name(document.get("states"), "states")
        self.tasks = _by_name(document.get("tasks"), "tasks")
        self.work_items = _by_name(document.get("work_items"), "work_items")
        self.state_locals = {
            name for _, state in self.states.values() for name in _variables(state.get("variables"))
        }
        self.problems: list[Problem] = []
        self.sites: list[_SendSite] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def check(self) -> None:
        document = self.document
        for key, what in (("states", "state"), ("tasks", "task"), ("work_items", "work item")):
            self.check_unique(document.get(key), key, "name", f"{what} name")
        self.check_declarations("variables", document.get("variables"), is_global=True)
        start = document.get("start_state")
        if isinstance(start, str) and self.states and start not in self.states:
            self.add("start_state", f"no state is named {quoted(start)}{did_you_mean(start, self.states)}")
        for kind in ("states", "tasks"):
            for index, owner in enumerate(_list(document.get(kind))):
                if isinstance(owner, dict):
                    self.check_owner(f"{kind}[{index}]", owner, in_task=kind == "tasks")
        for index, item in enumerate(_list(document.get("work_items"))):
            if isinstance(item, dict):
                self.check_unique(item.get("buttons"), f"work_items[{index}].buttons", "id", "button id")
                self.check_unique(
                    item.get("fields"), f"work_items[{index}].fields", "variable", "field for variable"
                )
                self.parse(item.get("description"), f"work_items[{index}].description", template=True)
                self.check_button_requires(item, f"work_items[{index}]")
        for site in self.sites:
            self.check_send_site(site)

    # ------------------------------------------------------------------ declarations

    def check_button_requires(self, item: dict[str, Any], path: str) -> None:
        """A button's ``requires`` names fields of its own work item that a person can fill in."""
        fields = {f.get("variable"): f for f in _list(item.get("fields")) if isinstance(f, dict)}
        for b_index, button in enumerate(_list(item.get("buttons"))):
            if not isinstance(button, dict):
                continue
            for r_index, name in enumerate(_list(button.get("requires"))):
                where = f"{path}.buttons[{b_index}].requires[{r_index}]"
                if not isinstance(name, str):
                    continue
                if name not in fields:
                    self.add(where, f"the work item has no field for {quoted(name)}"
                             f"{did_you_mean(name, [str(v) for v in fields])}")
                elif fields[name].get("readonly"):
                    self.add(where, f"the field for {quoted(name)} is read-only, so nobody could fill it in")

    def check_unique(self, items: Any, path: str, key: str, what: str) -> None:
        first_seen: dict[str, str] = {}
        for index, item in enumerate(_list(items)):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            if value in first_seen:
                self.add(
                    f"{path}[{index}].{key}",
                    f"duplicate {what} {quoted(value)} (first at {first_seen[value]})",
                )
            else:
                first_seen[value] = f"{path}[{index}]"

    def check_declarations(self, path: str, items: Any, is_global: bool) -> None:
        self.check_unique(items, path, "name", "variable")
        for index, spec in enumerate(_list(items)):
            if not isinstance(spec, dict):
                continue
            name = spec.get("name")
            if isinstance(name, str) and name in BUILTIN_NAMES:
                self.add(f"{path}[{index}].name", f"{quoted(name)} is a built-in name: choose another")
            if spec.get("input") and not is_global:
                self.add(
                    f"{path}[{index}].input",
                    "only a global can be a launch input; list a state's "
                    'or task\'s local inputs in its "inputs"',
                )

    def check_owner(self, path: str, owner: dict[str, Any], in_task: bool) -> None:
        """A state or task: its locals, its inputs (and outputs), then its actions."""
        title = f"{'task' if in_task else 'state'} {quoted(owner.get('name'))}"
        self.check_declarations(f"{path}.variables", owner.get("variables"), is_global=False)
        local = _variables(owner.get("variables"))
        for key in ("inputs", "outputs") if in_task else ("inputs",):
            for position, name in enumerate(_list(owner.get(key))):
                if _is_name(name) and name not in local:
                    self.add(
                        f"{path}.{key}[{position}]",
                        f"{key[:-1]} {quoted(name)} is not a local "
                        f"variable of {title}{did_you_mean(name, local)}",
                    )
        scope = _Scope(owner=title, variables={**self.globals, **local}, in_task=in_task)
        self.walk(owner.get("actions"), f"{path}.actions", scope)

    # ------------------------------------------------------------ names and values

    def parse(self, source: Any, path: str, template: bool = False) -> frozenset[str] | None:
        """The free names of an expression or template, or None when it does not parse."""
        if not isinstance(source, str):
            return None
        try:
            compiled = compile_template(source) if template else compile_expression(source)
        except ExpressionError as error:
            self.add(path, str(error))
            return None
        return frozenset(compiled.names)

    def expression(
        self, source: Any, path: str, scope: _Scope, template: bool = False, where: str = ""
    ) -> None:
        """``source`` must parse and read only names in ``scope`` (``where`` says where that is)."""
        names = self.parse(source, path, template)
        for name in sorted((names or frozenset()) - scope.readable):
            self.add(path, self.unknown(name, scope, scope.readable, where))

    def expressions(self, mapping: Any, path: str, scope: _Scope) -> None:
        for key, source in _dict(mapping).items():
            self.expression(source, child(path, key), scope)

    def unknown(self, name: str, scope: _Scope, known: Iterable[str], where: str = "") -> str:
        if not where:
            where = f" in {scope.owner}"
            if name == ERROR_NAME:
                where += " (error is only in scope inside on_error)"
            elif scope.in_task and name in self.state_locals:
                where += " (a task does not see the calling state's locals: pass it as an input)"
        return f"unknown variable {quoted(name)}{where}{did_you_mean(name, known)}"

    def variable(self, name: Any, path: str, scope: _Scope) -> None:
        """``name`` must be a variable in scope (a built-in cannot be set)."""
        if not _is_name(name) or name in scope.variables:
            return
        if name in scope.builtins:
            self.add(path, f"{quoted(name)} is built in and cannot be set")
        else:
            self.add(path, self.unknown(name, scope, scope.variables))

    def output_variables(self, mapping: Any, path: str, scope: _Scope) -> None:
        for key in _dict(mapping):
            self.variable(key, child(path, key), scope)

    def duration(self, text: Any, path: str) -> None:
        if isinstance(text, str):
            try:
                values.parse_duration(text)
            except ValueError as error:
                reason = str(error)
                self.add(path, reason if "ISO 8601" in reason else f"not a valid ISO 8601 duration: {reason}")

    def target(
        self, action: dict[str, Any], path: str, key: str, what: str
    ) -> tuple[str, dict[str, Any]] | None:
        """(path, item) of the state, task or work item named by ``action[key]``; unknown: reported."""
        known = {"state": self.states, "task": self.tasks, "work item": self.work_items}[what]
        name = action.get(key)
        if not isinstance(name, str):
            return None
        if name not in known:
            self.add(f"{path}.{key}", f"no {what} is named {quoted(name)}{did_you_mean(name, known)}")
            return None
        return known[name]

    # --------------------------------------------------------------------- actions

    def walk(self, actions: Any, path: str, scope: _Scope) -> None:
        for index, action in enumerate(_list(actions)):
            kind = action.get("action") if isinstance(action, dict) else None
            if isinstance(kind, str) and kind in ACTION_KINDS:
                getattr(self, f"check_{kind}")(action, f"{path}[{index}]", scope)

    def check_assign(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.variable(action.get("variable"), f"{path}.variable", scope)
        self.expression(action.get("value"), f"{path}.value", scope)

    def check_decision(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        for index, branch in enumerate(_list(action.get("branches"))):
            if isinstance(branch, dict):
                self.expression(branch.get("when"), f"{path}.branches[{index}].when", scope)
                self.walk(branch.get("actions"), f"{path}.branches[{index}].actions", scope)
        self.walk(action.get("otherwise"), f"{path}.otherwise", scope)

    def check_loop(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.expression(action.get("while"), f"{path}.while", scope)
        self.walk(action.get("actions"), f"{path}.actions", scope)

    def check_for_each(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.expression(action.get("collection"), f"{path}.collection", scope)
        self.variable(action.get("item"), f"{path}.item", scope)
        self.walk(action.get("actions"), f"{path}.actions", scope)

    def check_parallel(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        for index, branch in enumerate(_list(action.get("branches"))):
            self.walk(branch, f"{path}.branches[{index}]", scope)

    def check_call_task(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.expressions(action.get("inputs"), f"{path}.inputs", scope)
        self.output_variables(action.get("outputs"), f"{path}.outputs", scope)
        found = self.target(action, path, "task", "task")
        if found is None:
            return
        task = found[1]
        title = f"task {quoted(task['name'])}"
        self.parameters(action.get("inputs"), f"{path}.inputs", _strings(task.get("inputs")), title)
        outputs = _strings(task.get("outputs"))
        for key, output in _dict(action.get("outputs")).items():
            if isinstance(output, str) and output not in outputs:
                self.add(
                    child(f"{path}.outputs", key),
                    f"{quoted(output)} is not an output of {title}{_listing(output, outputs)}",
                )

    def parameters(self, given: Any, path: str, inputs: list[str], title: str) -> None:
        """The keys of ``given`` must be among the target's ``inputs``."""
        for key in _dict(given):
            if key not in inputs:
                self.add(child(path, key), f"{quoted(key)} is not an input of {title}{_listing(key, inputs)}")

    def check_change_state(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.state_level("change_state", path, scope)
        self.expressions(action.get("inputs"), f"{path}.inputs", scope)
        found = self.target(action, path, "state", "state")
        if found is not None:
            state = found[1]
            self.parameters(
                action.get("inputs"),
                f"{path}.inputs",
                _strings(state.get("inputs")),
                f"state {quoted(state['name'])}",
            )

    def check_end_process(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.state_level("end_process", path, scope)

    def state_level(self, kind: str, path: str, scope: _Scope) -> None:
        if scope.in_task:
            self.add(path, f"{kind} is a state-level action and cannot be used inside a task")

    def check_send_work_item(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        route = _dict(action.get("to"))
        for key in ("user", "workgroup"):
            self.expression(route.get(key), f"{path}.to.{key}", scope, template=True)
        self.expression(route.get("priority"), f"{path}.to.priority", scope)
        exits = _dict(action.get("exits"))
        for button, actions in exits.items():
            self.walk(actions, child(f"{path}.exits", button), scope)
        self.duration(action.get("timeout"), f"{path}.timeout")
        self.walk(action.get("on_timeout"), f"{path}.on_timeout", scope)
        found = self.target(action, path, "work_item", "work item")
        if found is not None:
            self.sites.append(_SendSite(found[0], found[1], path, scope))
            if isinstance(action.get("exits"), dict):
                self.check_exits(exits, f"{path}.exits", found[1])

    def check_exits(self, exits: dict[str, Any], path: str, item: dict[str, Any]) -> None:
        """Every button of the work item needs an exit, and every exit must be a button."""
        title = f"work item {quoted(item['name'])}"
        ids = [button.get("id") for button in _list(item.get("buttons")) if isinstance(button, dict)]
        buttons = [button for button in ids if isinstance(button, str)]
        for button in buttons:
            if button not in exits:
                self.add(path, f"button {quoted(button)} of {title} has no exit")
        for key in exits:
            if key not in buttons:
                self.add(
                    child(path, key),
                    f"exit {quoted(key)} matches no button of {title}{did_you_mean(key, buttons)}",
                )

    def check_external(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        """What web services and handlers share: inputs, outputs and on_error."""
        self.expressions(action.get("inputs"), f"{path}.inputs", scope)
        self.output_variables(action.get("outputs"), f"{path}.outputs", scope)
        self.walk(action.get("on_error"), f"{path}.on_error", scope.on_error())

    check_invoke_web_service = check_external
    check_run_handler = check_external

    def check_database(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        params = _dict(action.get("params"))
        self.expressions(params, f"{path}.params", scope)
        self.variable(_dict(action.get("result")).get("into"), f"{path}.result.into", scope)
        sql = action.get("sql")
        for name in dict.fromkeys(_SQL_PARAMETER.findall(sql) if isinstance(sql, str) else ()):
            if name not in params:
                self.add(
                    f"{path}.sql",
                    f"parameter {quoted(name)} has no value in params{did_you_mean(name, params)}",
                )
        self.walk(action.get("on_error"), f"{path}.on_error", scope.on_error())

    def check_send_email(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.expression(action.get("to"), f"{path}.to", scope)
        for key in ("subject", "body", "html_body"):
            self.expression(action.get(key), f"{path}.{key}", scope, template=True)
        self.walk(action.get("on_error"), f"{path}.on_error", scope.on_error())

    def check_launch_process(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.expressions(action.get("inputs"), f"{path}.inputs", scope)
        self.output_variables(action.get("outputs"), f"{path}.outputs", scope)
        if _dict(action.get("outputs")) and action.get("wait") is not True:
            self.add(f"{path}.outputs", 'outputs need "wait": true (without waiting nothing comes back)')

    def check_wait(self, action: dict[str, Any], path: str, scope: _Scope) -> None:
        self.duration(action.get("duration"), f"{path}.duration")
        self.expression(action.get("until"), f"{path}.until", scope)

    # ------------------------------------------------------------------- work items

    def check_send_site(self, site: _SendSite) -> None:
        """A work item's description and fields, in the scope where one action sends it."""
        where = f" where the work item is sent at {site.path}"
        description = site.item.get("description")
        self.expression(description, f"{site.item_path}.description", site.scope, True, where)
        for position, field in enumerate(_list(site.item.get("fields"))):
            name = field.get("variable") if isinstance(field, dict) else None
            if not _is_name(name):
                continue
            path = f"{site.item_path}.fields[{position}]"
            spec = site.scope.variables.get(name)
            if spec is None:
                self.add(f"{path}.variable", self.unknown(name, site.scope, site.scope.variables, where))
            elif field.get("control") == "select" and not spec.get("choices"):
                self.add(path, f"a select needs choices on variable {quoted(name)}")


def _listing(word: str, names: list[str]) -> str:
    """A hint after "is not an input of ...": the closest name, else all of them."""
    if not names:
        return " (it has none)"
    return did_you_mean(word, names) or f" (it has {', '.join(names)})"
