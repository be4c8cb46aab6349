"""``monitor.filters``: parsing what a client sends and matching rows, as pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.filters import Filter, FilterInvalid, Row, crossing, matches, parse_filter

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROW = Row(id=42, process="Expense", version=2, status="waiting", state="Review", waiting_on="work_item",
          started_by="alice", started_at=NOW - timedelta(hours=3), updated_at=NOW - timedelta(minutes=45),
          error="", waiting_users=("bob",), waiting_workgroups=(), references=("Call 555-0100",))


def test_an_empty_filter_matches_every_row():
    assert matches(parse_filter({}), ROW, NOW)


@pytest.mark.parametrize("data, expected", [
    ({"process": "Expense"}, True), ({"process": "Car Loan"}, False),
    ({"version": 2}, True), ({"version": "1"}, False),
    ({"status": "waiting"}, True), ({"status": ["error", "restored_in_error"]}, False),
    ({"state": "Review"}, True), ({"state": "Pay"}, False),
    ({"waiting_on": "work_item"}, True), ({"waiting_on": "timer"}, False),
    ({"waiting_user": "bob"}, True), ({"waiting_user": "carol"}, False),
    ({"waiting_workgroup": "Managers"}, False),
    ({"started_by": "alice"}, True), ({"started_by": "bob"}, False),
    ({"started_after": "2026-12-01T08:00:00Z"}, True), ({"started_after": "2026-12-01T10:00:00Z"}, False),
    ({"started_before": "2026-12-01T10:00:00+00:00"}, True), ({"started_before": "2026-12-01T08:00:00"}, False),
    ({"waiting_longer_than": 30}, True), ({"waiting_longer_than": "60"}, False),
    ({"q": "42"}, True), ({"q": "#42"}, True), ({"q": "555-0100"}, True), ({"q": "43"}, False),
])
def test_each_key_matches_its_part_of_the_row(data, expected):
    assert matches(parse_filter(data), ROW, NOW) is expected


def test_a_row_that_will_match_by_waiting_longer_crosses_when_its_wait_reaches_the_threshold():
    # ROW last changed 45 minutes before NOW: it crosses an hour's wait 15 minutes later.
    assert crossing(parse_filter({"waiting_longer_than": 60}), ROW, NOW) == NOW + timedelta(minutes=15)
    assert crossing(parse_filter({"waiting_longer_than": 30}), ROW, NOW) is None  # matches already
    assert crossing(parse_filter({"waiting_longer_than": 60, "process": "Car Loan"}), ROW, NOW) is None
    assert crossing(parse_filter({"process": "Expense"}), ROW, NOW) is None  # time does not matter


def test_the_error_key_finds_a_cause_in_the_message_whatever_its_case():
    failed = replace(ROW, status="error", error="in state Pay, states.Pay.actions[0]: Connection refused")
    assert matches(parse_filter({"error": "connection REFUSED"}), failed, NOW)
    assert not matches(parse_filter({"error": "timeout"}), failed, NOW)


def test_a_queued_item_matches_its_workgroup():
    queued = replace(ROW, waiting_users=(), waiting_workgroups=("Managers",))
    assert matches(parse_filter({"waiting_workgroup": "Managers"}), queued, NOW)


def test_keys_together_must_all_match():
    assert matches(parse_filter({"process": "Expense", "status": "waiting"}), ROW, NOW)
    assert not matches(parse_filter({"process": "Expense", "status": "error"}), ROW, NOW)


@pytest.mark.parametrize("data, key", [
    ({"proces": "Expense"}, "proces"),
    ({"status": "stuck"}, "status"),
    ({"waiting_on": "godot"}, "waiting_on"),
    ({"version": 0}, "version"),
    ({"waiting_longer_than": -1}, "waiting_longer_than"),
    ({"started_after": "yesterday"}, "started_after"),
    ({"process": 7}, "process"),
])
def test_a_bad_key_or_value_is_refused_with_its_name(data, key):
    with pytest.raises(FilterInvalid) as refused:
        parse_filter(data)
    assert refused.value.key == key and key in str(refused.value)


def test_a_filter_goes_back_to_what_the_client_sends():
    data = {"process": "Expense", "status": ["error", "waiting"], "started_after": "2026-12-01T08:00:00Z",
            "waiting_longer_than": 5}
    assert parse_filter(data).as_dict() == {**data, "status": ["error", "waiting"]}
    assert parse_filter(parse_filter(data).as_dict()) == parse_filter(data)
    assert Filter().as_dict() == {}
