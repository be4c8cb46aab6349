"""JSON shapes of the monitor's API: queue counts, bulk jobs."""

from rest_framework import serializers

from ipa_portal.fields import StrictCharField


class QueueSerializer(serializers.Serializer):
    workgroup = serializers.CharField()
    queued = serializers.IntegerField()
    offered = serializers.IntegerField()
    processing = serializers.IntegerField()
    held = serializers.IntegerField()
    oldest_queued_at = serializers.DateTimeField(allow_null=True)


class BulkRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["cancel", "retry", "skip"])
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False,
                                max_length=100_000)  # ids as the database keeps them: larger ones are no id
    filter = serializers.DictField(required=False)
    comment = StrictCharField(required=False, allow_blank=True, default="", max_length=400)

    def validate(self, data: dict) -> dict:
        if ("ids" in data) == ("filter" in data):
            raise serializers.ValidationError("Give either ids or a filter.")
        return data


class JobResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class JobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    status = serializers.ChoiceField(choices=["running", "done"])
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    results = JobResultSerializer(many=True)


class MoveSerializer(serializers.Serializer):
    state = StrictCharField(max_length=200)
    comment = StrictCharField(required=False, allow_blank=True, default="", max_length=400)
