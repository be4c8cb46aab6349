"""run_handler: the registry, the check at import, timeouts, failures and the two shipped handlers
(http_json against a real HTTP server on loopback, render_template)."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from administration.models import ServerParameter
from administration.parameters import forget_parameters
from processes.engine.validation import DefinitionInvalid
from processes.external import handlers
from processes.external.errors import ExternalActionError
from processes.services.definitions import import_definition
from tests.external.support import definition, handlers_registered, launch, run_process, runs_here  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("handlers_registered", "runs_here")]


def run(handler: str, timeout=None, **inputs):
    return handlers.run_handler({"handler": handler, "inputs": inputs, "timeout": timeout})


def failure(handler: str, timeout=None, **inputs) -> ExternalActionError:
    with pytest.raises(ExternalActionError) as caught:
        run(handler, timeout, **inputs)
    return caught.value


# ---------------------------------------------------------------------------- registry


def test_handlers_come_from_the_setting_with_their_names_inputs_and_outputs(settings):
    names = [h["name"] for h in handlers.describe_handlers()]
    assert {"http_json", "render_template", "customer", "sleepy"} <= set(names)
    customer = next(h for h in handlers.describe_handlers() if h["name"] == "customer")
    assert customer["inputs"] == {"id": "string"} and customer["outputs"] == {"customer": "json", "items": "list"}
    settings.IPA_HANDLERS = ["processes.external.handlers.render_template"]
    assert list(handlers.registered_handlers()) == ["render_template"]  # read again when the setting changes


def test_a_callable_without_the_decorator_is_a_configuration_error(settings):
    settings.IPA_HANDLERS = ["tests.external.sample_handlers.broken_runner"]
    with pytest.raises(TypeError, match="not decorated with @handler"):
        handlers.registered_handlers()


def test_an_unknown_handler_is_refused_at_import_with_its_path():
    document = definition("Lookup", [{"action": "decision", "branches": [{"when": "true", "actions": [
        {"action": "run_handler", "handler": "custmer", "inputs": {"id": "'1'"}}]}]}])
    with pytest.raises(DefinitionInvalid) as caught:
        import_definition(document)
    [error] = caught.value.errors
    assert error.path == "states[0].actions[0].branches[0].actions[0].handler"
    assert error.message.startswith('unknown handler "custmer" (did you mean "customer"?); registered handlers are ')
    assert "http_json" in error.message and "render_template" in error.message


def test_an_input_the_handler_does_not_take_is_refused_at_import(api, directory):
    document = definition("Lookup", [{"action": "run_handler", "handler": "customer", "inputs": {"ident": "'1'"}}])
    response = api("admin").post("/api/definitions/", document, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"path": "states[0].actions[0].inputs.ident",
                                          "message": 'handler "customer" has no input "ident" (its inputs are id)'}]


def test_a_handler_unknown_when_it_runs_fails_the_action():
    assert failure("gone").type == "unknown_handler"


# ---------------------------------------------------------------------------- timeouts


def test_a_handler_slower_than_the_action_s_timeout_is_abandoned_at_the_timeout():
    started = time.monotonic()
    error = failure("sleepy", timeout=0.5, seconds="5")
    assert time.monotonic() - started < 2
    assert (error.type, error.message) == ("timeout", "handler sleepy did not answer within 0.5 s")


def test_without_a_timeout_the_action_waits_pas_handler_response_timeout(api, directory,
                                                                         django_capture_on_commit_callbacks):
    ServerParameter.objects.create(name="PAS_HandlerResponseTimeout", value="1")
    forget_parameters()
    document = definition("Nap", [
        {"action": "run_handler", "handler": "sleepy", "inputs": {"seconds": "5"},
         "on_error": [{"action": "assign", "variable": "failure", "value": "error['message']"}]},
        {"action": "run_handler", "handler": "sleepy", "inputs": {"seconds": "1.5"}, "timeout": 0,
         "outputs": {"slept": "result.slept"}},
    ], [{"name": "failure", "type": "string"}, {"name": "slept", "type": "decimal"}])
    started = time.monotonic()
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document)
    assert shown["status"] == "completed"
    assert shown["variables"]["failure"] == "handler sleepy did not answer within 1 s"
    assert float(shown["variables"]["slept"]) >= 1.5  # timeout 0: waited as long as it took
    assert time.monotonic() - started < 6


# ---------------------------------------------------------------------------- failures


def test_a_handler_that_raises_fails_with_its_exception_type_and_never_its_text(caplog):
    error = failure("explode", secret="4711")
    assert error.type == "handler_error"
    assert error.message == "handler explode raised RuntimeError; see the server log"
    assert "could not parse 4711" in caplog.text  # the server log has the whole story


def test_a_handler_that_raises_external_action_error_chooses_the_error():
    assert failure("refuse", reason="late").as_error() == {
        "type": "credit_refused", "message": "the credit bureau refused: late"}


def test_inputs_the_handler_does_not_take_fail_as_bad_input():
    assert failure("customer", id="1", extra="x").type == "bad_input"


# ---------------------------------------------------------------------- http_json


class JsonApi(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        if self.path.startswith("/slow"):
            time.sleep(3)
        if self.path.startswith("/missing"):
            return self.answer(404, {"detail": "no such customer"})
        if self.path.startswith("/text"):
            return self.answer(200, "not json", raw=True)
        self.answer(200, {"customer": {"name": "Ada", "score": 0.75}, "path": self.path})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.answer(201, {"received": body, "token": self.headers.get("X-Token")})

    def answer(self, status, body, raw=False):
        data = body.encode() if raw else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if raw else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    """The peers here listen on loopback, which http_json refuses unless the installation allows it."""
    settings.IPA_HTTP_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture(scope="module")
def json_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), JsonApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_json_gets_and_posts_json(json_api):
    got = run("http_json", url=f"{json_api}/customers/7?full=1")
    assert got == {"status": 200, "body": {"customer": {"name": "Ada", "score": 0.75}, "path": "/customers/7?full=1"}}
    posted = run("http_json", url=f"{json_api}/orders", method="post", body={"items": [1, 2]},
                 headers={"X-Token": "t"})
    assert posted == {"status": 201, "body": {"received": {"items": [1, 2]}, "token": "t"}}


def test_http_json_in_a_process_fills_outputs_from_the_answer(json_api, api, directory,
                                                              django_capture_on_commit_callbacks):
    document = definition("Score", [{"action": "run_handler", "handler": "http_json",
                                     "inputs": {"url": "base + '/customers/' + id"},
                                     "outputs": {"name": "result.body.customer.name",
                                                 "score": "result.body.customer.score"}}],
                          [{"name": "base", "type": "string", "input": True},
                           {"name": "id", "type": "string", "input": True},
                           {"name": "name", "type": "string"}, {"name": "score", "type": "decimal"}])
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document, {"base": json_api, "id": "7"})
    assert (shown["status"], shown["variables"]["name"], shown["variables"]["score"]) == ("completed", "Ada", "0.75")


def test_http_json_failures_say_what_happened_without_the_query(json_api):
    assert run_failure("http_json", url=f"{json_api}/missing?secret=1").as_error() == {
        "type": "http_error", "message": f"{json_api}/missing answered HTTP 404 Not Found"}
    assert run_failure("http_json", url=f"{json_api}/text").type == "bad_response"
    assert run_failure("http_json", url=f"{json_api}/slow", timeout="0.5").type == "timeout"
    assert run_failure("http_json", url="ftp://example.com/x").type == "bad_input"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert run_failure("http_json", url=f"http://127.0.0.1:{closed}/x").type == "connection_failed"


def run_failure(handler: str, **inputs) -> ExternalActionError:
    """The error of a handler given ``inputs`` (its own ``timeout`` among them), within 10 s."""
    with pytest.raises(ExternalActionError) as caught:
        handlers.run_handler({"handler": handler, "inputs": inputs, "timeout": 10})
    return caught.value


# ------------------------------------------------------------------ render_template


def test_render_template_fills_text_and_escapes_only_for_html():
    values = {"name": "Ada <Lovelace>", "items": ["book", "pen"]}
    text = run("render_template", template="Dear {{ name }}: {{ items|join:', ' }}", values=values)
    assert text == {"text": "Dear Ada <Lovelace>: book, pen"}
    html = run("render_template", template="<p>{{ name }}</p>", values=values, html=True)
    assert html == {"text": "<p>Ada &lt;Lovelace&gt;</p>"}
    assert failure("render_template", template="{% if %}").type == "bad_input"
