"""No double offers under concurrency: launches, presence changes, pickups and completions in parallel.

The point is PostgreSQL with real row locks (run with DATABASE_URL); on SQLite the same
tests pass because its transactions take the write lock one at a time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released together; returns results or the exceptions raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        from django.db import connection as thread_connection

        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # kept for the test to look at
            results[index] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def offers_per_agent() -> Counter:
    from workitems.models import WorkItem

    held = WorkItem.objects.filter(workgroup__isnull=False, status__in=("offered", "processing", "held"))
    return Counter(held.values_list("user__username", flat=True))


def queued() -> int:
    from workitems.models import WorkItem

    return WorkItem.objects.filter(status="queued").count()


def launches(ticket, topics: list[str]) -> Callable[[], object]:
    return lambda: [ticket(topic) for topic in topics]


def sweep() -> int:
    from workitems import routing

    return routing.route_queued_items()


@pytest.mark.parametrize("attempt", range(2))
def test_parallel_launches_never_offer_an_agent_more_than_their_room(agent, ticket, attempt):
    names = [f"agent{i}" for i in range(8)]
    for name in names:
        agent(name)
    results = at_once([launches(ticket, [f"t{n}-{k}" for k in range(3)]) for n in range(8)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert max(offers_per_agent().values()) == 1
    sweep()  # what a skipped lock left waiting, the sweep hands out
    assert offers_per_agent() == Counter(dict.fromkeys(names, 1))
    assert queued() == 24 - 8


def test_parallel_presence_changes_and_sweeps_hand_each_agent_one_item(agent, ticket):
    from administration.models import User
    from administration.presence import set_presence

    names = [f"agent{i}" for i in range(10)]
    for name in names:
        agent(name, presence="away")
    for n in range(20):
        ticket(f"t{n}")
    assert queued() == 20
    agents = list(User.objects.filter(username__in=names))
    results = at_once([(lambda a=a: set_presence(a, "available")) for a in agents] + [sweep, sweep])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert max(offers_per_agent().values()) == 1
    sweep()
    assert offers_per_agent() == Counter(dict.fromkeys(names, 1))
    assert queued() == 10


def test_parallel_pickups_of_one_offer_give_one_success_and_one_conflict(agent, ticket):
    from processes.errors import Conflict
    from workitems import services

    ann = agent("ann")
    item = ticket("printer")
    results = at_once([lambda: services.pickup_work_item(ann, item.pk)] * 2)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "WorkItem"]
    assert any(isinstance(r, Conflict) for r in results)
    item.refresh_from_db()
    assert (item.status, item.user_id) == ("processing", ann.pk)


def test_parallel_completions_hand_out_the_queue_without_double_offers(agent, ticket):
    from administration.models import User
    from workitems import services
    from workitems.models import WorkItem

    names = [f"agent{i}" for i in range(6)]
    for name in names:
        agent(name)
    for n in range(18):
        ticket(f"t{n}")
    mine = {u: WorkItem.objects.get(user=u, status="offered") for u in User.objects.filter(username__in=names)}
    for user, item in mine.items():
        services.pickup_work_item(user, item.pk)

    def finish(user, item):
        return lambda: services.complete_work_item(user, item.pk, "done", {})

    results = at_once([finish(u, i) for u, i in mine.items()])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert max(offers_per_agent().values()) == 1
    sweep()
    assert offers_per_agent() == Counter(dict.fromkeys(names, 1))
    assert queued() == 18 - 12


def test_a_pickup_racing_a_lapse_either_keeps_the_item_or_loses_it_whole(agent, ticket):
    from workitems import routing, services
    from workitems.models import WorkItem

    from .conftest import make_offer_old

    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    make_offer_old(item, 61)
    at_once([lambda: services.pickup_work_item(ann, item.pk), routing.take_back_stale_offers])
    item = WorkItem.objects.get(pk=item.pk)
    assert (item.status, item.user.username) in {("processing", "ann"), ("offered", "ben")}
    assert max(offers_per_agent().values()) == 1

