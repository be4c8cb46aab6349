"""A bulk job runs on a separate Celery node of the production stack (PostgreSQL and Redis)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from monitor.models import BulkJob
from processes.models import EngineNode, ProcessInstance
from tests.external.test_crash_recovery import celery_node, kill, wait_until
from tests.monitor.conftest import complete_check

pytestmark = [
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.EMBEDDED or connection.vendor != "postgresql",
                       reason="needs a real Celery node: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"),
]


def test_a_bulk_skip_runs_as_a_job_on_the_celery_node_and_reports_each_instance(probe, api, tmp_path, monkeypatch):
    from ipa_portal.celery import app
    from monitor import bulk, tasks

    monkeypatch.setattr(bulk, "_job_runner", tasks.run_bulk_job.delay)  # the production path, undone by conftest

    app.control.purge()
    node = celery_node(tmp_path, "monitor-node")
    log = tmp_path / "monitor-node.log"
    try:
        wait_until(lambda: EngineNode.objects.filter(storage_id="monitor-node").exists(), 60, "the node", node, log)
        broken = [probe(f"Broken {n}", divisor=0) for n in range(3)]
        for instance in broken:
            wait_until(lambda i=instance: i.work_items.exists(), 30, "the Check item", node, log)
            complete_check(instance)
        ids = [i.pk for i in broken]
        wait_until(lambda: set(ProcessInstance.objects.filter(pk__in=ids).values_list("status", flat=True))
                   == {"error"}, 30, "the errors", node, log)
        response = api("sam").post("/api/instances/bulk", {"action": "skip", "ids": ids}, format="json")
        assert response.status_code == 202
        job_id = response.json()["job"]
        wait_until(lambda: BulkJob.objects.get(pk=job_id).status == "done", 60, "the job", node, log)
        job = api("sam").get(f"/api/jobs/{job_id}/").json()
        assert job["total"] == job["done"] == 3 and all(r["ok"] for r in job["results"])
        wait_until(lambda: set(ProcessInstance.objects.filter(pk__in=ids).values_list("current_state", "status"))
                   == {("Pay", "waiting")}, 30, "the skipped instances", node, log)
    finally:
        kill(node)
