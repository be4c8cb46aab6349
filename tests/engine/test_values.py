"""Variable types: coercion, JSON form, restrictions, durations (processes/engine/values.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from processes.engine.values import (
    VARIABLE_TYPES,
    InvalidValue,
    coerce,
    default_value,
    from_json,
    parse_duration,
    restriction_errors,
    to_json,
)


def refused(type_name, value) -> str:
    with pytest.raises(ValueError) as caught:
        coerce(type_name, value)
    return str(caught.value)


def test_the_ten_variable_types():
    assert VARIABLE_TYPES == (
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


@pytest.mark.parametrize("type_name", VARIABLE_TYPES)
def test_none_stays_none_for_every_type(type_name):
    assert coerce(type_name, None) is None
    assert to_json(type_name, None) is None


def test_unknown_type_is_refused():
    assert "unknown type" in refused("money", 1)


def test_refusals_are_value_errors_of_their_own_type():
    with pytest.raises(InvalidValue):
        coerce("integer", "x")


def test_from_json_is_coerce():
    assert from_json("decimal", "1.50") == Decimal("1.50")


# ------------------------------------------------------------------------------ string


def test_string_accepts_text():
    assert coerce("string", "hello") == "hello"


def test_string_accepts_numbers_as_their_text():
    assert coerce("string", 12) == "12"
    assert coerce("string", Decimal("12.50")) == "12.50"


def test_string_refuses_lists_dicts_and_booleans():
    assert refused("string", [1]) == "must be text"
    assert refused("string", {"a": 1}) == "must be text"
    assert refused("string", True) == "must be text"


# ----------------------------------------------------------------------------- integer


def test_integer_accepts_ints_integral_decimals_and_numeric_text():
    assert coerce("integer", 12) == 12
    assert coerce("integer", Decimal("12.0")) == 12
    assert coerce("integer", " 12 ") == 12


def test_integer_refuses_fractions():
    assert refused("integer", "12.5") == "must be a whole number"
    assert refused("integer", Decimal("0.1")) == "must be a whole number"


def test_integer_refuses_booleans():
    assert refused("integer", True) == "must be a whole number"


def test_integer_refuses_huge_numbers():
    assert "too large" in refused("integer", 10**101)
    assert "too large" in refused("integer", "1e999999")


def test_integer_round_trips_through_json():
    assert to_json("integer", 12) == 12
    assert from_json("integer", to_json("integer", 12)) == 12


# ----------------------------------------------------------------------------- decimal


def test_decimal_from_text_keeps_its_scale():
    assert coerce("decimal", "12.50") == Decimal("12.50")
    assert to_json("decimal", "12.50") == "12.50"


def test_decimal_from_a_float_is_exact():
    assert coerce("decimal", 0.1) == Decimal("0.1")


def test_decimal_from_an_int():
    assert coerce("decimal", 3) == Decimal(3)


def test_decimal_refuses_nan_infinity_and_booleans():
    for value in ("NaN", "Infinity", float("nan"), True):
        assert refused("decimal", value) == "must be a decimal number such as 12.50"


def test_decimal_refuses_words():
    assert refused("decimal", "twelve") == "must be a decimal number such as 12.50"


def test_decimal_json_has_no_exponent():
    assert to_json("decimal", Decimal("1E+3")) == "1000"
    assert to_json("decimal", Decimal("1E-7")) == "0.0000001"


def test_decimal_json_has_no_negative_zero():
    assert to_json("decimal", Decimal("-0.00")) == "0.00"


def test_decimal_round_trips_through_json():
    assert from_json("decimal", to_json("decimal", Decimal("-12.50"))) == Decimal("-12.50")


# ----------------------------------------------------------------------------- boolean


def test_boolean_accepts_booleans_and_words():
    assert coerce("boolean", True) is True
    assert coerce("boolean", "TRUE") is True
    assert coerce("boolean", "false") is False
    assert coerce("boolean", "1") is True
    assert coerce("boolean", "0") is False


def test_boolean_refuses_other_words_and_numbers():
    assert refused("boolean", "yes") == "must be true or false"
    assert refused("boolean", 1) == "must be true or false"


def test_boolean_round_trips_through_json():
    assert to_json("boolean", False) is False


# -------------------------------------------------------------------------------- date


def test_date_from_iso_text():
    assert coerce("date", "2024-05-01") == date(2024, 5, 1)


def test_date_of_a_datetime_is_its_utc_date():
    evening_in_new_york = datetime(2024, 5, 1, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert coerce("date", evening_in_new_york) == date(2024, 5, 2)


def test_date_from_iso_datetime_text():
    assert coerce("date", "2024-05-01T10:00:00Z") == date(2024, 5, 1)


def test_date_refuses_bad_text():
    assert refused("date", "01/05/2024") == "must be an ISO 8601 date such as 2024-05-01"
    assert refused("date", "2024-02-30") == "must be an ISO 8601 date such as 2024-05-01"


def test_date_round_trips_through_json():
    assert to_json("date", date(2024, 5, 1)) == "2024-05-01"
    assert from_json("date", "2024-05-01") == date(2024, 5, 1)


# ---------------------------------------------------------------------------- datetime


def test_datetime_with_z_is_utc():
    assert coerce("datetime", "2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_datetime_with_an_offset_is_normalised_to_utc():
    value = coerce("datetime", "2024-05-01T12:00:00+02:00")
    assert value == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)


def test_naive_datetime_is_taken_as_utc():
    assert coerce("datetime", "2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert coerce("datetime", datetime(2024, 5, 1, 10)) == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_datetime_refuses_bad_text():
    assert refused("datetime", "tomorrow") == "must be an ISO 8601 date and time such as 2024-05-01T10:00:00Z"


def test_datetime_json_is_utc_ending_with_z():
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert to_json("datetime", moment) == "2024-05-01T10:00:00Z"


def test_datetime_json_shows_microseconds_only_when_there_are_some():
    assert to_json("datetime", datetime(2024, 5, 1, 10, 0, 0, 5, tzinfo=UTC)) == "2024-05-01T10:00:00.000005Z"


def test_datetime_round_trips_through_json():
    moment = datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)
    assert from_json("datetime", to_json("datetime", moment)) == moment


# ---------------------------------------------------------------------- user, workgroup


def test_user_and_workgroup_are_non_empty_names():
    assert coerce("user", "ann") == "ann"
    assert coerce("workgroup", " Managers ") == "Managers"


def test_empty_user_name_is_refused():
    assert refused("user", " ") == "must be a user name"
    assert refused("workgroup", 5) == "must be a workgroup name"


# -------------------------------------------------------------------------- list, json


def test_list_accepts_lists_and_tuples():
    assert coerce("list", (1, "a")) == [1, "a"]


def test_list_refuses_other_values():
    assert refused("list", "a,b") == "must be a list"


def test_list_json_converts_decimals_and_dates_inside():
    value = [Decimal("1.50"), date(2024, 5, 1), {"at": datetime(2024, 5, 1, tzinfo=UTC)}]
    assert to_json("list", value) == ["1.50", "2024-05-01", {"at": "2024-05-01T00:00:00Z"}]


def test_floats_inside_json_become_exact_decimals():
    assert coerce("json", {"a": [0.1]}) == {"a": [Decimal("0.1")]}


def test_json_accepts_any_json_value():
    for value in ({"a": 1}, [1], "x", 3, True):
        assert coerce("json", value) == value


def test_json_refuses_non_text_keys_and_other_objects():
    assert refused("json", {1: "a"}) == "must have text keys only"
    assert refused("json", object()) == "must be a JSON value"


def test_json_to_json_writes_durations_as_iso_8601():
    assert to_json("json", timedelta(hours=2)) == "PT2H"


# ------------------------------------------------------------------------ restrictions


def test_none_passes_every_restriction():
    spec = {"type": "integer", "min": 1, "choices": [2], "max_length": 0, "pattern": "x"}
    assert restriction_errors(spec, None) == []


def test_choices_are_compared_after_coercion():
    spec = {"type": "decimal", "choices": ["1.5", "2"]}
    assert restriction_errors(spec, Decimal("1.50")) == []
    assert restriction_errors(spec, Decimal(3)) == ["must be one of: 1.5, 2"]


def test_min_and_max_on_numbers():
    spec = {"type": "decimal", "min": 0, "max": 100000}
    assert restriction_errors(spec, Decimal(-1)) == ["must be at least 0"]
    assert restriction_errors(spec, Decimal("100000.01")) == ["must be at most 100000"]
    assert restriction_errors(spec, Decimal(50)) == []


def test_min_and_max_on_dates():
    spec = {"type": "date", "min": "2024-01-01"}
    assert restriction_errors(spec, date(2023, 12, 31)) == ["must be at least 2024-01-01"]


def test_max_length_on_text_and_lists():
    assert restriction_errors({"type": "string", "max_length": 2}, "abc") == [
        "must be at most 2 characters long",
    ]
    assert restriction_errors({"type": "list", "max_length": 1}, [1, 2]) == ["must have at most 1 items"]


def test_pattern_must_match_the_whole_text():
    spec = {"type": "string", "pattern": "^[A-Z]{2}$"}
    assert restriction_errors(spec, "DE") == []
    assert restriction_errors(spec, "DEU") == ["must match the pattern ^[A-Z]{2}$"]
    assert restriction_errors({"type": "string", "pattern": "[A-Z]{2}"}, "DE1") != []


def test_several_restrictions_report_every_problem():
    spec = {"type": "string", "max_length": 1, "pattern": "[a-z]+"}
    assert len(restriction_errors(spec, "AB")) == 2


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT30M", timedelta(minutes=30)),
        ("P2D", timedelta(days=2)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT0S", timedelta(0)),
        ("P1W", timedelta(weeks=1)),
    ],
)
def test_iso_8601_durations_are_parsed(text, expected):
    assert parse_duration(text) == expected


def test_months_and_years_are_refused():
    for text in ("P1M", "P1Y"):
        with pytest.raises(ValueError, match="months and years have no fixed length"):
            parse_duration(text)


def test_malformed_duration_is_refused_naming_the_text():
    for text in ("30 minutes", "P", "PT", ""):
        with pytest.raises(ValueError, match="is not an ISO 8601 duration"):
            parse_duration(text)


def test_negative_duration_is_refused():
    with pytest.raises(ValueError, match="negative"):
        parse_duration("-PT5M")


# ---------------------------------------------------------------------------- defaults


def test_default_value_is_coerced_to_its_json_form():
    assert default_value({"name": "amount", "type": "decimal", "default": 0.5}) == "0.5"
    assert default_value({"name": "due", "type": "datetime", "default": "2024-05-01T12:00:00+02:00"}) == (
        "2024-05-01T10:00:00Z"
    )


def test_no_default_is_null():
    assert default_value({"name": "x", "type": "string"}) is None


def test_a_bad_default_is_refused():
    with pytest.raises(ValueError, match="must be a whole number"):
        default_value({"name": "n", "type": "integer", "default": "many"})


def test_a_catastrophic_pattern_is_checked_in_linear_time():
    from processes.engine.values import restriction_errors

    # With Python's backtracking re this takes minutes; RE2 answers at once.
    assert restriction_errors({"pattern": "(a+)+$"}, "a" * 5000 + "b") == ["must match the pattern (a+)+$"]
    assert restriction_errors({"pattern": "(a+)+$"}, "a" * 5000) == []


def test_a_pattern_that_needs_backtracking_is_a_definition_error():
    from processes.engine.validation import validate_definition

    from .builders import act, definition, var

    document = definition(act("assign", variable="x", value="'a'"), variables=[var("x", pattern=r"(a)\1")])
    errors = validate_definition(document)
    assert [e.path for e in errors] == ["variables[0].pattern"]
    assert "RE2" in errors[0].message
