"""What delivery pushes after a commit, to whom, and at what cost in queries (deterministic)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.workitems.conftest import holder, make_offer_old

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(agent):
    """Desk members with the portal open: one socket each (delivery pushes only to open sockets)."""
    from workitems import sockets

    def make(username: str, **kwargs):
        user = agent(username, **kwargs)
        sockets.socket_opened(user.pk, f"test.socket.{username}")
        return user

    return make


@pytest.fixture
def sent(monkeypatch) -> list:
    """The messages handed to the channel layer: [(user id, message), ...]."""
    from workitems import delivery

    messages: list = []
    monkeypatch.setattr(delivery, "send", messages.extend)
    return messages


def queries_of_the_push(ticket, capture) -> list[str]:
    """The statements run after the commit of a ticket's launch, once the process is warm."""
    with capture(execute=True):
        ticket("warm up")  # the compiled definition; who has a socket open, read once and kept
    with capture() as callbacks:
        ticket("printer")
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    return [q["sql"] for q in queries]


def kinds(sent, users) -> list[tuple[str, str]]:
    names = {u.pk: u.username for u in users}
    return [(names[user_id], message["type"]) for user_id, message in sent]


def test_an_offer_is_pushed_to_its_agent_only_after_the_commit(agent, ticket, sent,
                                                                django_capture_on_commit_callbacks):
    ann = agent("ann")
    with django_capture_on_commit_callbacks() as callbacks:
        item = ticket("printer")
    assert sent == []
    for callback in callbacks:
        callback()
    assert kinds(sent, [ann]) == [("ann", "added")]
    assert sent[0][1]["work_item"]["id"] == item.pk


def test_an_offer_that_lapses_and_goes_on_is_one_removed_and_one_added(agent, ticket, sent,
                                                                       django_capture_on_commit_callbacks):
    from workitems import routing

    ann, ben = agent("ann", idle_minutes=50), agent("ben", idle_minutes=5)
    item = ticket("printer")
    make_offer_old(item, 61)
    with django_capture_on_commit_callbacks(execute=True):
        routing.take_back_stale_offers()
    assert holder(item) == ("offered", "ben")
    assert kinds(sent, [ann, ben]) == [("ann", "removed"), ("ben", "added")]


def test_an_offer_that_lapses_back_to_the_same_agent_is_one_changed(agent, ticket, sent,
                                                                   django_capture_on_commit_callbacks):
    from workitems import routing

    ann = agent("ann")
    item = ticket("printer")
    make_offer_old(item, 61)
    with django_capture_on_commit_callbacks(execute=True):
        routing.take_back_stale_offers()
    assert kinds(sent, [ann]) == [("ann", "changed")]


def test_a_queued_item_is_pushed_to_nobody(agent, ticket, sent, django_capture_on_commit_callbacks):
    agent("ann", presence="away")
    with django_capture_on_commit_callbacks(execute=True):
        ticket("printer")
    assert sent == []


def test_a_user_who_lost_the_license_gets_no_push(agent, ticket, sent, django_capture_on_commit_callbacks):
    from administration.models import User
    from workitems import delivery
    from workitems.models import WorkItem

    agent("ann")
    item = ticket("printer")
    User.objects.filter(username="ann").update(license="")
    delivery.push_work_item(WorkItem.objects.select_related("instance", "user", "workgroup").get(pk=item.pk), None)
    assert sent == []


def test_pushing_an_item_reads_nothing_again(agent, ticket, sent, django_capture_on_commit_callbacks):
    agent("ann"), agent("ben")
    queries = queries_of_the_push(ticket, django_capture_on_commit_callbacks)
    assert [message["type"] for _, message in sent[-1:]] == ["added"]
    assert queries == []


def test_offering_a_new_group_item_in_its_step_costs_four_queries(agent, ticket, monkeypatch):
    from workitems import routing

    for name in ("ann", "ben", "cat"):
        agent(name)
    ticket("warm up")  # compiled definition, server parameters
    route_item, spent = routing.route_item, []

    def counted(item):
        with CaptureQueriesContext(connection) as queries:
            route_item(item)
        spent.extend(q["sql"] for q in queries)

    monkeypatch.setattr(routing, "route_item", counted)
    assert holder(ticket("printer"))[0] == "offered"
    # the candidates, best first; lock the best; count their room again under the lock; the offer
    assert len(spent) == 4, "\n\n".join(spent)


def test_a_user_with_no_socket_open_gets_nothing_pushed_and_one_with_a_socket_does(
        agent, ticket, sent, django_capture_on_commit_callbacks):
    from workitems import routing, sockets

    ann, ben = agent("ann", idle_minutes=50), agent("ben", idle_minutes=5)
    sockets.socket_closed("test.socket.ann")  # ann closed the portal: her offers are not pushed
    with django_capture_on_commit_callbacks(execute=True):
        first = ticket("printer")
    assert holder(first) == ("offered", "ann")
    assert sent == []
    make_offer_old(first, 61)
    with django_capture_on_commit_callbacks(execute=True):
        routing.take_back_stale_offers()  # on to ben, whose socket is open
    assert holder(first) == ("offered", "ben")
    assert kinds(sent, [ann, ben]) == [("ben", "added")]  # no "removed" for ann: she has no list open


def test_skipping_a_user_without_a_socket_costs_no_query(agent, ticket, sent, django_capture_on_commit_callbacks):
    from workitems import sockets

    agent("ann")
    sockets.socket_closed("test.socket.ann")
    queries = queries_of_the_push(ticket, django_capture_on_commit_callbacks)
    assert sent == []
    assert queries == []
