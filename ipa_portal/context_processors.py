"""What every page's template gets beyond Django's own context."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from administration import policy
from processes.storage import storage_trouble


def storage_banner(request: HttpRequest) -> dict[str, Any]:
    """Administrators see a banner while the workflow storage is in trouble (41045, 41046)."""
    user = getattr(request, "user", None)
    if user is None or not policy.may_administer(user):
        return {}
    return {"storage_trouble": storage_trouble()}
