"""Presence follows the person: a user whose last client socket closed turns Offline after a grace.

Every open ``/ws/workitems/`` socket is a row (``ClientSocket``), written by whichever Daphne
process holds it, so several processes agree on who is still there. The client pings every
25 s and each ping renews the row; a socket whose process died without closing it counts as
closed once it has not been seen for ``STALE_AFTER``. The sweep (``drop_absent_agents``, a
runtime sweep hook, so it runs on one node at a time per beat) turns Offline every user whose
sockets are all closed since longer than ``Presence_OfflineGraceSeconds`` (a reload or a short
network drop does not count). Going Offline runs the presence hooks: offers go back to their
queues and on to the next agent, the user's other windows and the monitor are told.

Users who never opened a socket (scripts on the API) are left alone.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from administration import presence
from administration.models import User
from administration.parameters import integer_parameter
from workitems.models import ClientSocket

GRACE_PARAMETER = "Presence_OfflineGraceSeconds"
STALE_AFTER = timedelta(seconds=90)  # three pings missed: the process holding the socket is gone


def socket_opened(user_id: int, channel_name: str) -> None:
    now = timezone.now()
    try:
        with transaction.atomic():
            ClientSocket.objects.create(user_id=user_id, channel_name=channel_name, opened_at=now, seen_at=now)
    except IntegrityError:  # the same channel again (a layer reusing names): it is open
        ClientSocket.objects.filter(channel_name=channel_name).update(user_id=user_id, seen_at=now, closed_at=None)
    forget_open_sockets()


def socket_seen(channel_name: str) -> None:
    ClientSocket.objects.filter(channel_name=channel_name, closed_at__isnull=True).update(seen_at=timezone.now())


def socket_closed(channel_name: str) -> None:
    ClientSocket.objects.filter(channel_name=channel_name, closed_at__isnull=True).update(closed_at=timezone.now())
    forget_open_sockets()


def grace_seconds() -> int:
    return max(0, integer_parameter(GRACE_PARAMETER))


def drop_absent_agents() -> int:
    """Sweep hook: users gone for longer than the grace turn Offline; returns how many did."""
    now = timezone.now()
    ClientSocket.objects.filter(closed_at__isnull=True, seen_at__lt=now - STALE_AFTER).update(closed_at=F("seen_at"))
    gone_before = now - timedelta(seconds=grace_seconds())
    still_open = ClientSocket.objects.filter(closed_at__isnull=True).values("user_id")
    absent = list(ClientSocket.objects.exclude(user_id__in=still_open).order_by().values("user_id")
                  .annotate(last=Max("closed_at")).filter(last__lte=gone_before).values_list("user_id", flat=True))
    dropped = 0
    for user in User.objects.filter(pk__in=absent).exclude(presence="offline").order_by("pk"):
        if ClientSocket.objects.filter(user=user, closed_at__isnull=True).exists():
            continue  # came back meanwhile
        presence.set_presence(user, "offline")
        dropped += 1
    ClientSocket.objects.filter(closed_at__lte=gone_before).delete()
    forget_open_sockets()
    return dropped


# ------------------------------------------------- who has a socket open (for delivery)
#
# Delivery pushes only to users with an open socket (the others catch up from the snapshot
# when they connect). Asking the database at every push would cost a query per step, so each
# process keeps the set of those users: renewed at once when this process opens or closes a
# socket, and otherwise read again at most every ``WORKITEMS_OPEN_SOCKETS_MAX_AGE`` seconds
# (sockets held by other processes; None: never, when one process holds every socket). A socket
# opened elsewhere meanwhile misses the pushes of that short while: its consumer sends a
# catch-up once that while is over (``WorkItemConsumer.catch_up``).

_open_users: tuple[int, float, frozenset[int]] | None = None  # (process id, when read, user ids)


def open_sockets_max_age() -> float | None:
    return getattr(settings, "WORKITEMS_OPEN_SOCKETS_MAX_AGE", None)


def has_open_socket(user_id: int) -> bool:
    """Whether ``user_id`` has a ``/ws/workitems/`` socket open, as this process last read it."""
    return user_id in users_with_open_sockets()


def users_with_open_sockets() -> frozenset[int]:
    """The users with a socket open, read again when this process's view is older than the max age
    (``delivery.work_item_changed`` asks inside the step's transaction, so that read adds none)."""
    global _open_users
    now, max_age = time.monotonic(), open_sockets_max_age()
    known = _open_users
    if known is None or known[0] != os.getpid() or (max_age is not None and now - known[1] >= max_age):
        users = frozenset(ClientSocket.objects.filter(closed_at__isnull=True).order_by()
                          .values_list("user_id", flat=True).distinct())
        known = _open_users = (os.getpid(), now, users)
    return known[2]


def forget_open_sockets() -> None:
    """Read who has a socket open again at the next push (a socket of this process opened or closed; tests)."""
    global _open_users
    _open_users = None
