"""The types of process variables: turning incoming values into Python values and back.

Three forms of a value meet here. The *JSON form* is what the API receives and what the
execution state stores (decimals as strings such as ``"12.50"``, dates and datetimes as
ISO 8601 strings, users and workgroups as names). The *Python form* is what expressions
compute with (``Decimal``, ``int``, ``str``, ``bool``, ``date``, aware UTC ``datetime``,
lists and dicts of those). ``coerce`` turns either form into the Python form and
``to_json`` turns the Python form into the JSON form.

Messages of ``InvalidValue`` (a ``ValueError``) are written to follow a field's label ("Amount must be a
decimal number such as 12.50"), so a person can correct the value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import isodate

from .patterns import PatternError, full_match

VARIABLE_TYPES = (
    "string",
    "integer",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "user",
    "workgroup",
    "list",
    "json",
)

MAX_DIGITS = 100  # numbers are at most 10**100 in size and have at most 100 decimal places
_LARGEST = 10**MAX_DIGITS


class InvalidValue(ValueError):
    """A value that does not fit its type, restriction or format; the message says why."""


_WHOLE_NUMBER = "must be a whole number"
_DECIMAL_NUMBER = "must be a decimal number such as 12.50"
_DATE = "must be an ISO 8601 date such as 2024-05-01"
_DATETIME = "must be an ISO 8601 date and time such as 2024-05-01T10:00:00Z"
_BOOLEAN = "must be true or false"
_TOO_LARGE = "is too large: numbers must be at most 10**100"

# ------------------------------------------------------------------------------ coerce


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, date)):
        raise InvalidValue("must be text")
    return str(_serialise(value))


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InvalidValue(_DECIMAL_NUMBER)
    if isinstance(value, int) and abs(value) > _LARGEST:
        raise InvalidValue(_TOO_LARGE)
    if isinstance(value, str):
        value = value.strip()
    try:
        number = Decimal(str(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise InvalidValue(_DECIMAL_NUMBER) from None
    if not number.is_finite():
        raise InvalidValue(_DECIMAL_NUMBER)
    if number.copy_abs() > _LARGEST:
        raise InvalidValue(_TOO_LARGE)
    if number.as_tuple().exponent < -MAX_DIGITS:  # type: ignore[operator]
        raise InvalidValue(f"must have at most {MAX_DIGITS} digits after the decimal point")
    return number


def _to_integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > _LARGEST:
            raise InvalidValue(_TOO_LARGE)
        return value
    try:
        number = _to_decimal(value)
    except ValueError as error:
        raise InvalidValue(_TOO_LARGE if str(error) == _TOO_LARGE else _WHOLE_NUMBER) from None
    if number != number.to_integral_value():
        raise InvalidValue(_WHOLE_NUMBER)
    return int(number)


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
    raise InvalidValue(_BOOLEAN)


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidValue(_DATETIME) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise InvalidValue(_DATETIME)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidValue(_DATETIME) from None


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return _to_datetime(value).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidValue(_DATE)
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if "T" not in text:
        raise InvalidValue(_DATE)
    try:
        return _to_datetime(text).date()
    except ValueError:
        raise InvalidValue(_DATE) from None


def _to_name(what: str) -> Callable[[Any], str]:
    def to_name(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue(f"must be a {what} name")
        return value.strip()

    return to_name


def _to_plain(value: Any) -> Any:
    """A JSON-compatible value with floats made exact and tuples made lists."""
    if value is None or isinstance(value, (str, bool, int, Decimal, date, timedelta)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue("must not contain NaN or infinite numbers")
        return Decimal(str(value))
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise InvalidValue("must have text keys only")
        return {key: _to_plain(item) for key, item in value.items()}
    raise InvalidValue("must be a JSON value")


def _to_list(value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise InvalidValue("must be a list")
    items: list[Any] = _to_plain(value)
    return items


_COERCIONS: dict[str, Callable[[Any], Any]] = {
    "string": _to_string,
    "integer": _to_integer,
    "decimal": _to_decimal,
    "boolean": _to_boolean,
    "date": _to_date,
    "datetime": _to_datetime,
    "user": _to_name("user"),
    "workgroup": _to_name("workgroup"),
    "list": _to_list,
    "json": _to_plain,
}


def coerce(type_name: str, value: Any) -> Any:
    """``value`` (JSON or Python form) as the Python value of ``type_name``; None stays None.

    Numbers are accepted for strings (as their text), integral decimals and numeric text
    for integers, floats for decimals (through their shortest text, so 0.1 is exactly 0.1);
    booleans are never numbers. Datetimes are made aware and UTC (naive means UTC).
    """
    coercion = _COERCIONS.get(type_name)
    if coercion is None:
        raise InvalidValue(f'has an unknown type "{type_name}"')
    return None if value is None else coercion(value)


from_json = coerce  # the same thing, read at call sites that load stored values

# ----------------------------------------------------------------------------- to_json


def _format_decimal(number: Decimal) -> str:
    if number.is_zero():
        number = number.copy_abs()  # no "-0.00"
    return format(number, "f")


def _format_datetime(moment: datetime) -> str:
    moment = _to_datetime(moment)
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _serialise(value: Any) -> Any:
    """The JSON form of a Python value, whatever its variable type."""
    if isinstance(value, Decimal):
        return _format_decimal(value)
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return isodate.duration_isoformat(value)
    if isinstance(value, float):
        return _format_decimal(_to_plain(value))
    if isinstance(value, (list, tuple)):
        return [_serialise(item) for item in value]
    if isinstance(value, dict):
        return {key: _serialise(item) for key, item in value.items()}
    return value


def to_json(type_name: str, value: Any) -> Any:
    """The storage and wire form of a value of ``type_name`` (it is coerced first).

    Decimals become plain text keeping their scale (``"12.50"``), dates ``"2024-05-01"``,
    datetimes UTC text ending in ``Z``; inside lists and json the same happens to every item.
    """
    return _serialise(coerce(type_name, value))


# ------------------------------------------------------------------------ restrictions


def _bound(value: Any, bound: Any) -> Any:
    """A ``min``/``max`` bound as a value comparable with ``value``."""
    if isinstance(value, datetime):
        return _to_datetime(bound)
    if isinstance(value, date):
        return _to_date(bound)
    return _to_decimal(bound)


def _range_errors(spec: dict[str, Any], value: Any) -> list[str]:
    errors = []
    for key, words in (("min", "at least"), ("max", "at most")):
        if spec.get(key) is None:
            continue
        try:
            bound = _bound(value, spec[key])
        except ValueError:
            errors.append(f"cannot be checked against the {key} {_show(spec[key])}")
            continue
        if (value < bound) if key == "min" else (value > bound):
            errors.append(f"must be {words} {_show(bound)}")
    return errors


def _show(value: Any) -> str:
    """A value as a person reads it in a message."""
    shown = _serialise(value)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return shown if isinstance(shown, str) else json.dumps(shown)


def _choice_errors(spec: dict[str, Any], value: Any) -> list[str]:
    choices = []
    for choice in spec["choices"]:
        try:
            choices.append(coerce(spec.get("type", "json"), choice))
        except ValueError:
            continue
    if value in choices:
        return []
    return ["must be one of: " + ", ".join(_show(choice) for choice in choices)]


def restriction_errors(spec: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with a coerced ``value`` under the spec's restrictions (empty: nothing).

    Restrictions are ``choices``, ``min``, ``max``, ``max_length`` and ``pattern`` (a
    RE2 regular expression the whole text must match, in linear time). None passes every restriction.
    """
    if value is None:
        return []
    errors = []
    if spec.get("choices") is not None:
        errors += _choice_errors(spec, value)
    if isinstance(value, (int, Decimal, date)) and not isinstance(value, bool):
        errors += _range_errors(spec, value)
    max_length = spec.get("max_length")
    if max_length is not None and isinstance(value, (str, list)) and len(value) > max_length:
        if isinstance(value, str):
            errors.append(f"must be at most {max_length} characters long")
        else:
            errors.append(f"must have at most {max_length} items")
    pattern = spec.get("pattern")
    if pattern is not None and isinstance(value, str):
        try:
            if not full_match(pattern, value):
                errors.append(f"must match the pattern {pattern}")
        except PatternError:
            errors.append(f"cannot be checked: the pattern {pattern} is not a valid regular expression")
    return errors


# ------------------------------------------------------------------- durations, defaults


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration (``PT30M``, ``P2D``, ``P1DT2H``, ``P1W``) as a timedelta.

    Years and months are refused because they have no fixed length; so are negative
    durations and text that is not a duration.
    """
    if not isinstance(text, str) or not re.search(r"\d", text):
        raise InvalidValue(f'"{text}" is not an ISO 8601 duration such as PT30M or P2D')
    try:
        duration = isodate.parse_duration(text.strip())
    except (ValueError, OverflowError):
        raise InvalidValue(f'"{text}" is not an ISO 8601 duration such as PT30M or P2D') from None
    if isinstance(duration, isodate.Duration) or not isinstance(duration, timedelta):
        raise InvalidValue("use days, hours, minutes or seconds: months and years have no fixed length")
    if duration < timedelta(0):
        raise InvalidValue(f'"{text}" is negative: a duration must be zero or more')
    return duration


def default_value(spec: dict[str, Any]) -> Any:
    """The JSON form of the variable's ``default``, or None when it has none."""
    return to_json(spec["type"], spec.get("default"))
