"""HTTP endpoints of the monitor: translate, then call ``monitor.services`` / ``monitor.queues``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitor.api import serializers as s
from monitor.queues import queue_counts


class QueueListView(APIView):
    """Per workgroup the caller belongs to (all, with the Process Monitor license): open items by status."""

    @extend_schema(responses=s.QueueSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = s.QueueSerializer(queue_counts(request.user), many=True).data
        return Response({"count": len(rows), "next": None, "previous": None, "results": rows})
