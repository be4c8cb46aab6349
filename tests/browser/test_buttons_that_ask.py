"""A button that asks first and needs a comment, in Chromium; forms answer by redirect (post/redirect/get)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.browser_case import BrowserTestCase


class ButtonsThatAskTests(BrowserTestCase):
    def open_approval(self):
        """dave's 250.00 expense; bob opens his Approve Expense item and picks it up."""
        dave = self.log_in("dave")
        self.launch(dave, "Expense Approval", {"Employee": "dave", "Amount": "250"})
        expect(dave.get_by_role("heading", name=re.compile(r"Expense Approval #\d+"))).to_be_visible()
        bob = self.log_in("bob")
        bob.get_by_role("link", name="Approve Expense").click()
        bob.get_by_role("button", name="Pick up").click()
        expect(bob.get_by_role("status").filter(has_text="Picked up")).to_be_visible()
        return bob

    def test_reject_needs_a_comment_then_asks_before_it_acts(self):
        bob = self.open_approval()
        item_url = bob.url
        expect(bob.get_by_text("Needed to Reject.")).to_be_visible()
        bob.get_by_role("button", name="Reject").click()  # no comment: the server says so, nothing is asked
        expect(bob.locator(".error-summary")).to_contain_text("Comment")
        assert bob.url == item_url  # the form's own address: a reload sends nothing again
        self.screenshot(bob, "buttons-1-comment-needed")

        bob.get_by_label("Comment").fill("A private dinner")
        bob.get_by_role("button", name="Reject").click()
        dialog = bob.get_by_role("dialog")
        expect(dialog).to_contain_text("Reject this expense? The employee will not be paid.")
        self.screenshot(bob, "buttons-2-asks-first")
        dialog.get_by_role("button", name="No, go back").click()
        expect(dialog).to_be_hidden()
        expect(bob.get_by_role("heading", name="Approve Expense", level=1)).to_be_visible()  # nothing happened

        bob.get_by_role("button", name="Reject").click()
        bob.get_by_role("dialog").get_by_role("button", name="Yes, Reject").click()
        bob.wait_for_url("**/workitems/")
        expect(bob.get_by_role("status").filter(has_text="Approve Expense completed: Reject.")).to_be_visible()

    def test_without_the_dialog_the_page_asks_in_a_step_of_its_own(self):
        bob = self.open_approval()
        bob.evaluate("() => document.getElementById('confirm-dialog').remove()")  # as without JavaScript
        bob.get_by_label("Comment").fill("A private dinner")
        bob.get_by_role("button", name="Reject").click()
        step = bob.locator("#confirm-step")
        expect(step).to_contain_text("Reject this expense?")
        expect(bob.get_by_label("Comment")).to_have_value("A private dinner")  # what was typed is kept
        step.get_by_role("button", name="Yes, Reject").click()
        expect(bob.get_by_role("status").filter(has_text="Approve Expense completed: Reject.")).to_be_visible()
