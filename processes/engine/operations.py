"""What the expression language does with values: checks, operators and built-in functions.

Every operation checks its operands, so a mistake in a definition becomes an
``ExpressionFault`` in plain words (``expressions`` adds the expression's source), never a
raw Python error. Numbers are exact: ``/`` always gives a ``Decimal``. Results are bounded
in size (``"a" * 10**9`` is refused before it is built).
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from processes.engine import values

MAX_SIZE = 100_000  # characters of a string, items of a list (counted through nested lists)
MAX_INTEGER = 10**100

_DECIMALS = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_WIDE = Context(prec=250, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


class ExpressionFault(Exception):
    """A value or a part of an expression the language refuses; ``expressions`` adds the source."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------ value checks


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    for types, word in _KINDS:
        if isinstance(value, types):
            return word
    return type(value).__name__


_KINDS = (
    (bool, "true/false"),
    ((int, Decimal), "a number"),
    (str, "text"),
    (list, "a list"),
    (dict, "a dict"),
    (datetime, "a date and time"),
    (date, "a date"),
    (timedelta, "a duration"),
)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def normal(value: Any) -> Any:
    """A value read from outside in the language's terms: no floats, no naive datetimes."""
    if isinstance(value, float):
        try:
            return values.coerce("decimal", value)
        except ValueError as error:
            raise ExpressionFault(f"a number read from outside {error}") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, tuple):
        return list(value)
    return value


def checked_number(value: int | Decimal) -> int | Decimal:
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise ExpressionFault("the number is too large: numbers must be at most 10**100")
        return value
    if value.copy_abs() > MAX_INTEGER:
        raise ExpressionFault("the number is too large: numbers must be at most 10**100")
    if value.as_tuple().exponent < -values.MAX_DIGITS:  # type: ignore[operator]
        raise ExpressionFault(f"the number has more than {values.MAX_DIGITS} decimal places")
    return value


_PLAIN = frozenset({type(None), bool, int, Decimal, float, date, datetime, timedelta, str})
_IS_TEXT = functools.partial(operator.is_, str)


def weight(value: Any) -> int:
    """Items and characters of a value, through nested lists and dicts (stops soon after MAX_SIZE).

    Every item counts one and text one per character more. The work is done a whole list
    at a time by C-level builtins, so weighing 100,000 items takes milliseconds.
    """
    total, pending = 0, [value]
    while pending and total <= MAX_SIZE:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item) or 1
        elif not isinstance(item, (list, dict)) or not item:
            total += 1
        elif len(item) > MAX_SIZE:
            return len(item)
        else:
            children = list(item.values()) if isinstance(item, dict) else item
            kinds = set(map(type, children))
            total += len(children)
            if kinds <= _PLAIN:
                if str in kinds:
                    texts = itertools.compress(children, map(_IS_TEXT, map(type, children)))
                    total += sum(map(len, texts))
            elif kinds in ({list}, {dict}):  # rows of a table: weigh all their cells together
                size = sum(map(len, children))
                if size > MAX_SIZE:
                    return total + size
                cells = children if kinds == {list} else map(dict.values, children)
                pending.append(list(itertools.chain.from_iterable(cells)))
            else:
                pending.extend(children)
    return total


def limit_size(size: int) -> None:
    if size > MAX_SIZE:
        raise ExpressionFault(f"the result would have more than {MAX_SIZE:,} characters or items")


# -------------------------------------------------------------------------- operators


def _add(a: Any, b: Any) -> Any:
    if is_number(a) and is_number(b):
        return checked_number(a + b if _is_whole(a) and _is_whole(b) else _DECIMALS.add(a, b))
    if isinstance(a, str) and isinstance(b, str):
        limit_size(len(a) + len(b))
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        limit_size(weight(a) + weight(b))
        return a + b
    if isinstance(a, timedelta) and isinstance(b, date):
        a, b = b, a
    if isinstance(a, (date, timedelta)) and isinstance(b, timedelta):
        return a + b
    raise ExpressionFault(f"cannot add {kind_of(a)} and {kind_of(b)}")


def _subtract(a: Any, b: Any) -> Any:
    if is_number(a) and is_number(b):
        return checked_number(a - b if _is_whole(a) and _is_whole(b) else _DECIMALS.subtract(a, b))
    both_dates = isinstance(a, date) and isinstance(b, date)
    if both_dates and isinstance(a, datetime) == isinstance(b, datetime):
        return a - b
    if isinstance(a, (date, timedelta)) and isinstance(b, timedelta):
        return a - b
    raise ExpressionFault(f"cannot subtract {kind_of(b)} from {kind_of(a)}")


def _multiply(a: Any, b: Any) -> Any:
    if is_number(a) and is_number(b):
        return checked_number(a * b if _is_whole(a) and _is_whole(b) else _DECIMALS.multiply(a, b))
    if _is_whole(a) and isinstance(b, (str, list, timedelta)):
        a, b = b, a
    if isinstance(a, (str, list)) and _is_whole(b):
        if b > 1:
            limit_size(weight(a) * b)
        return a * b
    if isinstance(a, timedelta) and _is_whole(b):
        return a * b
    raise ExpressionFault(f"cannot multiply {kind_of(a)} by {kind_of(b)}")


def _divisible(a: Any, b: Any, sign: str) -> None:
    if not (is_number(a) and is_number(b)):
        raise ExpressionFault(f"cannot use {sign} on {kind_of(a)} and {kind_of(b)}")
    if b == 0:
        raise ExpressionFault("division by zero")


def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        a, b = a // timedelta(microseconds=1), b // timedelta(microseconds=1)
    _divisible(a, b, "/")
    return checked_number(_DECIMALS.divide(a, b))


def _floor_divide(a: Any, b: Any) -> Any:
    _divisible(a, b, "//")
    if _is_whole(a) and _is_whole(b):
        return a // b
    quotient, remainder = _DECIMALS.divmod(a, b)  # truncates towards zero; Python floors
    return checked_number(quotient - 1 if remainder and (remainder < 0) != (b < 0) else quotient)


def _modulo(a: Any, b: Any) -> Any:
    _divisible(a, b, "%")
    if _is_whole(a) and _is_whole(b):
        return a % b
    remainder = _DECIMALS.remainder(a, b)  # has the sign of a; Python's has the sign of b
    return checked_number(_DECIMALS.add(remainder, b) if remainder and (remainder < 0) != (b < 0) else remainder)


def negate(a: Any) -> Any:
    if _is_whole(a) or isinstance(a, timedelta):
        return -a
    if isinstance(a, Decimal):
        return _DECIMALS.minus(a)
    raise ExpressionFault(f"cannot negate {kind_of(a)}")


def plus(a: Any) -> Any:
    if is_number(a):
        return a
    raise ExpressionFault(f"cannot use unary + on {kind_of(a)}")


def _orderable(a: Any, b: Any) -> None:
    if is_number(a) and is_number(b):
        return
    if isinstance(a, str) and isinstance(b, str) or isinstance(a, timedelta) and isinstance(b, timedelta):
        return
    if isinstance(a, date) and isinstance(b, date) and isinstance(a, datetime) == isinstance(b, datetime):
        return
    raise ExpressionFault(f"cannot compare {kind_of(a)} with {kind_of(b)}")


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def ordered(a: Any, b: Any) -> bool:
        _orderable(a, b)
        return compare(a, b)

    return ordered


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise ExpressionFault(f"cannot look for {kind_of(item)} in text")
        return item in container
    if isinstance(container, list) or isinstance(container, dict) and isinstance(item, str):
        return item in container
    raise ExpressionFault(f"cannot look for {kind_of(item)} in {kind_of(container)}")


def index(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        if not isinstance(key, str):
            raise ExpressionFault(f"a dict key must be text, not {kind_of(key)}")
        if key not in value:
            raise ExpressionFault("the key is not in the dict")  # the key may be a protected value
        return normal(value[key])
    if not isinstance(value, (list, str)):
        raise ExpressionFault(f"cannot index {kind_of(value)}")
    if not _is_whole(key):
        raise ExpressionFault(f"an index must be a whole number, not {kind_of(key)}")
    if not -len(value) <= key < len(value):
        # Neither the index nor the length is shown: either may come from a protected value.
        raise ExpressionFault("the index is out of range for the " + ("list" if isinstance(value, list) else "text"))
    return normal(value[key])


def slice_of(value: Any, lower: Any, upper: Any, step: Any) -> Any:
    if not isinstance(value, (list, str)):
        raise ExpressionFault(f"cannot slice {kind_of(value)}")
    if not all(bound is None or _is_whole(bound) for bound in (lower, upper, step)):
        raise ExpressionFault("slice bounds must be whole numbers")
    if step == 0:
        raise ExpressionFault("a slice step cannot be zero")
    return value[lower:upper:step]


BINARY_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: _subtract,
    ast.Mult: _multiply,
    ast.Div: _divide,
    ast.FloorDiv: _floor_divide,
    ast.Mod: _modulo,
}
COMPARISONS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: _ordered(operator.lt),
    ast.LtE: _ordered(operator.le),
    ast.Gt: _ordered(operator.gt),
    ast.GtE: _ordered(operator.ge),
    ast.In: lambda a, b: _contains(b, a),
    ast.NotIn: lambda a, b: not _contains(b, a),
}

# -------------------------------------------------------------------------- functions


def to_text(value: Any) -> str:
    """A value as text, the way templates and ``str()`` show it (null shows as nothing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(values.to_json("json", value), ensure_ascii=False)
    return str(values.to_json("json", value))


def _length(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise ExpressionFault(f"len() needs text, a list or a dict, not {kind_of(value)}")


def _convert(type_name: str, value: Any, accepted: tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise ExpressionFault(f"cannot turn {kind_of(value)} into {what}")
    try:
        return values.coerce(type_name, value)
    except ValueError as error:
        # The value itself is never quoted: it may be under a security specification.
        raise ExpressionFault(f"the value given {error}") from None


def _to_int(value: Any) -> int:
    if isinstance(value, Decimal):
        return int(value)  # truncates towards zero, like Python
    number: int = _convert("integer", value, (int, str), "a whole number")
    return number


def _round(value: Any, places: Any = None) -> Any:
    if not is_number(value) or not (places is None or _is_whole(places)):
        raise ExpressionFault(f"round() needs a number and a whole number of places, not {kind_of(value)}")
    if places is None or isinstance(value, int):
        return round(value, places)  # Python rounds half to even; an int stays an int
    if abs(places) > values.MAX_DIGITS:
        raise ExpressionFault(f"round() can keep at most {values.MAX_DIGITS} places")
    return value.quantize(Decimal(1).scaleb(-places), context=_WIDE)


def _extreme(name: str, pick: Callable[[Any, Any], bool]) -> Callable[..., Any]:
    def extreme(*args: Any) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        if not items:
            raise ExpressionFault(f"{name}() of an empty list")
        best = normal(items[0])
        for item in map(normal, items[1:]):
            best = item if pick(item, best) else best
        return best

    return extreme


def _absolute(value: Any) -> Any:
    if is_number(value) or isinstance(value, timedelta):
        return abs(value)
    raise ExpressionFault(f"abs() needs a number or a duration, not {kind_of(value)}")


def _text_function(name: str, change: Callable[[str], str]) -> Callable[[Any], str]:
    def function(value: Any) -> str:
        if not isinstance(value, str):
            raise ExpressionFault(f"{name}() needs text, not {kind_of(value)}")
        return change(value)

    return function


def _duration(name: str, seconds: int) -> Callable[[Any], timedelta]:
    def duration(amount: Any) -> timedelta:
        if not is_number(amount):
            raise ExpressionFault(f"{name}() needs a number, not {kind_of(amount)}")
        micro = _WIDE.multiply(amount, seconds * 1_000_000).to_integral_value(context=_WIDE)
        return timedelta(microseconds=int(micro))

    return duration


FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {  # name -> (function, fewest, most arguments)
    "len": (_length, 1, 1),
    "str": (to_text, 1, 1),
    "int": (_to_int, 1, 1),
    "decimal": (lambda v: _convert("decimal", v, (int, Decimal, str), "a decimal number"), 1, 1),
    "round": (_round, 1, 2),
    # min() and max() take as many arguments as a list holds items; the node limit stops sooner
    "min": (_extreme("min", _ordered(operator.lt)), 1, MAX_SIZE),
    "max": (_extreme("max", _ordered(operator.gt)), 1, MAX_SIZE),
    "abs": (_absolute, 1, 1),
    "upper": (_text_function("upper", str.upper), 1, 1),
    "lower": (_text_function("lower", str.lower), 1, 1),
    "days": (_duration("days", 86400), 1, 1),
    "hours": (_duration("hours", 3600), 1, 1),
    "minutes": (_duration("minutes", 60), 1, 1),
    "date": (lambda v: _convert("date", v, (str, date), "a date"), 1, 1),
    "now": (lambda: None, 0, 0),
    "today": (lambda: None, 0, 0),
}
