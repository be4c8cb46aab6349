"""History entries and errors in plain words (processes.history_text): pure, no database."""

import pytest

from processes.history_text import error_text, history_sentence, humanize


@pytest.mark.parametrize(("what", "detail", "sentence"), [
    ("launched", "", "Started"),
    ("state_entered", "Review", "Entered Review"),
    ("work_item_sent", "Approve Expense to workgroup Managers", "Sent Approve Expense to workgroup Managers"),
    ("work_item_sent", "Approve Expense", "Sent Approve Expense"),
    ("work_item_timed_out", "Approve Expense", "Nobody completed Approve Expense in time"),
    ("external_failed", "invoke_web_service Add: fault", "The web service Add failed"),
    ("error", "in state Mail, states.Mail.actions[0]: the mail server refused",
     "Stopped with an error: in state Mail: the mail server refused"),
    ("completed", "", "Finished"),
    ("work_item_substituted", "Approve Expense to user carol for bob",
     "Sent Approve Expense to carol, for bob, who is away"),
    ("a_code_from_later", "detail", "A code from later: detail"),
])
def test_each_history_code_reads_as_a_sentence(what, detail, sentence):
    assert history_sentence(what, detail) == sentence


def test_a_completion_names_who_and_the_buttons_label():
    assert history_sentence("work_item_completed", "Approve Expense: approve", who="bob",
                            buttons={"approve": "Approve"}) == "bob completed Approve Expense with Approve"
    assert history_sentence("work_item_completed", "Pay Out: paid_out", who="carol") == (
        "carol completed Pay Out with Paid out")


def test_work_done_for_someone_away_says_so():
    assert history_sentence("work_item_sent", "Approve Expense to user bob", on_behalf_of="bob") == (
        "Sent Approve Expense to user bob, for bob, who is away")


def test_no_code_or_position_reaches_the_reader():
    for what in ("state_entered", "work_item_sent", "external_started", "timer_fired", "event_ignored"):
        assert "_" not in history_sentence(what, "x")
    assert "states." not in error_text("in state Mail, states.Mail.actions[0].when: bad")
    assert "[0]" not in error_text("tasks.Pay.actions[0]: bad")


@pytest.mark.parametrize(("name", "label"), [("customer_name", "Customer name"), ("iban", "IBAN"),
                                             ("nationalId", "National ID"), ("amount", "Amount")])
def test_a_variable_name_becomes_a_label(name, label):
    assert humanize(name) == label
