"""Presence: what the ACD routes by, set from the client's selector, the API and logging in and out.

Other apps react to a change through hooks registered here (the ACD routes; delivery tells
the user's other windows), called inside the change's transaction, so this app imports
none of them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import PRESENCE_CHOICES, User

PRESENCE_STATUSES = tuple(name for name, _ in PRESENCE_CHOICES)
PresenceHook = Callable[[User, str], None]  # (user with the new presence, previous status)
_hooks: list[PresenceHook] = []


def register_presence_hook(hook: PresenceHook) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


def set_presence(user: User, status: str) -> User:
    """Set ``user``'s presence in its own transaction; the hooks run when it changed.

    Becoming Available starts the agent's idle time (the ACD's longest-available order).
    """
    if status not in PRESENCE_STATUSES:
        raise ValueError(f"unknown presence {status!r}; one of {', '.join(PRESENCE_STATUSES)}")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        previous = locked.presence
        if previous != status or locked.presence_since is None:
            now = timezone.now()
            locked.presence, locked.presence_since = status, now
            if status == "available" and previous != "available":
                locked.idle_since = now
            locked.save(update_fields=["presence", "presence_since", "idle_since"])
            if previous != status:
                for hook in _hooks:
                    hook(locked, previous)
    user.presence, user.presence_since, user.idle_since = locked.presence, locked.presence_since, locked.idle_since
    return user


def on_logged_in(sender, request, user: User | None, **kwargs) -> None:
    """Logging in to the client makes an Offline agent Available (Away and the rest are kept)."""
    if user is not None and user.presence == "offline":
        set_presence(user, "available")


def on_logged_out(sender, request, user: User | None, **kwargs) -> None:
    """Logging out makes the agent Offline: no new offers, offered items go back to the queue."""
    if user is not None and user.is_authenticated:
        set_presence(user, "offline")
