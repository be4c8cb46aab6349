"""``{{ entry.after|snapshot_lines }}``: an audit snapshot as a person reads it, one field a line."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def snapshot_lines(snapshot: Any) -> list[str]:
    """``{"rights": ["launch"], "skills": []}`` as ``["rights: launch", "skills: —"]`` (lists by commas,
    anything else as JSON); None as no lines."""
    if snapshot is None:
        return []
    if not isinstance(snapshot, dict):
        return [_text(snapshot)]
    return [f"{key}: {_text(value)}" for key, value in snapshot.items()]


def _text(value: Any) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in value)
    return json.dumps(value, ensure_ascii=False)
