"""Checking a process definition against the published format (``ipa.process/v1``).

``validate_definition`` returns every fault at once, each with a JSON path and a message
a designer can act on. It runs in two halves: the structure, checked with the JSON Schema
published beside this module (``process.schema.json``, also served to editors), whose
errors are rewritten into plain words here; then the rules a schema cannot express —
variable values here, names and scopes in ``references.py``.

Paths are written like ``states[1].actions[0].exits.approve[2]``: top-level keys bare, the
document itself ``$``, keys that are not plain names quoted (``exits["send back"]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match

from processes.engine import values
from processes.engine.patterns import PatternError, compile_pattern
from processes.engine.references import check_references, child, did_you_mean, json_path, quoted

PROCESS_SCHEMA: dict[str, Any] = json.loads(
    Path(__file__).with_name("process.schema.json").read_text(encoding="utf-8")
)
_STANDARD_IF = Draft202012Validator.VALIDATORS["if"]


def _action_kind_if(validator: Any, if_schema: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """The standard "if", with a shortcut for the schema's dispatch on an action's kind.

    ``{"if": {"type": "object", "required": ["action"], "properties": {"action": {"const":
    K}}}, "then": ...}`` holds exactly when the instance is an object whose ``action`` is K;
    testing that directly instead of running a validator for each of the fifteen kinds
    makes validation about twice as fast. The result is the same.
    """
    kind = (
        if_schema.get("properties", {}).get("action", {}).get("const")
        if isinstance(if_schema, dict)
        else None
    )
    if not isinstance(kind, str):
        yield from _STANDARD_IF(validator, if_schema, instance, schema)
    elif isinstance(instance, dict) and instance.get("action") == kind and "then" in schema:
        yield from validator.descend(instance, schema["then"], schema_path="then")


_VALIDATOR = validators.extend(Draft202012Validator, {"if": _action_kind_if})(PROCESS_SCHEMA)
_DEFS = PROCESS_SCHEMA["$defs"]
_NAME_PATTERN = _DEFS["name"]["pattern"]
_RESULT_PATTERN = _DEFS["run_handler"]["properties"]["outputs"]["additionalProperties"]["pattern"]
_ROUTES = {"user": 0, "workgroup": 1}  # key of `to` -> index of its branch in the oneOf
MAX_YAML_VALUES = 100_000  # YAML aliases can make a small text into a huge tree
MAX_DEPTH = 100  # lists and objects inside each other; real definitions stay well below


@dataclass(frozen=True)
class DefinitionError:
    """One fault: where it is (a JSON path) and what is wrong there."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class DefinitionInvalid(Exception):
    """A definition that cannot be imported; ``errors`` lists every fault."""

    def __init__(self, errors: Iterable[DefinitionError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(f"{error.path}: {error.message}" for error in self.errors))


# --------------------------------------------------------------------------- loading


def load_document(text: str, filename: str = "") -> dict[str, Any]:
    """The definition in ``text``: JSON, or YAML (by file name, or when it is not JSON).

    Raises ``DefinitionInvalid`` with one error at ``$`` when the text cannot be read or
    its top level is not an object.
    """
    if not text.strip():
        raise _unreadable("the definition is empty")
    try:
        if filename.lower().endswith((".yaml", ".yml")):
            document = _load_yaml(text)
        else:
            try:
                document = json.loads(text)
            except json.JSONDecodeError as error:
                document = _load_yaml_instead(text, error)
    except RecursionError:
        raise _unreadable("the definition is nested too deeply") from None
    if not isinstance(document, dict):
        raise _unreadable(
            f"the definition is {_kind(document)}, not an object with keys such as "
            '"format", "name" and "states"'
        )
    return document


def _unreadable(message: str) -> DefinitionInvalid:
    return DefinitionInvalid([DefinitionError("$", message)])


def _load_yaml_instead(text: str, json_error: json.JSONDecodeError) -> dict[str, Any]:
    """YAML for text that is not JSON; the JSON error when it is not YAML either."""
    json_fault = _unreadable(
        f"not valid JSON: line {json_error.lineno} column {json_error.colno}: {json_error.msg}"
    )
    try:
        document = _load_yaml(text)
    except DefinitionInvalid as yaml_fault:
        raise (json_fault if text.lstrip().startswith(("{", "[")) else yaml_fault) from None
    if not isinstance(document, dict):
        raise json_fault
    return document


class _DefinitionLoader(yaml.SafeLoader):
    """Safe YAML read the JSON way: only true/false are booleans and dates stay text.

    So a button called ``yes`` is not ``True`` and ``default: 2024-05-01`` is the string a
    ``date`` variable expects, exactly as in the same document written in JSON.
    """


_DefinitionLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith((":bool", ":timestamp"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DefinitionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _TooLarge(yaml.YAMLError):
    def __str__(self) -> str:
        return f"more than {MAX_YAML_VALUES} values (are aliases repeating a large part?)"


def _load_yaml(text: str) -> Any:
    try:
        return _as_json(yaml.load(text, Loader=_DefinitionLoader), [MAX_YAML_VALUES])  # noqa: S506
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise _unreadable(f"not valid YAML: {where}{reason}") from None


def _as_json(value: Any, budget: list[int]) -> Any:
    """A copy of a YAML value with text keys; aliases become copies, within a size budget."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge()
    if isinstance(value, dict):
        return {_key(key): _as_json(item, budget) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item, budget) for item in value]
    return value


def _key(key: Any) -> str:
    return key if isinstance(key, str) else json.dumps(key, default=str)


# ------------------------------------------------------------------------ validating


def validate_definition(document: dict[str, Any]) -> list[DefinitionError]:
    """Every fault of ``document``, sorted by path, each once (empty: it is valid)."""
    too_deep = _first_too_deep(document)
    if too_deep is not None:
        return [DefinitionError(too_deep, f"nested more than {MAX_DEPTH} levels deep")]
    try:
        found = {error for fault in _VALIDATOR.iter_errors(document) for error in _explain(fault)}
        found.update(DefinitionError(path, message) for path, message in check_references(document))
        found.update(DefinitionError(path, message) for path, message in _variable_problems(document))
    except RecursionError:  # not expected below MAX_DEPTH, but never a crash
        return [DefinitionError("$", "the definition is nested too deeply")]
    return sorted(found, key=lambda error: (_natural(error.path), error.message))


def _first_too_deep(document: Any) -> str | None:
    """The path of a list or object nested deeper than MAX_DEPTH, if there is one.

    Checked without recursion before anything recursive looks at the document: the
    schema validator needs about five stack frames per level.
    """
    pending: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while pending:
        value, parts = pending.pop()
        if isinstance(value, dict | list) and len(parts) >= MAX_DEPTH:
            return json_path(parts)
        if isinstance(value, dict):
            pending.extend((item, (*parts, key)) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((item, (*parts, index)) for index, item in enumerate(value))
    return None


def _natural(path: str) -> list[Any]:
    """``states[10]`` after ``states[9]``: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def _kind(value: Any) -> str:
    """What a JSON value is, in a designer's words."""
    if value is None:
        return "null"
    for types, words in (
        (bool, "a boolean"),
        (str, "a string"),
        ((int, float), "a number"),
        (dict, "an object"),
        (list, "a list"),
    ):
        if isinstance(value, types):
            return words
    return f"a {type(value).__name__}"


# ------------------------------------------------------------- schema errors in words

_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_ENUM_WORDS = {
    "action": ("action", "known actions:"),
    "type": ("type", "types are"),
    "control": ("control", "controls are"),
    "mode": ("mode", "modes are"),
}


def _explain(error: ValidationError) -> Iterator[DefinitionError]:
    """One schema error as the designer-facing errors it stands for."""
    path = json_path(error.absolute_path)
    if "propertyNames" in error.schema_path:  # the instance is a key of the object at path
        path = child(path if path != "$" else "", error.instance)
    if error.validator in ("oneOf", "anyOf"):
        yield from _explain_choice(error, path)
        return
    instance, expected = error.instance, error.validator_value
    if error.validator == "required":
        for key in expected:
            if isinstance(instance, dict) and key not in instance:
                yield DefinitionError(path, f"required key {quoted(key)} is missing")
    elif error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for key in instance:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f"; allowed keys: {', '.join(allowed)}"
                yield DefinitionError(path, f"unknown key {quoted(key)}{hint}")
    elif error.validator == "dependentRequired":
        for key, needed in expected.items():
            for other in needed:
                if key in instance and other not in instance:
                    yield DefinitionError(path, f"{quoted(key)} is given without {quoted(other)}")
    else:
        yield DefinitionError(path, _explain_value(error))


def _explain_value(error: ValidationError) -> str:
    instance, expected = error.instance, error.validator_value
    if error.validator == "type":
        wanted = [expected] if isinstance(expected, str) else expected
        number = isinstance(instance, int | float) and not isinstance(instance, bool)
        given = instance if number else _kind(instance)
        return f"must be {' or '.join(_TYPE_WORDS.get(name, name) for name in wanted)}, not {given}"
    if error.validator == "const":
        return f"must be {quoted(expected)}"
    if error.validator == "enum":
        last = error.absolute_path[-1] if error.absolute_path else ""
        what, listing = _ENUM_WORDS.get(last, ("value", "allowed values are"))
        return (
            f"unknown {what} {quoted(instance)}{did_you_mean(instance, expected)}; "
            f"{listing} {', '.join(expected)}"
        )
    if error.validator == "pattern" and expected == _NAME_PATTERN:
        return (
            f"{quoted(instance)} is not a valid name: use letters, digits and _ and do not start with a digit"
        )
    if error.validator == "pattern" and expected == _RESULT_PATTERN:
        return (
            f'{quoted(instance)} is not a result path: write "result", or "result." followed by keys '
            'and list indexes separated by dots, such as "result.items.0"'
        )
    if error.validator in ("minItems", "minLength"):
        return "must not be empty" if expected == 1 else f"must have at least {expected} items"
    if error.validator == "minimum":
        return f"must be at least {expected}"
    message: str = error.message  # jsonschema is untyped here; its messages are text
    return message


def _explain_choice(error: ValidationError, path: str) -> Iterator[DefinitionError]:
    """A oneOf/anyOf failure as the one fault that matters, not one per branch."""
    instance = error.instance
    if not isinstance(instance, dict):
        return  # the "type" error beside it says so
    if {"$ref": "#/$defs/direct_route"} in error.validator_value:
        given = [key for key in _ROUTES if key in instance]
        if len(given) != 1:
            how = "not both" if given else "one is needed"
            yield DefinitionError(
                path,
                f'give either "user" (direct routing) or "workgroup" (group routing through the ACD): {how}',
            )
            return
        branch = [sub for sub in error.context if sub.relative_schema_path[0] == _ROUTES[given[0]]]
        for sub in branch:
            yield from _explain(sub)
    elif {"required": ["duration"]} in error.validator_value:
        how = "not both" if "duration" in instance and "until" in instance else "one is needed"
        yield DefinitionError(path, f'give exactly one of "duration" and "until": {how}')
    else:
        yield from _explain(best_match(error.context))


# --------------------------------------------------------------------- variable values

_RANGE_TYPES = {"integer": "decimal", "decimal": "decimal", "date": "date", "datetime": "datetime"}
_SIZED_TYPES = ("string", "user", "workgroup", "list", "json")
_TEXT_TYPES = ("string", "user", "workgroup", "json")


def _variable_problems(document: Any) -> Iterator[tuple[str, str]]:
    """Defaults and restrictions that do not fit their variable's type, wherever declared."""
    if not isinstance(document, dict):
        return
    lists = [("variables", document.get("variables"))]
    for kind in ("states", "tasks"):
        owners = document.get(kind)
        for index, owner in enumerate(owners if isinstance(owners, list) else []):
            if isinstance(owner, dict):
                lists.append((f"{kind}[{index}].variables", owner.get("variables")))
    for path, specs in lists:
        for index, spec in enumerate(specs if isinstance(specs, list) else []):
            if isinstance(spec, dict) and spec.get("type") in values.VARIABLE_TYPES:
                for key, message in _value_problems(spec, spec["type"]):
                    yield f"{path}[{index}].{key}", message


def _fit(type_name: str, value: Any) -> tuple[Any, str | None]:
    """``value`` coerced to ``type_name``, or None and a message saying why it does not fit."""
    try:
        return values.coerce(type_name, value), None
    except (ValueError, TypeError) as error:
        return None, f"{quoted(value)} does not fit type {type_name}: {error}"


def _value_problems(spec: dict[str, Any], type_name: str) -> Iterator[tuple[str, str]]:
    """(key of the variable, message) for its default and restrictions."""
    if spec.get("default") is not None:
        _, problem = _fit(type_name, spec["default"])
        if problem:
            yield "default", problem
    choices = spec.get("choices")
    for index, choice in enumerate(choices if isinstance(choices, list) else []):
        _, problem = _fit(type_name, choice)
        if problem:
            yield f"choices[{index}]", problem
    yield from _range_problems(spec, type_name)
    for key, types in (("max_length", _SIZED_TYPES), ("pattern", _TEXT_TYPES)):
        if spec.get(key) is not None and type_name not in types:
            yield key, f"{key} applies only to {', '.join(types)} variables, not {type_name}"
    if isinstance(spec.get("pattern"), str):
        try:
            compile_pattern(spec["pattern"])
        except PatternError as error:
            yield "pattern", f"not a valid regular expression (RE2 syntax, no backreferences or lookaround): {error}"


def _range_problems(spec: dict[str, Any], type_name: str) -> Iterator[tuple[str, str]]:
    bounds = {}
    for key in ("min", "max"):
        if not isinstance(spec.get(key), int | float | str) or isinstance(spec[key], bool):
            continue  # absent, or the schema already says it must be a number or a string
        if type_name not in _RANGE_TYPES:
            yield key, f"{key} applies only to integer, decimal, date and datetime variables, not {type_name}"
            continue
        bounds[key], problem = _fit(_RANGE_TYPES[type_name], spec[key])
        if problem:
            yield key, problem
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None and low > high:
        yield "min", f"min {quoted(spec['min'])} is greater than max {quoted(spec['max'])}"
