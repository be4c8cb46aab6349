"""Monitor services on the real database: every filter key as a query, the cap, rights, masking."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from administration.policy import NotAllowed, NotVisible
from monitor import services
from monitor.filters import matches, parse_filter
from processes.errors import Conflict
from processes.models import RelatedInteraction
from tests.monitor.conftest import SECRET, complete_check, set_cap, user


def ids(username: str, data: dict) -> set[int]:
    return {row["id"] for row in services.snapshot(user(username), parse_filter(data))}


def matched_one_by_one(username: str, data: dict) -> set[int]:
    """The same filter decided by the pure matcher, instance by instance (as the socket does)."""
    from processes.models import ProcessInstance

    f = parse_filter(data)
    found = set()
    for pk in ProcessInstance.objects.values_list("pk", flat=True):
        current = services.current_row(user(username), pk)
        if current is not None and matches(f, current[0], timezone.now()):
            found.add(pk)
    return found


@pytest.fixture
def three(probe, engine_runs):
    """A waiting Probe (alice's), one in error (bob's, in Pay), one completed (rejected)."""
    waiting = probe("Acme")
    failed = probe("Zenith", by="bob", divisor=0)
    complete_check(failed)
    engine_runs()
    done = probe("Done Corp")
    complete_check(done, "reject")
    RelatedInteraction.objects.create(instance=waiting, type="call", reference="Call 555-0100")
    for instance in (waiting, failed, done):
        instance.refresh_from_db()
    assert (waiting.status, failed.status, done.status) == ("waiting", "error", "completed")
    return waiting, failed, done


@pytest.mark.parametrize("data, expected", [
    ({}, {0, 1, 2}),
    ({"process": "Probe"}, {0, 1, 2}), ({"process": "Car Loan"}, set()),
    ({"version": 1}, {0, 1, 2}), ({"version": 2}, set()),
    ({"status": "error"}, {1}), ({"status": ["waiting", "completed"]}, {0, 2}),
    ({"state": "Pay"}, {1}), ({"state": "Review"}, {0}),
    ({"waiting_on": "work_item"}, {0}),
    ({"waiting_workgroup": "Managers"}, {0}), ({"waiting_user": "bob"}, {0}), ({"waiting_user": "sam"}, set()),
    ({"started_by": "bob"}, {1}),
    ({"started_after": "2000-01-01T00:00:00Z"}, {0, 1, 2}), ({"started_before": "2000-01-01T00:00:00Z"}, set()),
    ({"waiting_longer_than": 0}, {0, 1, 2}), ({"waiting_longer_than": 60}, set()),
    ({"error": "division"}, {1}),
    ({"q": "555-0100"}, {0}),
])
def test_each_filter_key_selects_the_same_instances_in_the_database_as_the_matcher(three, data, expected):
    wanted = {three[i].pk for i in expected}
    assert ids("sam", data) == wanted
    assert matched_one_by_one("sam", data) == wanted


def test_free_text_finds_an_instance_by_its_id(three):
    assert ids("sam", {"q": str(three[2].pk)}) == {three[2].pk}


def test_a_row_names_who_and_which_queue_the_instance_waits_on(three):
    rows = {row["id"]: row for row in services.snapshot(user("sam"), parse_filter({}))}
    waiting = rows[three[0].pk]
    assert waiting["waiting_workgroups"] == ["Managers"] and waiting["waiting_users"] == ["bob"]  # offered
    assert waiting["state"] == "Review" and waiting["state_since"] is not None
    assert rows[three[1].pk]["error"]


def test_a_filter_that_matches_more_than_the_cap_is_refused_and_the_cap_is_read_live(probe):
    set_cap("100")
    from processes.models import ProcessInstance

    first = probe("Acme")
    # 100 more rows like the first, cheaply (the engine is not what is tested here)
    ProcessInstance.objects.bulk_create([
        ProcessInstance(definition_id=first.definition_id, process_name="Probe", status="waiting",
                        started_by=first.started_by, owner=first.owner) for _ in range(100)
    ])
    with pytest.raises(services.TooBroad) as refused:
        services.snapshot(user("sam"), parse_filter({"process": "Probe"}))
    assert refused.value.cap == 100 and refused.value.count > 100
    assert "narrow" in str(refused.value).lower()
    set_cap("200")
    assert len(services.snapshot(user("sam"), parse_filter({"process": "Probe"}))) == 101


def test_the_cap_is_never_below_100(world):
    set_cap("5")
    assert services.monitor_cap() == 100
    set_cap("not a number")
    assert services.monitor_cap() == 5000


def test_without_the_process_monitor_license_the_monitor_is_refused(world):
    with pytest.raises(NotAllowed, match="Process Monitor license"):
        services.snapshot(user("alice"), parse_filter({}))
    with pytest.raises(NotAllowed):
        services.save_filter(user("alice"), "Mine", {})


def test_manage_alone_sees_the_instances_it_may_manage(three):
    assert ids("mona", {}) == {i.pk for i in three}


def test_view_without_manage_sees_but_cannot_repair(three):
    assert ids("vic", {}) == {i.pk for i in three}
    with pytest.raises(NotAllowed, match="Manage"):
        services.repair(user("vic"), three[1].pk, "skip")


def test_a_supervisor_without_view_or_manage_sees_only_what_they_started(probe):
    from administration.models import User

    User.objects.create_user("nia", password="x", license="process_monitor", rights=["launch"])
    mine = probe("Mine", by="nia")
    probe("Other")
    assert ids("nia", {}) == {mine.pk}
    with pytest.raises(NotVisible):
        services.repair(user("nia"), probe("Third").pk, "cancel")


def test_repairs_call_the_instance_services_and_record_who_and_why(three, engine_runs):
    waiting, failed, done = three
    services.repair(user("sam"), failed.pk, "skip", comment="divisor fixed by hand")
    failed.refresh_from_db()
    assert failed.status == "waiting" and failed.current_state == "Pay"
    history = list(failed.history.values_list("what", "detail", "user"))
    assert ("comment", "skipped: divisor fixed by hand", "sam") in history
    assert any(what == "skipped" and who == "sam" for what, _, who in history)
    services.repair(user("sam"), waiting.pk, "cancel", comment="duplicate")
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"
    assert not waiting.work_items.filter(status__in=("queued", "offered", "processing", "held")).exists()


@pytest.mark.parametrize("action", ["cancel", "retry", "skip"])
def test_a_repair_the_status_does_not_allow_is_a_conflict(three, action):
    with pytest.raises(Conflict):
        services.repair(user("sam"), three[2].pk, action)


def test_retry_of_an_instance_in_error_runs_the_failed_action_again(three):
    failed = three[1]
    services.repair(user("sam"), failed.pk, "retry")
    failed.refresh_from_db()
    assert failed.status == "error"  # the divisor is still 0
    assert failed.history.filter(what="retried", user="sam").exists()


def test_a_protected_value_never_appears_in_a_row(probe):
    instance = probe("Acme", secret=SECRET)
    rows = services.snapshot(user("sam"), parse_filter({}))
    assert SECRET not in json.dumps(rows)
    assert SECRET not in json.dumps(services.current_row(user("sam"), instance.pk)[1])


def test_saved_filters_belong_to_their_user(world):
    saved = services.save_filter(user("sam"), "Errors", {"status": "error"})
    services.save_filter(user("sam"), "Errors", {"status": ["error", "restored_in_error"]})
    assert [(f.name, f.filter) for f in services.saved_filters(user("sam"))] == [
        ("Errors", {"status": ["error", "restored_in_error"]})]
    assert services.saved_filters(user("vic")) == []
    from processes.errors import NotFound

    with pytest.raises(NotFound):
        services.delete_filter(user("vic"), saved.pk)
    services.delete_filter(user("sam"), saved.pk)
    assert services.saved_filters(user("sam")) == []


def test_a_snapshot_takes_four_queries_whatever_its_size(probe):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sam = user("sam")
    services.snapshot(sam, parse_filter({}))  # the principal and the parameters, read once
    probe("One")
    with CaptureQueriesContext(connection) as small:
        assert len(services.snapshot(sam, parse_filter({}))) == 1
    for n in range(6):
        probe(f"More {n}")
    with CaptureQueriesContext(connection) as large:
        assert len(services.snapshot(sam, parse_filter({}))) == 7
    # how many match (up to the cap + 1); the rows; who and which queue they wait on; when they entered their state
    assert len(small.captured_queries) == len(large.captured_queries) == 4, large.captured_queries
