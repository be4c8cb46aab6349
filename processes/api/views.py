"""HTTP endpoints for definitions, launching and instances: translate, then call a service."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from administration import policy
from ipa_portal.openapi import DefinitionProblemSerializer, refusals
from ipa_portal.pagination import PageNumberPagination
from processes.api import serializers as s
from processes.engine.validation import PROCESS_SCHEMA, load_document
from processes.models import ProcessDefinition, ProcessInstance
from processes.services import definitions, instances


class ProcessSchemaView(APIView):
    """The process definition format as a JSON Schema, for designers' editors."""

    permission_classes: list = []
    authentication_classes: list = []

    @extend_schema(
        operation_id="get_process_schema",
        responses={(200, "application/schema+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        return Response(PROCESS_SCHEMA, content_type="application/schema+json")


class DefinitionListView(APIView):
    pagination_class = PageNumberPagination  # the schema declares the page envelope

    @extend_schema(
        operation_id="list_definitions",
        parameters=[OpenApiParameter("name", str, description="Only the versions of this process, newest first.")],
        responses={200: s.DefinitionSerializer(many=True), **refusals(403)},
    )
    def get(self, request: Request) -> Response:
        policy.require_designer(request.user)
        queryset = ProcessDefinition.objects.all()
        if name := request.query_params.get("name"):
            queryset = queryset.filter(name=name)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(s.DefinitionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="import_definition",
        request={"application/json": s.PROCESS_DOCUMENT},
        parameters=[OpenApiParameter("publish", bool, description="Publish the new version at once.")],
        responses={201: s.DefinitionDetailSerializer, **refusals(400, invalid=DefinitionProblemSerializer),
                   **refusals(403)},
    )
    def post(self, request: Request) -> Response:
        policy.require_designer(request.user)
        # The body is read here, not by a parser: JSON or YAML text, every fault reported by path.
        document = load_document(request.body.decode("utf-8", errors="replace"))
        publish = request.query_params.get("publish") in ("1", "true", "yes")
        definition = definitions.import_definition(document, user=request.user, publish=publish)
        return Response(s.DefinitionDetailSerializer(definition).data, status=status.HTTP_201_CREATED)


class DefinitionDetailView(APIView):
    @extend_schema(
        operation_id="get_definition",
        responses={200: s.DefinitionDetailSerializer, **refusals(403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        policy.require_designer(request.user)
        definition = generics.get_object_or_404(ProcessDefinition, pk=pk)
        return Response(s.DefinitionDetailSerializer(definition).data)


class DefinitionPublishView(APIView):
    @extend_schema(
        operation_id="publish_definition",
        request=None,
        responses={200: s.DefinitionSerializer, **refusals(403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        definition = definitions.publish_definition(pk, user=request.user)
        return Response(s.DefinitionSerializer(definition).data)


class ProcessListView(APIView):
    """The published processes the caller may launch, with their launch inputs."""

    pagination_class = PageNumberPagination  # the schema declares the page envelope

    @extend_schema(
        operation_id="list_processes",
        responses={200: s.ProcessSerializer(many=True), **refusals(403)},
    )
    def get(self, request: Request) -> Response:
        rows = []
        for definition, specs in instances.launchable_processes(request.user):
            inputs = [
                {"name": spec["name"], "type": spec["type"], "required": bool(spec.get("required")),
                 "default": spec.get("default"), **({"choices": spec["choices"]} if "choices" in spec else {})}
                for spec in specs
            ]
            rows.append({"name": definition.name, "version": definition.version, "category": definition.category,
                         "description": definition.description, "inputs": inputs})
        paginator = PageNumberPagination()
        return paginator.get_paginated_response(paginator.paginate_queryset(rows, request, view=self))


class LaunchView(APIView):
    @extend_schema(
        operation_id="launch_process",
        request=s.LaunchSerializer,
        responses={201: s.InstanceDetailSerializer, **refusals(400, 403, 404, 503)},
    )
    def post(self, request: Request, name: str) -> Response:
        body = s.LaunchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        instance = instances.launch_process(
            request.user, name, body.validated_data["inputs"], test=body.validated_data["test"]
        )
        return Response(instance_detail(request, instance.pk), status=status.HTTP_201_CREATED)


class InstanceFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(field_name="process_name")
    status = django_filters.ChoiceFilter(choices=ProcessInstance._meta.get_field("status").choices)
    state = django_filters.CharFilter(field_name="current_state")
    started_by = django_filters.CharFilter(field_name="started_by__username")
    waiting_on = django_filters.CharFilter()
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ProcessInstance
        fields = ["process", "status", "state", "started_by", "waiting_on", "started_after", "started_before"]


class InstanceListView(generics.ListAPIView):
    serializer_class = s.InstanceSerializer
    filterset_class = InstanceFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    @extend_schema(
        operation_id="list_instances",
        responses={200: s.InstanceSerializer(many=True), **refusals(400)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return ProcessInstance.objects.none()
        return instances.visible_instances(self.request.user).select_related("definition", "started_by")


def instance_detail(request: Request, instance_id: int) -> dict:
    instance = instances.instance_details(request.user, instance_id)
    context = {"variables": instances.instance_variables(request.user, instance)}
    return s.InstanceDetailSerializer(instance, context=context).data


class InstanceDetailView(APIView):
    @extend_schema(
        operation_id="get_instance",
        responses={200: s.InstanceDetailSerializer, **refusals(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(instance_detail(request, pk))


class InstanceActionView(APIView):
    """cancel / retry / skip (Manage Process right)."""

    action_name = ""  # a key of instances.REPAIRS, given by the URL conf
    operation_noun = "instance"

    @extend_schema(request=None, responses={200: s.InstanceDetailSerializer, **refusals(403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        comment = request.data.get("comment", "") if isinstance(request.data, dict) else ""
        instances.REPAIRS[self.action_name](request.user, pk, comment=str(comment)[:400])
        return Response(instance_detail(request, pk))


class RelatedInteractionView(APIView):
    @extend_schema(
        operation_id="relate_interaction",
        request=s.RelatedInteractionSerializer,
        responses={201: s.RelatedInteractionSerializer, **refusals(400, 404)},
    )
    def post(self, request: Request, pk: int) -> Response:
        instance = instances.visible_instance(request.user, pk)
        body = s.RelatedInteractionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        interaction = instances.relate_interaction(request.user, instance, body.validated_data)
        return Response(s.RelatedInteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)
