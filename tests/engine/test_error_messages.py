"""A fault names the expression and the variable, never a value.

The instance's ``error`` and its history reach people who may not be on a variable's
security specification, so no message may quote what a variable holds. The engine keeps
the safer rule: no variable's value appears in an error, protected or not.
"""

import pytest

from processes.engine import Record

from .builders import Instance, act, definition, var

SENTINEL = "ZANZIBAR77"


def fault_of(expression: str, *variables: dict, action: str = "assign") -> str:
    keys = {"variable": "out", "value": expression} if action == "assign" else {"until": expression}
    document = definition(
        act(action, **keys),
        variables=[var("out", "json"), *variables],
    )
    step = Instance(document).start()
    assert step.status == "error", step
    assert Record("error", step.error) in step.effects
    return step.error


@pytest.mark.parametrize(
    ("expression", "variable"),
    [
        ("int(secret)", var("secret", "string", default=SENTINEL)),
        ("decimal(secret)", var("secret", "string", default=SENTINEL)),
        ("date(secret)", var("secret", "string", default=SENTINEL)),
        ("book[secret]", var("secret", "string", default=SENTINEL)),
        ('book["x"][secret]', var("secret", "integer", default=770077)),
        ("secret[70]", var("secret", "string", default=SENTINEL)),
        ("people[secret]", var("secret", "integer", default=770077)),
        ("secret + 1", var("secret", "string", default=SENTINEL)),
        ("min(secret, 1)", var("secret", "string", default=SENTINEL)),
        ("round(secret, 1)", var("secret", "string", default=SENTINEL)),
    ],
)
def test_an_error_names_the_expression_and_never_the_value(expression, variable):
    book = var("book", "json", default={"a": 1, "x": [1, 2]})
    people = var("people", "list", default=["ann", "bob"])
    error = fault_of(expression, variable, book, people)
    assert expression in error
    assert SENTINEL not in error
    assert "770077" not in error


def test_a_wait_until_text_that_is_not_a_date_does_not_quote_it():
    error = fault_of("secret", var("secret", "string", default=SENTINEL), action="wait")
    assert "until" in error
    assert SENTINEL not in error


def test_the_reason_still_says_what_was_wrong():
    error = fault_of("int(secret)", var("secret", "string", default=SENTINEL))
    assert error.endswith('expression "int(secret)": the value given must be a whole number')
    error = fault_of("book[secret]", var("secret", "string", default=SENTINEL),
                     var("book", "json", default={"a": 1}))
    assert error.endswith('expression "book[secret]": the key is not in the dict')
