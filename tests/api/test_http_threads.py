"""The production server's HTTP threads (ipa_portal.asgi_handler): a request's synchronous work runs
wholly in one long-lived thread, which keeps its database connection for the next request, and
requests beyond the threads wait their turn instead of failing."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time

import pytest
from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.urls import path

from ipa_portal.asgi_handler import SyncMiddlewareASGIHandler
from tests.api.asgi_client import request

pytestmark = pytest.mark.django_db(transaction=True)  # requests run in the handler's threads


def thread_name(request: HttpRequest) -> HttpResponse:
    if "sleep" in request.GET:
        time.sleep(float(request.GET["sleep"]))
    return HttpResponse(threading.current_thread().name)


def database_read(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return HttpResponse(str(cursor.fetchone()[0]))


def backend_pid(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return HttpResponse(str(cursor.fetchone()[0]))


urlpatterns = [path("thread", thread_name), path("read", database_read), path("backend", backend_pid)]


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    made: list[SyncMiddlewareASGIHandler] = []

    def make(threads: int) -> SyncMiddlewareASGIHandler:
        made.append(SyncMiddlewareASGIHandler(threads=threads))
        return made[-1]

    yield make
    for each in made:
        each.close_connections()


async def get(app: SyncMiddlewareASGIHandler, path: str) -> tuple[int, str]:
    status, _, body = await request(app, "GET", path)
    return status, body.decode()


def test_a_request_runs_wholly_in_one_of_the_servers_threads(handler):
    app = handler(threads=2)
    seen: list[str] = []

    def note(**kwargs) -> None:
        seen.append(threading.current_thread().name)

    request_started.connect(note, dispatch_uid="test-note-started")
    request_finished.connect(note, dispatch_uid="test-note-finished")
    try:
        status, view_thread = asyncio.run(get(app, "/thread"))
    finally:
        request_started.disconnect(dispatch_uid="test-note-started")
        request_finished.disconnect(dispatch_uid="test-note-finished")
    assert status == 200
    assert view_thread.startswith("http-")
    assert seen == [view_thread, view_thread]  # where request_started and request_finished manage its connection


def test_requests_beyond_the_threads_wait_their_turn_and_are_all_answered(handler):
    app = handler(threads=2)

    async def six_at_once() -> list[tuple[int, str]]:
        return await asyncio.gather(*(get(app, "/thread?sleep=0.2") for _ in range(6)))

    began = time.monotonic()
    answers = asyncio.run(six_at_once())
    assert [status for status, _ in answers] == [200] * 6
    assert len({name for _, name in answers}) == 2
    assert time.monotonic() - began >= 0.6  # three turns of two


def test_a_thread_keeps_its_database_connection_from_one_request_to_the_next(handler):
    max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 60  # the production default (SQLite's is 0)
    app = handler(threads=1)
    created: list[str] = []

    def note(**kwargs) -> None:
        created.append(threading.current_thread().name)

    connection_created.connect(note, dispatch_uid="test-note-connection")
    try:
        answers = [asyncio.run(get(app, "/read")) for _ in range(5)]
    finally:
        connection_created.disconnect(dispatch_uid="test-note-connection")
        connection.settings_dict["CONN_MAX_AGE"] = max_age
    assert answers == [(200, "1")] * 5
    assert len(created) == 1 and created[0].startswith("http-")


def _answer_in_a_forked_child(app: SyncMiddlewareASGIHandler) -> None:
    status, name = asyncio.run(asyncio.wait_for(get(app, "/thread"), 10))
    os._exit(0 if status == 200 and name.startswith("http-") else 1)


def test_a_forked_server_answers_on_threads_of_its_own(handler):
    # ChannelsLiveServerTestCase forks its Daphne from the test run, after other tests used the handler.
    app = handler(threads=2)
    assert asyncio.run(get(app, "/thread"))[0] == 200  # the parent's threads are started
    child = multiprocessing.get_context("fork").Process(target=_answer_in_a_forked_child, args=(app,))
    child.start()
    child.join(20)
    assert child.exitcode == 0


def test_no_threads_at_all_is_refused_with_the_settings_name(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.HTTP_THREADS = -1
    with pytest.raises(ImproperlyConfigured, match="HTTP_THREADS must be 1 or more"):
        SyncMiddlewareASGIHandler()


def test_a_kept_connection_the_database_dropped_is_replaced_before_the_request_uses_it(handler):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: a server that ends its backends (a restart, an administrator)")
    assert connection.settings_dict["CONN_MAX_AGE"] > 0 and connection.settings_dict["CONN_HEALTH_CHECKS"]
    app = handler(threads=1)
    status, first = asyncio.run(get(app, "/backend"))
    assert status == 200 and asyncio.run(get(app, "/backend")) == (200, first)  # kept
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [int(first)])
    status, second = asyncio.run(get(app, "/backend"))
    assert status == 200 and second != first
