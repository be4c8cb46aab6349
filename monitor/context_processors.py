"""What every page's header needs from the monitor: whether to link it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from administration import policy


def monitor_link(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"can_monitor": bool(user is not None and user.is_authenticated and policy.can_monitor(user))}
