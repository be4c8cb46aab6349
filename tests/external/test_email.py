"""send_email through Django's SMTP backend to a real SMTP server (aiosmtpd) on loopback."""

import socket
import threading
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from processes.external.email import send_email
from processes.external.errors import ExternalActionError
from tests.conftest import complete, launch, my_items
from tests.external.support import definition, run_process, runs_here  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_here")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and refuses ``nobody@...``."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [message_from_bytes(envelope.original_content, policy=policy.default) for envelope in self.envelopes]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free loopback port, and Django's SMTP backend pointed at it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.DEFAULT_FROM_EMAIL = "portal@example.com"
    yield mailbox
    controller.stop()


def text(part) -> str:
    return part.get_content().replace("\r\n", "\n").strip()


WELCOME = definition("Welcome", [
    {"action": "send_email", "to": "recipients", "subject": "Welcome, {{ name }}",
     "body": "Dear {{ name }},\nyour account {{ account }} is open.",
     "html_body": "<p>Dear <b>{{ name }}</b>, your account {{ account }} is open.</p>",
     "on_error": [{"action": "assign", "variable": "failure", "value": "error"}]},
], [{"name": "recipients", "type": "json", "input": True}, {"name": "name", "type": "string", "input": True},
    {"name": "account", "type": "integer", "default": 4711}, {"name": "failure", "type": "json"}])


def test_the_message_arrives_with_its_templates_filled_to_every_recipient(smtp, api, directory,
                                                                          django_capture_on_commit_callbacks):
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, WELCOME,
                        {"recipients": ["ada@example.com", "bob@example.com"], "name": "Ada"})
    assert (shown["status"], shown["variables"]["failure"]) == ("completed", None)
    [envelope] = smtp.envelopes
    assert envelope.mail_from == "portal@example.com"
    assert envelope.rcpt_tos == ["ada@example.com", "bob@example.com"]
    [message] = smtp.messages()
    assert message["Subject"] == "Welcome, Ada"
    assert message["To"] == "ada@example.com, bob@example.com"
    assert message.get_content_type() == "multipart/alternative"
    assert text(message.get_body(("plain",))) == "Dear Ada,\nyour account 4711 is open."
    assert text(message.get_body(("html",))) == "<p>Dear <b>Ada</b>, your account 4711 is open.</p>"


def test_one_address_is_enough_and_without_html_the_message_is_plain_text(smtp, api, directory,
                                                                          django_capture_on_commit_callbacks):
    document = definition("Note", [{"action": "send_email", "to": "who",
                                    "subject": "Note", "body": "Hello {{ who }}"}],
                          [{"name": "who", "type": "string", "input": True}])
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document, {"who": "carol@example.com"})
    assert shown["status"] == "completed"
    [message] = smtp.messages()
    assert smtp.envelopes[0].rcpt_tos == ["carol@example.com"]
    assert message.get_content_type() == "text/plain" and text(message) == "Hello carol@example.com"


def test_a_refused_connection_goes_to_on_error(api, directory, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, WELCOME,
                        {"recipients": ["ada@example.com"], "name": "Ada"})
    assert shown["status"] == "completed"
    failure = shown["variables"]["failure"]
    assert failure["type"] == "connection_failed"
    assert failure["message"].startswith(f"cannot send through the mail server 127.0.0.1:{settings.EMAIL_PORT}: ")


def test_without_on_error_a_failed_email_stops_the_instance_in_error(api, directory, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    document = definition("Bare", [{"action": "send_email", "to": "'a@example.com'", "subject": "s", "body": "b"}])
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document)
    assert shown["status"] == "error" and "send_email failed: cannot send through the mail server" in shown["error"]


def test_recipients_the_server_refuses_are_named(smtp, settings):
    with pytest.raises(ExternalActionError) as caught:
        send_email({"to": ["nobody@example.com"], "subject": "s", "body": "b"})
    assert caught.value.as_error() == {
        "type": "recipients_refused",
        "message": f"the mail server 127.0.0.1:{settings.EMAIL_PORT} refused nobody@example.com"}


def test_a_server_that_never_answers_times_out(settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never says hello
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", silent.getsockname()[1], 1
    started = time.monotonic()
    try:
        with pytest.raises(ExternalActionError) as caught:
            send_email({"to": ["a@example.com"], "subject": "s", "body": "b"})
    finally:
        silent.close()
    assert caught.value.type == "timeout" and time.monotonic() - started < 4


def test_a_message_needs_an_address():
    with pytest.raises(ExternalActionError) as caught:
        send_email({"to": [" "], "subject": "s", "body": "b"})
    assert caught.value.type == "bad_input"


def test_many_messages_from_several_threads_all_arrive(smtp):
    threads = [threading.Thread(target=send_email, args=({"to": [f"u{i}@example.com"], "subject": f"m{i}",
                                                           "body": "b"},)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(message["Subject"] for message in smtp.messages()) == [f"m{i}" for i in range(5)]


# --------------------------------------------------------------------- the demo process


def test_the_onboarding_demo_emails_the_letter_its_handler_wrote(smtp, demo, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = launch(api("dave"), "Customer Onboarding",
                         {"customer_name": "Ada", "email": "ada@example.com", "plan": "premium"})
    shown = api("admin").get(f"/api/instances/{started['id']}/").json()
    assert (shown["status"], shown["variables"]["emailed"], shown["variables"]["problem"]) == ("completed", True, None)
    [message] = smtp.messages()
    assert message["Subject"] == "Welcome, Ada" and smtp.envelopes[0].rcpt_tos == ["ada@example.com"]
    assert text(message).startswith("Dear Ada,\n\nwelcome aboard! Your premium plan is active from today.")


def test_without_a_mail_server_the_onboarding_demo_asks_the_launcher_to_send_the_letter(
        demo, api, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    dave = api("dave")
    with django_capture_on_commit_callbacks(execute=True):
        started = launch(dave, "Customer Onboarding", {"customer_name": "Ada", "email": "ada@example.com"})
    [item] = [i for i in my_items(dave) if i["instance"] == started["id"]]
    assert item["name"] == "Send Welcome Letter"
    assert item["description"].startswith("The welcome email to Ada could not be sent (connection_failed: ")
    complete(dave, item["id"], "sent")
    shown = api("admin").get(f"/api/instances/{started['id']}/").json()
    assert (shown["status"], shown["variables"]["emailed"]) == ("completed", False)
