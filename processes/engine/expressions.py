"""The small, safe expression language of process definitions, and text templates.

An expression is parsed once with Python's ``ast`` module, checked against an allow-list
of node types and size bounds, and turned into a tree of closures; evaluating it never
parses again and never calls ``eval``. Numbers are exact: ``0.1`` is a ``Decimal`` and
``/`` always gives a ``Decimal``. Every operation checks its operands, so a mistake in a
definition becomes an ``ExpressionError`` in plain words, never a raw Python error, and
results are bounded in size (``"a" * 10**9`` is refused before it is built).
"""

from __future__ import annotations

import ast
import functools
import json
import operator
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from processes.engine import values

MAX_SOURCE_LENGTH = 2000
MAX_NODES = 300
MAX_DEPTH = 30
MAX_SIZE = 100_000  # characters of a string, items of a list (counted through nested lists)
MAX_INTEGER = 10**100

_DECIMALS = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_WIDE = Context(prec=250, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_LITERALS = {"true": True, "false": False, "null": None}

Run = Callable[["_Env"], Any]


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated; ``reason`` says why."""

    def __init__(self, source: str, reason: str) -> None:
        shown = source if len(source) <= 80 else source[:77] + "..."
        super().__init__(f'expression "{shown}": {reason}')
        self.source = source
        self.reason = reason


class _Fault(Exception):
    """A problem found inside the tree; the public functions add the expression's source."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Env:
    __slots__ = ("names", "now")

    def __init__(self, names: Mapping[str, Any], now: datetime) -> None:
        self.names = names
        self.now = now


# ------------------------------------------------------------------------ value checks


def _kind(value: Any) -> str:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _normal(value: Any) -> Any:
    """A value read from outside in the language's terms: no floats, no naive datetimes."""
    if isinstance(value, float):
        try:
            return values.coerce("decimal", value)
        except ValueError as error:
            raise _Fault(f"the number {value} {error}") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, tuple):
        return list(value)
    return value


def _number(value: int | Decimal) -> int | Decimal:
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise _Fault("the number is too large: numbers must be at most 10**100")
        return value
    if value.copy_abs() > MAX_INTEGER:
        raise _Fault("the number is too large: numbers must be at most 10**100")
    if value.as_tuple().exponent < -values.MAX_DIGITS:  # type: ignore[operator]
        raise _Fault(f"the number has more than {values.MAX_DIGITS} decimal places")
    return value


_SCALARS = frozenset({type(None), bool, int, Decimal, float, date, datetime, timedelta})


def _weight(value: Any) -> int:
    """Characters and items of a value, through nested lists and dicts (stops soon after MAX_SIZE).

    Text counts its characters, anything else at least one. Lists of plain values or of
    text are weighed in bulk, so weighing 100,000 items takes a few milliseconds.
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
            if kinds <= _SCALARS:
                total += len(children)
            elif kinds == {str}:
                total += max(sum(map(len, children)), len(children))
            else:
                pending.extend(children)
    return total


def _limit(size: int) -> None:
    if size > MAX_SIZE:
        raise _Fault(f"the result would have more than {MAX_SIZE:,} characters or items")


# -------------------------------------------------------------------------- operators


def _add(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        return _number(a + b if _is_whole(a) and _is_whole(b) else _DECIMALS.add(a, b))
    if isinstance(a, str) and isinstance(b, str):
        _limit(len(a) + len(b))
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        _limit(_weight(a) + _weight(b))
        return a + b
    if isinstance(a, timedelta) and isinstance(b, date):
        a, b = b, a
    if isinstance(a, (date, timedelta)) and isinstance(b, timedelta):
        return a + b
    raise _Fault(f"cannot add {_kind(a)} and {_kind(b)}")


def _subtract(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        return _number(a - b if _is_whole(a) and _is_whole(b) else _DECIMALS.subtract(a, b))
    both_dates = isinstance(a, date) and isinstance(b, date)
    if both_dates and isinstance(a, datetime) == isinstance(b, datetime):
        return a - b
    if isinstance(a, (date, timedelta)) and isinstance(b, timedelta):
        return a - b
    raise _Fault(f"cannot subtract {_kind(b)} from {_kind(a)}")


def _multiply(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        return _number(a * b if _is_whole(a) and _is_whole(b) else _DECIMALS.multiply(a, b))
    if _is_whole(a) and isinstance(b, (str, list, timedelta)):
        a, b = b, a
    if isinstance(a, (str, list)) and _is_whole(b):
        _limit(_weight(a) * max(b, 0))
        return a * b
    if isinstance(a, timedelta) and _is_whole(b):
        return a * b
    raise _Fault(f"cannot multiply {_kind(a)} by {_kind(b)}")


def _divisible(a: Any, b: Any, sign: str) -> None:
    if not (_is_number(a) and _is_number(b)):
        raise _Fault(f"cannot use {sign} on {_kind(a)} and {_kind(b)}")
    if b == 0:
        raise _Fault("division by zero")


def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        a, b = a // timedelta(microseconds=1), b // timedelta(microseconds=1)
    _divisible(a, b, "/")
    return _number(_DECIMALS.divide(a, b))


def _floor_divide(a: Any, b: Any) -> Any:
    _divisible(a, b, "//")
    if _is_whole(a) and _is_whole(b):
        return a // b
    quotient, remainder = _DECIMALS.divmod(a, b)  # truncates towards zero; Python floors
    return _number(quotient - 1 if remainder and (remainder < 0) != (b < 0) else quotient)


def _modulo(a: Any, b: Any) -> Any:
    _divisible(a, b, "%")
    if _is_whole(a) and _is_whole(b):
        return a % b
    remainder = _DECIMALS.remainder(a, b)  # has the sign of a; Python's has the sign of b
    return _number(_DECIMALS.add(remainder, b) if remainder and (remainder < 0) != (b < 0) else remainder)


def _negate(a: Any) -> Any:
    if _is_whole(a) or isinstance(a, timedelta):
        return -a
    if isinstance(a, Decimal):
        return _DECIMALS.minus(a)
    raise _Fault(f"cannot negate {_kind(a)}")


def _plus(a: Any) -> Any:
    if _is_number(a):
        return a
    raise _Fault(f"cannot use unary + on {_kind(a)}")


def _orderable(a: Any, b: Any) -> None:
    if _is_number(a) and _is_number(b):
        return
    if isinstance(a, str) and isinstance(b, str) or isinstance(a, timedelta) and isinstance(b, timedelta):
        return
    if isinstance(a, date) and isinstance(b, date) and isinstance(a, datetime) == isinstance(b, datetime):
        return
    raise _Fault(f"cannot compare {_kind(a)} with {_kind(b)}")


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def ordered(a: Any, b: Any) -> bool:
        _orderable(a, b)
        return compare(a, b)

    return ordered


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _Fault(f"cannot look for {_kind(item)} in text")
        return item in container
    if isinstance(container, list) or isinstance(container, dict) and isinstance(item, str):
        return item in container
    raise _Fault(f"cannot look for {_kind(item)} in {_kind(container)}")


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        if not isinstance(key, str):
            raise _Fault(f"a dict key must be text, not {_kind(key)}")
        if key not in value:
            raise _Fault(f'there is no key "{key}"')
        return _normal(value[key])
    if not isinstance(value, (list, str)):
        raise _Fault(f"cannot index {_kind(value)}")
    if not _is_whole(key):
        raise _Fault(f"an index must be a whole number, not {_kind(key)}")
    if not -len(value) <= key < len(value):
        what = "a list of {} items" if isinstance(value, list) else "text of {} characters"
        raise _Fault(f"index {key} is out of range for " + what.format(len(value)))
    return _normal(value[key])


def _slice(value: Any, lower: Any, upper: Any, step: Any) -> Any:
    if not isinstance(value, (list, str)):
        raise _Fault(f"cannot slice {_kind(value)}")
    if not all(bound is None or _is_whole(bound) for bound in (lower, upper, step)):
        raise _Fault("slice bounds must be whole numbers")
    if step == 0:
        raise _Fault("a slice step cannot be zero")
    return value[lower:upper:step]


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: _subtract,
    ast.Mult: _multiply,
    ast.Div: _divide,
    ast.FloorDiv: _floor_divide,
    ast.Mod: _modulo,
}
_COMPARISONS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: _ordered(operator.lt),
    ast.LtE: _ordered(operator.le),
    ast.Gt: _ordered(operator.gt),
    ast.GtE: _ordered(operator.ge),
    ast.In: lambda a, b: _contains(b, a),
    ast.NotIn: lambda a, b: not _contains(b, a),
}
_SIGNS = {
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.Is: "is",
    ast.IsNot: "is not",
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
    raise _Fault(f"len() needs text, a list or a dict, not {_kind(value)}")


def _convert(type_name: str, value: Any, accepted: tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise _Fault(f"cannot turn {_kind(value)} into {what}")
    try:
        return values.coerce(type_name, value)
    except ValueError as error:
        raise _Fault(f'"{to_text(value)[:50]}" {error}') from None


def _to_int(value: Any) -> int:
    if isinstance(value, Decimal):
        return int(value)  # truncates towards zero, like Python
    number: int = _convert("integer", value, (int, str), "a whole number")
    return number


def _round(value: Any, places: Any = None) -> Any:
    if not _is_number(value) or not (places is None or _is_whole(places)):
        raise _Fault(f"round() needs a number and a whole number of places, not {_kind(value)}")
    if places is None or isinstance(value, int):
        return round(value, places)  # Python rounds half to even; an int stays an int
    if abs(places) > values.MAX_DIGITS:
        raise _Fault(f"round() can keep at most {values.MAX_DIGITS} places")
    return value.quantize(Decimal(1).scaleb(-places), context=_WIDE)


def _extreme(name: str, pick: Callable[[Any, Any], bool]) -> Callable[..., Any]:
    def extreme(*args: Any) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        if not items:
            raise _Fault(f"{name}() of an empty list")
        best = _normal(items[0])
        for item in map(_normal, items[1:]):
            best = item if pick(item, best) else best
        return best

    return extreme


def _absolute(value: Any) -> Any:
    if _is_number(value) or isinstance(value, timedelta):
        return abs(value)
    raise _Fault(f"abs() needs a number or a duration, not {_kind(value)}")


def _text_function(name: str, change: Callable[[str], str]) -> Callable[[Any], str]:
    def function(value: Any) -> str:
        if not isinstance(value, str):
            raise _Fault(f"{name}() needs text, not {_kind(value)}")
        return change(value)

    return function


def _duration(name: str, seconds: int) -> Callable[[Any], timedelta]:
    def duration(amount: Any) -> timedelta:
        if not _is_number(amount):
            raise _Fault(f"{name}() needs a number, not {_kind(amount)}")
        micro = _WIDE.multiply(amount, seconds * 1_000_000).to_integral_value(context=_WIDE)
        return timedelta(microseconds=int(micro))

    return duration


_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {  # name -> (function, fewest, most arguments)
    "len": (_length, 1, 1),
    "str": (to_text, 1, 1),
    "int": (_to_int, 1, 1),
    "decimal": (lambda v: _convert("decimal", v, (int, Decimal, str), "a decimal number"), 1, 1),
    "round": (_round, 1, 2),
    "min": (_extreme("min", _ordered(operator.lt)), 1, MAX_NODES),
    "max": (_extreme("max", _ordered(operator.gt)), 1, MAX_NODES),
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

# --------------------------------------------------------------------------- compiler

_FORBIDDEN = {
    ast.Attribute: "attribute access such as x.y is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed; join text with +",
    ast.Set: "sets are not allowed",
    ast.Tuple: "tuples are not allowed; use a list such as [1, 2]",
    ast.NamedExpr: ":= is not allowed",
    ast.Starred: "* unpacking is not allowed",
}


class _Compiler:
    """Turns a checked syntax tree into closures, collecting the variable names it reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()

    def compile(self, node: ast.AST) -> Run:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _Fault(_FORBIDDEN.get(type(node), f"{type(node).__name__} is not allowed"))
        run: Run = method(node)
        return run

    def _Constant(self, node: ast.Constant) -> Run:
        value: Any = node.value
        if isinstance(value, float):  # the literal's own text, so 0.1 is exactly 0.1
            value = Decimal((ast.get_source_segment(self.text, node) or repr(value)).replace("_", ""))
        elif value is not None and not isinstance(value, (bool, int, str)):
            raise _Fault(f"the literal {value!r} is not allowed")
        if _is_number(value):
            _number(value)
        return lambda env: value

    def _Name(self, node: ast.Name) -> Run:
        name = node.id
        if name in _LITERALS:
            literal = _LITERALS[name]
            return lambda env: literal
        self.names.add(name)

        def read(env: _Env) -> Any:
            try:
                return _normal(env.names[name])
            except KeyError:
                raise _Fault(f'unknown name "{name}"') from None

        return read

    def _List(self, node: ast.List) -> Run:
        items = [self.compile(item) for item in node.elts]

        def build(env: _Env) -> list[Any]:
            result = [item(env) for item in items]
            _limit(_weight(result))
            return result

        return build

    def _Dict(self, node: ast.Dict) -> Run:
        if any(key is None for key in node.keys):
            raise _Fault("** unpacking is not allowed")
        keys = [self.compile(key) for key in node.keys]  # type: ignore[arg-type]
        pairs = list(zip(keys, [self.compile(value) for value in node.values], strict=True))

        def build(env: _Env) -> dict[str, Any]:
            result = {}
            for key, value in pairs:
                text = key(env)
                if not isinstance(text, str):
                    raise _Fault(f"a dict key must be text, not {_kind(text)}")
                result[text] = value(env)
            _limit(_weight(result))
            return result

        return build

    def _BinOp(self, node: ast.BinOp) -> Run:
        apply = _BINARY.get(type(node.op))
        if apply is None:
            raise _Fault(f"the {_SIGNS.get(type(node.op), '?')} operator is not allowed")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda env: apply(left(env), right(env))

    def _UnaryOp(self, node: ast.UnaryOp) -> Run:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: not operand(env)
        if isinstance(node.op, ast.Invert):
            raise _Fault("the ~ operator is not allowed")
        apply = _negate if isinstance(node.op, ast.USub) else _plus
        return lambda env: apply(operand(env))

    def _BoolOp(self, node: ast.BoolOp) -> Run:
        operands = [self.compile(value) for value in node.values]
        stop_when = not isinstance(node.op, ast.And)  # "and" stops at a false value, "or" at a true one

        def combine(env: _Env) -> Any:
            for operand in operands:
                value = operand(env)
                if bool(value) == stop_when:
                    return value
            return value

        return combine

    def _Compare(self, node: ast.Compare) -> Run:
        for op in node.ops:
            if type(op) not in _COMPARISONS:
                raise _Fault(f"the {_SIGNS[type(op)]} operator is not allowed; use == or !=")
        first = self.compile(node.left)
        tests = [_COMPARISONS[type(op)] for op in node.ops]
        steps = list(zip(tests, [self.compile(right) for right in node.comparators], strict=True))

        def compare(env: _Env) -> bool:
            left = first(env)
            for test, operand in steps:
                right = operand(env)
                if not test(left, right):
                    return False
                left = right
            return True

        return compare

    def _IfExp(self, node: ast.IfExp) -> Run:
        test, body, orelse = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda env: body(env) if test(env) else orelse(env)

    def _Subscript(self, node: ast.Subscript) -> Run:
        value = self.compile(node.value)
        if isinstance(node.slice, ast.Slice):
            parts = (node.slice.lower, node.slice.upper, node.slice.step)
            bounds = [self.compile(part) if part else None for part in parts]
            return lambda env: _slice(value(env), *(bound(env) if bound else None for bound in bounds))
        key = self.compile(node.slice)
        return lambda env: _index(value(env), key(env))

    def _Call(self, node: ast.Call) -> Run:
        if isinstance(node.func, ast.Attribute):
            raise _Fault("attribute access such as x.y is not allowed; call functions as upper(x)")
        if not isinstance(node.func, ast.Name):
            raise _Fault("only the built-in functions can be called")
        if node.keywords:
            raise _Fault("keyword arguments are not allowed")
        name = node.func.id
        if name not in _FUNCTIONS:
            raise _Fault(f'unknown function "{name}"; the functions are {", ".join(_FUNCTIONS)}')
        function, fewest, most = _FUNCTIONS[name]
        if not fewest <= len(node.args) <= most:
            count = f"{fewest} or {most}" if most == 2 else f"at least {fewest}" if most > 2 else f"{fewest}"
            plural = "" if count == "1" else "s"
            raise _Fault(f"{name}() takes {count} argument{plural}, not {len(node.args)}")
        if name == "now":
            return lambda env: env.now
        if name == "today":
            return lambda env: env.now.date()
        arguments = [self.compile(argument) for argument in node.args]
        return lambda env: function(*[argument(env) for argument in arguments])


def _measure(tree: ast.Expression) -> None:
    """Refuse trees with too many nodes or too deep, without recursion."""
    count = 0
    pending: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while pending:
        node, depth = pending.pop()
        count += 1
        if count > MAX_NODES:
            raise _Fault(f"the expression is too long (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise _Fault(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        children = ast.iter_child_nodes(node)
        pending.extend((child, depth + 1) for child in children if not isinstance(child, _MARKERS))


_MARKERS = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)

# ------------------------------------------------------------------------- public API


class Expression:
    """A compiled expression: evaluate it as often as needed, it is never parsed again."""

    __slots__ = ("_run", "names", "source")

    def __init__(self, source: str, run: Run, names: frozenset[str]) -> None:
        self.source = source
        self.names = names  # the variables it reads (not functions, not true/false/null)
        self._run = run

    def __repr__(self) -> str:
        return f"<Expression {self.source!r}>"

    def evaluate(self, names: Mapping[str, Any], now: datetime) -> Any:
        """The value of the expression with ``names`` as its variables and ``now`` as now()."""
        moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        try:
            return self._run(_Env(names, moment))
        except _Fault as fault:
            raise ExpressionError(self.source, fault.reason) from None
        except OverflowError:
            raise ExpressionError(self.source, "a date, duration or number is out of range") from None
        except ArithmeticError:
            raise ExpressionError(self.source, "the calculation cannot be done with these numbers") from None
        except (TypeError, ValueError, RecursionError) as error:
            raise ExpressionError(self.source, f"cannot be evaluated: {error}") from None


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Parse and check ``source`` once; the same source gives the same ``Expression``."""
    if not isinstance(source, str):
        raise ExpressionError(str(source), "an expression must be text")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(source, f"the expression is longer than {MAX_SOURCE_LENGTH} characters")
    text = source.strip()
    if not text:
        raise ExpressionError(source, "the expression is empty")
    try:
        with warnings.catch_warnings():  # "\d" or "1 is 1" warn; the checks below refuse what matters
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(source, f"{error.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError(source, "the expression cannot be read (nested too deeply?)") from None
    compiler = _Compiler(text)
    try:
        _measure(tree)
        run = compiler.compile(tree.body)
    except _Fault as fault:
        raise ExpressionError(source, fault.reason) from None
    return Expression(source, run, frozenset(compiler.names))


class Template:
    """Plain text with ``{{ expression }}`` parts."""

    __slots__ = ("_parts", "names", "source")

    def __init__(self, source: str, parts: tuple[str | Expression, ...]) -> None:
        self.source = source
        self._parts = parts
        self.names = frozenset().union(*(p.names for p in parts if isinstance(p, Expression)))

    def __repr__(self) -> str:
        return f"<Template {self.source!r}>"

    def render(self, names: Mapping[str, Any], now: datetime) -> str:
        """The text with every part's value in place (null shows as nothing)."""
        pieces = []
        for part in self._parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            value = part.evaluate(names, now)
            try:
                pieces.append(to_text(value))
            except (ValueError, RecursionError) as error:
                raise ExpressionError(part.source, f"the value cannot be shown as text: {error}") from None
        return "".join(pieces)


def _closing(source: str, start: int) -> int:
    """Where the ``}}`` that closes a part starting at ``start`` is, or -1.

    Braces of dict literals and anything inside quotes do not close the part.
    """
    quote, depth, position = "", 0, start
    while position < len(source):
        char = source[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0 and source.startswith("}}", position):
                return position
            depth = max(depth - 1, 0)
        position += 1
    return -1


@functools.lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """Compile every ``{{ expression }}`` part of ``source``; an unclosed ``{{`` is an error."""
    parts: list[str | Expression] = []
    position = 0
    while (start := source.find("{{", position)) >= 0:
        end = _closing(source, start + 2)
        if end < 0:
            raise ExpressionError(source[start:], 'the "{{" is not closed with "}}"')
        parts += [source[position:start], compile_expression(source[start + 2 : end].strip())]
        position = end + 2
    parts.append(source[position:])
    return Template(source, tuple(part for part in parts if part != ""))
