"""The workflow storage check: the seed's event log messages 41043-41046, each with its cause and fix.

``check_storage`` is what ``serve`` writes at startup and ``manage.py check_storage`` prints.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger("ipa.storage")


@dataclass(frozen=True)
class StorageMessage:
    number: int
    level: int  # logging.ERROR or logging.INFO
    text: str

    @property
    def is_error(self) -> bool:
        return self.level >= logging.ERROR

    def __str__(self) -> str:
        return f"{self.number} {logging.getLevelName(self.level)}: {self.text}"


def _where() -> str:
    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {database['NAME']}"
    host, port = database.get("HOST") or "localhost", database.get("PORT") or "default port"
    return f"{host}:{port}, database {database['NAME']}"


def check_storage(*, close: bool = True) -> list[StorageMessage]:
    """The messages that apply now, most serious last; an empty list when storage is configured and ready.

    ``close=False`` inside a request, which goes on using its connection.
    """
    messages = []
    if not settings.DATABASE_CONFIGURED:
        if not settings.EMBEDDED:
            return [StorageMessage(41043, logging.ERROR, (
                "Process Automation Server cannot start: no workflow storage is configured in production mode "
                "(REDIS_URL is set but DATABASE_URL is not). Fix: set DATABASE_URL, e.g. "
                "postgres://user:password@host:5432/ipa."))]
        messages.append(StorageMessage(41044, logging.INFO, (
            f"Using the default embedded workflow storage ({_where()}). For production, set DATABASE_URL to a "
            "PostgreSQL database and REDIS_URL.")))
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        messages.append(StorageMessage(41045, logging.ERROR, (
            f"The workflow storage connection failed ({_where()}): {cause}. Fix: start the database server or "
            "correct DATABASE_URL (host, port, user, password, database name).")))
        return messages
    finally:
        if close:
            connection.close()
    if pending:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in pending[:3])
        messages.append(StorageMessage(41046, logging.ERROR, (
            f"The workflow storage is reachable ({_where()}) but {len(pending)} of its migrations are not applied "
            f"(first: {names}), so its tables are missing or out of date. Fix: run python manage.py migrate.")))
    return messages


_BANNER_SECONDS = 60.0
_banner: tuple[float, StorageMessage | None] = (-_BANNER_SECONDS, None)


def storage_trouble() -> StorageMessage | None:
    """41045 or 41046 while it holds (checked at most once a minute), for the administrators' banner."""
    global _banner
    checked_at, found = _banner
    if time.monotonic() - checked_at >= _BANNER_SECONDS:
        found = next((m for m in check_storage(close=False) if m.number in (41045, 41046)), None)
        _banner = (time.monotonic(), found)
    return found


def log_storage_messages() -> list[StorageMessage]:
    """Write each message that applies to the log, with its number; returns them."""
    found = check_storage()
    for message in found:
        logger.log(message.level, "%s", message)
    return found
