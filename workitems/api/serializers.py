"""JSON shapes of work items. Descriptions and values pass through the policy first."""

from rest_framework import serializers

from workitems.forms import description_for, form_fields, work_item_definition
from workitems.models import WorkItem


class WorkItemSerializer(serializers.ModelSerializer):
    instance = serializers.IntegerField(source="instance_id")
    process = serializers.CharField(source="process_name")
    description = serializers.SerializerMethodField()
    user = serializers.CharField(source="user.username", default=None)
    workgroup = serializers.CharField(source="workgroup.name", default=None)

    class Meta:
        model = WorkItem
        fields = ["id", "instance", "process", "name", "category", "description", "priority", "status", "user",
                  "workgroup", "created_at", "updated_at", "offered_at"]

    def get_description(self, item: WorkItem) -> str:
        return description_for(self.context["request"].user, item)


class FieldSerializer(serializers.Serializer):
    variable = serializers.CharField()
    label = serializers.CharField()
    control = serializers.CharField()
    type = serializers.CharField()
    readonly = serializers.BooleanField()
    required = serializers.BooleanField()
    masked = serializers.BooleanField()
    choices = serializers.ListField(required=False)
    value = serializers.JSONField(required=False)

    def to_representation(self, field: dict) -> dict:
        # The variable's spec stays on the server: it may name a security specification.
        return {k: v for k, v in field.items() if k != "spec"}


class WorkItemFormSerializer(WorkItemSerializer):
    fields_ = serializers.SerializerMethodField(method_name="get_form_fields")
    buttons = serializers.SerializerMethodField()

    class Meta(WorkItemSerializer.Meta):
        fields = [*WorkItemSerializer.Meta.fields, "fields_", "buttons", "button"]

    def to_representation(self, item: WorkItem) -> dict:
        data = super().to_representation(item)
        data["fields"] = data.pop("fields_")
        return data

    def get_form_fields(self, item: WorkItem) -> list[dict]:
        return FieldSerializer(form_fields(self.context["request"].user, item), many=True).data

    def get_buttons(self, item: WorkItem) -> list[dict]:
        # ``confirm`` (a question to answer first) and ``requires`` (fields it needs) only when the button has them.
        return [{"id": b["id"], "label": b.get("label", b["id"]),
                 **{key: b[key] for key in ("confirm", "requires") if b.get(key)}}
                for b in work_item_definition(item).get("buttons", [])]


class CompleteSerializer(serializers.Serializer):
    button = serializers.CharField()
    values = serializers.DictField(required=False, default=dict)
    confirmed = serializers.BooleanField(required=False, default=False,
                                         help_text="The answer to the button's `confirm` question, when it has one.")


class SaveSerializer(serializers.Serializer):
    values = serializers.DictField(required=False, default=dict)


class TransferSerializer(serializers.Serializer):
    user = serializers.CharField(required=False)
    workgroup = serializers.CharField(required=False)
