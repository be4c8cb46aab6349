"""An agent's day in the browser: items arrive live, forms refuse bad values by the field, work completes."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.browser_case import CARD, PHONE, BrowserTestCase


class MyWorkItemsTests(BrowserTestCase):
    def launch_refund(self, by: str = "carol", customer: str = "Ada Lovelace"):
        """``by`` launches Refund Request in a window of their own (the Managers' item goes to bob)."""
        launcher = self.log_in(by)
        inputs = {"Customer": customer, "Amount": "120.50"}
        if by == "carol":  # on the Payroll specification: may give the protected card number
            inputs["Card number"] = CARD
        self.launch(launcher, "Refund Request", inputs)
        expect(launcher.get_by_role("heading", name=re.compile(r"Refund Request #\d+"))).to_be_visible()
        return launcher

    def test_an_item_launched_by_someone_else_arrives_is_corrected_completed_and_leaves(self):
        bob = self.log_in("bob")
        self.wait_until_live(bob)
        expect(bob.get_by_role("heading", name="Nothing to do right now")).to_be_visible()
        self.screenshot(bob, "my-work-items-empty")

        self.launch_refund()
        row = bob.locator("#work-item-rows tr", has_text="Review Refund")
        expect(row).to_be_visible()  # pushed over the socket: no reload
        expect(row).to_contain_text("Refund Request")
        expect(row).to_contain_text("Refunds")
        expect(row).to_contain_text("Refund 120.50 to Ada Lovelace")
        expect(row).to_contain_text("Offered")
        expect(bob.locator("#item-count")).to_have_text("1")
        self.screenshot(bob, "my-work-items")

        row.get_by_role("link", name="Review Refund").click()
        expect(bob.get_by_role("heading", name="Review Refund", level=1)).to_be_visible()
        expect(bob.get_by_label("Card number")).to_have_value("•••")  # bob is not on Payroll
        assert CARD not in bob.content()
        bob.get_by_role("button", name="Pick up").click()
        expect(bob.get_by_role("status").filter(has_text="Picked up")).to_be_visible()

        bob.get_by_label("Quantity").fill("0")
        bob.get_by_label("Reason").select_option("damaged")
        bob.get_by_label("Refund on").fill("2026-12-01")
        bob.get_by_label("Call back at").fill("2026-12-01T09:30")
        bob.get_by_label("Second approver").fill("alice")
        bob.get_by_label("Urgent").check()
        bob.get_by_label("Notes").fill("Box arrived crushed")
        bob.get_by_role("button", name="Approve refund").click()

        quantity = bob.get_by_label("Quantity")
        expect(quantity).to_have_value("0")  # what was typed is kept ...
        expect(quantity).to_have_attribute("aria-invalid", "true")
        error = bob.locator("#f-quantity-error")
        expect(error).to_have_text(re.compile("Quantity must be at least 1"))  # ... with the error by it
        expect(bob.locator(".field.has-error")).to_have_count(1)
        expect(bob.get_by_label("Notes")).to_have_value("Box arrived crushed")
        expect(bob.get_by_label("Urgent")).to_be_checked()
        expect(bob.get_by_label("Reason")).to_have_value("damaged")
        expect(bob.locator(".error-summary")).to_be_focused()
        self.screenshot(bob, "work-item-errors")

        quantity.fill("2")
        bob.get_by_role("button", name="Approve refund").click()
        bob.wait_for_url("**/workitems/")
        expect(bob.get_by_role("status").filter(has_text="Review Refund completed")).to_be_visible()
        expect(bob.locator("#work-item-rows tr")).to_have_count(0)
        expect(bob.get_by_role("heading", name="Nothing to do right now")).to_be_visible()

        from administration.models import User
        from processes.models import ProcessInstance
        from processes.services.instances import instance_variables

        instance = ProcessInstance.objects.get(process_name="Refund Request")
        assert instance.status == "completed"
        values = instance_variables(User.objects.get(username="admin"), instance)
        assert values["quantity"] == 2  # what bob entered, coerced to the variables' types
        assert values["urgent"] is True
        assert values["reason"] == "damaged"
        assert values["refund_date"] == "2026-12-01"
        assert values["callback_at"].startswith("2026-12-01T09:30")
        assert values["approver"] == "alice"
        assert values["notes"] == "Box arrived crushed"

    def test_a_supervisor_cancelling_the_instance_reaches_the_open_item_and_the_list(self):
        bob = self.log_in("bob")
        self.launch_refund()
        bob.locator("#work-item-rows").get_by_role("link", name="Review Refund").click()
        expect(bob.get_by_role("button", name="Pick up")).to_be_visible()
        item_page = bob
        list_page = bob.context.new_page()
        list_page.goto("/workitems/")
        self.wait_until_live(list_page)
        expect(list_page.locator("#work-item-rows tr")).to_have_count(1)

        sam = self.log_in("sam")
        sam.get_by_role("link", name="Search").click()
        sam.locator("#results").get_by_role("link", name=re.compile(r"#\d+")).first.click()
        sam.on("dialog", lambda dialog: dialog.accept())
        sam.get_by_role("button", name="Cancel instance").click()
        expect(sam.get_by_role("status").filter(has_text="Instance cancelled")).to_be_visible()

        expect(item_page.locator("#item-gone")).to_be_visible()
        expect(item_page.get_by_role("button", name="Pick up")).to_be_disabled()
        self.screenshot(item_page, "work-item-withdrawn")
        expect(list_page.locator("#work-item-rows tr")).to_have_count(0)
        expect(list_page.get_by_role("heading", name="Nothing to do right now")).to_be_visible()

    def test_a_transfer_moves_the_item_between_open_pages(self):
        bob = self.log_in("bob")
        alice = self.log_in("alice")
        self.wait_until_live(alice)
        self.launch_refund()
        bob.locator("#work-item-rows").get_by_role("link", name="Review Refund").click()
        bob.get_by_label("To a person").fill("nobody")
        bob.get_by_role("button", name="Transfer", exact=True).click()
        expect(bob.locator("#transfer-user-error")).to_contain_text("no user named 'nobody'")
        expect(bob.get_by_label("To a person")).to_have_value("nobody")

        bob.get_by_label("To a person").fill("alice")
        bob.get_by_role("button", name="Transfer", exact=True).click()
        expect(bob.get_by_role("status").filter(has_text="transferred to alice")).to_be_visible()
        expect(bob.locator("#work-item-rows tr")).to_have_count(0)
        expect(alice.locator("#work-item-rows tr", has_text="Review Refund")).to_be_visible()

    def test_acting_on_a_stale_page_says_why_it_could_not_be_done(self):
        bob = self.log_in("bob")
        self.launch_refund()
        bob.locator("#work-item-rows").get_by_role("link", name="Review Refund").click()
        stale = bob.context.new_page()
        stale.goto(bob.url)
        bob.get_by_role("button", name="Pick up").click()
        expect(bob.locator(".item-head .status")).to_have_text("Processing")
        expect(stale.locator("#item-changed")).to_contain_text("it is now processing")  # told live ...
        stale.get_by_role("button", name="Pick up").click()  # ... but pressed anyway: a 409
        expect(stale.locator("#conflict-message")).to_have_text("Cannot pick up a work item that is processing.")
        expect(stale.locator(".error-summary")).to_be_focused()

    def test_hold_resume_and_save_a_draft(self):
        bob = self.log_in("bob")
        self.launch_refund()
        bob.locator("#work-item-rows").get_by_role("link", name="Review Refund").click()
        bob.get_by_role("button", name="Pick up").click()
        bob.get_by_role("button", name="Hold").click()
        expect(bob.locator(".item-head .status")).to_have_text("Held")
        bob.get_by_role("button", name="Resume").click()
        expect(bob.locator(".item-head .status")).to_have_text("Processing")
        bob.get_by_label("Notes").fill("Waiting for photos")
        bob.get_by_label("Notes").press("Tab")
        bob.get_by_role("button", name="Save draft").click()
        expect(bob.get_by_role("status").filter(has_text="Draft saved")).to_be_visible()
        expect(bob.get_by_label("Notes")).to_have_value("Waiting for photos")
        bob.set_viewport_size(PHONE)
        self.screenshot(bob, "work-item-phone")

    def test_the_list_shows_a_banner_while_the_server_is_unreachable_and_catches_up(self):
        bob = self.log_in("bob")
        outage = {"on": False}
        sockets = []

        def route(ws):
            if outage["on"]:
                ws.close(code=1011)
                return
            ws.connect_to_server()
            sockets.append(ws)

        bob.route_web_socket(re.compile(r".*/ws/workitems/?$"), route)
        bob.reload()
        self.wait_until_live(bob)

        outage["on"] = True
        for ws in sockets:
            ws.close(code=1011)
        banner = bob.locator("#connection-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Cannot reach the server")
        expect(bob.locator("#live-state")).to_have_attribute("data-state", re.compile("offline|connecting"))

        self.launch_refund()  # happens while bob's page cannot hear about it
        self.screenshot(bob, "my-work-items-disconnected")
        expect(bob.locator("#work-item-rows tr")).to_have_count(0)

        outage["on"] = False
        bob.get_by_role("button", name="Reconnect now").click()
        expect(banner).to_be_hidden()
        expect(bob.locator("#work-item-rows tr", has_text="Review Refund")).to_be_visible()  # the snapshot caught up

    def test_filters_and_sorting_apply_without_a_reload(self):
        bob = self.log_in("bob")
        self.launch_refund()
        expect(bob.locator("#work-item-rows tr")).to_have_count(1)
        bob.get_by_label("Status").select_option("held")
        expect(bob.locator("#work-item-rows tr")).to_have_count(0)
        expect(bob.locator("#empty-filtered")).to_be_visible()
        assert "status=held" in bob.url
        bob.get_by_role("link", name="Show all work items").click()
        expect(bob.locator("#work-item-rows tr")).to_have_count(1)
        bob.get_by_label("Process").select_option("Refund Request")
        bob.get_by_label("Sort by").select_option("newest")
        expect(bob.locator("#work-item-rows tr")).to_have_count(1)
        bob.goto("/workitems/?status=offered&sort=oldest")  # the same filters on the server
        expect(bob.locator("#work-item-rows tr")).to_have_count(1)
        expect(bob.get_by_label("Sort by")).to_have_value("oldest")

    def test_the_presence_selector_changes_the_users_presence(self):
        bob = self.log_in("bob")
        expect(bob.get_by_label("Presence")).to_have_value("available")  # logging in made bob Available
        bob.get_by_label("Presence").select_option("away")
        expect(bob.locator("#presence-status")).to_have_text("Presence set to Away.")
        other = bob.context.new_page()
        other.goto("/workitems/")
        expect(other.get_by_label("Presence")).to_have_value("away")
        other.get_by_label("Presence").select_option("do_not_disturb")
        expect(bob.get_by_label("Presence")).to_have_value("do_not_disturb")  # pushed to bob's other window

        from administration.models import User

        assert User.objects.get(username="bob").presence == "do_not_disturb"
