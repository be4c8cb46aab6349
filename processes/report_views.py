"""The variable report page: logged values of the instances the user may view (the seed's reporting level)."""

from __future__ import annotations

import itertools

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.exceptions import ValidationError

from ipa_portal.pages import page
from processes.api.reports import csv_response, report_filter
from processes.services.reporting import ReportFilter, logged_values, report_rows

PAGE_ROWS = 200


@page
def variable_report(request: HttpRequest) -> HttpResponse:
    errors = []
    try:
        wanted = report_filter(request.GET)
    except (ValidationError, DjangoValidationError):
        errors.append("Times are written 2026-01-31T08:00, optionally with a time zone.")
        wanted = ReportFilter(process=request.GET.get("process", ""), variable=request.GET.get("variable", ""))
    rows = report_rows(request.user, logged_values(request.user, wanted))
    if request.GET.get("format") == "csv":
        return csv_response(rows, "variables.csv")
    shown = list(itertools.islice(rows, PAGE_ROWS + 1))
    query = request.GET.copy()
    query["format"] = "csv"
    return render(request, "processes/variable_report.html", {
        "nav": "reports", "rows": shown[:PAGE_ROWS], "more": len(shown) > PAGE_ROWS, "filters": request.GET,
        "errors": errors, "csv_query": query.urlencode(),
    }, status=400 if errors else 200)
