"""Bulk repairs over the API: by ids or by filter, per-instance results, rights and the cap."""

from __future__ import annotations

import pytest

from tests.monitor.conftest import complete_check, set_cap


@pytest.fixture
def failed(probe, engine_runs):
    """Three Probe instances in error (divisor 0) and one still waiting."""
    broken = [probe(f"Broken {n}", divisor=0) for n in range(3)]
    for instance in broken:
        complete_check(instance)
    engine_runs()
    return broken, probe("Fine")


@pytest.fixture
def post_bulk(api, django_capture_on_commit_callbacks):
    """POST /api/instances/bulk, and the job runs after the commit as the Celery task would."""

    def post(username: str, body: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return api(username).post("/api/instances/bulk", body, format="json")

    return post


def job(api, username: str, job_id: int) -> dict:
    response = api(username).get(f"/api/jobs/{job_id}/")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_bulk_skip_by_filter_repairs_each_match_and_reports_each_result(failed, api, post_bulk):
    broken, fine = failed
    response = post_bulk("sam", {"action": "skip", "filter": {"status": "error"}})
    assert response.status_code == 202
    result = job(api, "sam", response.json()["job"])
    assert result["status"] == "done" and result["total"] == 3 and result["done"] == 3
    assert sorted(r["id"] for r in result["results"]) == sorted(i.pk for i in broken)
    assert all(r["ok"] for r in result["results"])
    for instance in broken:
        instance.refresh_from_db()
        assert (instance.status, instance.current_state) == ("waiting", "Pay")


def test_a_bulk_retry_by_ids_says_which_instance_could_not_be_retried(failed, api, post_bulk):
    broken, fine = failed
    response = post_bulk("sam", {"action": "retry", "ids": [broken[0].pk, fine.pk]})
    result = job(api, "sam", response.json()["job"])
    outcome = {r["id"]: r for r in result["results"]}
    assert outcome[broken[0].pk]["ok"] is True
    assert outcome[fine.pk]["ok"] is False and "Only an instance in error" in outcome[fine.pk]["detail"]


def test_bulk_needs_the_manage_right_and_a_job_is_only_its_starters(failed, api, post_bulk):
    assert post_bulk("vic", {"action": "cancel", "ids": [1]}).status_code == 403
    job_id = post_bulk("sam", {"action": "cancel", "ids": [failed[1].pk]}).json()["job"]
    assert api("mona").get(f"/api/jobs/{job_id}/").status_code == 404


def test_a_bulk_filter_broader_than_the_cap_is_refused(failed, post_bulk):
    set_cap("100")
    from processes.models import ProcessInstance

    first = failed[1]
    ProcessInstance.objects.bulk_create([
        ProcessInstance(definition_id=first.definition_id, process_name="Probe", status="waiting",
                        started_by=first.started_by) for _ in range(100)])
    response = post_bulk("sam", {"action": "cancel", "filter": {"process": "Probe"}})
    assert response.status_code == 400 and "Narrow" in response.json()["detail"]


def test_a_bulk_request_needs_ids_or_a_filter(world, post_bulk):
    assert post_bulk("sam", {"action": "cancel"}).status_code == 400
