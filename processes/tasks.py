"""Celery tasks of the engine: each one line that calls the runtime."""

from celery import shared_task

import processes.services.nodes  # noqa: F401 - adds the takeover of dead nodes to the sweep
from processes.external import runner
from processes.services import runtime


@shared_task(acks_late=True, ignore_result=True)
def process_event(event_id: int) -> bool:
    return runtime.process_pending_event(event_id)


@shared_task(ignore_result=True)
def sweep() -> int:
    return runtime.sweep()


@shared_task(acks_late=True, ignore_result=True)
def run_external_call(call_id: int) -> None:
    runner.run_call(call_id)
