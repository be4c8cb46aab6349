"""A live portal (Daphne, HTTP and WebSockets) and Debian's headless Chromium, driven by Playwright.

``ChannelsLiveServerTestCase`` forks Daphne when the class starts, so whatever the server
must know is settled before that: MD5 password hashing (the directory is imported with
it), empty caches of compiled definitions (ids come back after earlier tests' rollbacks)
and the test database's name.
The browser starts after the fork, and ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set only while it
runs: Playwright's sync API keeps an event loop in this thread, which Django would
otherwise take for async code. The server never sees that variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from channels.testing import ChannelsLiveServerTestCase
from django.db import connection
from django.test import override_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
# axe-core from the npm registry (MPL-2.0), installed by `npm ci --prefix tests/browser/axe` (.ci/run) and
# loaded from this file into each page that the tests take a screenshot of.
AXE = ROOT / "tests" / "browser" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
IBAN = "DE89370400440532013000"
CARD = "4111222233334444"

# A process whose work item has one control of every kind, a protected value and restrictions.
REFUND_REQUEST = {
    "format": "ipa.process/v1",
    "name": "Refund Request",
    "category": "Customer care",
    "description": "Refund a customer's order after a manager's review",
    "variables": [
        {"name": "customer", "type": "string", "input": True, "required": True, "max_length": 60},
        {"name": "amount", "type": "decimal", "input": True, "required": True, "min": 1, "max": 5000},
        {"name": "card_number", "type": "string", "input": True, "security": "Payroll"},
        {"name": "quantity", "type": "integer", "min": 1, "max": 10},
        {"name": "reason", "type": "string", "choices": ["damaged", "late", "other"]},
        {"name": "refund_date", "type": "date"},
        {"name": "callback_at", "type": "datetime"},
        {"name": "approver", "type": "user"},
        {"name": "urgent", "type": "boolean", "default": False},
        {"name": "notes", "type": "string"},
    ],
    "start_state": "Review",
    "states": [
        {"name": "Review", "actions": [
            {"action": "send_work_item", "work_item": "Review Refund", "to": {"workgroup": "Managers"},
             "exits": {"approve": [{"action": "end_process"}], "reject": [{"action": "end_process"}]}},
        ]},
    ],
    "work_items": [
        {"name": "Review Refund", "category": "Refunds",
         "description": "Refund {{ amount }} to {{ customer }}",
         "fields": [
             {"variable": "customer", "label": "Customer", "readonly": True},
             {"variable": "amount", "label": "Amount", "readonly": True},
             {"variable": "card_number", "label": "Card number", "readonly": True},
             {"variable": "quantity", "label": "Quantity", "required": True},
             {"variable": "reason", "label": "Reason", "required": True},
             {"variable": "refund_date", "label": "Refund on"},
             {"variable": "callback_at", "label": "Call back at"},
             {"variable": "approver", "label": "Second approver"},
             {"variable": "urgent", "label": "Urgent"},
             {"variable": "notes", "label": "Notes", "control": "textarea"},
         ],
         "buttons": [{"id": "approve", "label": "Approve refund"}, {"id": "reject", "label": "Reject"}]},
    ],
}


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium: apt-get install -y chromium")
# An engine node that stays live for the whole class (registered by setUp; a test that needs it dead makes
# its heartbeat old), and a web side that notices quickly whether one is (the pages' engine banner).
@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], ENGINE_NODE_TIMEOUT=3600,
                   ENGINE_WATCH_SECONDS=0.2)
class BrowserTestCase(ChannelsLiveServerTestCase):
    """The demo directory and processes (plus Refund Request) and a live engine node on a live server,
    and a browser."""

    screenshots = SCREENSHOTS  # where screenshot() keeps its pictures

    @classmethod
    def setUpClass(cls) -> None:
        from administration.parameters import forget_parameters
        from processes.services.definitions import forget_compiled_processes

        forget_compiled_processes()
        forget_parameters()
        # The forked server opens TEST["NAME"], else "test_" + NAME; NAME is already the test
        # database's here (PostgreSQL: "test_ipa" would become "test_test_ipa").
        database = connection.settings_dict
        test_settings = database.setdefault("TEST", {})
        configured = test_settings.get("NAME")
        test_settings["NAME"] = database["NAME"]
        try:
            super().setUpClass()  # forks Daphne
        finally:
            test_settings["NAME"] = configured
        from playwright.sync_api import sync_playwright

        cls._async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        cls._playwright = sync_playwright().start()
        cls.browser = cls._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            cls.browser.close()
            cls._playwright.stop()
        finally:
            if cls._async_unsafe is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = cls._async_unsafe
            super().tearDownClass()

    def setUp(self) -> None:
        from processes.services.definitions import import_definition
        from processes.services.demo import load_demo
        from processes.services.nodes import register_node

        load_demo()
        import_definition(REFUND_REQUEST, publish=True)
        register_node()
        self.contexts = []

    def tearDown(self) -> None:
        for context in self.contexts:
            context.close()

    # ------------------------------------------------------------------------ helpers

    def log_in(self, username: str, viewport: dict | None = None):
        """A new browser window (its own cookies) with ``username`` logged in, on My Work Items."""
        context = self.browser.new_context(viewport=viewport or LAPTOP, base_url=self.live_server_url)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(f"{username}-pass")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/workitems/")
        return page

    def wait_until_live(self, page) -> None:
        """The list page's socket delivered its snapshot."""
        page.locator("#live-state[data-state='live']").wait_for()

    def launch(self, page, process: str, inputs: dict[str, str]) -> None:
        """Open the process from the Processes page, fill in its launch form and press its button."""
        page.goto("/processes/")
        page.get_by_role("link", name=process, exact=True).click()
        form = page.locator("form.launch-form")
        for label, value in inputs.items():
            form.get_by_label(label).fill(value)
        form.get_by_role("button", name=f"Launch {process}").click()

    def screenshot(self, page, name: str) -> None:
        """A full-page screenshot, once the page has passed the accessibility check."""
        self.check_accessibility(page)
        self.screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)

    def check_accessibility(self, page) -> None:
        """axe-core on the page as it is now: a serious or critical violation fails the test."""
        if not AXE.exists():
            if os.environ.get("CI"):
                raise AssertionError(f"{AXE} is missing: npm ci --prefix tests/browser/axe")
            return  # a developer without npm: CI checks it
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated through the browser's automation channel, which the page's Content-Security-
            # Policy (no inline script) does not govern; a <script> tag of it would be refused.
            page.evaluate("source => { (0, eval)(source); }", AXE.read_text())
        found = page.evaluate("""async () => {
            const result = await window.axe.run(document, {resultTypes: ["violations"]});
            return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
              .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                            where: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}));
        }""")
        assert not found, f"accessibility violations on {page.url}: {json.dumps(found, indent=1)}"


def instance_json(page, instance_id: int) -> dict:
    """The instance as the page's user reads it over the API (same session)."""
    return json.loads(page.request.get(f"/api/instances/{instance_id}/").text())
