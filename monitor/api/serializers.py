"""JSON shapes of the monitor's API: queue counts, bulk jobs."""

from rest_framework import serializers


class QueueSerializer(serializers.Serializer):
    workgroup = serializers.CharField()
    queued = serializers.IntegerField()
    offered = serializers.IntegerField()
    processing = serializers.IntegerField()
    held = serializers.IntegerField()
    oldest_queued_at = serializers.DateTimeField(allow_null=True)
