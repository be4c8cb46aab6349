"""HTML form controls for process variables: launch inputs and work item fields.

The pages of both apps draw them the same way: a variable's spec gives its control, its
value is shown as text, and what comes back is parsed before the services validate it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from administration import policy
from processes.history_text import humanize

DEFAULT_CONTROLS = {
    "string": "text",
    "integer": "number",
    "decimal": "number",
    "boolean": "checkbox",
    "date": "date",
    "datetime": "datetime",
    "user": "user",
    "workgroup": "text",
    "list": "textarea",
    "json": "textarea",
}
HIDDEN = "•••"  # what a value under a security specification the user is not on shows


@dataclass
class Control:
    """One form control as a template draws it: the variable, its control and what it shows."""

    variable: str
    id: str
    label: str
    control: str  # text, textarea, number, checkbox, date, datetime, select, user
    type: str
    value: str = ""
    checked: bool = False
    choices: list[str] = field(default_factory=list)
    readonly: bool = False
    masked: bool = False
    required: bool = False
    hint: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"f-{self.variable}"

    @property
    def editable(self) -> bool:
        return not (self.readonly or self.masked)

    @property
    def step(self) -> str:
        return "1" if self.type == "integer" else "any"

    @property
    def input_type(self) -> str:
        return {"number": "number", "date": "date", "datetime": "datetime-local"}.get(self.control, "text")

    @property
    def described_by(self) -> str:
        ids = [f"{self.id}-hint"] if self.hint else []
        ids += [f"{self.id}-masked"] if self.masked else []
        ids += [f"{self.id}-error"] if self.errors else []
        return " ".join(ids)


def control_name(spec: dict, control: str | None = None) -> str:
    control = control or ("select" if spec.get("choices") else DEFAULT_CONTROLS.get(spec["type"], "text"))
    return "datetime" if control == "datetime-local" else control


def restriction_hint(spec: dict) -> str:
    low, high, length = spec.get("min"), spec.get("max"), spec.get("max_length")
    if low is not None and high is not None:
        return f"From {low} to {high}."
    if low is not None:
        return f"At least {low}."
    if high is not None:
        return f"At most {high}."
    if length is not None:
        return f"At most {length} characters."
    if spec["type"] == "datetime":
        return "Date and time in UTC."
    if spec["type"] == "list":
        return "One item per line."
    if spec["type"] == "json":
        return 'JSON, such as {"key": "value"}.'
    return ""


def as_text(type_name: str, control: str, value: Any) -> str:
    """A stored (JSON form) value as the text its control shows."""
    if value is None:
        return ""
    if control == "datetime":
        moment = parse_datetime(str(value))
        if moment is not None:
            moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
            return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")
    if type_name == "list" and isinstance(value, list):
        return "\n".join(v if isinstance(v, str) else json.dumps(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def input_controls(specs: list[dict], prefix: str) -> list[Control]:
    """Controls for launch inputs (the variables' specs), with their defaults filled in."""
    controls = []
    for spec in specs:
        control = control_name(spec)
        default = spec.get("default")
        controls.append(Control(
            variable=spec["name"], id=f"{prefix}-{spec['name']}", label=spec.get("label") or humanize(spec["name"]),
            control=control, type=spec["type"], value=as_text(spec["type"], control, default),
            checked=default is True, choices=[str(c) for c in spec.get("choices") or []],
            required=bool(spec.get("required")), hint=restriction_hint(spec),
        ))
    return controls


def posted_values(controls: list[Control], data) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values of the editable controls in ``data`` (request.POST), and text that is not JSON."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for control in controls:
        if not control.editable:
            continue  # read-only and masked values are never sent back
        if control.control == "checkbox":
            values[control.variable] = control.name in data
            continue
        try:
            values[control.variable] = _parsed(control.type, data.get(control.name, ""))
        except ValueError as exc:
            errors[control.variable] = [str(exc)]
    return values, errors


def _parsed(type_name: str, text: str) -> Any:
    """A control's text as the value sent to the service: blank is no value (None)."""
    if not text.strip() and type_name != "list":
        return None
    if type_name == "list":
        if text.strip().startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError('must be one item per line, or a JSON list such as ["a", "b"]') from None
        return [line.strip() for line in text.splitlines() if line.strip()]
    if type_name == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError('must be JSON, such as {"key": "value"}') from None
    return text


def keep_typed(controls: list[Control], data, errors: dict[str, list[str]]) -> list[str]:
    """Put what the user typed back into the controls with each field's errors; returns the other errors."""
    for control in controls:
        control.errors = list(errors.get(control.variable, []))
        if control.editable:
            if control.control == "checkbox":
                control.checked = control.name in data
            else:
                control.value = data.get(control.name, "")
    names = {c.variable for c in controls}
    return [f"{key}: {message}" if key not in ("button", "values") else message
            for key, problems in errors.items() if key not in names for message in problems]


def picker_users() -> list[tuple[str, str]]:
    """Active users who may receive work items, for user pickers: (user name, full name)."""
    users = policy.work_item_receivers().order_by("username").only("username", "first_name", "last_name")
    return [(u.username, u.get_full_name()) for u in users]
