"""Django's ASGI handler with the middleware run in one thread hop per request.

Under ASGI, Django runs every middleware that can be async in async mode. Our stack holds
one that cannot (WhiteNoise), and the others are ``MiddlewareMixin`` classes whose async mode
runs ``process_request`` and ``process_response`` each in a ``sync_to_async`` hop of their
own: about twenty hops between the event loop and a thread for one API request, with a
sync view at the end. The views and the ORM are synchronous anyway, so the whole chain runs
synchronously here, in the request's one thread, as under WSGI.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncMiddlewareASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
