"""Presence drives the ACD: going Away or logging out takes offers back, becoming Available brings them."""

import pytest
from django.test import Client

from tests.workitems.conftest import holder, set_parameter

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("presence", ["away", "do_not_disturb", "offline"])
def test_going_away_takes_back_offers_and_they_go_to_the_next_agent(agent, ticket, presence):
    from administration.presence import set_presence

    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5, presence="away")
    item = ticket("printer")
    assert holder(item) == ("offered", "ann")
    set_presence(ann, presence)
    assert holder(item) == ("queued", None)
    set_presence(agent_named("ben"), "available")
    assert holder(item) == ("offered", "ben")


def test_an_offer_taken_back_goes_straight_to_another_available_agent(agent, ticket):
    from administration.presence import set_presence

    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    agent("cat", idle_minutes=1)
    first, second = ticket("first"), ticket("second")
    assert (holder(first), holder(second)) == (("offered", "ann"), ("offered", "ben"))
    set_presence(ann, "away")
    assert holder(first) == ("offered", "cat")


def test_going_away_keeps_the_items_in_progress(agent, ticket):
    from administration.presence import set_presence
    from workitems import services

    set_parameter("ACD_MaxItemsPerAgent", "3")
    ann = agent("ann")
    picked, held, offered = ticket("picked"), ticket("held"), ticket("offered")
    services.pickup_work_item(ann, picked.pk)
    services.pickup_work_item(ann, held.pk)
    services.hold_work_item(ann, held.pk)
    set_presence(ann, "away")
    assert [holder(i) for i in (picked, held, offered)] == [("processing", "ann"), ("held", "ann"),
                                                            ("queued", None)]
    services.complete_work_item(ann, picked.pk, "done", {})  # and finishes them while away
    assert holder(picked) == ("completed", "ann")


def test_an_agent_who_is_away_gets_no_new_offers_until_available_again(agent, ticket):
    from administration.presence import set_presence

    ann = agent("ann", presence="away")
    item = ticket("printer")
    assert holder(item) == ("queued", None)
    set_presence(ann, "do_not_disturb")
    assert holder(item) == ("queued", None)
    set_presence(ann, "available")
    assert holder(item) == ("offered", "ann")


def test_direct_items_stay_with_an_agent_who_goes_away(agent, ticket):
    from administration.presence import set_presence
    from workitems import services

    ann = agent("ann")
    item = ticket("printer")
    services.transfer_work_item(ann, item.pk, to_user="ann")
    set_presence(ann, "away")
    assert holder(item) == ("offered", "ann")


def test_setting_the_same_presence_again_keeps_the_idle_time(agent):
    from administration.presence import set_presence

    ann = agent("ann", idle_minutes=50)
    before = ann.idle_since
    set_presence(ann, "available")
    ann.refresh_from_db()
    assert ann.idle_since == before


def test_an_unknown_presence_is_refused(agent):
    from administration.presence import set_presence

    with pytest.raises(ValueError, match="available"):
        set_presence(agent("ann"), "sleeping")


def test_the_sweep_takes_back_an_offer_whose_agent_stopped_being_available_behind_its_back(
        agent, ticket, engine_runs):
    from administration.models import User

    agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    first, second = ticket("first"), ticket("second")
    User.objects.filter(username="ann").update(presence="away")  # as a crash between two writes would
    agent("cat")
    engine_runs()
    assert holder(first) == ("offered", "cat")
    assert holder(second) == ("offered", "ben")


# -------------------------------------------------------------------- the API, log in and out


def test_put_presence_available_offers_what_waits(agent, ticket, api):
    agent("ann", presence="away")
    item = ticket("printer")
    response = api("ann").put("/api/me/presence", {"status": "available"}, format="json")
    assert response.status_code == 200
    assert response.json()["presence"]["status"] == "available"
    assert holder(item) == ("offered", "ann")


def test_put_presence_away_takes_offers_back(agent, ticket, api):
    agent("ann")
    item = ticket("printer")
    assert api("ann").put("/api/me/presence", {"status": "away"}, format="json").status_code == 200
    assert holder(item) == ("queued", None)


def test_logging_out_sets_the_agent_offline_and_takes_offers_back(agent, ticket):
    ann = agent("ann")
    item = ticket("printer")
    browser = Client()
    browser.force_login(ann)
    assert browser.post("/accounts/logout/").status_code in (200, 302)
    ann.refresh_from_db()
    assert ann.presence == "offline"
    assert holder(item) == ("queued", None)


def test_logging_in_makes_an_offline_agent_available_and_offers_what_waits(agent, ticket):
    ann = agent("ann", presence="offline")
    item = ticket("printer")
    response = Client().post("/accounts/login/", {"username": "ann", "password": "ann-pass-1"})
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.presence == "available"
    assert holder(item) == ("offered", "ann")


def test_logging_in_keeps_a_presence_other_than_offline(agent):
    ann = agent("ann", presence="do_not_disturb")
    Client().force_login(ann)
    ann.refresh_from_db()
    assert ann.presence == "do_not_disturb"


def agent_named(username: str):
    from administration.models import User

    return User.objects.get(username=username)
