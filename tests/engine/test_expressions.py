"""The expression language and templates (processes/engine/expressions.py)."""

from __future__ import annotations

import ast
import time
import warnings
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from processes.engine.expressions import (
    MAX_SIZE,
    ExpressionError,
    compile_expression,
    compile_template,
)

NOW = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)


def run(source: str, **names: Any) -> Any:
    return compile_expression(source).evaluate(names, NOW)


def fails(source: str, **names: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        run(source, **names)
    return caught.value


def refused(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    return caught.value


# ----------------------------------------------------------------------------- literals


def test_integer_literal_is_an_int():
    assert run("12") == 12
    assert type(run("12")) is int


def test_fraction_literal_is_an_exact_decimal():
    assert run("0.1") == Decimal("0.1")
    assert isinstance(run("0.1"), Decimal)


def test_decimal_literal_keeps_its_scale():
    assert str(run("12.50")) == "12.50"


def test_string_literals_use_either_quote():
    assert run("'a'") == "a"
    assert run('"b"') == "b"


def test_true_false_and_null_are_literals():
    assert run("true") is True
    assert run("false") is False
    assert run("null") is None


def test_python_spellings_of_true_false_and_none_work_too():
    assert [run("True"), run("False"), run("None")] == [True, False, None]


def test_list_literal():
    assert run("[1, 'a', null]") == [1, "a", None]


def test_dict_literal_with_text_keys():
    assert run("{'a': 1, 'b': [2]}") == {"a": 1, "b": [2]}


def test_dict_literal_with_a_number_key_is_refused():
    assert "dict key must be text" in fails("{1: 2}").reason


# ------------------------------------------------------------------------------- names


def test_variable_names_are_read_from_names():
    assert run("amount", amount=Decimal(3)) == Decimal(3)


def test_unknown_name_is_an_error_naming_it():
    error = fails("amont + 1", amount=1)
    assert error.reason == 'unknown name "amont"'
    assert str(error) == 'expression "amont + 1": unknown name "amont"'


def test_names_lists_the_variables_read_but_not_functions_or_literals():
    expression = compile_expression("len(items) > limit and true or null == upper(name)")
    assert expression.names == frozenset({"items", "limit", "name"})


def test_source_is_kept():
    assert compile_expression("a + 1").source == "a + 1"


def test_a_float_given_in_names_becomes_an_exact_decimal():
    assert run("x + 0.2", x=0.1) == Decimal("0.3")


def test_a_naive_datetime_given_in_names_is_taken_as_utc():
    assert run("x", x=datetime(2024, 5, 1, 8, 0)) == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- arithmetic


def test_addition_of_integers_stays_an_integer():
    assert run("2 + 3") == 5
    assert type(run("2 + 3")) is int


def test_decimal_addition_is_exact():
    assert run("0.1 + 0.2") == Decimal("0.3")


def test_mixing_integer_and_decimal_gives_a_decimal():
    assert run("1 + 0.5") == Decimal("1.5")
    assert isinstance(run("2 * 1.0"), Decimal)


def test_subtraction():
    assert run("10 - 2.5") == Decimal("7.5")


def test_multiplication_keeps_decimal_places():
    assert str(run("12.50 * 2")) == "25.00"


def test_decimal_division_is_exact():
    assert run("7 / 2") == Decimal("3.5")
    assert isinstance(run("6 / 2"), Decimal)


def test_division_by_zero_is_an_error_naming_the_expression():
    error = fails("amount / 0", amount=Decimal(5))
    assert str(error) == 'expression "amount / 0": division by zero'
    assert error.source == "amount / 0"
    assert error.reason == "division by zero"


def test_floor_division_of_integers_stays_an_integer():
    assert run("7 // 2") == 3
    assert run("-7 // 2") == -4


def test_floor_division_of_decimals_floors_like_python():
    assert run("-7.5 // 2") == Decimal(-4)


def test_modulo_of_integers_stays_an_integer():
    assert run("7 % 3") == 1
    assert run("-7 % 3") == 2


def test_modulo_of_decimals_takes_the_sign_of_the_divisor_like_python():
    assert run("-7.5 % 2") == Decimal("0.5")
    assert run("7.5 % -2") == Decimal("-0.5")


def test_modulo_by_zero_is_an_error():
    assert fails("5 % 0").reason == "division by zero"


def test_unary_minus_and_plus():
    assert run("-x", x=Decimal("2.5")) == Decimal("-2.5")
    assert run("+3") == 3


def test_adding_text_to_a_number_is_an_error_in_plain_words():
    assert fails('"text" + 1').reason == "cannot add text and a number"


def test_text_concatenation():
    assert run('"Dear " + name', name="Ann") == "Dear Ann"


def test_list_concatenation():
    assert run("[1] + [2]") == [1, 2]


def test_text_repetition():
    assert run('"ab" * 2') == "abab"


def test_booleans_are_not_numbers():
    assert fails("true + 1").reason == "cannot add true/false and a number"


def test_minus_on_text_is_an_error():
    assert fails("-'a'").reason == "cannot negate text"


# --------------------------------------------------------------------------- comparisons


def test_equality_and_inequality():
    assert run("1 == 1.0") is True
    assert run("'a' != 'b'") is True


def test_ordering_comparisons():
    assert [run("1 < 2"), run("2 <= 2"), run("3 > 2.5"), run("2 >= 3")] == [True, True, True, False]


def test_chained_comparison():
    assert run("0 <= x < 10", x=5) is True
    assert run("0 <= x < 10", x=10) is False


def test_comparing_text_with_a_number_is_an_error():
    assert fails("amount > 'x'", amount=1).reason == "cannot compare a number with text"


def test_in_and_not_in_lists():
    assert run("2 in items", items=[1, 2]) is True
    assert run("3 not in items", items=[1, 2]) is True


def test_in_text_finds_a_substring():
    assert run("'at' in 'cat'") is True


def test_in_dict_looks_at_keys():
    assert run("'message' in error", error={"message": "x"}) is True


def test_in_a_number_is_an_error():
    assert fails("1 in 5").reason == "cannot look for a number in a number"


# ------------------------------------------------------------------------------- logic


def test_and_or_not():
    assert run("true and not false") is True
    assert run("false or true") is True


def test_and_or_short_circuit_and_return_an_operand():
    assert run("null or 'default'") == "default"
    assert run("false and missing") is False


def test_conditional_expression():
    assert run("'big' if x > 10 else 'small'", x=11) == "big"
    assert run("'big' if x > 10 else 'small'", x=1) == "small"


# ----------------------------------------------------------------------------- indexing


def test_indexing_a_list():
    assert run("items[0]", items=["a", "b"]) == "a"
    assert run("items[-1]", items=["a", "b"]) == "b"


def test_indexing_a_dict_with_text():
    assert run('error["message"]', error={"message": "boom"}) == "boom"


def test_indexing_text():
    assert run("'abc'[1]") == "b"


def test_index_out_of_range_is_an_error():
    assert fails("items[5]", items=[1, 2, 3]).reason == "the index is out of range for the list"


def test_missing_dict_key_is_an_error():
    assert fails('error["code"]', error={}).reason == "the key is not in the dict"


def test_slicing_lists_and_text():
    assert run("items[1:]", items=[1, 2, 3]) == [2, 3]
    assert run("'abcdef'[:2]") == "ab"
    assert run("items[::-1]", items=[1, 2]) == [2, 1]


def test_slice_step_zero_is_an_error():
    assert fails("items[::0]", items=[1]).reason == "a slice step cannot be zero"


def test_indexing_a_number_is_an_error():
    assert fails("x[0]", x=5).reason == "cannot index a number"


# ---------------------------------------------------------------------------- functions


def test_len_of_text_list_and_dict():
    assert [run("len('abc')"), run("len([1])"), run("len({})")] == [3, 1, 0]


def test_len_of_a_number_is_an_error():
    assert "len() needs text" in fails("len(5)").reason


def test_str_converts_like_templates():
    assert run("str(12.50)") == "12.50"
    assert run("str(true)") == "true"
    assert run("str(null)") == ""


def test_int_truncates_decimals():
    assert run("int(3.9)") == 3
    assert run("int(-3.9)") == -3


def test_int_parses_text():
    assert run("int('12')") == 12


def test_int_of_bad_text_is_an_error():
    assert fails("int('x')").reason == "the value given must be a whole number"


def test_decimal_is_exact_from_text_and_int():
    assert run("decimal('1.10')") == Decimal("1.10")
    assert run("decimal(2)") == Decimal(2)


def test_decimal_of_text_that_is_not_a_number_is_an_error():
    assert fails("decimal('NaN')").reason == "the value given must be a decimal number such as 12.50"


def test_int_of_a_boolean_is_an_error():
    assert fails("int(true)").reason == "cannot turn true/false into a whole number"


def test_str_of_a_list_is_json_text():
    assert run("str([1, 'a'])") == '[1, "a"]'


def test_round_keeps_a_decimal_and_rounds_half_to_even():
    assert run("round(2.675, 2)") == Decimal("2.68")
    assert str(run("round(1.005, 2)")) == "1.00"
    assert isinstance(run("round(1.5, 0)"), Decimal)


def test_round_without_places_gives_an_integer_like_python():
    assert run("round(2.5)") == 2
    assert run("round(3.5)") == 4


def test_min_and_max_of_arguments_and_of_a_list():
    assert run("min(3, 1.5, 2)") == Decimal("1.5")
    assert run("max(items)", items=[1, 9, 3]) == 9


def test_min_of_an_empty_list_is_an_error():
    assert fails("min([])").reason == "min() of an empty list"


def test_abs():
    assert run("abs(-2.5)") == Decimal("2.5")
    assert run("abs(-3)") == 3


def test_upper_and_lower():
    assert run("upper('ab')") == "AB"
    assert run("lower('AB')") == "ab"


def test_upper_of_a_number_is_an_error():
    assert fails("upper(1)").reason == "upper() needs text, not a number"


def test_now_is_the_given_moment():
    assert run("now()") == NOW


def test_now_given_in_another_zone_is_returned_in_utc():
    moment = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert compile_expression("now()").evaluate({}, moment) == NOW


def test_today_is_the_date_of_now():
    assert run("today()") == date(2024, 5, 1)


def test_days_hours_and_minutes_are_durations():
    assert run("days(2)") == timedelta(days=2)
    assert run("hours(1.5)") == timedelta(minutes=90)
    assert run("minutes(5)") == timedelta(minutes=5)


def test_date_parses_iso_text():
    assert run("date('2024-05-01')") == date(2024, 5, 1)


def test_date_of_a_datetime_is_its_date():
    assert run("date(now())") == date(2024, 5, 1)


def test_bad_date_is_an_error():
    assert fails("date('2024-13-01')").reason == "the value given must be an ISO 8601 date such as 2024-05-01"


def test_wrong_number_of_arguments_is_refused_at_compile_time():
    assert refused("len()").reason == "len() takes 1 argument, not 0"
    assert refused("round(1, 2, 3)").reason == "round() takes 1 or 2 arguments, not 3"


# -------------------------------------------------------------------------------- dates


def test_date_plus_days():
    assert run("today() + days(1)") == date(2024, 5, 2)


def test_datetime_minus_hours():
    assert run("now() - hours(2)") == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def test_date_minus_date_is_a_duration():
    assert run("date('2024-05-01') - date('2024-04-01')") == timedelta(days=30)


def test_dates_compare():
    assert run("due < today()", due=date(2024, 4, 30)) is True


def test_comparing_a_date_with_a_datetime_is_an_error():
    assert fails("today() < now()").reason == "cannot compare a date with a date and time"


def test_duration_divided_by_duration_is_a_decimal():
    assert run("hours(1) / minutes(1)") == Decimal(60)


def test_date_out_of_range_is_an_error():
    assert fails("date('9999-12-31') + days(1)").reason == "a date, duration or number is out of range"


def test_dividing_by_a_zero_duration_is_an_error():
    assert fails("hours(1) / minutes(0)").reason == "division by zero"


# ------------------------------------------------------------------------ forbidden code


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x.__class__", "attribute access such as x.y is not allowed"),
        ('__import__("os")', 'unknown function "__import__"'),
        ("lambda: 1", "lambda is not allowed"),
        ("[x for x in items]", "comprehensions are not allowed"),
        ("2 ** 3", "the ** operator is not allowed"),
        ("foo(1)", 'unknown function "foo"'),
        ("name.upper()", "attribute access such as x.y is not allowed"),
        ("len(x=1)", "keyword arguments are not allowed"),
        ("len(*items)", "* unpacking is not allowed"),
        ("(y := 1)", ":= is not allowed"),
        ("{1, 2}", "sets are not allowed"),
        ("(1, 2)", "tuples are not allowed"),
        ("f'{x}'", "f-strings are not allowed"),
        ("a is None", "the is operator is not allowed"),
        ("1 & 2", "the & operator is not allowed"),
        ("~1", "the ~ operator is not allowed"),
        ("items[0](1)", "only the built-in functions can be called"),
        ("b'x'", "is not allowed"),
    ],
)
def test_forbidden_constructs_are_refused_at_compile_time(source, reason):
    assert reason in refused(source).reason


def test_statements_are_syntax_errors():
    assert refused("import os").source == "import os"
    assert refused("a = 1").source == "a = 1"


def test_syntax_error_names_the_expression():
    assert str(refused("1 +")).startswith('expression "1 +": ')


def test_backslashes_in_text_compile_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(r"'\d' + 'x'") == "\\dx"


def test_empty_expression_is_refused():
    assert refused("  ").reason == "the expression is empty"


# ------------------------------------------------------------------------------- bounds


def test_source_longer_than_2000_characters_is_refused():
    assert "longer than 2000 characters" in refused("1" + " + 1" * 600).reason


def test_long_source_is_shortened_in_the_message():
    error = refused("x" * 2001)
    assert len(str(error)) < 200
    assert error.source == "x" * 2001


def test_more_than_300_nodes_is_refused():
    assert "more than 300 parts" in refused("[" + ", ".join(["1"] * 301) + "]").reason


def test_nesting_deeper_than_30_is_refused():
    assert "nested too deeply" in refused("-" * 31 + "1").reason


def test_nesting_of_30_is_allowed():
    assert run("-" * 29 + "1") == -1


def test_huge_text_repetition_is_refused_before_it_is_built():
    started = time.perf_counter()
    error = fails('"a" * 100000000')
    assert "more than 100,000 characters or items" in error.reason
    assert time.perf_counter() - started < 0.5


def test_text_repetition_up_to_the_limit_is_allowed():
    assert len(run('"a" * n', n=MAX_SIZE)) == MAX_SIZE


def test_huge_list_repetition_is_refused():
    assert "more than 100,000" in fails("[0] * 100001").reason


def test_repeating_a_list_of_big_lists_is_refused():
    assert "more than 100,000" in fails("[big] * 2", big=["a"] * 60_000).reason


def test_repeating_empty_lists_a_billion_times_is_refused():
    assert "more than 100,000" in fails("[[]] * 1000000000").reason


def test_repeating_table_rows_is_weighed_by_their_cells():
    rows = [{"name": "x" * 10, "amount": 1} for _ in range(5_000)]
    assert "more than 100,000" in fails("rows * 2", rows=rows).reason
    assert len(run("rows * 2", rows=rows[:1_000])) == 2_000


def test_growing_text_by_concatenation_is_refused():
    assert "more than 100,000" in fails("s + s", s="a" * 60_000).reason


def test_integers_larger_than_ten_to_the_hundred_are_refused():
    assert "too large" in fails("x * x", x=10**60).reason


def test_huge_integer_literal_is_refused():
    assert "too large" in refused("1" + "0" * 101).reason


def test_huge_decimal_literal_is_refused():
    assert "too large" in refused("1e400").reason


# ------------------------------------------------------------------------------ caching


def test_compiling_the_same_source_returns_the_same_object():
    assert compile_expression("a + 2") is compile_expression("a + 2")


def test_compiling_the_same_template_returns_the_same_object():
    assert compile_template("Hi {{ a }}") is compile_template("Hi {{ a }}")


def test_evaluating_does_not_parse_again(monkeypatch):
    expression = compile_expression("a * 2 + 1")
    monkeypatch.setattr(ast, "parse", lambda *args, **kwargs: pytest.fail("parsed again"))
    assert expression.evaluate({"a": 1}, NOW) == 3


# ---------------------------------------------------------------------------- templates


def test_template_with_several_parts():
    template = compile_template("Loan of {{ amount }} for {{ upper(name) }}.")
    assert template.render({"amount": Decimal("12.50"), "name": "ann"}, NOW) == "Loan of 12.50 for ANN."


def test_template_names_are_the_variables_of_all_parts():
    assert compile_template("{{ a }} and {{ b + c }}").names == frozenset({"a", "b", "c"})


def test_plain_text_template_renders_itself():
    assert compile_template("no parts here").render({}, NOW) == "no parts here"


def test_null_renders_as_nothing():
    assert compile_template("[{{ x }}]").render({"x": None}, NOW) == "[]"


def test_values_render_as_text():
    names = {"flag": True, "day": date(2024, 5, 1), "at": NOW, "big": Decimal("1E+3")}
    rendered = compile_template("{{ flag }} {{ day }} {{ at }} {{ big }}").render(names, NOW)
    assert rendered == "true 2024-05-01 2024-05-01T10:30:00Z 1000"


def test_lists_render_as_json():
    names = {"items": [1, "a", Decimal("2.5")]}
    assert compile_template("{{ items }}").render(names, NOW) == '[1, "a", "2.5"]'


def test_unclosed_braces_are_an_error():
    with pytest.raises(ExpressionError) as caught:
        compile_template("Hello {{ name")
    assert "not closed" in caught.value.reason


def test_braces_inside_quotes_and_dicts_do_not_close_a_part():
    template = compile_template("{{ '}}' }}|{{ {'a': {'b': 1}}['a']['b'] }}")
    assert template.render({}, NOW) == "}}|1"


def test_error_in_a_template_part_names_that_expression():
    with pytest.raises(ExpressionError) as caught:
        compile_template("Total {{ a / 0 }}").render({"a": 1}, NOW)
    assert str(caught.value) == 'expression "a / 0": division by zero'


def test_a_value_that_cannot_be_text_is_an_error_naming_the_part():
    with pytest.raises(ExpressionError) as caught:
        compile_template("{{ thing }}").render({"thing": object()}, NOW)
    assert caught.value.source == "thing"


def test_syntax_error_in_a_template_part_is_refused_at_compile_time():
    with pytest.raises(ExpressionError):
        compile_template("Total {{ a + }}")
