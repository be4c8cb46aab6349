"""Pushing work item changes to the people concerned, after commit (Zulip's actions/delivery split).

Services and the ACD record a change and call ``work_item_changed`` inside their
transaction; the push is registered with ``transaction.on_commit``, so a rolled-back change
never reaches a browser. After the commit the item is read again and serialized **per
recipient**, through the same serializer and policy as ``GET /api/workitems/``, and sent
through the channel layer to the recipient's group (``workitems.user.<id>``), which every
``/ws/workitems/`` socket of that user joins.

Messages (schemas in ``workitems.schemas``): ``added`` (the item is newly the user's),
``changed`` (still theirs, something changed), ``removed`` (no longer theirs, or closed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from administration import policy
from administration.models import User
from workitems.api.serializers import WorkItemSerializer
from workitems.models import OPEN_STATUSES, WorkItem

log = logging.getLogger("ipa.workitems.delivery")
SEND_TIMEOUT_SECONDS = 5.0
PUSH_EVENT = "workitems.push"  # handled by WorkItemConsumer.workitems_push


ITEM_FIELDS = ("id", "instance", "token", "process_name", "name", "category", "description", "priority", "status",
               "user", "workgroup", "created_at", "updated_at", "offered_at")


def user_group(user_id: int) -> str:
    return f"workitems.user.{user_id}"


def queue_group(workgroup_id: int) -> str:
    """Every socket of the workgroup's members: told when its queue changes (``queue`` messages)."""
    return f"workitems.queue.{workgroup_id}"


@dataclass(frozen=True)
class Audience:
    """What the serializers read from a request: who the data is for."""

    user: User


def serialize_for(user: User, item: WorkItem) -> dict[str, Any]:
    """The item as ``GET /api/workitems/`` shows it to ``user`` (description masked per the policy)."""
    return dict(WorkItemSerializer(item, context={"request": Audience(user)}).data)


# ------------------------------------------------------------------------ recording


def work_item_changed(item_id: int, previous_user_id: int | None) -> None:
    """Inside a transaction, after saving: push the item's new state once the transaction commits.

    ``previous_user_id`` is who had the item open before this change (None: nobody).
    """
    transaction.on_commit(lambda: push_work_item(item_id, previous_user_id), robust=True)


def presence_changed(user: User, previous: str) -> None:
    """Presence hook: tell the user's other windows."""
    message = {"type": "presence", "status": user.presence,
               "since": user.presence_since.isoformat().replace("+00:00", "Z") if user.presence_since else None}
    transaction.on_commit(lambda: send([(user.pk, message)]), robust=True)


# ----------------------------------------------------------------- after the commit

# Several changes of one item in one transaction (an offer taken back, then made to someone
# else) register several pushes; each reads the committed row, so the later ones would
# repeat the first. A short memory of (item, version, recipient) drops the repeats.
_recent = threading.local()


def _first_time(key: tuple) -> bool:
    seen = getattr(_recent, "keys", None)
    if seen is None:
        seen = _recent.keys = deque(maxlen=256)
    if key in seen:
        return False
    seen.append(key)
    return True


def push_work_item(item_id: int, previous_user_id: int | None) -> None:
    # The instance only for its definition (the description's template): its execution state
    # is read later, and only when a masked description must be rendered again.
    rows = (WorkItem.objects.filter(pk=item_id).select_related("instance", "user", "workgroup")
            .only(*ITEM_FIELDS, "instance__definition_id", "user", "workgroup__name").order_by())
    item = next(iter(rows), None)
    owner = item.user if item is not None and item.status in OPEN_STATUSES else None
    version = item.updated_at if item is not None else None
    messages: list[tuple[int, dict[str, Any]]] = []
    lost = previous_user_id and previous_user_id != getattr(owner, "pk", None)
    if lost and _first_time((item_id, version, previous_user_id)):
        messages.append((previous_user_id, {"type": "removed", "id": item_id}))
    if owner is not None and policy.may_receive_work_items(owner) and _first_time((item_id, version, owner.pk)):
        kind = "changed" if owner.pk == previous_user_id else "added"
        messages.append((owner.pk, {"type": kind, "work_item": serialize_for(owner, item)}))
    send(messages)
    if item is not None and item.workgroup_id and _first_time((item_id, version, "queue")):
        send_to_groups([(queue_group(item.workgroup_id), {"type": "queue", "workgroup": item.workgroup.name})])


def send(messages: list[tuple[int, dict[str, Any]]]) -> None:
    """Hand messages to the channel layer: ``[(user_id, message), ...]``; failures are logged."""
    send_to_groups([(user_group(user_id), message) for user_id, message in messages])


def send_to_groups(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """``[(group, message), ...]`` to the channel layer; failures are logged."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        for group, message in messages:
            await layer.group_send(group, {"type": PUSH_EVENT, "message": message})

    try:
        asyncio.run_coroutine_threadsafe(send_all(), _sending_loop()).result(SEND_TIMEOUT_SECONDS)
    except Exception:
        log.exception("could not push %d work item message(s); clients catch up when they reconnect",
                      len(messages))


# ------------------------------------------------------------------ the sending loop
#
# A push is sent from the event loop that serves this process's WebSockets when there is
# one (Daphne; the in-memory channel layer only works within that loop), else from a loop
# of its own kept in a thread (a Celery node: the Redis connection stays open between pushes).

_socket_loop: asyncio.AbstractEventLoop | None = None
_own_loop: tuple[int, asyncio.AbstractEventLoop] | None = None  # (process id, loop): not inherited by a fork
_own_loop_lock = threading.Lock()


def serve_sockets_from(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the consumer: pushes go through the loop that holds the sockets."""
    global _socket_loop
    _socket_loop = loop


def _sending_loop() -> asyncio.AbstractEventLoop:
    loop = _socket_loop
    if loop is not None and loop.is_running() and not _runs_here(loop):
        return loop
    return _background_loop()


def _runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _background_loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    with _own_loop_lock:
        if _own_loop is None or _own_loop[0] != os.getpid() or _own_loop[1].is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="workitems-delivery", daemon=True).start()
            _own_loop = (os.getpid(), loop)
        return _own_loop[1]
