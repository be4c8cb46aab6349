"""Monitor filters: what a supervisor asks to watch, and whether one instance row matches it.

Pure and typed (no Django import), in the style of ``processes.engine``: the socket decides
with ``matches`` whether a changed instance enters, stays in or leaves a subscription, and
``monitor.services`` turns the same ``Filter`` into a database query for the snapshot; the
tests check both answer alike. Unknown keys are refused rather than ignored, so a typo
never quietly widens a filter.

Keys (every one optional; the first seven are the query keys of ``GET /api/instances/``):

=====================  ===================================================================
``process``            process name (exact)
``status``             an instance status, or a list of them
``state``              current state (exact)
``started_by``         user name of whoever started it
``waiting_on``         ``work_item``, ``timer``, ``external``, ``subprocess``
``started_after``      ISO 8601 date-time (inclusive)
``started_before``     ISO 8601 date-time (exclusive)
``version``            definition version (with ``process``)
``waiting_user``       an open work item of the instance is with this user
``waiting_workgroup``  an open work item of the instance belongs to this workgroup (queued or offered)
``waiting_longer_than`` minutes since the instance last changed (a wait that has lasted)
``error``              text found in the error's message (case-insensitive)
``q``                  the instance id, or text in a related interaction's reference
=====================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

STATUSES = ("running", "waiting", "completed", "cancelled", "error", "restored_in_error")
WAIT_KINDS = ("work_item", "timer", "external", "subprocess")
TEXT_KEYS = ("process", "state", "started_by", "waiting_user", "waiting_workgroup", "error", "q")
KEYS = (*TEXT_KEYS, "status", "waiting_on", "version", "started_after", "started_before", "waiting_longer_than")


class FilterInvalid(ValueError):
    """A filter the monitor cannot use; the message names the key and says what it takes."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Filter:
    process: str = ""
    version: int | None = None
    status: tuple[str, ...] = ()
    state: str = ""
    waiting_on: str = ""
    waiting_user: str = ""
    waiting_workgroup: str = ""
    started_by: str = ""
    started_after: datetime | None = None
    started_before: datetime | None = None
    waiting_longer_than: int | None = None  # minutes
    error: str = ""
    q: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The filter as the client sends it (empty keys left out)."""
        out: dict[str, Any] = {}
        for key in KEYS:
            value = getattr(self, key)
            if value in ("", None, ()):
                continue
            if isinstance(value, datetime):
                value = value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out

    @property
    def waits(self) -> bool:
        """Whether instances may enter this filter by time passing alone (``waiting_longer_than``)."""
        return self.waiting_longer_than is not None

    def without_wait(self) -> Filter:
        """The filter without ``waiting_longer_than``: what an instance must match to cross it later."""
        return replace(self, waiting_longer_than=None)

    @property
    def q_id(self) -> int | None:
        """The free text read as an instance id (``#42`` or ``42``), else None."""
        text = self.q.strip().lstrip("#")
        return int(text) if text.isdigit() else None


@dataclass(frozen=True)
class Row:
    """What matching reads of an instance (monitor.services builds it from the database)."""

    id: int
    process: str
    version: int
    status: str
    state: str
    waiting_on: str
    started_by: str
    started_at: datetime
    updated_at: datetime
    error: str = ""
    waiting_users: tuple[str, ...] = ()
    waiting_workgroups: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


def parse_filter(data: Mapping[str, Any]) -> Filter:
    """A ``Filter`` from what a client sent (``FilterInvalid`` names the first bad key)."""
    if not isinstance(data, Mapping):
        raise FilterInvalid("filter", "must be an object of filter keys")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise FilterInvalid(unknown[0], f"is not a filter key; the keys are {', '.join(KEYS)}")
    values: dict[str, Any] = {}
    for key in TEXT_KEYS:
        value = data.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > 200:
            raise FilterInvalid(key, "must be text of at most 200 characters")
        values[key] = value.strip()
    values["status"] = _statuses(data.get("status"))
    waiting_on = data.get("waiting_on") or ""
    if waiting_on and waiting_on not in WAIT_KINDS:
        raise FilterInvalid("waiting_on", f"must be one of {', '.join(WAIT_KINDS)}")
    values["waiting_on"] = waiting_on
    values["version"] = _whole_number(data, "version", minimum=1)
    values["waiting_longer_than"] = _whole_number(data, "waiting_longer_than", minimum=0)
    values["started_after"] = _moment(data, "started_after")
    values["started_before"] = _moment(data, "started_before")
    return Filter(**values)


def _statuses(value: Any) -> tuple[str, ...]:
    if value in (None, "", []):
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or any(name not in STATUSES for name in names):
        raise FilterInvalid("status", f"must be one of {', '.join(STATUSES)}, or a list of them")
    return tuple(sorted(set(names)))


def _whole_number(data: Mapping[str, Any], key: str, minimum: int) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise FilterInvalid(key, f"must be a whole number of at least {minimum}")
    return value


def _moment(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise FilterInvalid(key, "must be an ISO 8601 date-time, such as 2026-12-01T09:00:00Z")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FilterInvalid(key, "must be an ISO 8601 date-time, such as 2026-12-01T09:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def matches(f: Filter, row: Row, now: datetime) -> bool:
    """Whether ``row`` is one of the instances ``f`` asks for, at ``now``."""
    checks = (
        not f.process or row.process == f.process,
        f.version is None or row.version == f.version,
        not f.status or row.status in f.status,
        not f.state or row.state == f.state,
        not f.waiting_on or row.waiting_on == f.waiting_on,
        not f.waiting_user or f.waiting_user in row.waiting_users,
        not f.waiting_workgroup or f.waiting_workgroup in row.waiting_workgroups,
        not f.started_by or row.started_by == f.started_by,
        f.started_after is None or row.started_at >= f.started_after,
        f.started_before is None or row.started_at < f.started_before,
        f.waiting_longer_than is None or row.updated_at <= now - timedelta(minutes=f.waiting_longer_than),
        not f.error or f.error.lower() in row.error.lower(),
        not f.q or _free_text_matches(f, row),
    )
    return all(checks)


def crossing(f: Filter, row: Row, now: datetime) -> datetime | None:
    """When ``row`` will start to match ``f`` with no change, by its wait passing
    ``waiting_longer_than`` (None: it matches already, or waiting will never make it match)."""
    if f.waiting_longer_than is None or not matches(f.without_wait(), row, now):
        return None
    at = row.updated_at + timedelta(minutes=f.waiting_longer_than)
    return at if at > now else None


def _free_text_matches(f: Filter, row: Row) -> bool:
    if f.q_id is not None and row.id == f.q_id:
        return True
    text = f.q.lower()
    return any(text in reference.lower() for reference in row.references)
