"""The monitor walkthrough on the production stack: Daphne and a Celery worker node, each a program of
its own, on PostgreSQL and Redis, driven in Chromium (the issue's "done when").

It runs only with ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL`` and ``IPA_MONITOR_WALKTHROUGH=1`` (it takes
over a minute, so the default run leaves it out); ``scripts/monitor_walkthrough`` sets them and keeps its
screenshots in docs/screenshots/monitor/. The steps are those the embedded
default runs in test_monitor.py (``MonitorWalkthrough``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import override_settings

from tests.browser.browser_case import ROOT, SCREENSHOTS, BrowserTestCase
from tests.browser.test_monitor import MonitorWalkthrough, wait_for
from tests.monitor.scoring import ScoringService, credit_check

NODE = "walkthrough-node"


def postgres_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ProductionStack:
    """In place of Channels' forked ``DaphneProcess``: ``daphne`` and ``celery worker -B`` started as
    programs on the test database and Redis, their output in ``logs``."""

    def __init__(self, host: str, get_application: Any, setup: Any = None) -> None:
        self.host = host
        self.ready = threading.Event()
        self.port = SimpleNamespace(value=free_port())
        self.logs = Path(tempfile.mkdtemp(prefix="ipa-monitor-walkthrough-"))
        self.programs: list[subprocess.Popen] = []

    def run(self, name: str, command: list[str], storage_id: str) -> None:
        env = {**os.environ, "DATABASE_URL": postgres_url(), "REDIS_URL": settings.REDIS_URL,
               "IPA_HTTP_ALLOW_PRIVATE_ADDRESSES": "true", "ENGINE_STORAGE_ID": storage_id,
               "ENGINE_SWEEP_SECONDS": "0.5"}
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the program
        self.programs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))

    def start(self) -> None:
        from processes.models import EngineNode

        self.run("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port.value),
                            "ipa_portal.asgi:application"], "walkthrough-web")
        self.run("celery", [sys.executable, "-m", "celery", "-A", "ipa_portal", "worker", "-B", "--pool=solo",
                            "--loglevel=WARNING", "-n", f"{NODE}@%h", "-s", str(self.logs / "beat")], NODE)
        try:
            wait_for(lambda: self.is_alive() and accepts(self.port.value), "Daphne to listen", 60)
            wait_for(lambda: self.is_alive() and EngineNode.objects.filter(storage_id=NODE).exists(),
                     "the Celery node to register", 60)
        except AssertionError:
            self.terminate()
            raise AssertionError(f"the stack did not start; logs in {self.logs}") from None
        self.ready.set()

    def is_alive(self) -> bool:
        return all(program.poll() is None for program in self.programs)

    def terminate(self) -> None:
        for program in self.programs:
            if program.poll() is None:
                os.killpg(program.pid, 15)
            program.wait(timeout=30)

    def join(self) -> None:
        pass


@pytest.mark.celery
@pytest.mark.skipif(settings.EMBEDDED or connection.vendor != "postgresql",
                    reason="the production stack: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
@pytest.mark.skipif(not os.environ.get("IPA_MONITOR_WALKTHROUGH"),
                    reason="about 80 s: scripts/monitor_walkthrough runs it (IPA_MONITOR_WALKTHROUGH=1)")
@override_settings(IPA_HTTP_ALLOW_PRIVATE_ADDRESSES=True)
class MonitorOnTheProductionStack(MonitorWalkthrough, BrowserTestCase):
    ProtocolServerProcess = ProductionStack
    host = "127.0.0.1"
    screenshots = Path(os.environ.get("IPA_WALKTHROUGH_SCREENSHOTS", SCREENSHOTS / "production"))

    @classmethod
    def setUpClass(cls) -> None:
        from ipa_portal.celery import app

        app.control.purge()
        super().setUpClass()
        cls.scoring = ScoringService().__enter__()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.scoring.__exit__()
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        from administration.models import User
        from processes.services.definitions import import_definition

        import_definition(credit_check(self.scoring.url), publish=True)
        self.scoring.up = False
        # The programs hash as a real server does: the tests' cheap MD5 hashes would not let anyone in.
        hasher = PBKDF2PasswordHasher()
        for name in ("sam", "alice", "bob"):
            User.objects.filter(username=name).update(password=hasher.encode(f"{name}-pass", hasher.salt()))

    def test_a_supervisor_watches_repairs_and_follows_the_queues_on_daphne_redis_and_a_celery_node(self):
        self.instance_launched_elsewhere_appears_falls_into_error_is_retried_and_completes()
        self.scoring.up = False
        self.bulk_retry_shows_its_progress_and_each_result()
        self.queue_view_updates_when_an_agent_picks_up_an_item()
        self.too_broad_filter_is_refused()  # last: it adds 101 instances
