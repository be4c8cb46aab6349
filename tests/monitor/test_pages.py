"""The monitor's pages through Django's test client: license, tabs, details, repairs, masking."""

from __future__ import annotations

import pytest
from django.test import Client

from monitor.models import SavedFilter
from tests.monitor.conftest import SECRET, complete_check, user


@pytest.fixture
def browser_of(world):
    def log_in(username: str) -> Client:
        client = Client()
        client.force_login(user(username))
        return client

    return log_in


def test_without_the_license_the_page_says_which_license_is_needed(browser_of):
    response = browser_of("alice").get("/monitor/")
    assert response.status_code == 403
    assert "Process Monitor license" in response.content.decode()


def test_the_header_links_the_monitor_only_for_those_who_hold_the_license(browser_of):
    assert 'href="/monitor/"' in browser_of("sam").get("/workitems/").content.decode()
    assert 'href="/monitor/"' not in browser_of("alice").get("/workitems/").content.decode()


def test_nothing_is_watched_until_a_filter_is_chosen(browser_of):
    page = browser_of("sam").get("/monitor/").content.decode()
    assert "Nothing is monitored until you choose a filter" in page
    assert "watched-filter" not in page


def test_a_filter_from_the_form_is_handed_to_the_live_table(browser_of):
    page = browser_of("sam").get("/monitor/", {"process": "Probe", "status": ["error", "waiting"]}).content.decode()
    assert '"process": "Probe"' in page and '"status": ["error", "waiting"]' in page


def test_a_filter_is_saved_as_a_tab_of_its_user(browser_of):
    sam = browser_of("sam")
    response = sam.post("/monitor/filters", {"name": "Probe errors", "process": "Probe", "status": ["error"]})
    saved = SavedFilter.objects.get(user__username="sam")
    assert response.status_code == 302 and response["Location"].endswith(f"?tab={saved.pk}")
    assert saved.filter == {"process": "Probe", "status": ["error"]}
    page = sam.get(f"/monitor/?tab={saved.pk}").content.decode()
    assert "Probe errors" in page and '"status": ["error"]' in page
    assert '"status": ["error"]' in sam.get("/monitor/").content.decode()  # back to the monitor: the first tab
    assert "watched-filter" not in sam.get("/monitor/?new=1").content.decode()
    assert "Probe errors" not in browser_of("vic").get("/monitor/").content.decode()
    assert browser_of("vic").post(f"/monitor/filters/{saved.pk}/delete").status_code == 404
    sam.post(f"/monitor/filters/{saved.pk}/delete")
    assert not SavedFilter.objects.exists()


def test_details_tell_the_history_in_plain_words_and_keep_protected_values_out(browser_of, probe, engine_runs):
    instance = probe("Acme", divisor=0, secret=SECRET)
    complete_check(instance)
    engine_runs()
    page = browser_of("sam").get(f"/monitor/instances/{instance.pk}/").content.decode()
    assert "Sent “Check” to workgroup Managers" in page
    assert "bob completed “Check” with “approve”" in page
    assert "Stopped in error in the state “Pay”" in page
    assert "states.Pay.actions[0]" in page  # behind the disclosure
    assert "customer" in page and "Acme" in page
    assert SECRET not in page and ">secret<" not in page


def test_a_repair_with_a_comment_is_recorded_and_a_status_that_does_not_allow_it_answers_409(
        browser_of, probe, engine_runs):
    instance = probe("Acme", divisor=0)
    complete_check(instance)
    engine_runs()
    sam = browser_of("sam")
    response = sam.post(f"/monitor/instances/{instance.pk}/skip", {"comment": "paid by hand"})
    assert response.status_code == 302
    page = sam.get(f"/monitor/instances/{instance.pk}/").content.decode()
    assert "sam noted: “paid by hand”" in page and "sam skipped the failed action" in page
    again = sam.post(f"/monitor/instances/{instance.pk}/skip")
    assert again.status_code == 409 and "Only an instance in error" in again.content.decode()


def test_without_manage_there_is_no_repair_and_a_posted_one_is_refused(browser_of, probe):
    instance = probe("Acme")
    vic = browser_of("vic")
    assert "repair-form" not in vic.get(f"/monitor/instances/{instance.pk}/").content.decode()
    assert vic.post(f"/monitor/instances/{instance.pk}/cancel").status_code == 403


def test_a_failed_external_action_reads_as_words_with_its_position_apart():
    from monitor.timeline import error_words

    error = "in state Score, states.Score.actions[0]: invoke_web_service Credit Check failed: connection refused"
    assert error_words(error) == (" in the state “Score”: the web service “Credit Check” failed: connection refused",
                                  "states.Score.actions[0]")
