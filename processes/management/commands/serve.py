"""Run the portal: Daphne for HTTP and WebSockets, and on the embedded default the engine too."""

import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from processes.services.demo import DEMO_LOGINS, load_demo_into_empty_database
from processes.storage import log_storage_messages


def run_embedded_engine(interval: float) -> None:
    """The embedded engine: the sweep (timers, undelivered events, queued items) in a thread.

    It is an engine node too: it registers and beats from this loop, so a hung sweep shows.
    """
    from django.db import close_old_connections

    from processes.services import nodes, runtime

    heartbeat = nodes.Heartbeat()
    while True:
        try:
            heartbeat.beat_if_due()
            runtime.sweep()
        except Exception as exc:  # never let the engine thread die
            print(f"engine sweep failed: {exc}", flush=True)
        finally:
            close_old_connections()
        time.sleep(interval)


class Command(BaseCommand):
    help = "Run the portal (migrates, loads the demo into an empty database unless --no-demo, prints the URL)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo users and processes")

    def handle(self, *args, **options):
        refused = [m for m in log_storage_messages() if m.number in (41043, 41045)]  # 41046: migrated next
        if refused:
            raise CommandError(str(refused[0]))
        call_command("migrate", interactive=False, verbosity=0)
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        if not options["no_demo"]:
            for line in load_demo_into_empty_database():
                self.stdout.write(f"  demo {line}")
        host, port = options["host"], options["port"]
        if settings.EMBEDDED:
            threading.Thread(target=run_embedded_engine, args=(settings.ENGINE_SWEEP_SECONDS,),
                             daemon=True, name="embedded-engine").start()
            mode = "embedded default (SQLite, in-process engine and channel layer)"
        else:
            mode = "production (PostgreSQL/Redis; start engine nodes with: celery -A ipa_portal worker -B)"
        self.stdout.write(self.style.SUCCESS(f"\nIPA Portal on http://{host}:{port}/  [{mode}]"))
        self.stdout.write(f"  API documentation: http://{host}:{port}/api/docs/")
        if not options["no_demo"]:
            self.stdout.write("  Demo logins (user / password):")
            for username, password, what in DEMO_LOGINS:
                self.stdout.write(f"    {username:6} / {password:11}  {what}")
        self.stdout.flush()
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(["-b", host, "-p", str(port), "--proxy-headers", "ipa_portal.asgi:application"])
