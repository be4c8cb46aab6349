"""JSON shapes of definitions and instances. Values pass through the policy before they get here."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ipa_portal.fields import StrictBooleanField, StrictCharField
from processes.models import HistoryEntry, ProcessDefinition, ProcessInstance, RelatedInteraction
from workitems.models import WORK_ITEM_STATUSES

PROCESS_DOCUMENT = {"$ref": "#/components/schemas/ProcessDocument"}
VARIABLES = {"type": "object", "additionalProperties": {},
             "description": "Variable name to value; values under a security specification the caller "
                            "is not on are left out."}


class DefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessDefinition
        fields = ["id", "name", "version", "category", "description", "published", "published_at", "imported_at"]
        read_only_fields = fields  # an answer only: every field is always there


@extend_schema_field(PROCESS_DOCUMENT)
class ProcessDocumentField(serializers.JSONField):
    """The definition document as imported (``ipa.process/v1``)."""


class DefinitionDetailSerializer(DefinitionSerializer):
    document = ProcessDocumentField()

    class Meta(DefinitionSerializer.Meta):
        fields = [*DefinitionSerializer.Meta.fields, "document"]
        read_only_fields = fields


class LaunchInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(child=serializers.JSONField(), required=False)


class ProcessSerializer(serializers.Serializer):
    """A launchable process: its published version and what it asks for at launch."""

    name = serializers.CharField()
    version = serializers.IntegerField()
    category = serializers.CharField()
    description = serializers.CharField()
    inputs = LaunchInputSerializer(many=True)


class LaunchSerializer(serializers.Serializer):
    inputs = serializers.DictField(required=False, default=dict,
                                   help_text="Launch input name to value (decimals as strings or numbers).")
    test = StrictBooleanField(required=False, default=False,
                                    help_text="Launch the newest version, published or not (Process Designer).")


class InstanceSerializer(serializers.ModelSerializer):
    process = serializers.CharField(source="process_name")
    version = serializers.IntegerField(source="definition.version")
    state = serializers.CharField(source="current_state")
    started_by = serializers.CharField(source="started_by.username", allow_null=True, default=None, read_only=True)

    class Meta:
        model = ProcessInstance
        fields = ["id", "process", "version", "status", "state", "waiting_on", "waiting_detail", "error",
                  "started_by", "started_at", "ended_at", "is_test", "parent", "depth"]
        read_only_fields = fields  # an answer only: every field is always there


class HistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = HistoryEntry
        fields = ["at", "what", "detail", "user"]
        read_only_fields = fields


class RelatedInteractionSerializer(serializers.ModelSerializer):
    type = StrictCharField(max_length=40)
    reference = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, default="")
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = RelatedInteraction
        fields = ["id", "type", "reference", "description", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class InstanceWorkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=WORK_ITEM_STATUSES)
    user = serializers.CharField(source="user.username", default=None, allow_null=True, read_only=True)
    workgroup = serializers.CharField(source="workgroup.name", default=None, allow_null=True, read_only=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    button = serializers.CharField(allow_blank=True, help_text="The button it was completed with; empty before.")


class InstanceDetailSerializer(InstanceSerializer):
    variables = serializers.SerializerMethodField()
    history = HistorySerializer(many=True, read_only=True)
    work_items = InstanceWorkItemSerializer(many=True, read_only=True)
    related_interactions = RelatedInteractionSerializer(many=True, read_only=True)

    class Meta(InstanceSerializer.Meta):
        fields = [*InstanceSerializer.Meta.fields, "variables", "history", "work_items", "related_interactions"]
        read_only_fields = fields

    @extend_schema_field(VARIABLES)
    def get_variables(self, instance: ProcessInstance) -> dict[str, Any]:
        return self.context["variables"]
