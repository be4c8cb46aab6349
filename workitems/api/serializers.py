"""JSON shapes of work items. Descriptions and values pass through the policy first."""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from ipa_portal.fields import StrictCharField
from ipa_portal.representations import represent
from workitems.forms import description_for, form_fields, work_item_definition
from workitems.models import WorkItem


class WorkItemSerializer(serializers.ModelSerializer):
    instance = serializers.IntegerField(source="instance_id")
    process = serializers.CharField(source="process_name")
    description = serializers.SerializerMethodField()
    user = serializers.CharField(source="user.username", default=None, allow_null=True, read_only=True,
                                 help_text="The agent it is offered to or taken by; null while queued.")
    workgroup = serializers.CharField(source="workgroup.name", default=None, allow_null=True, read_only=True,
                                      help_text="The workgroup it was routed to; null for a direct item.")

    class Meta:
        model = WorkItem
        fields = ["id", "instance", "process", "name", "category", "description", "priority", "status", "user",
                  "workgroup", "created_at", "updated_at", "offered_at"]
        read_only_fields = fields  # an answer only: every field is always there

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
    choices = serializers.ListField(child=serializers.JSONField(), required=False)
    value = serializers.JSONField(required=False, allow_null=True,
                                  help_text="Left out when masked (a security specification the caller is not on).")

    def to_representation(self, field: dict) -> dict:
        # The variable's spec stays on the server: it may name a security specification.
        return {k: v for k, v in field.items() if k != "spec"}


class ButtonSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()


class WorkItemFormSerializer(WorkItemSerializer):
    """A work item with its form: fields (value left out when masked) and buttons."""

    # ``fields`` is added in get_fields: as a class attribute the name is Serializer.fields.
    buttons = serializers.SerializerMethodField()

    class Meta(WorkItemSerializer.Meta):
        fields = [*WorkItemSerializer.Meta.fields, "buttons", "button"]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["fields"] = serializers.SerializerMethodField(method_name="get_form_fields")
        return fields

    @extend_schema_field(FieldSerializer(many=True))
    def get_form_fields(self, item: WorkItem) -> list[dict]:
        return [represent(FieldSerializer, field, {}) for field in form_fields(self.context["request"].user, item)]

    @extend_schema_field(ButtonSerializer(many=True))
    def get_buttons(self, item: WorkItem) -> list[dict]:
        # ``confirm`` (a question to answer first) and ``requires`` (fields it needs) only when the button has them.
        return [{"id": b["id"], "label": b.get("label", b["id"]),
                 **{key: b[key] for key in ("confirm", "requires") if b.get(key)}}
                for b in work_item_definition(item).get("buttons", [])]


VALUES_HELP = "Variable name to value, for the form's fields (decimals as strings or numbers)."


class CompleteSerializer(serializers.Serializer):
    button = StrictCharField(help_text="The id of one of the form's buttons.")
    values = serializers.DictField(required=False, default=dict, help_text=VALUES_HELP)
    confirmed = serializers.BooleanField(required=False, default=False,
                                         help_text="The answer to the button's `confirm` question, when it has one.")


class SaveSerializer(serializers.Serializer):
    values = serializers.DictField(required=False, default=dict, help_text=VALUES_HELP)


class TransferSerializer(serializers.Serializer):
    """What the server reads: one of ``user`` and ``workgroup`` (checked by the service)."""

    user = StrictCharField(required=False)
    workgroup = StrictCharField(required=False)


class TransferToUserSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="The user name of an agent with a license.")


class TransferToWorkgroupSerializer(serializers.Serializer):
    workgroup = serializers.CharField(help_text="A workgroup's name: the item goes back to its queue.")


# The schema of a transfer's body: exactly one of the two.
TRANSFER_REQUEST = PolymorphicProxySerializer(
    component_name="Transfer",
    serializers=[TransferToUserSerializer, TransferToWorkgroupSerializer],
    resource_type_field_name=None,
)
