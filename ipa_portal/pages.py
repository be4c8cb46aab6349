"""What every page of the portal shares: signed-in pages whose service errors become pages, and ages."""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from administration.policy import NotAllowed, NotVisible
from processes.errors import NotFound


def page(view):
    """A signed-in page whose service errors become a 404 or a page saying what is missing."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (NotFound, NotVisible) as exc:
            raise Http404(str(exc)) from None
        except NotAllowed as exc:
            return render(request, "refused.html", {"reason": str(exc)}, status=403)

    return login_required(wrapped)


def age_text(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "just now"
