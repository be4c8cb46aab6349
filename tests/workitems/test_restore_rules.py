"""The seed's restore rules: after a takeover or a restart, picked-up items come back held or queued.

Direct items in processing or held come back ``held`` for the same person; a workgroup's item
in processing or held goes back to its workgroup's queue (and the ACD offers it again); an
offered item is offered again. The instance's history says so in words.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from administration.models import User
from processes.models import EngineNode, HistoryEntry, ProcessInstance
from processes.services import instances, nodes
from processes.services.definitions import import_definition
from tests.services.test_conversion import FORM, QUEUE
from tests.services.test_nodes import node
from workitems import services
from workitems.models import WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(directory, agents_available):
    """On node n1: a direct item offered, one processing, one held; a group item processing."""
    import_definition(FORM, publish=True)
    import_definition(QUEUE, publish=True)
    node("n1")
    admin, dave, bob = (User.objects.get(username=name) for name in ("admin", "dave", "bob"))
    made = {key: instances.launch_process(admin, "Form", {"who": "dave"}) for key in ("offered", "processing", "held")}
    made["group"] = instances.launch_process(admin, "Queue", {})
    ProcessInstance.objects.update(owner="n1")
    item = {key: WorkItem.objects.get(instance=instance) for key, instance in made.items()}
    services.pickup_work_item(dave, item["processing"].pk)
    services.pickup_work_item(dave, item["held"].pk)
    services.hold_work_item(dave, item["held"].pk)
    services.pickup_work_item(bob, item["group"].pk)
    WorkItem.objects.filter(status="offered").update(offered_at=timezone.now() - timedelta(seconds=50))
    return item


def stops_beating(storage_id: str) -> None:
    EngineNode.objects.filter(storage_id=storage_id).update(heartbeat_at=timezone.now() - timedelta(seconds=90))
    nodes.forget_nodes()


def state(item: WorkItem) -> tuple:
    item.refresh_from_db()
    return item.status, item.user.username if item.user else None


def restored_history(item: WorkItem) -> list[str]:
    return list(HistoryEntry.objects.filter(instance_id=item.instance_id, what="work_item_restored")
                .values_list("detail", flat=True))


def test_after_a_takeover_picked_up_items_come_back_held_or_queued_and_offers_start_over(items, engine_runs):
    stops_beating("n1")
    node("n2")
    offered_at = WorkItem.objects.get(pk=items["offered"].pk).offered_at
    [handover] = nodes.take_over_dead_nodes()
    assert handover.total == 4
    assert state(items["processing"]) == ("held", "dave")
    assert state(items["held"]) == ("held", "dave")
    assert state(items["offered"]) == ("offered", "dave") and items["offered"].offered_at > offered_at
    assert state(items["group"]) == ("queued", None)
    assert restored_history(items["processing"]) == [
        "Work item Check is held for dave: open it from My Work Items to carry on "
        "(engine node n1 stopped responding)."]
    assert restored_history(items["group"]) == [
        "Work item Triage went back to the Managers queue from bob, with its saved values "
        "(engine node n1 stopped responding)."]
    assert restored_history(items["held"]) == []  # held by its person already: nothing changed
    engine_runs()  # the ACD offers the group item again
    assert state(items["group"]) == ("offered", "bob")


def test_a_node_that_starts_again_restores_what_it_still_owns(items):
    nodes.register_node("n1")  # a restart: the same storage id registers again
    assert state(items["processing"]) == ("held", "dave")
    assert state(items["group"]) == ("queued", None)
    assert "engine node n1 restarted" in restored_history(items["processing"])[0]


def test_a_hand_transfer_from_a_dead_node_applies_the_rules_and_one_between_live_nodes_does_not(items):
    node("n2")
    call_command("flow_admin", "transfer", "n1", "n2", stdout=StringIO())
    assert state(items["processing"]) == ("processing", "dave")  # n1 was live: nothing was lost
    stops_beating("n2")
    node("n3")
    call_command("flow_admin", "transfer", "--from", "n2", "--to", "n3", "--all", stdout=StringIO())
    assert state(items["processing"]) == ("held", "dave")
    held = User.objects.get(username="dave")
    services.resume_work_item(held, items["processing"].pk)  # and the person carries on
    assert state(items["processing"]) == ("processing", "dave")
