"""A help desk for the ACD tests: the workgroup Desk, agents made to measure, tickets to route.

Agents are made with the factory ``agent(...)``; tickets are instances of small processes
that send one item to Desk (``ticket("printer", urgency=2, process="Spanish Ticket")``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

SKILLED = {"Ticket": [], "Spanish Ticket": [{"name": "spanish", "min_level": 3}],
           "Spanish Mortgage": [{"name": "spanish", "min_level": 3}, {"name": "mortgage", "min_level": 2}]}


def ticket_process(name: str, skills: list[dict]) -> dict:
    return {
        "format": "ipa.process/v1",
        "name": name,
        "variables": [{"name": "topic", "type": "string", "input": True, "required": True},
                      {"name": "urgency", "type": "integer", "input": True, "default": 0}],
        "start_state": "Answer",
        "states": [{"name": "Answer", "actions": [
            {"action": "send_work_item", "work_item": "Answer", "to": {"workgroup": "Desk", "skills": skills,
                                                                      "priority": "urgency"},
             "exits": {"done": [{"action": "end_process"}]}}]}],
        "work_items": [{"name": "Answer", "description": "About {{ topic }}",
                        "buttons": [{"id": "done", "label": "Done"}]}],
    }


@pytest.fixture
def desk(db):
    """The Desk workgroup, the skills, the ticket processes and lena, who launches tickets."""
    from administration.models import Skill, User, Workgroup
    from processes.services.definitions import import_definition

    for skill in ("spanish", "mortgage"):
        Skill.objects.create(name=skill)
    desk = Workgroup.objects.create(name="Desk", rights=["launch"])
    for name, skills in SKILLED.items():
        import_definition(ticket_process(name, skills), publish=True)
    User.objects.create_user("lena", password="lena-pass-1", license="direct_routed", rights=["launch"])
    return desk


@pytest.fixture
def agent(desk) -> Callable[..., object]:
    """``agent("ann", skills={"spanish": 3}, presence="away", idle_minutes=5)``: a Desk member."""
    from administration.models import Skill, User, UserSkill

    def make(username: str, *, skills: dict[str, int] | None = None, presence: str = "available",
             license: str = "group_routed", idle_minutes: float = 0, workgroups=(desk,)) -> User:
        now = timezone.now()
        user = User.objects.create_user(username, password=f"{username}-pass-1", license=license,
                                        presence=presence, presence_since=now,
                                        idle_since=now - timedelta(minutes=idle_minutes))
        user.workgroups.set(workgroups)
        for skill, level in (skills or {}).items():
            UserSkill.objects.create(user=user, skill=Skill.objects.get(name=skill), level=level)
        return user

    return make


@pytest.fixture
def ticket(desk) -> Callable[..., object]:
    """``ticket("printer", urgency=2)``: launches a ticket and returns its work item, routed or queued."""
    from administration.models import User
    from processes.services.instances import launch_process
    from workitems.models import WorkItem

    def launch(topic: str, *, urgency: int = 0, process: str = "Ticket") -> WorkItem:
        instance = launch_process(User.objects.get(username="lena"), process, {"topic": topic, "urgency": urgency})
        return WorkItem.objects.get(instance=instance)

    return launch


def holder(item) -> tuple[str, str | None]:
    """(status, user name) of the item as stored now."""
    item.refresh_from_db()
    return item.status, item.user.username if item.user_id else None


def set_parameter(name: str, value: str) -> None:
    from administration.models import ServerParameter
    from administration.parameters import forget_parameters

    ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
    forget_parameters()


def make_offer_old(item, seconds: float) -> None:
    """As if the item had been offered ``seconds`` ago."""
    from workitems.models import WorkItem

    WorkItem.objects.filter(pk=item.pk).update(offered_at=timezone.now() - timedelta(seconds=seconds))
