"""What an external action returns, as the JSON values of the process format.

A handler or a database driver hands back Python values: ``Decimal``, ``date``,
``datetime``, ``bytes``, ``UUID`` ... The engine stores JSON, and the format has its own
forms for these: decimals as exact text (``"12.50"``), dates and datetimes as ISO 8601
(datetimes in UTC, a naive one taken as UTC), durations as ISO 8601 durations. This module
makes that one conversion for every action, so a value reads the same whichever action
produced it.
"""

from __future__ import annotations

import base64
import math
import uuid
from datetime import time
from typing import Any

from processes.engine.scopes import natural_json


def json_value(value: Any) -> Any:
    """``value`` in the format's JSON form; TypeError for what has none (a socket, a class ...)."""
    try:
        return natural_json(_plain(value))
    except ValueError as error:
        raise TypeError(str(error)) from error


def _plain(value: Any) -> Any:
    """The few driver types the engine's own conversion does not know, turned into ones it does."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and infinities have no JSON form
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value
