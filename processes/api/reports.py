"""GET /api/reports/variables/: the values of variables flagged ``log: true`` (``?format=csv``: streamed CSV)."""

from __future__ import annotations

import csv
import itertools
import json

from django.http import StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipa_portal.openapi import refusals
from processes.services.reporting import REPORT_FIELDS, ReportFilter, logged_values, report_rows


class LoggedValueSerializer(serializers.Serializer):
    instance = serializers.IntegerField()
    process = serializers.CharField()
    version = serializers.IntegerField()
    variable = serializers.CharField()
    value = serializers.JSONField(required=False, help_text="Left out when the variable is under a security "
                                                            "specification the caller is not on.")
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_blank=True)


class VariableReportSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = LoggedValueSerializer(many=True)


class CSVRenderer(BaseRenderer):
    """Only names ``?format=csv`` for content negotiation; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # pragma: no cover - not reached
        return b""


def report_filter(query, *, blank_moments: bool = True) -> ReportFilter:
    """The report's filter from a query; ``blank_moments``: an empty ``after``/``before`` means none
    (the page's form sends them empty; the API refuses an empty one, as its schema says)."""
    moments = {}
    for key in ("after", "before"):
        text = query.get(key) or ""
        try:
            moments[key] = parse_datetime(text) if text else None
        except ValueError:
            moments[key] = None
        if (text or (key in query and not blank_moments)) and moments[key] is None:
            raise ValidationError({key: ["must be a date and time, e.g. 2026-01-31T08:00:00Z"]})
    return ReportFilter(process=query.get("process", ""), variable=query.get("variable", ""), **moments)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(row: dict, field: str) -> object:
    """A value as JSON text (blank when it is left out for the reader); other fields as they are."""
    if field == "value":
        return json.dumps(row["value"]) if "value" in row else ""
    return row[field]


def csv_response(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines = (writer.writerow([csv_cell(row, f) for f in REPORT_FIELDS]) for row in rows)
    response = StreamingHttpResponse(itertools.chain([writer.writerow(REPORT_FIELDS)], lines),
                                     content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class VariableReportView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        """A refusal is a problem document, even when a CSV was asked for."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response

    @extend_schema(
        operation_id="list_logged_values",
        parameters=[
            *(OpenApiParameter(name, str) for name in ("process", "variable")),
            *(OpenApiParameter(name, OpenApiTypes.DATETIME) for name in ("after", "before")),
            OpenApiParameter("format", str, enum=["json", "csv"], description="`csv`: a streamed CSV download."),
        ],
        responses={(200, "application/json"): VariableReportSerializer, (200, "text/csv"): OpenApiTypes.STR,
                   **refusals(400, 404)},  # 404: a format other than json or csv
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        wanted = report_filter(request.query_params, blank_moments=False)
        rows = report_rows(request.user, logged_values(request.user, wanted))
        if request.accepted_renderer.format == "csv":
            return csv_response(rows, "variables.csv")
        results = list(rows)
        return Response({"count": len(results), "next": None, "previous": None, "results": results})
