"""An offer not picked up within ACD_OfferTimeoutSeconds goes back to the queue and on to the next agent.

No sleeping: the tests move the offer's timestamp back, then run the sweep.
"""

import pytest

from tests.workitems.conftest import holder, make_offer_old, set_parameter

pytestmark = pytest.mark.django_db


def test_an_offer_not_picked_up_in_time_goes_to_the_next_agent(agent, ticket, engine_runs):
    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    assert holder(item) == ("offered", "ann")
    make_offer_old(item, 61)
    engine_runs()
    assert holder(item) == ("offered", "ben")
    assert item.lapsed_offers == [ann.pk]


def test_an_offer_within_the_time_limit_stays(agent, ticket, engine_runs):
    agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    make_offer_old(item, 59)
    engine_runs()
    assert holder(item) == ("offered", "ann")


def test_the_time_limit_is_the_server_parameter_acd_offer_timeout_seconds(agent, ticket, engine_runs):
    set_parameter("ACD_OfferTimeoutSeconds", "10")
    agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    make_offer_old(item, 11)
    engine_runs()
    assert holder(item) == ("offered", "ben")


def test_a_time_limit_of_zero_lets_offers_wait_forever(agent, ticket, engine_runs):
    set_parameter("ACD_OfferTimeoutSeconds", "0")
    agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    make_offer_old(item, 86400)
    engine_runs()
    assert holder(item) == ("offered", "ann")


def test_a_lapsed_offer_comes_back_to_the_same_agent_when_nobody_else_qualifies(agent, ticket, engine_runs):
    agent("ann")
    agent("ben", presence="away")
    item = ticket("printer")
    make_offer_old(item, 61)
    engine_runs()
    status, user = holder(item)
    assert (status, user) == ("offered", "ann")
    assert item.offered_at is not None  # a fresh offer, with a fresh time limit
    engine_runs()
    assert holder(item) == ("offered", "ann")


def test_lapsed_offers_rotate_through_the_agents_who_let_them_lapse(agent, ticket, engine_runs):
    agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=20)
    agent("cat", idle_minutes=5)
    item = ticket("printer")
    seen = [holder(item)[1]]
    for _ in range(4):
        make_offer_old(item, 61)
        engine_runs()
        seen.append(holder(item)[1])
    assert seen == ["ann", "ben", "cat", "ann", "ben"]


def test_a_lapsed_item_keeps_its_place_at_the_head_of_the_queue(agent, ticket, engine_runs):
    agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5, presence="away")
    first, second = ticket("first"), ticket("second")
    assert (holder(first), holder(second)) == (("offered", "ann"), ("queued", None))
    make_offer_old(first, 61)
    engine_runs()
    # nobody else qualifies, and first is still the oldest: ann is offered it again
    assert (holder(first), holder(second)) == (("offered", "ann"), ("queued", None))


def test_a_picked_up_item_is_never_taken_back(agent, ticket, engine_runs):
    from workitems import services

    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    services.pickup_work_item(ann, item.pk)
    make_offer_old(item, 3600)
    engine_runs()
    assert holder(item) == ("processing", "ann")


def test_a_direct_item_never_lapses(agent, ticket, engine_runs):
    from workitems import services

    ann = agent("ann")
    item = ticket("printer")
    services.transfer_work_item(ann, item.pk, to_user="ann")
    make_offer_old(item, 3600)
    engine_runs()
    assert holder(item) == ("offered", "ann")


def test_the_agent_whose_offer_lapsed_can_no_longer_pick_it_up(agent, ticket, engine_runs):
    from processes.errors import NotFound
    from workitems import services

    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    make_offer_old(item, 61)
    engine_runs()
    with pytest.raises(NotFound):
        services.pickup_work_item(ann, item.pk)
    assert holder(item) == ("offered", "ben")
