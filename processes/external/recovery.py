"""Recovery of external actions whose runner went away: the sweep hooks and the takeover's part.

- A call still ``pending`` long after it was handed out never started: hand it out again.
- A call ``running`` in a process that died may have partly run: it becomes ``lost`` and its
  instance ``restored_in_error`` until a supervisor retries or skips it (the seed's rule).
  A dead node is found by the takeover (``nodes.take_over`` calls ``restore_calls_of_node``);
  a dead process of this node and host (``serve`` killed and started again, a Celery pool
  process killed) by the sweep here, since its storage id beats again and never looks dead.

See docs/external-actions.md.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from processes.models import IMPORT_STORAGE_ID, ExternalCall, HistoryEntry, ProcessInstance
from processes.services import runtime

from .runner import describe, dispatch_call, external_waits, process_identity


def redispatch_stalled_calls() -> int:
    """A sweep hook: hand out again the calls still pending long after they were handed out.

    A lost broker message or a runner that died before claiming leaves a call ``pending``;
    it never started, so running it now is safe. Returns how many were handed out.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=getattr(settings, "EXTERNAL_CALL_REDISPATCH_SECONDS", 60))
    stalled = list(ExternalCall.objects.filter(status="pending", dispatched_at__lte=cutoff)
                   .exclude(instance__owner=IMPORT_STORAGE_ID)  # imported, waiting for a node
                   .order_by("dispatched_at").values_list("pk", flat=True)[:200])
    if not stalled:
        return 0
    ExternalCall.objects.filter(pk__in=stalled, status="pending").update(dispatched_at=now)
    for call_id in stalled:
        dispatch_call(call_id)
    return len(stalled)


def restore_calls_of_node(storage_id: str, instance_ids: Iterable[int] | None = None) -> list[int]:
    """The calls running on a dead node are lost, their instances restored in error (takeover).

    Called by ``nodes.take_over`` and ``nodes.transfer_instances`` inside their transaction.
    Returns the ids of the instances restored in error.
    """
    calls = ExternalCall.objects.filter(status="running", node=storage_id)
    if instance_ids is not None:
        calls = calls.filter(instance_id__in=list(instance_ids))
    return restore_lost_calls(list(calls.values_list("pk", flat=True)), f"node {storage_id} stopped responding")


def restore_calls_of_gone_processes() -> list[int]:
    """A sweep hook: calls running in a process of this node and host that no longer exists.

    On the embedded default that is the ``serve`` that ran them before it was killed and
    started again (a takeover never sees it: the node's storage id beats again); on a
    Celery node, a pool process killed under its task.
    """
    host, me = socket.gethostname(), process_identity()
    running = (ExternalCall.objects.filter(status="running", node=runtime.node_storage_id(),
                                           worker__startswith=f"{host} ")
               .exclude(worker=me).values_list("pk", "worker"))
    gone: dict[str, list[int]] = {}
    for call_id, worker in running:
        if not _process_alive(worker):
            gone.setdefault(worker, []).append(call_id)
    restored = []
    for worker, call_ids in gone.items():
        pid = worker.split(" ")[1]
        restored += restore_lost_calls(call_ids, f"process {pid} on {host} ended")
    return restored


def restore_lost_calls(call_ids: list[int], reason: str) -> list[int]:
    """Mark these running calls ``lost``; instances still waiting on one go to ``restored_in_error``.

    Whether a lost call ran, and how far, cannot be known; a supervisor decides: retry runs
    the action again (with a new token), skip moves past it. The instance's other calls that
    have not started are cancelled too, since retry and skip act on every external action
    the instance waits for. Returns the ids of the instances restored in error.
    """
    if not call_ids:
        return []
    now = timezone.now()
    instance_ids = set(ExternalCall.objects.filter(pk__in=call_ids).values_list("instance_id", flat=True))
    with transaction.atomic():
        instances = {instance.pk: instance for instance in ProcessInstance.objects.select_for_update()
                     .filter(pk__in=instance_ids).order_by("pk")}
        calls = list(ExternalCall.objects.select_for_update().filter(pk__in=call_ids, status="running")
                     .order_by("pk"))
        stranded: dict[int, list[str]] = {}
        for call in calls:
            instance = instances[call.instance_id]
            if instance.status in ("running", "waiting") and call.token in external_waits(instance.execution):
                stranded.setdefault(instance.pk, []).append(describe(call.kind, call.params))
            call.status, call.finished_at, call.params = "lost", now, {}
            call.save(update_fields=["status", "finished_at", "params"])
        for instance_id, labels in stranded.items():
            _restore_in_error(instances[instance_id], labels, reason, now)
    return sorted(stranded)


def _restore_in_error(instance: ProcessInstance, labels: list[str], reason: str, now: Any) -> None:
    instance.status = "restored_in_error"
    instance.error = (f"Engine {reason} while {', '.join(labels)} was running; whether it ran cannot be "
                      "known. Retry runs it again, skip moves past it.")
    instance.save(update_fields=["status", "error", "updated_at"])
    ExternalCall.objects.filter(instance=instance, status="pending").update(
        status="cancelled", finished_at=now, params={})
    HistoryEntry.objects.create(instance=instance, at=now, what="restored_in_error", detail=reason[:500])


def _process_alive(worker: str) -> bool:
    """Whether the process named by ``worker`` (of this host) still runs."""
    try:
        pid = int(worker.split(" ")[1])
    except (IndexError, ValueError):
        return True  # not ours to judge
    if pid == os.getpid():
        return worker == process_identity()  # our pid, an earlier incarnation
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process has that pid now: cannot tell, leave it
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except (OSError, IndexError):
        return True

