"""Celery tasks of the monitor: each one line that calls a service."""

from celery import shared_task

from monitor import bulk


@shared_task(acks_late=True, ignore_result=True)
def run_bulk_job(job_id: int) -> None:
    bulk.run_bulk_job(job_id)
