"""Serializer fields of request bodies that take JSON's types at their word.

DRF's ``CharField`` turns ``0`` into ``"0"`` and its ``BooleanField`` takes ``"yes"``; the schema
says ``string`` and ``boolean``, so a generated client and the server agree only if the server
refuses what the schema refuses.
"""

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
