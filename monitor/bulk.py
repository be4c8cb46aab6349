"""Bulk repairs: one action on many instances, each in its own transaction, as a background job.

``start_bulk_job`` checks the right, resolves the selection (ids, or every instance a monitor
filter matches, within ``PAS Maximum Monitored Flows``) to the instances the user may manage,
records a ``BulkJob`` and hands it to a Celery task after commit (run in-process on the embedded
default). ``run_bulk_job`` calls the same cancel / retry / skip services as one instance's page,
and records each outcome on the job as it goes, so a reader sees the progress.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from administration import policy
from administration.models import User
from monitor import services
from monitor.filters import parse_filter
from monitor.models import BulkJob
from processes.errors import NotFound, ServiceError
from processes.services import instances

ACTIONS = ("cancel", "retry", "skip")


def start_bulk_job(user: User, action: str, *, ids: list[int] | None = None, filter_data: dict | None = None,
                   comment: str = "") -> BulkJob:
    """Record the job and queue it after commit (``TooBroad`` past the cap, ``NotAllowed`` without Manage).

    A filter's selection keeps the instances the user may manage (a Manage right for some
    processes repairs those). Rows picked by id that the user sees but may not manage stay in,
    and their results say why they were not repaired, so no picked row is dropped silently.
    """
    if not policy.can_manage_some(user):
        policy.require_manage(user)  # raises, with the right's message
    if action not in ACTIONS:
        raise ServiceError(f"action must be one of {', '.join(ACTIONS)}")
    if (ids is None) == (filter_data is None):
        raise ServiceError("Give either ids or a filter.")
    if filter_data is not None:
        found = services.filtered_instances(user, parse_filter(filter_data)).filter(policy.manageable_q(user))
        cap = services.monitor_cap()
        selected = list(found.order_by("id").values_list("id", flat=True)[: cap + 1])
        if len(selected) > cap:
            raise services.TooBroad(len(selected), cap)
    else:
        wanted = [int(pk) for pk in ids or []]
        visible = set(instances.visible_instances(user).filter(pk__in=wanted).values_list("id", flat=True))
        selected = [pk for pk in dict.fromkeys(wanted) if pk in visible]
    with transaction.atomic():
        job = BulkJob.objects.create(user=user, action=action, instance_ids=selected, comment=comment[:400])
        transaction.on_commit(lambda: _queue(job.pk))
    return job


def _queue(job_id: int) -> None:
    _job_runner(job_id)


def register_job_runner(runner: Callable[[int], Any]) -> None:
    """How jobs leave the request: ``MonitorConfig.ready`` hands them to the Celery task."""
    global _job_runner
    _job_runner = runner


def run_bulk_job(job_id: int) -> None:
    """Run the job's action on each instance not done yet (a redelivered task goes on where it stopped)."""
    job = BulkJob.objects.select_related("user").get(pk=job_id)
    repair = services.REPAIRS[job.action]
    for instance_id in job.instance_ids[len(job.results):]:
        try:
            repair(job.user, instance_id, comment=job.comment)
            outcome: dict[str, Any] = {"id": instance_id, "ok": True, "detail": services.REPAIR_DONE[job.action]}
        except (ServiceError, policy.NotAllowed, policy.NotVisible) as exc:
            outcome = {"id": instance_id, "ok": False, "detail": str(exc)}
        job.results.append(outcome)
        BulkJob.objects.filter(pk=job.pk).update(results=job.results)
    job.status, job.finished_at = "done", timezone.now()
    job.save(update_fields=["status", "finished_at", "results"])


_job_runner: Callable[[int], Any] = run_bulk_job


def job_for(user: User, job_id: int) -> BulkJob:
    """The job if the user started it (404 otherwise)."""
    job = BulkJob.objects.filter(pk=job_id, user=user).first()
    if job is None:
        raise NotFound("No such job.")
    return job
