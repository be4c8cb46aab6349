"""JSON shapes of definitions and instances. Values pass through the policy before they get here."""

from rest_framework import serializers

from processes.models import HistoryEntry, ProcessDefinition, ProcessInstance, RelatedInteraction


class DefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessDefinition
        fields = ["id", "name", "version", "category", "description", "published", "published_at", "imported_at"]


class DefinitionDetailSerializer(DefinitionSerializer):
    class Meta(DefinitionSerializer.Meta):
        fields = [*DefinitionSerializer.Meta.fields, "document"]


class LaunchInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(required=False)


class ProcessSerializer(serializers.Serializer):
    """A launchable process: its published version and what it asks for at launch."""

    name = serializers.CharField()
    version = serializers.IntegerField()
    category = serializers.CharField()
    description = serializers.CharField()
    inputs = LaunchInputSerializer(many=True)


class LaunchSerializer(serializers.Serializer):
    inputs = serializers.DictField(required=False, default=dict)
    test = serializers.BooleanField(required=False, default=False)


class InstanceSerializer(serializers.ModelSerializer):
    process = serializers.CharField(source="process_name")
    version = serializers.IntegerField(source="definition.version")
    state = serializers.CharField(source="current_state")
    started_by = serializers.CharField(source="started_by.username", allow_null=True, default=None)

    class Meta:
        model = ProcessInstance
        fields = ["id", "process", "version", "status", "state", "waiting_on", "waiting_detail", "error",
                  "started_by", "started_at", "ended_at", "is_test", "parent", "depth"]


class HistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = HistoryEntry
        fields = ["at", "what", "detail", "user"]


class RelatedInteractionSerializer(serializers.ModelSerializer):
    type = serializers.CharField(max_length=40)
    reference = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = RelatedInteraction
        fields = ["id", "type", "reference", "description", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class InstanceWorkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    user = serializers.CharField(source="user.username", default=None)
    workgroup = serializers.CharField(source="workgroup.name", default=None)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    button = serializers.CharField()


class InstanceDetailSerializer(InstanceSerializer):
    variables = serializers.SerializerMethodField()
    history = HistorySerializer(many=True, read_only=True)
    work_items = InstanceWorkItemSerializer(many=True, read_only=True)
    related_interactions = RelatedInteractionSerializer(many=True, read_only=True)

    class Meta(InstanceSerializer.Meta):
        fields = [*InstanceSerializer.Meta.fields, "variables", "history", "work_items", "related_interactions"]

    def get_variables(self, instance: ProcessInstance) -> dict:
        return self.context["variables"]


class DefinitionErrorSerializer(serializers.Serializer):
    path = serializers.CharField()
    message = serializers.CharField()
