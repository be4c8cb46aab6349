"""Shared by the tests of the external action framework, handlers, databases and email.

``runs_here`` makes this process the runner (as on the embedded default) also when the
suite runs against PostgreSQL and Redis, where the engine's tasks would otherwise go to a
broker no worker reads in these tests. Import the fixtures with
``from tests.external.support import *``.
"""

from __future__ import annotations

import pytest

from tests.conftest import launch
from tests.external import sample_handlers

__all__ = ["handlers_registered", "runs_here", "definition", "run_process", "launch"]


@pytest.fixture
def handlers_registered(settings):
    """The shipped handlers and the sample ones of these tests."""
    settings.IPA_HANDLERS = [*settings.IPA_HANDLERS, *sample_handlers.PATHS]
    sample_handlers.calls.clear()
    return sample_handlers.calls


@pytest.fixture
def runs_here():
    """Celery tasks (engine events, external calls) run in this process, after the commit."""
    from ipa_portal.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def definition(name: str, actions: list, variables: list | None = None) -> dict:
    return {"format": "ipa.process/v1", "name": name, "variables": variables or [],
            "start_state": "Main", "states": [{"name": "Main", "actions": actions}]}


def run_process(client, capture, document: dict, inputs: dict | None = None) -> dict:
    """Import and publish ``document``, launch it over the API, run what its commits hand out,
    and return the instance as the API shows it afterwards."""
    from processes.services.definitions import import_definition

    import_definition(document, publish=True)
    with capture(execute=True):
        instance = launch(client, document["name"], inputs or {})
    return client.get(f"/api/instances/{instance['id']}/").json()
