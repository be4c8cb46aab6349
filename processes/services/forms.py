"""Checking values that come from outside (launch inputs, work item forms) against their variables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from administration import policy
from administration.models import User, Workgroup
from processes.engine import values as value_types
from processes.errors import FormInvalid


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _directory_errors(type_name: str, value: Any) -> list[str]:
    """A ``user`` value must name an active user and a ``workgroup`` value a workgroup.

    The message does not repeat the value: these errors also reach a parent instance's
    history when a subprocess is launched with values it may not show.
    """
    if value is None:
        return []
    if type_name == "user" and not User.objects.filter(username=value, is_active=True).exists():
        return ["names no existing user"]
    if type_name == "workgroup" and not Workgroup.objects.filter(name=value).exists():
        return ["names no existing workgroup"]
    return []


def clean_values(
    incoming: Mapping[str, Any],
    specs: Mapping[str, dict],
    *,
    required: Iterable[str] = (),
    readonly: Iterable[str] = (),
    current: Mapping[str, Any] | None = None,
    user: User | None = None,
    what: str = "field",
) -> dict[str, Any]:
    """The incoming values coerced to their variables' types, as JSON, or ``FormInvalid``.

    ``specs`` are the variables that may be given (name -> variable spec); a required one
    not sent is satisfied by its ``current`` value (a work item's variable). A value for a
    variable under a security specification the user is not on is refused with
    ``NotAllowed`` before anything else, without naming it.
    """
    if not isinstance(incoming, Mapping):
        raise FormInvalid({"values": ["must be an object from variable name to value"]})
    if user is not None:
        policy.refuse_protected_values(user, [n for n in incoming if n in specs], specs)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    readonly = set(readonly)
    for name, raw in incoming.items():
        spec = specs.get(name)
        if spec is None:
            errors[name] = [f"not a {what} of this form"]
            continue
        if name in readonly:
            errors[name] = ["is read-only"]
            continue
        try:
            value = value_types.coerce(spec["type"], None if is_blank(raw) and spec["type"] != "string" else raw)
        except ValueError as exc:
            errors[name] = [str(exc)]
            continue
        problems = value_types.restriction_errors(spec, value) or _directory_errors(spec["type"], value)
        if problems:
            errors[name] = problems
            continue
        cleaned[name] = value_types.to_json(spec["type"], value)
    for name in required:
        if name not in errors and is_blank(cleaned.get(name, (current or {}).get(name))):
            errors[name] = ["is required"]
    if errors:
        raise FormInvalid(errors)
    return cleaned
