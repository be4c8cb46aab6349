"""The monitor's test world: the demo directory, a small process to watch, and supervisors.

``Probe`` sends a work item to Managers carrying a protected value (``secret``, under the
Payroll specification, which no supervisor here is on); its ``approve`` exit divides by
``divisor``, so a divisor of 0 puts the instance in error. Supervisors: ``sam`` (demo:
Process Monitor license, Supervisor role with view and manage), ``mona`` (Process Monitor,
Manage right only), ``vic`` (Process Monitor, View right only); ``alice`` has no monitor license.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

SECRET = "IBAN-DE89-3704-0044-0532-0130-00"

PROBE = {
    "format": "ipa.process/v1",
    "name": "Probe",
    "variables": [
        {"name": "customer", "type": "string", "input": True, "required": True},
        {"name": "secret", "type": "string", "input": True, "security": "Payroll"},
        {"name": "divisor", "type": "integer", "input": True, "default": 1},
        {"name": "ratio", "type": "integer"},
    ],
    "start_state": "Review",
    "states": [
        {"name": "Review", "actions": [
            {"action": "send_work_item", "work_item": "Check", "to": {"workgroup": "Managers"},
             "exits": {"approve": [{"action": "change_state", "state": "Pay"}],
                       "reject": [{"action": "end_process"}]}},
        ]},
        {"name": "Pay", "actions": [
            {"action": "assign", "variable": "ratio", "value": "10 // divisor"},
            {"action": "send_work_item", "work_item": "Pay Out", "to": {"user": "bob"},
             "exits": {"done": [{"action": "end_process"}]}},
        ]},
    ],
    "work_items": [
        {"name": "Check", "description": "Check {{ customer }}",
         "buttons": [{"id": "approve", "label": "Approve"}, {"id": "reject", "label": "Reject"}]},
        {"name": "Pay Out", "description": "Pay {{ customer }}", "buttons": [{"id": "done", "label": "Done"}]},
    ],
}


@pytest.fixture
def world(directory, agents_available):
    """The demo directory, Probe published, and the supervisors mona and vic."""
    from administration.models import User
    from processes.services.definitions import import_definition

    import_definition(PROBE, publish=True)
    User.objects.create_user("mona", password="mona-pass", license="process_monitor", rights=["manage"])
    User.objects.create_user("vic", password="vic-pass", license="process_monitor", rights=["view"])


@pytest.fixture
def probe(world) -> Callable[..., object]:
    """``probe("Acme", by="alice", divisor=1)``: launches Probe and returns the instance."""
    from administration.models import User
    from processes.services.instances import launch_process

    def launch(customer: str = "Acme", *, by: str = "alice", divisor: int = 1, secret: str = ""):
        inputs = {"customer": customer, "divisor": divisor}
        launcher = User.objects.get(username=by)
        if secret:
            launcher = User.objects.get(username="carol")  # on Payroll: may set the protected value
            inputs["secret"] = secret
        return launch_process(launcher, "Probe", inputs)

    return launch


def user(username: str):
    from administration.models import User

    return User.objects.get(username=username)


def complete_check(instance, button: str = "approve") -> None:
    """bob (Managers) takes the instance's Check item and completes it."""
    from workitems import services
    from workitems.models import WorkItem

    bob = user("bob")
    item = WorkItem.objects.get(instance=instance, name="Check")
    if item.status in ("queued", "offered"):
        services.pickup_work_item(bob, item.pk)
    services.complete_work_item(bob, item.pk, button, {})


def set_cap(value: str) -> None:
    from administration.models import ServerParameter
    from administration.parameters import forget_parameters

    ServerParameter.objects.update_or_create(name="PAS Maximum Monitored Flows", defaults={"value": value})
    forget_parameters()


@pytest.fixture(autouse=True)
def bulk_jobs_run_in_process(monkeypatch):
    """Bulk jobs run right after the commit, in this process, on every configuration (with REDIS_URL
    the task would wait for a Celery node; tests/monitor/test_bulk_on_celery.py starts one)."""
    from monitor import bulk

    monkeypatch.setattr(bulk, "_job_runner", bulk.run_bulk_job)
