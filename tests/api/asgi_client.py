"""One HTTP request to an ASGI application, as Daphne would hand it over (the API tests' client)."""

from __future__ import annotations

import asyncio
from typing import Any


async def request(app: Any, method: str, path: str, headers: dict[str, str] | None = None,
                  body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """``path`` may carry a query string. The status, the headers (lower-case names) and the body."""
    path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode()),
                         *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    answer: dict = {"body": b""}
    answered = asyncio.Event()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        else:
            answer["body"] += message.get("body", b"")
            if not message.get("more_body"):
                answered.set()

    await app(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]
