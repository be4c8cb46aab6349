"""Celery tasks of the engine, each one line that calls a service, and the dispatchers that send them.

``ProcessesConfig.ready`` registers the dispatchers with the runtime and the external-action
runner, so neither of them imports Celery or this module.
"""

import logging

from celery import shared_task

from processes.external import runner
from processes.services import runtime

log = logging.getLogger("ipa.engine")
external_log = logging.getLogger("ipa.engine.external")


@shared_task(acks_late=True, ignore_result=True)
def process_event(event_id: int) -> bool:
    return runtime.process_pending_event(event_id)


@shared_task(ignore_result=True)
def sweep() -> int:
    return runtime.sweep()


@shared_task(acks_late=True, ignore_result=True)
def run_external_call(call_id: int) -> None:
    runner.run_call(call_id)


def dispatch_events(event_ids: list[int]) -> None:
    """The runtime's event dispatcher: one task per event (the sweep delivers any that is lost)."""
    for event_id in event_ids:
        try:
            process_event.delay(event_id)
        except Exception:  # the broker is down: the sweep will deliver it
            log.warning("could not dispatch engine event %s; the sweep will deliver it", event_id)


def dispatch_external_call(call_id: int) -> None:
    """The runner's call dispatcher: a task on the production stack, this process's pool when eager."""
    if run_external_call.app.conf.task_always_eager:
        runner.run_in_this_process(call_id)
        return
    try:
        run_external_call.delay(call_id)
    except Exception:  # the broker is away: the sweep hands the call out again
        external_log.warning("could not dispatch external call %s; the sweep will hand it out again", call_id)
