"""Substitutes (out of office): an agent away names who receives their direct-routed items.

An ``Absence`` has a period and a substitute. While it lasts, a work item the engine sends
to the agent by name goes to the substitute instead, and the instance's history says so
("... for bob, who is away"). Group-routed items need nothing of this: the ACD offers them
only to agents who are Available. The substitute must hold a license that receives work
items; the agent sets it for themselves, a supervisor (Manage right) for anyone.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from administration import policy
from administration.models import User
from processes.errors import FormInvalid, NotFound
from workitems.models import Absence


def _user(username: str, field: str) -> User:
    user = User.objects.filter(username=username.strip(), is_active=True).first() if username.strip() else None
    if user is None:
        raise FormInvalid({field: [f"there is no user {username.strip()!r}" if username.strip() else "is required"]})
    return user


def set_absence(actor: User, agent_name: str, substitute_name: str, starts_at: datetime | None,
                ends_at: datetime | None) -> Absence:
    """``agent_name`` is away from ``starts_at`` (now when None) to ``ends_at``; replaces their absence to come."""
    policy.require_any_license(actor)
    agent = User.objects.filter(username=agent_name).first()
    if agent is None:
        raise NotFound("No such user.")
    if not policy.may_set_substitute_for(actor, agent):
        raise policy.NotAllowed("Naming a substitute for someone else needs the Manage right.")
    errors: dict[str, list[str]] = {}
    substitute = None
    try:
        substitute = _user(substitute_name, "substitute")
    except FormInvalid as exc:
        errors.update(exc.errors)
    if substitute is not None:
        if substitute.pk == agent.pk:
            errors["substitute"] = ["must be someone else"]
        elif not policy.may_substitute(substitute):
            errors["substitute"] = [f"{substitute.username} holds no license that receives work items"]
    starts_at = starts_at or timezone.now()
    if ends_at is None:
        errors["ends_at"] = ["is required"]
    elif ends_at <= starts_at:
        errors["ends_at"] = ["must be after the start"]
    if errors:
        raise FormInvalid(errors, "The substitute was not set.")
    with transaction.atomic():
        Absence.objects.filter(user=agent, ends_at__gt=timezone.now()).delete()
        return Absence.objects.create(user=agent, substitute=substitute, starts_at=starts_at, ends_at=ends_at,
                                      set_by=actor)


def end_absence(actor: User, absence_id: int) -> None:
    absence = Absence.objects.select_related("user").filter(pk=absence_id).first()
    if absence is None or not policy.may_set_substitute_for(actor, absence.user):
        raise NotFound("No such absence.")
    absence.delete()


def absences_for(actor: User):
    """Absences not over yet that ``actor`` may see: their own, or everyone's for a supervisor."""
    current = Absence.objects.filter(ends_at__gt=timezone.now()).select_related("user", "substitute")
    return current if policy.can_manage(actor) else current.filter(user=actor)
