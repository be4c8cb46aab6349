"""Representations made by one serializer per class and thread.

DRF builds a serializer's fields anew for every serializer made, and for a work item that
costs more CPU than everything else in pushing it to a socket or answering a pickup. A
serializer that only represents reads nothing but its instance and its context, so one per
class and thread serves every call, given the context of the call.
"""

from __future__ import annotations

import threading
from typing import Any

from rest_framework.serializers import BaseSerializer

_made = threading.local()


def represent(serializer_class: type[BaseSerializer], instance: Any, context: dict[str, Any]) -> dict[str, Any]:
    """``serializer_class(instance, context=context).data``, from this thread's serializer of that class."""
    serializers = getattr(_made, "serializers", None)
    if serializers is None:
        serializers = _made.serializers = {}
    serializer = serializers.get(serializer_class)
    if serializer is None:
        serializer = serializers[serializer_class] = serializer_class(context={})
    serializer.context.clear()
    serializer.context.update(context)
    return dict(serializer.to_representation(instance))
