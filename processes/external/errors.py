"""The one error every external action raises: what went wrong, in words a designer can act on."""

from __future__ import annotations


class ExternalActionError(Exception):
    """An external action failed in a way the process can handle.

    ``type`` is a short machine word (``timeout``, ``smtp_error``, ``soap_fault`` ...) that
    ``on_error`` can branch on; ``message`` says what happened. Both reach the process as the
    built-in ``error`` (``{"type": ..., "message": ...}``) and the message is shown to
    supervisors, so it names hosts, handlers and data sources, never the values sent.
    """

    def __init__(self, type: str, message: str) -> None:
        super().__init__(message)
        self.type = type
        self.message = message

    def as_error(self) -> dict[str, str]:
        """The ``error`` dict the engine puts in scope for ``on_error``."""
        return {"type": self.type, "message": self.message}

    def __repr__(self) -> str:
        return f"ExternalActionError({self.type!r}, {self.message!r})"
