"""HTTP endpoints for the caller's work items: translate, then call a service."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipa_portal.pagination import PageNumberPagination
from workitems import services
from workitems.api import serializers as s
from workitems.models import OPEN_STATUSES, WORK_ITEM_STATUSES

STATUS_NAMES = {name for name, _ in WORK_ITEM_STATUSES}


class WorkItemListView(APIView):
    """The caller's open work items (``?status=completed`` and others for closed ones)."""

    @extend_schema(responses=s.WorkItemSerializer(many=True))
    def get(self, request: Request) -> Response:
        wanted = tuple(x for x in request.query_params.get("status", "").split(",") if x)
        unknown = [x for x in wanted if x not in STATUS_NAMES]
        if unknown:
            return Response({"detail": "Unknown status.", "errors": {"status": [
                f"unknown status {unknown[0]!r}; statuses are {', '.join(sorted(STATUS_NAMES))}"]}}, status=400)
        items = services.my_work_items(request.user, wanted or OPEN_STATUSES).select_related("instance",
                                                                                            "user", "workgroup")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(s.WorkItemSerializer(page, many=True,
                                                                     context={"request": request}).data)


def form_response(request: Request, item_id: int) -> Response:
    item = services.work_item_for(request.user, item_id)
    return Response(s.WorkItemFormSerializer(item, context={"request": request}).data)


class WorkItemDetailView(APIView):
    @extend_schema(responses=s.WorkItemFormSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return form_response(request, pk)


class WorkItemSimpleActionView(APIView):
    """pickup / hold / resume."""

    action_name = ""  # a key of services.SIMPLE_ACTIONS, given by the URL conf

    @extend_schema(request=None, responses=s.WorkItemFormSerializer)
    def post(self, request: Request, pk: int) -> Response:
        services.SIMPLE_ACTIONS[self.action_name](request.user, pk)
        return form_response(request, pk)


class WorkItemCompleteView(APIView):
    @extend_schema(request=s.CompleteSerializer, responses=s.WorkItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = s.CompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.complete_work_item(request.user, pk, body.validated_data["button"],
                                           body.validated_data["values"], confirmed=body.validated_data["confirmed"])
        return Response(s.WorkItemSerializer(item, context={"request": request}).data)


class WorkItemSaveView(APIView):
    @extend_schema(request=s.SaveSerializer, responses=s.WorkItemFormSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = s.SaveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.save_work_item(request.user, pk, body.validated_data["values"])
        return form_response(request, pk)


class WorkItemTransferView(APIView):
    @extend_schema(request=s.TransferSerializer, responses=s.WorkItemSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = s.TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.transfer_work_item(request.user, pk, to_user=body.validated_data.get("user"),
                                           to_workgroup=body.validated_data.get("workgroup"))
        return Response(s.WorkItemSerializer(item, context={"request": request}).data)
