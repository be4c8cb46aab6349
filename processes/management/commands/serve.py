"""Run the portal: Daphne for HTTP and WebSockets, and on the embedded default the engine too."""

import signal
import socket
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from processes.services.demo import DEMO_LOGINS, load_demo_into_empty_database
from processes.storage import check_storage, log_storage_messages


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
        parser.add_argument("--workers", type=int, default=1,
                            help="Daphne processes sharing the port, one per core (production stack only; default 1)")

    def handle(self, *args, **options):
        workers = options["workers"]
        if workers < 1:
            raise CommandError("--workers must be 1 or more.")
        if workers > 1 and settings.EMBEDDED:
            raise CommandError("--workers needs the production stack (DATABASE_URL and REDIS_URL): the embedded "
                               "default keeps its engine and channel layer in one process.")
        # 41046 (migrations missing) is what serve fixes itself: the messages are logged once migrated,
        # so a first start does not greet the user with an error that no longer holds.
        refused = [m for m in check_storage() if m.number in (41043, 41045)]
        if refused:
            raise CommandError(str(refused[0]))
        call_command("migrate", interactive=False, verbosity=0)
        log_storage_messages()
        if not settings.DEBUG and not settings.WHITENOISE_USE_FINDERS:  # finders serve the files in place
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
        if workers > 1:
            self.stdout.write(f"  {workers} Daphne processes share the port")
        self.stdout.flush()
        if workers > 1:
            serve_with_workers(host, port, workers)
            return
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(["-b", host, "-p", str(port), *DAPHNE_OPTIONS, APPLICATION])


APPLICATION = "ipa_portal.asgi:application"
DAPHNE_OPTIONS = ["--proxy-headers"]
DAPHNE = "from daphne.cli import CommandLineInterface; CommandLineInterface.entrypoint()"


def open_listeners(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on one port (``SO_REUSEPORT``): the kernel spreads new connections
    over them by address, whichever process is awake first. (On one shared socket, the first process
    awake took a whole burst of keep-alive clients and served them alone on one core.)"""
    with socket.create_server((host, port)):  # refuses a port in use, even by another reuse-port server
        pass
    listeners = [socket.create_server((host, port), backlog=1024, reuse_port=True) for _ in range(count)]
    for listener in listeners:
        listener.set_inheritable(True)
    return listeners


def start_workers(listeners: list[socket.socket], application: str) -> list[subprocess.Popen]:
    """One Daphne process per listening socket (``daphne --fd``)."""
    return [subprocess.Popen([sys.executable, "-c", DAPHNE, "--fd", str(listener.fileno()), *DAPHNE_OPTIONS,
                              application], pass_fds=(listener.fileno(),))
            for listener in listeners]


def serve_with_workers(host: str, port: int, workers: int) -> None:
    """Serve from ``workers`` Daphne processes, so HTTP uses every core. Stops them all on SIGINT or
    SIGTERM, and stops when one of them exits."""
    listeners = open_listeners(host, port, workers)
    children = start_workers(listeners, APPLICATION)

    def stop(signum: int, frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop(signal.SIGTERM, None)
        for child in children:
            child.wait()
        for listener in listeners:
            listener.close()
        sys.stdout.flush()
