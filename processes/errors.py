"""Errors raised by the services, turned into HTTP, form or command output at the edge."""

from typing import Any


class ServiceError(Exception):
    """A request that cannot be carried out as asked (HTTP 400)."""


class NotFound(ServiceError):
    """HTTP 404."""


class Conflict(ServiceError):
    """The current status of the item or instance does not allow this (HTTP 409)."""


class LaunchBlocked(ServiceError):
    """New launches wait while a takeover restores a dead node's instances (HTTP 503, retry soon)."""

    retry_after_seconds = 5


class FormInvalid(ServiceError):
    """Values that do not fit their fields: ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]], message: str = "Some values are not valid.") -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message, "errors": self.errors}


class DefinitionImmutable(Conflict):
    """A stored version's document, name or number never changes: import a new version instead."""


class DefinitionBroken(Conflict):
    """A stored version whose document no longer loads (written around the import's checks)."""

    def __init__(self, definition: str, reason: str) -> None:
        super().__init__(f"{definition} cannot be loaded ({reason}); an administrator must publish a working version.")
        self.reason = reason
