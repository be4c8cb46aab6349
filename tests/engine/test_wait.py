from datetime import UTC, datetime, timedelta

import pytest

from processes.engine import Record, StartTimer, TimerFired

from .builders import NOW, Instance, act, definition, var


def waiting(**keys):
    document = definition(
        act("wait", **keys),
        act("assign", variable="after", value="true"),
        variables=[
            var("after", "boolean", default=False),
            var("deadline", "datetime", default="2024-06-01T12:30:00Z"),
            var("day", "date", default="2024-07-04"),
        ],
    )
    instance = Instance(document)
    instance.start()
    return instance


def test_a_duration_starts_a_timer_and_waits():
    instance = waiting(duration="PT90M")
    assert instance.effects(StartTimer) == [StartTimer("w1", NOW + timedelta(minutes=90))]
    step = instance.step
    assert (step.status, step.waiting_on) == ("waiting", "timer")
    assert step.waiting_detail == "timer until 2024-05-01T10:30:00Z"
    assert instance.globals["after"] is False


def test_the_flow_continues_when_the_timer_fires():
    instance = waiting(duration="P2D")
    step = instance.send(TimerFired("w1"))
    assert step.status == "completed"
    assert Record("timer_fired", "w1") in step.effects
    assert instance.globals["after"] is True


@pytest.mark.parametrize(
    ("until", "due"),
    [
        ("deadline", datetime(2024, 6, 1, 12, 30, tzinfo=UTC)),
        ("day", datetime(2024, 7, 4, tzinfo=UTC)),
        ('"2024-08-01T08:00:00+02:00"', datetime(2024, 8, 1, 6, 0, tzinfo=UTC)),
        ('"2024-08-01"', datetime(2024, 8, 1, tzinfo=UTC)),
        ("now() + hours(3)", NOW + timedelta(hours=3)),
    ],
)
def test_until_accepts_a_datetime_a_date_or_iso_text(until, due):
    instance = waiting(until=until)
    assert instance.effects(StartTimer) == [StartTimer("w1", due)]


def test_a_due_time_in_the_past_still_waits_for_the_timer():
    instance = waiting(until='"2000-01-01T00:00:00Z"')
    assert instance.status == "waiting"
    assert instance.effects(StartTimer) == [StartTimer("w1", datetime(2000, 1, 1, tzinfo=UTC))]


@pytest.mark.parametrize("until", ["42", '"next tuesday"'])
def test_until_that_is_not_a_moment_is_a_fault(until):
    instance = waiting(until=until)
    assert instance.status == "error"
    assert "states.Main.actions[0].until: until" in instance.step.error


def test_a_bad_duration_is_a_fault():
    instance = waiting(duration="soon")
    assert instance.status == "error"
    assert instance.step.error.startswith("in state Main, states.Main.actions[0].duration: ")


def test_a_timer_event_with_an_unknown_token_is_ignored_and_changes_nothing():
    instance = waiting(duration="PT1M")
    before = instance.state
    step = instance.send(TimerFired("w9"))
    assert step.effects == [Record("event_ignored", "timer w9")]
    assert step.state == before
    assert (step.status, step.waiting_on) == ("waiting", "timer")


def test_a_timer_that_already_fired_is_ignored_the_second_time():
    document = definition(act("wait", duration="PT1M"), act("wait", duration="PT1M"))
    instance = Instance(document)
    instance.start()
    instance.send(TimerFired("w1"))
    assert instance.send(TimerFired("w1")).effects == [Record("event_ignored", "timer w1")]
    assert instance.send(TimerFired("w2")).status == "completed"


def test_a_timer_until_a_protected_time_does_not_show_the_time():
    document = definition(
        act("wait", until="deadline + days(1)"),
        variables=[var("deadline", "datetime", default="2031-06-01T12:30:00Z", security="Payroll")],
    )
    instance = Instance(document)
    step = instance.start()
    assert (step.status, step.waiting_on) == ("waiting", "timer")
    assert "2031" not in step.waiting_detail
    assert step.waiting_detail == "timer until a protected time"


def test_a_timer_until_a_protected_local_does_not_show_the_time():
    from .builders import state

    document = definition(
        states=[state("Main", act("wait", until="due"),
                      variables=[var("due", "date", default="2031-06-01", security="Payroll")])],
    )
    step = Instance(document).start()
    assert step.waiting_detail == "timer until a protected time"
