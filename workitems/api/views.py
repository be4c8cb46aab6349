"""HTTP endpoints for the caller's work items: translate, then call a service."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipa_portal.errors import VALIDATION, problem
from ipa_portal.openapi import refusals
from ipa_portal.pagination import PageNumberPagination
from ipa_portal.representations import represent
from workitems import services
from workitems.api import serializers as s
from workitems.models import OPEN_STATUSES, WORK_ITEM_STATUSES

STATUS_NAMES = {name for name, _ in WORK_ITEM_STATUSES}


class WorkItemListView(APIView):
    """The caller's open work items (``?status=completed`` and others for closed ones)."""

    pagination_class = PageNumberPagination  # the schema declares the page envelope

    @extend_schema(
        operation_id="list_work_items",
        parameters=[OpenApiParameter(
            "status", {"type": "array", "items": {"$ref": "#/components/schemas/WorkItemStatusEnum"}},
            explode=False, description="Statuses to list, comma-separated or repeated (default: the open ones).")],
        responses={200: s.WorkItemSerializer(many=True), **refusals(400, 403)},
    )
    def get(self, request: Request) -> Response:
        wanted = tuple(x for value in request.query_params.getlist("status") for x in value.split(",") if x)
        unknown = [x for x in wanted if x not in STATUS_NAMES]
        if unknown:
            return problem(400, "Unknown status.", slug=VALIDATION, errors={"status": [
                f"unknown status {unknown[0]!r}; statuses are {', '.join(sorted(STATUS_NAMES))}"]})
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
    @extend_schema(
        operation_id="get_work_item",
        responses={200: s.WorkItemFormSerializer, **refusals(403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return form_response(request, pk)


class WorkItemSimpleActionView(APIView):
    """pickup / hold / resume."""

    action_name = ""  # a key of services.SIMPLE_ACTIONS, given by the URL conf
    operation_noun = "work_item"

    @extend_schema(request=None, responses={200: s.WorkItemFormSerializer, **refusals(403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        # The service returns the item as it committed it, its instance locked and read: no need to read it again.
        item = services.SIMPLE_ACTIONS[self.action_name](request.user, pk)
        return Response(represent(s.WorkItemFormSerializer, item, {"request": request}))


class WorkItemCompleteView(APIView):
    @extend_schema(
        operation_id="complete_work_item",
        request=s.CompleteSerializer,
        responses={200: s.WorkItemSerializer, **refusals(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = s.CompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.complete_work_item(request.user, pk, body.validated_data["button"],
                                           body.validated_data["values"], confirmed=body.validated_data["confirmed"])
        return Response(represent(s.WorkItemSerializer, item, {"request": request}))


class WorkItemSaveView(APIView):
    @extend_schema(
        operation_id="save_work_item",
        request=s.SaveSerializer,
        responses={200: s.WorkItemFormSerializer, **refusals(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = s.SaveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.save_work_item(request.user, pk, body.validated_data["values"])
        return form_response(request, pk)


class WorkItemTransferView(APIView):
    @extend_schema(
        operation_id="transfer_work_item",
        request=s.TRANSFER_REQUEST,
        responses={200: s.WorkItemSerializer, **refusals(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = s.TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.transfer_work_item(request.user, pk, to_user=body.validated_data.get("user"),
                                           to_workgroup=body.validated_data.get("workgroup"))
        return Response(s.WorkItemSerializer(item, context={"request": request}).data)
