"""HTTP endpoints for definitions, launching and instances: translate, then call a service."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from administration import policy
from ipa_portal.pagination import PageNumberPagination
from processes.api import serializers as s
from processes.engine.validation import PROCESS_SCHEMA, DefinitionInvalid, load_document
from processes.models import ProcessDefinition, ProcessInstance
from processes.services import definitions, instances
from processes.services.definitions import compiled_process
from workitems.models import WorkItem


class ProcessSchemaView(APIView):
    """The process definition format as a JSON Schema, for designers' editors."""

    permission_classes: list = []
    authentication_classes: list = []

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(PROCESS_SCHEMA, content_type="application/schema+json")


class DefinitionListView(APIView):
    @extend_schema(responses=s.DefinitionSerializer(many=True), parameters=[])
    def get(self, request: Request) -> Response:
        policy.require_designer(request.user)
        queryset = ProcessDefinition.objects.all()
        if name := request.query_params.get("name"):
            queryset = queryset.filter(name=name)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(s.DefinitionSerializer(page, many=True).data)

    @extend_schema(
        request=dict,
        responses={201: s.DefinitionDetailSerializer, 400: OpenApiResponse(description="errors: [{path, message}]")},
    )
    def post(self, request: Request) -> Response:
        policy.require_designer(request.user)
        try:
            document = request.data if isinstance(request.data, dict) else load_document(request.body.decode())
            publish = request.query_params.get("publish") in ("1", "true", "yes")
            definition = definitions.import_definition(document, user=request.user, publish=publish)
        except DefinitionInvalid as exc:
            return Response(
                {"detail": f"The definition has {len(exc.errors)} error(s).",
                 "errors": [e.to_dict() for e in exc.errors]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(s.DefinitionDetailSerializer(definition).data, status=status.HTTP_201_CREATED)


class DefinitionDetailView(APIView):
    @extend_schema(responses=s.DefinitionDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        policy.require_designer(request.user)
        definition = generics.get_object_or_404(ProcessDefinition, pk=pk)
        return Response(s.DefinitionDetailSerializer(definition).data)


class DefinitionPublishView(APIView):
    @extend_schema(request=None, responses=s.DefinitionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        definition = definitions.publish_definition(pk, user=request.user)
        return Response(s.DefinitionSerializer(definition).data)


class ProcessListView(APIView):
    """The published processes the caller may launch, with their launch inputs."""

    @extend_schema(responses=s.ProcessSerializer(many=True))
    def get(self, request: Request) -> Response:
        policy.require_launch(request.user)
        rows = []
        for definition in ProcessDefinition.objects.filter(published=True).order_by("category", "name"):
            process = compiled_process(definition.pk)
            inputs = [
                {"name": spec["name"], "type": spec["type"], "required": bool(spec.get("required")),
                 "default": spec.get("default"), **({"choices": spec["choices"]} if "choices" in spec else {})}
                for spec in process.input_variables
                if policy.may_see(request.user, spec.get("security"))
            ]
            rows.append({"name": definition.name, "version": definition.version, "category": definition.category,
                         "description": definition.description, "inputs": inputs})
        return Response({"count": len(rows), "next": None, "previous": None, "results": rows})


class LaunchView(APIView):
    @extend_schema(request=s.LaunchSerializer, responses={201: s.InstanceDetailSerializer})
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

    def get_queryset(self):
        return instances.visible_instances(self.request.user).select_related("definition", "started_by")


def instance_detail(request: Request, instance_id: int) -> dict:
    instance = instances.visible_instance(request.user, instance_id)
    instance = (
        ProcessInstance.objects.select_related("definition", "started_by")
        .prefetch_related(
            "history",
            Prefetch("work_items", queryset=WorkItem.objects.select_related("user", "workgroup").order_by("id")),
            "related_interactions__created_by",
        )
        .get(pk=instance.pk)
    )
    context = {"variables": instances.instance_variables(request.user, instance)}
    return s.InstanceDetailSerializer(instance, context=context).data


class InstanceDetailView(APIView):
    @extend_schema(responses=s.InstanceDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(instance_detail(request, pk))


class InstanceActionView(APIView):
    """cancel / retry / skip (Manage Process right)."""

    action_name = ""
    actions = {
        "cancel": instances.cancel_instance,
        "retry": instances.retry_instance,
        "skip": instances.skip_instance,
    }

    @extend_schema(request=None, responses=s.InstanceDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        instances.visible_instance(request.user, pk)  # 404 before 403 for what the caller cannot see
        comment = request.data.get("comment", "") if isinstance(request.data, dict) else ""
        self.actions[self.action_name](request.user, pk, comment=str(comment)[:400])
        return Response(instance_detail(request, pk))


class RelatedInteractionView(APIView):
    @extend_schema(request=s.RelatedInteractionSerializer, responses={201: s.RelatedInteractionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        instance = instances.visible_instance(request.user, pk)
        body = s.RelatedInteractionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        interaction = instances.relate_interaction(request.user, instance, body.validated_data)
        return Response(s.RelatedInteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)
