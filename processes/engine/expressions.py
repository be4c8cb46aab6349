"""The small, safe expression language of process definitions, and text templates.

An expression is parsed once with Python's ``ast`` module, checked against an allow-list
of node types and size bounds, and turned into a tree of closures; evaluating it never
parses again and never calls ``eval``. Number literals are exact: ``0.1`` is a ``Decimal``.
What each operator and function does to its values is in ``operations``; a refused
operation becomes an ``ExpressionError`` in plain words, never a raw Python error.
"""

from __future__ import annotations

import ast
import functools
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from processes.engine.operations import (
    BINARY_OPERATORS,
    COMPARISONS,
    FUNCTIONS,
    MAX_INTEGER,
    MAX_SIZE,
    ExpressionFault,
    checked_number,
    index,
    is_number,
    kind_of,
    limit_size,
    negate,
    normal,
    plus,
    slice_of,
    to_text,
    weight,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_NODES",
    "MAX_SIZE",
    "MAX_SOURCE_LENGTH",
    "Expression",
    "ExpressionError",
    "Template",
    "compile_expression",
    "compile_template",
    "to_text",
]

MAX_SOURCE_LENGTH = 2000
MAX_NODES = 300
MAX_DEPTH = 30
_LITERALS = {"true": True, "false": False, "null": None}

Run = Callable[["_Env"], Any]


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated; ``reason`` says why."""

    def __init__(self, source: str, reason: str) -> None:
        shown = source if len(source) <= 80 else source[:77] + "..."
        super().__init__(f'expression "{shown}": {reason}')
        self.source = source
        self.reason = reason


class _Env:
    __slots__ = ("names", "now")

    def __init__(self, names: Mapping[str, Any], now: datetime) -> None:
        self.names = names
        self.now = now


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


class _Compiler:
    """Turns a checked syntax tree into closures, collecting the variable names it reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()

    def compile(self, node: ast.AST) -> Run:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ExpressionFault(_FORBIDDEN.get(type(node), f"{type(node).__name__} is not allowed"))
        run: Run = method(node)
        return run

    def _Constant(self, node: ast.Constant) -> Run:
        value: Any = node.value
        if isinstance(value, float):  # the literal's own text, so 0.1 is exactly 0.1
            value = Decimal((ast.get_source_segment(self.text, node) or repr(value)).replace("_", ""))
        elif value is not None and not isinstance(value, (bool, int, str)):
            raise ExpressionFault(f"the literal {value!r} is not allowed")
        if is_number(value):
            checked_number(value)
        return lambda env: value

    def _Name(self, node: ast.Name) -> Run:
        name = node.id
        if name in _LITERALS:
            literal = _LITERALS[name]
            return lambda env: literal
        self.names.add(name)

        def read(env: _Env) -> Any:
            try:
                return normal(env.names[name])
            except KeyError:
                raise ExpressionFault(f'unknown name "{name}"') from None

        return read

    def _List(self, node: ast.List) -> Run:
        items = [self.compile(item) for item in node.elts]

        def build(env: _Env) -> list[Any]:
            result = [item(env) for item in items]
            limit_size(weight(result))
            return result

        return build

    def _Dict(self, node: ast.Dict) -> Run:
        if any(key is None for key in node.keys):
            raise ExpressionFault("** unpacking is not allowed")
        keys = [self.compile(key) for key in node.keys]  # type: ignore[arg-type]
        pairs = list(zip(keys, [self.compile(value) for value in node.values], strict=True))

        def build(env: _Env) -> dict[str, Any]:
            result = {}
            for key, value in pairs:
                text = key(env)
                if not isinstance(text, str):
                    raise ExpressionFault(f"a dict key must be text, not {kind_of(text)}")
                result[text] = value(env)
            limit_size(weight(result))
            return result

        return build

    def _BinOp(self, node: ast.BinOp) -> Run:
        apply = BINARY_OPERATORS.get(type(node.op))
        if apply is None:
            raise ExpressionFault(f"the {_SIGNS.get(type(node.op), '?')} operator is not allowed")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda env: apply(left(env), right(env))

    def _UnaryOp(self, node: ast.UnaryOp) -> Run:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: not operand(env)
        if isinstance(node.op, ast.Invert):
            raise ExpressionFault("the ~ operator is not allowed")
        apply = negate if isinstance(node.op, ast.USub) else plus
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
            if type(op) not in COMPARISONS:
                raise ExpressionFault(f"the {_SIGNS[type(op)]} operator is not allowed; use == or !=")
        first = self.compile(node.left)
        tests = [COMPARISONS[type(op)] for op in node.ops]
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
            return lambda env: slice_of(value(env), *(bound(env) if bound else None for bound in bounds))
        key = self.compile(node.slice)
        return lambda env: index(value(env), key(env))

    def _Call(self, node: ast.Call) -> Run:
        if isinstance(node.func, ast.Attribute):
            raise ExpressionFault("attribute access such as x.y is not allowed; call functions as upper(x)")
        if not isinstance(node.func, ast.Name):
            raise ExpressionFault("only the built-in functions can be called")
        if node.keywords:
            raise ExpressionFault("keyword arguments are not allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionFault(f'unknown function "{name}"; the functions are {", ".join(FUNCTIONS)}')
        function, fewest, most = FUNCTIONS[name]
        if not fewest <= len(node.args) <= most:
            count = f"{fewest} or {most}" if most == 2 else f"at least {fewest}" if most > 2 else f"{fewest}"
            plural = "" if count == "1" else "s"
            raise ExpressionFault(f"{name}() takes {count} argument{plural}, not {len(node.args)}")
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
            raise ExpressionFault(f"the expression is too long (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ExpressionFault(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
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
        except ExpressionFault as fault:
            raise ExpressionError(self.source, fault.reason) from None
        except OverflowError:
            raise ExpressionError(self.source, "a date, duration or number is out of range") from None
        except ArithmeticError:
            raise ExpressionError(self.source, "the calculation cannot be done with these numbers") from None
        except (TypeError, ValueError, RecursionError) as error:
            # Python's own message may quote a value: only its kind is kept.
            raise ExpressionError(self.source, f"cannot be evaluated ({type(error).__name__})") from None


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
    except ExpressionFault as fault:
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
            except (ValueError, RecursionError):
                raise ExpressionError(part.source, "the value cannot be shown as text") from None
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
