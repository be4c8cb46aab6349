"""Django's ASGI handler, with the middleware run in one thread hop per request, in a fixed set of threads.

Under ASGI, Django runs every middleware that can be async in async mode. Our stack holds
one that cannot (WhiteNoise), and the others are ``MiddlewareMixin`` classes whose async mode
runs ``process_request`` and ``process_response`` each in a ``sync_to_async`` hop of their
own: about twenty hops between the event loop and a thread for one API request, with a
sync view at the end. The views and the ORM are synchronous anyway, so the whole chain runs
synchronously here, in the request's one thread, as under WSGI.

Django gives every request a thread of its own (a fresh ``ThreadSensitiveContext``), so a
database connection could not outlive its request: each request paid for a new PostgreSQL
connection, and lost the statements prepared on the last one. Here a request borrows one of
``HTTP_THREADS`` long-lived threads for all of its synchronous work (the ``request_started``
receivers, the view, a streamed body, ``request_finished``), as a threaded WSGI server would
run it, and ``DB_CONN_MAX_AGE`` keeps that thread's connection between requests. A request that
finds every thread busy waits for one, in arrival order.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponseBase


class SyncMiddlewareASGIHandler(ASGIHandler):
    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self.threads = threads or settings.HTTP_THREADS
        if self.threads < 1:
            raise ImproperlyConfigured(f"HTTP_THREADS must be 1 or more, not {self.threads}.")
        self._start_afresh()
        _handlers.add(self)

    def _start_afresh(self) -> None:
        # Taken from the end, given back to the end: under a light load the same few threads,
        # and their connections, serve every request.
        self._idle: list[ThreadPoolExecutor] = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{n}") for n in reversed(range(self.threads))
        ]
        self._waiting: deque[asyncio.Future[ThreadPoolExecutor]] = deque()

    def close_connections(self) -> None:
        """Close the database connections the idle threads keep (a test database is then free to drop)."""
        for thread in self._idle:
            thread.submit(connections.close_all).result()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        thread = await self._borrow()
        try:
            # Django enters a ThreadSensitiveContext of its own inside this one: the outer one,
            # given an executor, keeps every thread-sensitive call of the request on that thread.
            async with ThreadSensitiveContext(executor=thread):
                await super().__call__(scope, receive, send)
        finally:
            self._give_back(thread)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def _borrow(self) -> ThreadPoolExecutor:
        if self._idle:
            return self._idle.pop()
        waiter: asyncio.Future[ThreadPoolExecutor] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:  # the client went away while waiting
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())
            raise

    def _give_back(self, thread: ThreadPoolExecutor) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(thread)
                return
        self._idle.append(thread)


# A process forked from one whose handler had started its threads (a test server forked by the
# test run) has the executors but not their threads: its requests would wait for ever.
_handlers: weakref.WeakSet[SyncMiddlewareASGIHandler] = weakref.WeakSet()


def _start_afresh_after_fork() -> None:
    for handler in list(_handlers):
        handler._start_afresh()


os.register_at_fork(after_in_child=_start_afresh_after_fork)
