"""HTTP endpoints of the monitor: translate, then call ``monitor.services`` / ``monitor.queues``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitor import bulk
from monitor.api import serializers as s
from monitor.filters import FilterInvalid
from monitor.queues import queue_counts
from processes.api.serializers import InstanceDetailSerializer
from processes.api.views import instance_detail
from processes.errors import ServiceError
from processes.services import instances


class QueueListView(APIView):
    """Per workgroup the caller belongs to (all, with the Process Monitor license): open items by status."""

    @extend_schema(responses=s.QueueSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = s.QueueSerializer(queue_counts(request.user), many=True).data
        return Response({"count": len(rows), "next": None, "previous": None, "results": rows})


class BulkView(APIView):
    """Cancel, retry or skip many instances as a job: ``ids``, or every instance a monitor filter matches."""

    @extend_schema(request=s.BulkRequestSerializer, responses={202: dict})
    def post(self, request: Request) -> Response:
        body = s.BulkRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            job = bulk.start_bulk_job(request.user, data["action"], ids=data.get("ids"),
                                      filter_data=data.get("filter"), comment=data["comment"])
        except FilterInvalid as exc:
            raise ServiceError(str(exc)) from exc
        return Response({"job": job.pk}, status=status.HTTP_202_ACCEPTED)


class JobView(APIView):
    @extend_schema(responses=s.JobSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.JobSerializer(bulk.job_for(request.user, pk).as_dict()).data)


class MoveView(APIView):
    """Leave the current state (work items withdrawn, timers cancelled) and enter the named one."""

    @extend_schema(request=s.MoveSerializer, responses=InstanceDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        instances.visible_instance(request.user, pk)  # 404 before 403 for what the caller cannot see
        body = s.MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        instances.move_instance(request.user, pk, body.validated_data["state"],
                                comment=body.validated_data["comment"])
        return Response(instance_detail(request, pk))
