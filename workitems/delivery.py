"""Pushing work item changes to the people concerned, after commit (Zulip's actions/delivery split).

Services and the ACD record a change and call ``work_item_changed`` inside their
transaction; the push is registered with ``transaction.on_commit``, so a rolled-back change
never reaches a browser. After the commit the item, as the transaction saved it (it is not
read again), is serialized **per recipient** through the same serializer and policy as
``GET /api/workitems/`` and handed to a sending task on an event loop, which sends it through
the channel layer to the recipient's group (``workitems.user.<id>``) while the request goes
on: nobody's request waits for Redis. Every ``/ws/workitems/`` socket of the user joins that
group. A recipient with no socket open gets nothing (neither serialized nor sent): they
catch up from the snapshot when they connect (``sockets.has_open_socket``, no query per push).

Messages (schemas in ``workitems.schemas``): ``added`` (the item is newly the user's),
``changed`` (still theirs, something changed), ``removed`` (no longer theirs, or closed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from administration import policy
from administration.models import User
from ipa_portal.representations import represent
from processes.services import runtime
from workitems import sockets
from workitems.api.serializers import WorkItemSerializer
from workitems.models import OPEN_STATUSES, WorkItem

log = logging.getLogger("ipa.workitems.delivery")
SEND_TIMEOUT_SECONDS = 5.0
PUSH_EVENT = "workitems.push"  # handled by WorkItemConsumer.workitems_push


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
    return represent(WorkItemSerializer, item, {"request": Audience(user)})


# ------------------------------------------------------------------------ recording


def work_item_changed(item: WorkItem, previous_user_id: int | None) -> None:
    """Inside a transaction, after saving ``item``: push its new state once the transaction commits.

    ``previous_user_id`` is who had the item open before this change (None: nobody). The push
    is made from the saved rows in memory, not read again: each push of an item in one
    transaction sends the last state saved in it (an offer taken back and made again is one
    change, as a re-read after the commit would show), serialized for the item's holder and
    handed to the sending loop, which sends it while the caller goes on.
    """
    latest = _latest_of_transaction()
    latest[item.pk] = item
    sockets.users_with_open_sockets()  # renewed here when due: in this transaction, not in one of its own
    if item.instance_id is not None:  # who or which queue the instance waits on changed: the monitor shows it
        runtime.instance_changed(item.instance_id)
    transaction.on_commit(lambda: push_work_item(latest[item.pk], previous_user_id), robust=True)


_transaction_items = threading.local()


def _latest_of_transaction() -> dict[int, WorkItem]:
    """{item id: the item as last saved} for the current transaction (known by its list of commit hooks)."""
    hooks = transaction.get_connection().run_on_commit
    if getattr(_transaction_items, "hooks", None) is not hooks:
        _transaction_items.hooks, _transaction_items.items = hooks, {}
    return _transaction_items.items


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


def push_work_item(item: WorkItem, previous_user_id: int | None) -> None:
    """Tell the item's previous holder it is gone and its holder what it is now (as saved)."""
    owner = item.user if item.user_id is not None and item.status in OPEN_STATUSES else None
    version = item.updated_at
    messages: list[tuple[int, dict[str, Any]]] = []
    lost = previous_user_id and previous_user_id != getattr(owner, "pk", None)
    if lost and sockets.has_open_socket(previous_user_id) and _first_time((item.pk, version, previous_user_id)):
        messages.append((previous_user_id, {"type": "removed", "id": item.pk}))
    if (owner is not None and sockets.has_open_socket(owner.pk) and policy.may_receive_work_items(owner)
            and _first_time((item.pk, version, owner.pk))):
        kind = "changed" if owner.pk == previous_user_id else "added"
        messages.append((owner.pk, {"type": kind, "work_item": serialize_for(owner, item)}))
    send(messages)
    if item.workgroup_id and _first_time((item.pk, version, "queue")):  # the queue's members see it change
        queue_changed(item.workgroup_id, item.workgroup.name)


# A ``queue`` message goes to every socket of every member of the workgroup, and carries no
# item (the page reads "My queues" again): a burst of changes to one queue is told once.
# The first change of a quiet queue is told at once; the next ones at most once per
# interval from this process, at the end of it, so the last change is always told.
QUEUE_MESSAGE_INTERVAL_SECONDS = 1.0
_queue_told: dict[int, float] = {}  # workgroup id -> when this process last told its members
_queue_due: dict[int, float] = {}  # workgroup id -> when its waiting message is due
_queue_lock = threading.Lock()


def queue_changed(workgroup_id: int, workgroup_name: str) -> None:
    """Tell the workgroup's members that its queue changed (coalesced: see above)."""
    if get_channel_layer() is None:
        return
    now = time.monotonic()
    with _queue_lock:
        if _queue_due.get(workgroup_id, float("-inf")) > now - QUEUE_MESSAGE_INTERVAL_SECONDS:
            return  # the message at the end of the interval tells this change too (unless its loop is gone)
        wait = _queue_told.get(workgroup_id, float("-inf")) + QUEUE_MESSAGE_INTERVAL_SECONDS - now
        if wait <= 0:
            _queue_told[workgroup_id] = now
        else:
            _queue_due[workgroup_id] = now + wait
    message = [(queue_group(workgroup_id), {"type": "queue", "workgroup": workgroup_name})]
    if wait <= 0:
        send_to_groups(message)
    else:
        loop = _sending_loop()
        loop.call_soon_threadsafe(loop.call_later, wait, _tell_queue_later, loop, workgroup_id, message)


def forget_queue_messages() -> None:
    """Every queue is quiet again: its next change is told at once (tests: ids come back after a rollback)."""
    with _queue_lock:
        _queue_told.clear()
        _queue_due.clear()


def _tell_queue_later(loop: asyncio.AbstractEventLoop, workgroup_id: int, message: list) -> None:
    with _queue_lock:
        _queue_due.pop(workgroup_id, None)
        _queue_told[workgroup_id] = time.monotonic()
    _outbox(loop).put(message)  # from this loop, which is the sending one


def send(messages: list[tuple[int, dict[str, Any]]]) -> None:
    """Hand messages to the users' groups: ``[(user_id, message), ...]``, without waiting (``send_to_groups``)."""
    send_to_groups([(user_group(user_id), message) for user_id, message in messages])


def send_to_groups(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Hand ``[(group, message), ...]`` to the channel layer without waiting for it.

    They go out in the order handed over (one sender per event loop); a failure is logged and
    the clients catch up from the snapshot when they reconnect.
    """
    if messages and get_channel_layer() is not None:
        _outbox(_sending_loop()).put(messages)


def wait_until_sent(timeout: float = SEND_TIMEOUT_SECONDS) -> bool:
    """Block until every message handed over so far has gone to the channel layer (tests, shutdown)."""
    deadline = time.monotonic() + timeout
    for outbox in list(_outboxes.values()):
        while outbox.busy():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
    return True


@dataclass
class Outbox:
    """The messages waiting to be sent from one event loop, sent one after another by one task."""

    loop: asyncio.AbstractEventLoop
    messages: deque = field(default_factory=deque)
    draining: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        with self.lock:
            self.messages.extend(messages)
            if self.draining:
                return  # the running task takes them
            self.draining = True
        self.loop.call_soon_threadsafe(self._start)

    def busy(self) -> bool:
        with self.lock:
            return self.draining

    def _start(self) -> None:
        self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            with self.lock:
                if not self.messages:
                    self.draining = False
                    return
                batch = list(self.messages)
                self.messages.clear()
            for group, message in batch:
                try:
                    await layer.group_send(group, {"type": PUSH_EVENT, "message": message})
                except Exception:
                    log.exception("could not push a work item message; its client catches up when it reconnects")


_outboxes: dict[asyncio.AbstractEventLoop, Outbox] = {}
_outboxes_lock = threading.Lock()


def _outbox(loop: asyncio.AbstractEventLoop) -> Outbox:
    with _outboxes_lock:
        outbox = _outboxes.get(loop)
        if outbox is None:
            for stale in [other for other in _outboxes if other.is_closed()]:
                del _outboxes[stale]
            outbox = _outboxes[loop] = Outbox(loop)
        return outbox


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


def sending_loop() -> asyncio.AbstractEventLoop:
    """The loop to send channel layer messages from (the monitor's pushes use it too)."""
    return _sending_loop()


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
