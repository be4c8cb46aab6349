"""Where the trouble is: instances per state with their times, errors grouped by cause, one repair per group."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from monitor.trouble import trouble
from tests.monitor.conftest import complete_check, user


def test_states_are_counted_per_process_and_errors_grouped_by_cause(probe, engine_runs):
    waiting = [probe("A"), probe("B")]
    broken = [probe(f"Broken {n}", divisor=0) for n in range(3)]
    for instance in broken:
        complete_check(instance)
    engine_runs()
    found = trouble(user("sam"), timezone.now())
    (probe_states,) = found["processes"]
    counts = {s["state"]: s["count"] for s in probe_states["states"]}
    assert counts == {"Review": 2, "Pay": 3}
    assert all(s["oldest_seconds"] >= s["average_seconds"] >= 0 for s in probe_states["states"])
    (group,) = found["errors"]
    assert group["count"] == 3 and group["ids"] == sorted(i.pk for i in broken) and "division" in group["cause"]
    assert len(waiting) == 2


def test_a_group_is_repaired_in_one_bulk_action_from_the_page(probe, engine_runs, django_capture_on_commit_callbacks):
    broken = [probe(f"Broken {n}", divisor=0) for n in range(2)]
    for instance in broken:
        complete_check(instance)
    engine_runs()
    sam = Client()
    sam.force_login(user("sam"))
    page = sam.get("/monitor/trouble/").content.decode()
    assert "2</strong> × Probe" in page and "Skip all" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = sam.post("/monitor/trouble/repair", {"action": "skip", "ids": [i.pk for i in broken]})
    assert response.status_code == 302
    job_page = sam.get(response["Location"]).content.decode()
    assert "2 of 2 done" in job_page
    for instance in broken:
        instance.refresh_from_db()
        assert instance.status == "waiting"
