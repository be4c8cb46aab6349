"""Out of office in Chromium: bob names alice his substitute; a note sent to bob reaches alice."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.browser_case import BrowserTestCase

NOTE = {
    "format": "ipa.process/v1", "name": "Customer Note", "category": "Customer care",
    "description": "Pass a customer's message on to a colleague",
    "variables": [{"name": "colleague", "type": "user", "input": True, "required": True},
                  {"name": "message", "type": "string", "input": True, "required": True}],
    "start_state": "Read", "states": [{"name": "Read", "actions": [
        {"action": "send_work_item", "work_item": "Read the Note", "to": {"user": "{{ colleague }}"},
         "exits": {"done": []}}]}],
    "work_items": [{"name": "Read the Note", "description": "{{ message }}", "buttons": [{"id": "done"}]}],
}


class OutOfOfficeTests(BrowserTestCase):
    def test_a_substitute_receives_the_item_and_the_history_says_for_whom(self):
        from processes.services.definitions import import_definition

        import_definition(NOTE, publish=True)
        bob = self.log_in("bob")
        bob.get_by_role("link", name="Out of office").click()
        bob.get_by_label("Substitute", exact=True).fill("nobody")
        bob.get_by_label("Until").fill("2099-12-31T17:00")
        bob.get_by_role("button", name="Set substitute").click()
        expect(bob.locator(".error-summary")).to_contain_text("there is no user")
        expect(bob.get_by_label("Substitute", exact=True)).to_have_value("nobody")  # kept across the redirect
        bob.get_by_label("Substitute", exact=True).fill("alice")
        bob.get_by_role("button", name="Set substitute").click()
        expect(bob.get_by_role("status").filter(has_text="alice now receives")).to_be_visible()
        expect(bob.locator("#absences")).to_contain_text("Alice")
        self.screenshot(bob, "out-of-office")

        alice = self.log_in("alice")
        self.wait_until_live(alice)
        carol = self.log_in("carol")
        self.launch(carol, "Customer Note", {"Colleague": "bob", "Message": "Please call Mrs Ng back"})
        expect(carol.get_by_role("heading", name=re.compile(r"Customer Note #\d+"))).to_be_visible()
        history = carol.locator(".history")
        expect(history).to_contain_text("Sent Read the Note to alice, for bob, who is away")
        self.screenshot(carol, "out-of-office-history")

        row = alice.locator("#work-item-rows tr", has_text="Read the Note")
        expect(row).to_contain_text("Please call Mrs Ng back")  # live, on the substitute's list
