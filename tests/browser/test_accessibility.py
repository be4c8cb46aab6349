"""Accessibility in Chromium: axe-core finds no serious or critical violation on any page, and an
agent does a day's work with the keyboard alone; no request of a page load fails (favicon included)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.browser_case import AXE, BrowserTestCase

MAX_TABS = 80


def tab_to(page, selector: str) -> None:
    """Press Tab until the focus is on ``selector`` (as a person with a keyboard would)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


class AccessibilityTests(BrowserTestCase):
    def test_the_check_catches_a_violation(self):
        if not AXE.exists():
            pytest.skip("axe-core is not installed: npm ci --prefix tests/browser/axe")
        page = self.log_in("bob")
        page.evaluate("() => document.querySelector('main').append(document.createElement('button'))")
        with pytest.raises(AssertionError, match="button-name"):  # a button without a name is critical
            self.check_accessibility(page)

    def test_every_page_passes_axe_and_loads_without_a_failed_request(self):
        failed: list[str] = []
        anonymous = self.browser.new_context(base_url=self.live_server_url)
        self.contexts.append(anonymous)
        login = anonymous.new_page()
        login.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        login.goto("/accounts/login/")
        self.check_accessibility(login)

        carol = self.log_in("carol")
        carol.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.launch(carol, "Expense Approval", {"Employee": "carol", "Amount": "80"})
        carol.wait_for_url(re.compile(r".*/workitems/\d+/$"))  # her own Pay Out item
        self.check_accessibility(carol)
        for path in ("/workitems/", "/workitems/queues/", "/processes/", "/processes/Refund%20Request/launch",
                     "/instances/", "/workitems/away/"):
            carol.goto(path)
            self.check_accessibility(carol)
        carol.goto("/instances/")
        carol.locator("#results").get_by_role("link", name=re.compile(r"#\d+")).first.click()
        self.check_accessibility(carol)
        assert failed == [], failed

    def test_an_agent_picks_up_and_completes_an_item_with_the_keyboard_alone(self):
        context = self.browser.new_context(base_url=self.live_server_url)
        self.contexts.append(context)
        bob = context.new_page()
        bob.goto("/accounts/login/")
        tab_to(bob, "#id_username")
        bob.keyboard.type("bob")
        bob.keyboard.press("Tab")
        bob.keyboard.type("bob-pass")
        bob.keyboard.press("Enter")
        bob.wait_for_url("**/workitems/")
        self.wait_until_live(bob)

        dave = self.log_in("dave")
        self.launch(dave, "Expense Approval", {"Employee": "dave", "Amount": "250"})
        expect(bob.locator("#work-item-rows tr", has_text="Approve Expense")).to_be_visible()

        tab_to(bob, "#work-item-rows a")
        bob.keyboard.press("Enter")
        expect(bob.get_by_role("heading", name="Approve Expense", level=1)).to_be_visible()
        tab_to(bob, "#pick-up")
        bob.keyboard.press("Enter")
        expect(bob.get_by_role("status").filter(has_text="Picked up")).to_be_visible()
        tab_to(bob, "#f-comment")
        bob.keyboard.type("Team dinner with the customer")
        tab_to(bob, "button[name=button][value=approve]")
        self.screenshot(bob, "keyboard-focus-on-approve")
        bob.keyboard.press("Enter")
        bob.wait_for_url("**/workitems/")
        expect(bob.get_by_role("status").filter(has_text="Approve Expense completed: Approve.")).to_be_visible()

    def test_a_confirmation_is_answered_with_the_keyboard(self):
        dave = self.log_in("dave")
        self.launch(dave, "Expense Approval", {"Employee": "dave", "Amount": "250"})
        bob = self.log_in("bob")
        bob.get_by_role("link", name="Approve Expense").click()
        bob.get_by_role("button", name="Pick up").click()
        tab_to(bob, "#f-comment")
        bob.keyboard.type("Not a business expense")
        tab_to(bob, "button[name=button][value=reject]")
        bob.keyboard.press("Enter")
        dialog = bob.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_role("button", name="Yes, Reject")).to_be_focused()  # the dialog takes the focus
        self.check_accessibility(bob)
        bob.keyboard.press("Escape")  # no
        expect(dialog).to_be_hidden()
        expect(bob.locator("button[name=button][value=reject]")).to_be_focused()  # back where it was
        bob.keyboard.press("Enter")
        bob.keyboard.press("Enter")  # yes
        bob.wait_for_url("**/workitems/")
        expect(bob.get_by_role("status").filter(has_text="completed: Reject")).to_be_visible()
