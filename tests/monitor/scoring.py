"""A scoring service on loopback that a process calls with ``http_json``, and the process.

``Credit Check`` sends a work item to Managers; its ``approve`` exit moves to ``Score``,
which asks the service for the customer's score and ends. While the service is down
(``ScoringService.up`` false) it answers ``503 Service Unavailable``, so the instance falls
into error; once it is up again a retry of the failed call completes the instance. The server
must allow loopback addresses (``IPA_HTTP_ALLOW_PRIVATE_ADDRESSES``).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScoringService:
    """``with ScoringService() as service``: listens on a free loopback port until the block ends."""

    def __init__(self) -> None:
        self.up = False
        self.calls = 0
        service = self

        class Answer(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                service.calls += 1
                status, body = (200, {"score": 720}) if service.up else (503, {"detail": "scoring is down"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/score"

    def __enter__(self) -> ScoringService:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def credit_check(url: str) -> dict[str, Any]:
    """The Credit Check definition, calling the scoring service at ``url``."""
    return {
        "format": "ipa.process/v1",
        "name": "Credit Check",
        "variables": [
            {"name": "customer", "type": "string", "input": True, "required": True},
            {"name": "score", "type": "integer"},
        ],
        "start_state": "Review",
        "states": [
            {"name": "Review", "actions": [
                {"action": "send_work_item", "work_item": "Review Credit", "to": {"workgroup": "Managers"},
                 "exits": {"approve": [{"action": "change_state", "state": "Score"}],
                           "reject": [{"action": "end_process"}]}},
            ]},
            {"name": "Score", "actions": [
                {"action": "run_handler", "handler": "http_json", "inputs": {"url": json.dumps(url)},
                 "outputs": {"score": "result.body.score"}, "timeout": 5},
                {"action": "end_process"},
            ]},
        ],
        "work_items": [
            {"name": "Review Credit", "description": "Review {{ customer }}",
             "buttons": [{"id": "approve", "label": "Approve"}, {"id": "reject", "label": "Reject"}]},
        ],
    }
