"""Where the trouble is: per process, how many active instances sit in each state and for how
long, and the instances in error grouped by cause (same process, same message), each group
repairable in one bulk action.

Times in a state come from the last ``state_entered`` entry of each instance's history.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Max

from administration import policy
from administration.models import User
from processes.models import HistoryEntry
from processes.services import instances

ACTIVE = ("running", "waiting", "error", "restored_in_error")
IN_ERROR = ("error", "restored_in_error")


def trouble(user: User, now: datetime, process: str = "") -> dict[str, Any]:
    """``{"processes": [{"process", "states": [{state, count, average_seconds, oldest_seconds, share}]}],
    "errors": [{"process", "cause", "status", "count", "ids", "can_repair"}]}`` over what the user may see."""
    policy.require_monitor(user)
    found = instances.visible_instances(user).filter(status__in=ACTIVE)
    if process:
        found = found.filter(process_name=process)
    rows = list(found.values_list("id", "process_name", "current_state", "status", "error", "updated_at",
                                  "definition__category"))
    entered = dict(HistoryEntry.objects.filter(instance_id__in=[r[0] for r in rows], what="state_entered")
                   .values("instance_id").annotate(at=Max("at")).values_list("instance_id", "at"))
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    causes: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    manageable: dict[str, bool] = {}
    for pk, name, state, status, error, updated_at, category in rows:
        manageable.setdefault(name, policy.can_manage(user, name, category))
        times[(name, state)].append((now - entered.get(pk, updated_at)).total_seconds())
        if status in IN_ERROR:
            causes[(name, error or "(no message)", status)].append(pk)
    by_process: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (name, state), seconds in sorted(times.items()):
        by_process[name].append({"state": state or "—", "count": len(seconds),
                                 "average_seconds": sum(seconds) / len(seconds), "oldest_seconds": max(seconds)})
    processes = []
    for name, states in by_process.items():
        largest = max(s["count"] for s in states)
        for s in states:
            s["share"] = round(100 * s["count"] / largest)
        processes.append({"process": name, "states": states})
    errors = [{"process": name, "cause": cause, "status": status, "count": len(ids), "ids": sorted(ids),
               "can_repair": manageable[name]}
              for (name, cause, status), ids in sorted(causes.items(), key=lambda item: -len(item[1]))]
    return {"processes": processes, "errors": errors}
