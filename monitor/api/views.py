"""HTTP endpoints of the monitor: translate, then call ``monitor.services`` / ``monitor.queues``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipa_portal.openapi import refusals
from ipa_portal.pagination import PageNumberPagination
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

    pagination_class = PageNumberPagination  # the schema declares the page envelope (one page: every queue)

    @extend_schema(operation_id="list_queues", responses={200: s.QueueSerializer(many=True), **refusals(403)})
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(list(queue_counts(request.user)), request, view=self)
        return paginator.get_paginated_response(s.QueueSerializer(page, many=True).data)


class BulkView(APIView):
    """Cancel, retry or skip many instances as a job: ``ids``, or every instance a monitor filter matches."""

    @extend_schema(
        operation_id="start_bulk_job",
        request=s.BulkRequestSerializer,
        responses={202: inline_serializer("BulkJobStarted", {"job": serializers.IntegerField()}),
                   **refusals(400, 403)},
    )
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
    @extend_schema(operation_id="get_bulk_job", responses={200: s.JobSerializer, **refusals(403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.JobSerializer(bulk.job_for(request.user, pk).as_dict()).data)


class MoveView(APIView):
    """Leave the current state (work items withdrawn, timers cancelled) and enter the named one."""

    @extend_schema(operation_id="move_instance", request=s.MoveSerializer,
                   responses={200: InstanceDetailSerializer, **refusals(400, 403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        instances.visible_instance(request.user, pk)  # 404 before 403 for what the caller cannot see
        body = s.MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        instances.move_instance(request.user, pk, body.validated_data["state"],
                                comment=body.validated_data["comment"])
        return Response(instance_detail(request, pk))
