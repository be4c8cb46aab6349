"""A work item's form: its fields with values, masked where a security specification says so."""

from __future__ import annotations

from typing import Any

from administration import policy
from administration.models import User
from processes import engine
from processes.engine import values as value_types
from processes.engine.expressions import compile_template
from processes.form_controls import DEFAULT_CONTROLS, HIDDEN
from processes.history_text import humanize
from processes.services.definitions import compiled_process
from workitems.models import WorkItem


def work_item_definition(item: WorkItem) -> dict[str, Any]:
    return compiled_process(item.instance.definition_id).work_items[item.name]


def process_category(item: WorkItem) -> str | None:
    """The category of the item's process (rights given for a category cover it)."""
    return compiled_process(item.instance.definition_id).document.get("category") or None


def scope_of(item: WorkItem) -> dict[str, engine.ScopedVariable]:
    """The variables visible where the item was sent (empty once the instance moved on)."""
    process = compiled_process(item.instance.definition_id)
    try:
        return engine.scope_at(process, item.instance.execution, item.token)
    except KeyError:
        return {}


def form_fields(user: User, item: WorkItem) -> list[dict[str, Any]]:
    """One entry per field: label, control, value (left out when masked), readonly, required."""
    process = compiled_process(item.instance.definition_id)
    scope = scope_of(item)
    fields = []
    for field in work_item_definition(item).get("fields", []):
        name = field["variable"]
        scoped = scope.get(name)
        spec = scoped.spec if scoped else process.globals.get(name, {"name": name, "type": "string"})
        masked = not policy.may_see(user, spec.get("security"))
        entry = {
            "variable": name,
            "label": field.get("label") or spec.get("label") or humanize(name),
            "control": field.get("control") or ("select" if spec.get("choices") else DEFAULT_CONTROLS[spec["type"]]),
            "type": spec["type"],
            "readonly": bool(field.get("readonly")) or masked,
            "required": bool(field.get("required")) and not masked,
            "masked": masked,
            "spec": spec,
        }
        if spec.get("choices"):
            entry["choices"] = spec["choices"]
        if not masked:
            entry["value"] = item.draft.get(name, scoped.value if scoped else None)
        fields.append(entry)
    return fields


def _specifications_of(name: str, scope: dict[str, engine.ScopedVariable], process: engine.Process
                       ) -> list[str | None]:
    """The specifications that may guard ``name`` in a description.

    Where the item was sent, the name resolves as the engine resolves it (a task or state
    local shadows a global). Once the instance moved on there is no scope left to ask, so
    every declaration of the name counts: a local of any state or task, and the global.
    """
    scoped = scope.get(name)
    if scoped is not None:
        return [scoped.spec.get("security")]
    declarations = [process.globals.get(name), *(specs.get(name) for specs in process.state_locals.values()),
                    *(specs.get(name) for specs in process.task_locals.values())]
    return [spec.get("security") for spec in declarations if spec]


def description_for(user: User, item: WorkItem) -> str:
    """The description, re-rendered with protected values hidden when the user is not on their spec."""
    process = compiled_process(item.instance.definition_id)
    template_text = process.work_items[item.name].get("description", "")
    if not template_text:
        return item.description
    template = compile_template(template_text)
    scope = scope_of(item)
    hidden = [n for n in template.names
              if not all(policy.may_see(user, spec) for spec in _specifications_of(n, scope, process))]
    if not hidden:
        return item.description
    names = {name: value_types.from_json(var.spec["type"], var.value) for name, var in scope.items()}
    names.update({name: HIDDEN for name in hidden})
    try:
        return template.render(names, item.created_at)
    except Exception:
        return HIDDEN
