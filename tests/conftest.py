"""Fixtures shared by the Django-side tests: the demo directory, processes and API clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

DEMO = Path(__file__).resolve().parent.parent / "demo"


@pytest.fixture(autouse=True)
def fast_passwords_and_fresh_caches(settings):
    """Cheap password hashing; and compiled definitions forgotten, since each test's rolled-back
    database hands out the same definition ids again (a real database never does)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WORKITEMS_OPEN_SOCKETS_MAX_AGE = None  # one process holds every socket of a test
    from administration.parameters import forget_parameters
    from processes.services.definitions import forget_compiled_processes
    from processes.services.nodes import forget_nodes
    from workitems.delivery import forget_queue_messages
    from workitems.sockets import forget_open_sockets

    forget_compiled_processes()
    forget_parameters()
    forget_nodes()
    forget_open_sockets()
    forget_queue_messages()


@pytest.fixture
def directory(db):
    """The demo directory: admin, alice, bob, carol, dave, sam (see demo/directory.json)."""
    from administration.directory import import_directory

    import_directory(json.loads((DEMO / "directory.json").read_text()))


@pytest.fixture
def agents_available(directory):
    """Every demo user Available, as after logging in: the ACD offers workgroup items only to them."""
    from administration.models import User

    User.objects.update(presence="available", presence_since=timezone.now(), idle_since=timezone.now())


@pytest.fixture
def demo(directory, agents_available):
    """The demo directory (its agents Available) and the demo processes, published."""
    from processes.services.demo import load_demo

    load_demo()


@pytest.fixture
def api(db) -> Callable[[str | None], APIClient]:
    """``api("alice")``: a client that authenticates with alice's API token (None: anonymous)."""

    def client_for(username: str | None) -> APIClient:
        client = APIClient()
        if username:
            from rest_framework.authtoken.models import Token

            from administration.models import User

            token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


@pytest.fixture
def live_engine_node(db):
    """An engine node that beats (this process's storage id), as under ``serve``: sockets say nothing
    about the engine (``engine`` is sent at connect only while no node is live)."""
    from processes.services import nodes

    return nodes.register_node()


@pytest.fixture
def engine_runs(db) -> Callable[[], int]:
    """Runs the engine's sweep until nothing is due, as a worker would."""
    from processes.services import runtime

    return runtime.run_until_quiet


@pytest.fixture
def time_passes(db) -> Callable[[timedelta], None]:
    """Makes every timer due ``delta`` earlier, as if that much time had passed."""

    def advance(delta: timedelta) -> None:
        from processes.models import PendingEvent

        for event in PendingEvent.objects.filter(kind="timer"):
            event.due_at = min(event.due_at - delta, timezone.now())
            event.save(update_fields=["due_at"])

    return advance


def launch(client: APIClient, process: str, inputs: dict, **extra) -> dict:
    response = client.post(f"/api/processes/{process}/launch", {"inputs": inputs, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def my_items(client: APIClient) -> list[dict]:
    response = client.get("/api/workitems/")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def complete(client: APIClient, item_id: int, button: str, values: dict | None = None, *,
             confirmed: bool = False) -> dict:
    """Pick the item up (when offered) and complete it with ``button`` (``confirmed``: its question answered)."""
    form = client.get(f"/api/workitems/{item_id}/").json()
    if form["status"] in ("offered", "queued"):
        assert client.post(f"/api/workitems/{item_id}/pickup").status_code == 200
    response = client.post(f"/api/workitems/{item_id}/complete", {"button": button, "values": values or {},
                                                                    "confirmed": confirmed},
                           format="json")
    assert response.status_code == 200, response.json()
    return response.json()
