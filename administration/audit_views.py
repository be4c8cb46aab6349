"""The audit trail page: every administrative change, filtered, and as a CSV download."""

from __future__ import annotations

import csv
import itertools
import json
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.dateparse import parse_date

from administration.models import AuditEntry
from administration.views import admin_page, render_admin

AUDIT_PAGE_SIZE = 50


def _date(text: str | None) -> Any:
    try:
        return parse_date(text or "")
    except ValueError:
        return None


def _audit_entries(query: Any) -> Any:
    entries = AuditEntry.objects.all()
    if query.get("kind"):
        entries = entries.filter(kind=query["kind"])
    if query.get("actor"):
        entries = entries.filter(actor_name=query["actor"])
    if query.get("target"):
        entries = entries.filter(target__icontains=query["target"])
    if after := _date(query.get("after")):
        entries = entries.filter(at__date__gte=after)
    if before := _date(query.get("before")):
        entries = entries.filter(at__date__lte=before)
    return entries


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin_page
def audit(request: HttpRequest) -> HttpResponse:
    entries = _audit_entries(request.GET)
    if request.GET.get("format") == "csv":
        writer = csv.writer(_Echo())
        header = ["at", "by", "action", "kind", "target", "before", "after"]
        rows = ([e.at.isoformat(), e.actor_name, e.action, e.kind, e.target, json.dumps(e.before),
                 json.dumps(e.after)] for e in entries.iterator())
        response = StreamingHttpResponse((writer.writerow(r) for r in itertools.chain([header], rows)),
                                         content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response
    query = request.GET.copy()
    query.pop("page", None)
    return render_admin(request, "audit.html", {
        "entries": Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": request.GET, "query": query.urlencode(),
        "kinds": AuditEntry.objects.order_by("kind").values_list("kind", flat=True).distinct(),
    }, "audit")


