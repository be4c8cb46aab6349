"""Repairs from the monitor on instances waiting on each kind of thing: a work item, a timer, a subprocess."""

from __future__ import annotations

from monitor import services
from monitor.filters import parse_filter
from processes.models import PendingEvent, ProcessInstance
from processes.services.definitions import import_definition
from processes.services.instances import launch_process
from tests.monitor.conftest import user
from workitems.models import WorkItem


def one_state(name: str, actions: list) -> dict:
    return {"format": "ipa.process/v1", "name": name, "variables": [], "start_state": "Main",
            "states": [{"name": "Main", "actions": actions}]}


def launch(name: str, actions: list) -> ProcessInstance:
    import_definition(one_state(name, actions), publish=True)
    instance = launch_process(user("admin"), name, {})
    instance.refresh_from_db()
    return instance


def test_cancelling_an_instance_waiting_on_a_timer_cancels_the_timer(world):
    instance = launch("Sleeper", [{"action": "wait", "duration": "PT1H"}])
    assert [row["id"] for row in services.snapshot(user("sam"), parse_filter({"waiting_on": "timer"}))] == [
        instance.pk]
    services.repair(user("sam"), instance.pk, "cancel")
    instance.refresh_from_db()
    assert instance.status == "cancelled" and not PendingEvent.objects.filter(instance=instance).exists()


def test_cancelling_an_instance_waiting_on_a_subprocess_cancels_the_child_and_withdraws_its_item(world,
                                                                                                  engine_runs):
    parent = launch("Parent", [{"action": "launch_process", "process": "Probe", "wait": True,
                                "inputs": {"customer": '"Child"'}}])
    engine_runs()
    child = ProcessInstance.objects.get(parent=parent)
    parent.refresh_from_db()
    assert parent.waiting_on == "subprocess" and child.status == "waiting"
    details = services.instance_details(user("sam"), parent.pk)
    assert [c["id"] for c in details["children"]] == [child.pk]
    services.repair(user("sam"), parent.pk, "cancel", comment="customer withdrew")
    child.refresh_from_db()
    assert child.status == "cancelled"
    assert WorkItem.objects.get(instance=child).status in ("withdrawn", "cancelled")


def test_moving_an_instance_waiting_on_a_timer_cancels_the_timer(world):
    document = {"format": "ipa.process/v1", "name": "Two Steps", "variables": [], "start_state": "A",
                "states": [{"name": "A", "actions": [{"action": "wait", "duration": "PT1H"}]},
                           {"name": "B", "actions": [{"action": "end_process"}]}]}
    import_definition(document, publish=True)
    instance = launch_process(user("admin"), "Two Steps", {})
    services.move(user("sam"), instance.pk, "B")
    instance.refresh_from_db()
    assert instance.status == "completed" and not PendingEvent.objects.filter(instance=instance, kind="timer").exists()
