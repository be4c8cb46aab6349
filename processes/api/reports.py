"""GET /api/reports/variables/: the values of variables flagged ``log: true`` (``?format=csv``: streamed CSV)."""

from __future__ import annotations

import csv
import itertools
import json

from django.http import StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from processes.services.reporting import REPORT_FIELDS, ReportFilter, logged_values, report_rows


class CSVRenderer(BaseRenderer):
    """Only names ``?format=csv`` for content negotiation; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover - not reached
        return b""


def report_filter(query) -> ReportFilter:
    moments = {}
    for key in ("after", "before"):
        text = query.get(key) or ""
        try:
            moments[key] = parse_datetime(text) if text else None
        except ValueError:
            moments[key] = None
        if text and moments[key] is None:
            raise ValidationError({key: ["must be a date and time, e.g. 2026-01-31T08:00:00Z"]})
    return ReportFilter(process=query.get("process", ""), variable=query.get("variable", ""), **moments)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines = (writer.writerow([json.dumps(row["value"]) if "value" in row else "" if f == "value" else row[f]
                              for f in REPORT_FIELDS]) for row in rows)
    response = StreamingHttpResponse(itertools.chain([writer.writerow(REPORT_FIELDS)], lines),
                                     content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class VariableReportView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(parameters=[OpenApiParameter(name, str) for name in ("process", "variable", "after", "before")])
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        rows = report_rows(request.user, logged_values(request.user, report_filter(request.query_params)))
        if request.accepted_renderer.format == "csv":
            return csv_response(rows, "variables.csv")
        results = list(rows)
        return Response({"count": len(results), "next": None, "previous": None, "results": results})
