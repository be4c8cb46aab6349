"""Who the ACD offers a workgroup's item to: license, presence, skills, idle time, room, priority."""

import pytest

from tests.workitems.conftest import holder, set_parameter

pytestmark = pytest.mark.django_db


def complete(user, item) -> None:
    from workitems import services

    if item.status == "offered" or holder(item)[0] == "offered":
        services.pickup_work_item(user, item.pk)
    services.complete_work_item(user, item.pk, "done", {})


# --------------------------------------------------------------------------- who qualifies


def test_a_group_item_is_queued_to_its_workgroup_and_offered_to_one_available_member(agent, ticket):
    agent("ann")
    item = ticket("printer")
    assert holder(item) == ("offered", "ann")
    assert item.workgroup.name == "Desk"
    assert item.offered_at is not None


@pytest.mark.parametrize("presence", ["away", "do_not_disturb", "offline"])
def test_a_member_who_is_not_available_is_offered_nothing(agent, ticket, presence):
    agent("ann", presence=presence)
    assert holder(ticket("printer")) == ("queued", None)


def test_a_member_with_only_the_direct_routed_license_is_offered_no_group_item(agent, ticket):
    agent("dan", license="direct_routed")
    assert holder(ticket("printer")) == ("queued", None)


@pytest.mark.parametrize("license", ["group_routed", "process_monitor", "process_designer"])
def test_the_group_routed_license_or_any_higher_one_qualifies(agent, ticket, license):
    agent("ann", license=license)
    assert holder(ticket("printer")) == ("offered", "ann")


def test_someone_outside_the_workgroup_is_offered_nothing(agent, ticket):
    agent("ann", workgroups=())
    assert holder(ticket("printer")) == ("queued", None)


def test_an_inactive_member_is_offered_nothing(agent, ticket):
    ann = agent("ann")
    ann.is_active = False
    ann.save()
    assert holder(ticket("printer")) == ("queued", None)


# --------------------------------------------------------------------------------- skills


def test_an_item_asking_for_a_skill_goes_to_an_agent_who_has_it_at_the_minimum_level(agent, ticket):
    agent("ann", idle_minutes=30)  # idle the longest, but no Spanish
    agent("ben", skills={"spanish": 2}, idle_minutes=20)  # below the minimum of 3
    agent("cat", skills={"spanish": 3}, idle_minutes=10)
    assert holder(ticket("factura", process="Spanish Ticket")) == ("offered", "cat")


def test_a_skill_above_the_minimum_level_qualifies(agent, ticket):
    agent("cat", skills={"spanish": 9})
    assert holder(ticket("factura", process="Spanish Ticket")) == ("offered", "cat")


def test_an_item_asking_for_several_skills_needs_every_one_of_them(agent, ticket):
    agent("ann", skills={"spanish": 5}, idle_minutes=30)
    agent("ben", skills={"mortgage": 5}, idle_minutes=20)
    agent("cat", skills={"spanish": 3, "mortgage": 2}, idle_minutes=10)
    assert holder(ticket("hipoteca", process="Spanish Mortgage")) == ("offered", "cat")


def test_an_item_nobody_has_the_skills_for_waits_without_blocking_the_items_behind_it(agent, ticket):
    agent("ann")
    spanish = ticket("factura", process="Spanish Ticket", urgency=5)
    plain = ticket("printer")
    assert holder(spanish) == ("queued", None)
    assert holder(plain) == ("offered", "ann")


def test_an_item_asking_for_no_skill_goes_to_agents_with_or_without_skills(agent, ticket):
    agent("cat", skills={"spanish": 3})
    assert holder(ticket("printer")) == ("offered", "cat")


# ------------------------------------------------------------------------ longest available


def test_an_item_goes_to_the_agent_idle_the_longest(agent, ticket):
    agent("ann", idle_minutes=5)
    agent("ben", idle_minutes=50)
    agent("cat", idle_minutes=20)
    assert [holder(ticket(t))[1] for t in ("a", "b", "c")] == ["ben", "cat", "ann"]


def test_finishing_a_group_item_puts_the_agent_at_the_back_of_the_line(agent, ticket):
    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    first = ticket("first")
    assert holder(first) == ("offered", "ann")
    complete(ann, first)
    assert holder(ticket("second")) == ("offered", "ben")  # ann finished later than ben became idle
    assert holder(ticket("third")) == ("offered", "ann")


def test_becoming_available_starts_the_idle_time(agent, ticket):
    from administration.presence import set_presence

    ann = agent("ann", idle_minutes=50, presence="away")
    agent("ben", idle_minutes=5)
    set_presence(ann, "available")  # ann is idle from now: ben has waited longer
    assert holder(ticket("printer")) == ("offered", "ben")


# ---------------------------------------------------------------------------------- room


def test_an_agent_has_room_for_one_group_item_at_a_time_by_default(agent, ticket):
    agent("ann")
    first, second = ticket("first"), ticket("second")
    assert holder(first) == ("offered", "ann")
    assert holder(second) == ("queued", None)


def test_acd_max_items_per_agent_gives_every_agent_more_room(agent, ticket):
    set_parameter("ACD_MaxItemsPerAgent", "2")
    agent("ann")
    items = [ticket(t) for t in ("a", "b", "c")]
    assert [holder(i) for i in items] == [("offered", "ann"), ("offered", "ann"), ("queued", None)]


def test_picked_up_and_held_group_items_take_up_room_too(agent, ticket):
    from workitems import services

    set_parameter("ACD_MaxItemsPerAgent", "2")
    ann = agent("ann")
    first, second = ticket("first"), ticket("second")
    services.pickup_work_item(ann, first.pk)
    services.pickup_work_item(ann, second.pk)
    services.hold_work_item(ann, second.pk)
    assert holder(ticket("third")) == ("queued", None)


def test_direct_routed_items_do_not_take_up_an_agents_room(agent, ticket):
    from workitems import services

    ann = agent("ann")
    first = ticket("first")
    services.transfer_work_item(ann, first.pk, to_user="ann")  # now a direct item of ann's
    assert holder(first) == ("offered", "ann") and first.workgroup_id is None
    assert holder(ticket("second")) == ("offered", "ann")


def test_completing_a_group_item_makes_room_and_the_next_item_is_offered_in_the_same_transaction(agent, ticket):
    ann = agent("ann")
    first, second = ticket("first"), ticket("second")
    complete(ann, first)
    assert holder(second) == ("offered", "ann")


def test_transferring_a_group_item_away_makes_room(agent, ticket):
    from workitems import services

    ann = agent("ann")
    agent("dan", license="direct_routed", workgroups=())
    first, second = ticket("first"), ticket("second")
    services.transfer_work_item(ann, first.pk, to_user="dan")
    assert holder(first) == ("offered", "dan")
    assert holder(second) == ("offered", "ann")


def test_an_item_sent_back_to_the_queue_goes_to_another_agent_first(agent, ticket):
    from workitems import services

    ann = agent("ann", idle_minutes=50)
    agent("ben", idle_minutes=5)
    item = ticket("printer")
    assert holder(item) == ("offered", "ann")
    services.transfer_work_item(ann, item.pk, to_workgroup="Desk")
    assert holder(item) == ("offered", "ben")


# ------------------------------------------------------------------------ priority and age


def test_higher_priority_items_are_offered_first_then_the_oldest(agent, ticket):
    from administration.presence import set_presence

    set_parameter("ACD_MaxItemsPerAgent", "1")
    ann = agent("ann", presence="away")
    low_old, high, low_new, higher_new = (ticket("low old"), ticket("high", urgency=3), ticket("low new"),
                                          ticket("higher", urgency=3))
    set_presence(ann, "available")
    order = []
    for _ in range(4):
        [offered] = [i for i in (low_old, high, low_new, higher_new) if holder(i)[0] == "offered"]
        order.append(offered.description)
        complete(ann, offered)
    assert order == ["About high", "About higher", "About low old", "About low new"]


def test_a_higher_priority_item_goes_first_even_to_an_agent_with_every_skill(agent, ticket):
    from administration.presence import set_presence

    cat = agent("cat", skills={"spanish": 5}, presence="away")
    plain, spanish = ticket("printer"), ticket("factura", process="Spanish Ticket", urgency=1)
    set_presence(cat, "available")
    assert (holder(plain), holder(spanish)) == (("queued", None), ("offered", "cat"))


# -------------------------------------------------------------- waiting until someone qualifies


def test_a_waiting_item_is_offered_the_moment_an_agent_becomes_available(agent, ticket):
    from administration.presence import set_presence

    ann = agent("ann", presence="away")
    item = ticket("printer")
    assert holder(item) == ("queued", None)
    set_presence(ann, "available")
    assert holder(item) == ("offered", "ann")


def test_a_waiting_item_is_offered_the_moment_an_agent_is_granted_the_skill(agent, ticket,
                                                                           django_capture_on_commit_callbacks):
    from administration.models import Skill, UserSkill

    ann = agent("ann", skills={"spanish": 1})
    item = ticket("factura", process="Spanish Ticket")
    assert holder(item) == ("queued", None)
    with django_capture_on_commit_callbacks(execute=True):
        UserSkill.objects.filter(user=ann, skill=Skill.objects.get(name="spanish")).update(level=2)
    assert holder(item) == ("queued", None)
    with django_capture_on_commit_callbacks(execute=True):
        level = UserSkill.objects.get(user=ann)
        level.level = 3
        level.save()
    assert holder(item) == ("offered", "ann")


def test_a_waiting_item_is_offered_the_moment_a_qualifying_agent_joins_the_workgroup(
        agent, ticket, desk, django_capture_on_commit_callbacks):
    ann = agent("ann", workgroups=())
    item = ticket("printer")
    with django_capture_on_commit_callbacks(execute=True):
        ann.workgroups.add(desk)
    assert holder(item) == ("offered", "ann")


def test_a_waiting_item_is_offered_by_the_sweep_after_a_directory_change_made_behind_the_acds_back(
        agent, ticket, engine_runs):
    from administration.models import User

    agent("ann", presence="away")
    item = ticket("printer")
    User.objects.filter(username="ann").update(presence="available")
    engine_runs()
    assert holder(item) == ("offered", "ann")


def test_an_item_handed_to_a_person_reaches_them_whatever_their_presence(agent, ticket):
    from workitems import services

    ann = agent("ann")
    agent("dan", license="direct_routed", presence="offline", workgroups=())
    item = ticket("printer")
    services.transfer_work_item(ann, item.pk, to_user="dan")
    assert holder(item) == ("offered", "dan")
