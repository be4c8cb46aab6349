"""What every page of the portal shares: signed-in pages whose service errors become pages, and ages."""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
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


# ------------------------------------------------------------------ post/redirect/get
#
# A form sent with errors is never answered at its POST address (a reload would send it
# again): what was typed and the errors are kept in the session for one request, and the
# browser is sent to the form's own page, which takes them back with ``recall_form``.

_FORM_KEY = "ipa.form.{}"
NOT_KEPT = ("csrfmiddlewaretoken",)


def remember_form(request: HttpRequest, key: str, *, data=None, errors: dict | None = None, **extra: Any) -> None:
    """Keep a failed form's typed values (``data``: the POST), its errors and anything else for the next page."""
    typed = {name: data.getlist(name) for name in data if name not in NOT_KEPT} if data is not None else None
    request.session[_FORM_KEY.format(key)] = {"data": typed, "errors": errors or {}, **extra}


def recall_form(request: HttpRequest, key: str) -> dict[str, Any] | None:
    """What ``remember_form`` kept under ``key`` (once), with ``data`` as a QueryDict; None: nothing."""
    kept = request.session.pop(_FORM_KEY.format(key), None)
    if kept is None:
        return None
    if kept.get("data") is not None:
        data = QueryDict(mutable=True)
        for name, values in kept["data"].items():
            data.setlist(name, values)
        kept["data"] = data
    return kept
