"""Three real engine nodes under load: one killed, one stopped, one left running.

Three Celery workers (each with its beat) run against the test database and Redis while this
test launches instances over the API and completes their work items. Node A is killed with
SIGKILL, node B stopped with SIGTERM (a warm shutdown), node C keeps running. Afterwards every
instance is accounted for and completes, each step ran exactly once (from the history), no
open instance belongs to a node that is gone, and the work items picked up on the killed node
came back held for their person (the seed's restore rules) while the stopped node's did not
need to.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.conftest import launch, my_items
from tests.durability.test_worker_crash import BURST, BURST_CHILD
from tests.external.test_crash_recovery import celery_node, kill, wait_until

needs_postgres = pytest.mark.skipif(
    settings.EMBEDDED or connection.vendor != "postgresql",
    reason="needs real Celery nodes: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
OPEN = ("running", "waiting", "error", "restored_in_error")


def pick_up_waiting_items(client) -> list[int]:
    """Take every offered item without completing it: they are ``processing`` now."""
    taken = []
    for item in my_items(client):
        if item["status"] == "offered" and client.post(f"/api/workitems/{item['id']}/pickup").status_code == 200:
            taken.append(item["id"])
    return taken


def complete_every_item(client, kept: set[int] = frozenset()) -> None:
    """Complete what is offered (after picking it up), processing or held, except the ``kept`` items."""
    for item in my_items(client):
        if item["id"] in kept:
            continue
        if item["status"] == "offered" and client.post(f"/api/workitems/{item['id']}/pickup").status_code != 200:
            continue
        client.post(f"/api/workitems/{item['id']}/complete", {"button": "ok"}, format="json")


def owners_of_items(item_ids: list[int]) -> dict[int, str]:
    from workitems.models import WorkItem

    return dict(WorkItem.objects.filter(pk__in=item_ids).values_list("pk", "instance__owner"))


def item_states(item_ids: list[int]) -> Counter:
    from workitems.models import WorkItem

    return Counter(WorkItem.objects.filter(pk__in=item_ids).values_list("status", "user__username"))


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
@needs_postgres
def test_three_nodes_one_killed_one_stopped_every_instance_completes_each_step_once(directory, api, tmp_path,
                                                                                     settings):
    from ipa_portal.celery import app
    from processes.models import EngineNode, HistoryEntry, PendingEvent, ProcessInstance
    from processes.services import nodes
    from processes.services.definitions import import_definition

    settings.ENGINE_NODE_TIMEOUT = 3  # as the nodes' own (celery_node)
    import_definition(BURST_CHILD, publish=True)
    import_definition(BURST, publish=True)
    app.control.purge()
    admin = api("admin")
    workers = {name: celery_node(tmp_path, name) for name in ("node-a", "node-b", "node-c")}
    launched: list[int] = []
    kept: set[int] = set()  # picked up and left so, to see what the restore rules make of them

    def launch_one(completing: bool = True) -> None:
        launched.append(launch(admin, "Burst", {"n": len(launched)})["id"])
        if completing and len(launched) % 4 == 0:
            complete_every_item(admin, kept)

    def keep_items_of(name: str) -> list[int]:
        wait_until(lambda: len(my_items(admin)) >= 6, 60, "work items to arrive")
        taken = [pk for pk, owner in owners_of_items(pick_up_waiting_items(admin)).items() if owner == name]
        kept.update(taken)
        return taken

    def state(name: str) -> str:
        return nodes.node_state(EngineNode.objects.get(storage_id=name), timezone.now())

    try:
        wait_until(lambda: EngineNode.objects.filter(storage_id__in=workers).count() == 3, 90,
                   "the three nodes to register")
        nodes.forget_nodes()
        for n in range(24):
            launch_one(completing=n < 12)
        assert set(ProcessInstance.objects.filter(pk__in=launched).values_list("owner", flat=True)) == set(workers)
        on_a = keep_items_of("node-a")
        kill(workers["node-a"])  # SIGKILL: no goodbye

        def a_taken_over() -> bool:
            launch_one()  # the load goes on meanwhile
            return state("node-a") == "taken over"

        wait_until(a_taken_over, 60, "node-a to be taken over")
        for _ in range(12):
            launch_one(completing=False)
        on_b = keep_items_of("node-b")
        workers["node-b"].send_signal(signal.SIGTERM)  # a warm shutdown: it hands over as it goes
        workers["node-b"].wait(timeout=60)
        for _ in range(12):
            launch_one()

        assert state("node-a") == "taken over" and state("node-b") == "stopped" and state("node-c") == "live"
        gone = ProcessInstance.objects.filter(owner__in=["node-a", "node-b"], status__in=OPEN)
        # A launch trusts its node list for a second, so one may land on node-b just after it
        # stopped: the live node's sweep hands such late arrivals over.
        wait_until(lambda: not gone.exists(), 30, "no open instance to be owned by a node that is gone")
        assert on_a and item_states(on_a) == {("held", "admin"): len(on_a)}  # restored by the rules
        assert on_b and item_states(on_b) == {("processing", "admin"): len(on_b)}  # handed over cleanly: untouched
        kept.clear()

        def all_ended() -> bool:
            complete_every_item(admin)
            return not ProcessInstance.objects.filter(pk__in=launched).exclude(status="completed").exists()

        wait_until(all_ended, 180, "every instance to complete")
    finally:
        for worker in workers.values():
            kill(worker)

    parents = ProcessInstance.objects.filter(pk__in=launched)
    assert Counter(parents.values_list("status", flat=True)) == {"completed": len(launched)}
    children = ProcessInstance.objects.filter(parent__in=launched)
    assert sorted(children.values_list("parent_id", flat=True)) == sorted(launched)  # one child each
    assert set(children.values_list("status", flat=True)) == {"completed"}
    for parent in parents:
        steps = Counter(HistoryEntry.objects.filter(instance=parent).values_list("what", flat=True))
        for what in ("launched", "subprocess_launched", "subprocess_ended", "timer_fired", "work_item_completed",
                     "completed"):
            assert steps[what] == 1, f"{parent}: {what} recorded {steps[what]} times"
    for child in children:
        steps = Counter(HistoryEntry.objects.filter(instance=child).values_list("what", flat=True))
        assert steps["launched"] == 1 and steps["timer_fired"] == 1 and steps["completed"] == 1
    assert not PendingEvent.objects.filter(instance__in=[*launched, *children.values_list("pk", flat=True)])


@pytest.mark.django_db(transaction=True)
@needs_postgres
def test_two_nodes_taking_over_the_same_dead_node_at_once_adopt_each_instance_once(directory):
    from administration.models import User
    from processes.models import ExternalCall, HistoryEntry, ProcessInstance
    from processes.services import instances, nodes
    from processes.services.definitions import import_definition
    from tests.services.test_conversion import FORM, MAILER
    from tests.services.test_nodes import node
    from workitems import services as workitems
    from workitems.models import WorkItem

    import_definition(FORM, publish=True)
    import_definition(MAILER, publish=True)
    admin, dave = User.objects.get(username="admin"), User.objects.get(username="dave")
    made = [instances.launch_process(admin, "Form", {"who": "dave"}) for _ in range(10)]
    mails = [instances.launch_process(admin, "Mailer", {}) for _ in range(5)]
    for item in WorkItem.objects.filter(instance__in=made):
        workitems.pickup_work_item(dave, item.pk)
    ExternalCall.objects.filter(instance__in=mails).update(status="running", node="dead", started_at=timezone.now())
    ProcessInstance.objects.update(owner="dead")
    node("dead", age=90)
    node("n1")
    node("n2")
    start, results = threading.Barrier(2), []

    def sweep() -> None:
        try:
            start.wait()
            results.append(nodes.take_over_dead_nodes())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    handovers = [handover for found in results for handover in found]
    assert len(results) == 2 and len(handovers) == 1 and handovers[0].total == 15
    assert set(ProcessInstance.objects.values_list("owner", flat=True)) <= {"n1", "n2"}
    restored = Counter(HistoryEntry.objects.filter(what__in=["restored_in_error", "work_item_restored"])
                       .values_list("instance_id", "what"))
    assert set(restored.values()) == {1} and len(restored) == 15  # each instance restored once
    assert set(WorkItem.objects.filter(instance__in=made).values_list("status", flat=True)) == {"held"}
