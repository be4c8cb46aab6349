"""Handlers the external action tests register (``IPA_HANDLERS``), also in the Celery and serve
processes the crash tests start (through the ``IPA_HANDLERS`` environment variable)."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from processes.external.errors import ExternalActionError
from processes.external.handlers import handler

PATHS = [
    "tests.external.sample_handlers.customer",
    "tests.external.sample_handlers.sleepy",
    "tests.external.sample_handlers.explode",
    "tests.external.sample_handlers.refuse",
    "tests.external.sample_handlers.flaky",
    "tests.external.sample_handlers.unserialisable",
]
calls: list[str] = []  # what ran, in this process


@handler(name="customer", inputs={"id": "string"}, outputs={"customer": "json", "items": "list"})
def customer(id: str) -> dict:
    """A customer record with the Python values a real handler returns."""
    calls.append(f"customer {id}")
    return {"customer": {"name": f"Ada {id}", "balance": Decimal("12.50"), "since": date(2020, 2, 29)},
            "items": ["book", "pen"]}


@handler(name="sleepy", inputs={"seconds": "decimal", "wake_file": "string"}, outputs={"slept": "decimal"})
def sleepy(seconds: str, wake_file: str = "") -> dict:
    """Sleeps ``seconds``, or less once ``wake_file`` exists."""
    calls.append("sleepy")
    ends = time.monotonic() + float(seconds)
    started = time.monotonic()
    while time.monotonic() < ends and not (wake_file and Path(wake_file).exists()):
        time.sleep(0.05)
    return {"slept": round(time.monotonic() - started, 2)}


@handler(name="explode", inputs={"secret": "string"})
def explode(secret: str) -> None:
    """A handler with a bug: its exception text holds the value it was given."""
    raise RuntimeError(f"could not parse {secret}")


@handler(name="refuse", inputs={"reason": "string"})
def refuse(reason: str) -> None:
    """A handler that says why it fails."""
    raise ExternalActionError("credit_refused", f"the credit bureau refused: {reason}")


@handler(name="flaky", inputs={"ok_file": "string"}, outputs={"answer": "integer"})
def flaky(ok_file: str) -> dict:
    """Fails until ``ok_file`` exists."""
    calls.append("flaky")
    if not Path(ok_file).exists():
        raise ExternalActionError("unavailable", "the back office is down")
    return {"answer": 42}


@handler(name="unserialisable")
def unserialisable() -> object:
    return object()


def broken_runner(params: dict) -> None:
    """Stands in for a runner with a bug (a kind's dotted path in ``runner.RUNNERS``)."""
    raise KeyError(f"password {params.get('to')}")
