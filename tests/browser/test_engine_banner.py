"""While no engine node is alive, the client and the monitor say so in a banner, and carry on when one is back."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.browser_case import BrowserTestCase

NO_ENGINE = "No engine node is running"


def every_node_stops_beating() -> None:
    """As if every engine node had been killed: their heartbeats are older than ENGINE_NODE_TIMEOUT."""
    from processes.models import EngineNode

    EngineNode.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=settings.ENGINE_NODE_TIMEOUT + 60))


def a_node_beats_again() -> None:
    from processes.services import nodes

    nodes.beat()


class EngineBannerTests(BrowserTestCase):
    def test_an_agent_sees_the_banner_while_no_engine_node_is_alive_and_goes_on_working(self):
        carol = self.log_in("carol")
        self.launch(carol, "Refund Request", {"Customer": "Ada Lovelace", "Amount": "120.50"})
        bob = self.log_in("bob")
        self.wait_until_live(bob)
        row = bob.locator("#work-item-rows tr", has_text="Review Refund")
        expect(row).to_be_visible()
        banner = bob.get_by_role("alert").filter(has_text=NO_ENGINE)
        expect(banner).to_be_hidden()

        every_node_stops_beating()
        expect(banner).to_be_visible()  # no reload
        expect(banner).to_contain_text("Work you complete is saved")
        self.screenshot(bob, "my-work-items-no-engine")

        row.get_by_role("link", name="Review Refund").click()  # the work on screen stays usable
        expect(bob.get_by_role("heading", name="Review Refund", level=1)).to_be_visible()
        expect(banner).to_be_visible()  # told again by the item page's own socket
        bob.get_by_role("button", name="Pick up").click()
        expect(bob.get_by_role("status").filter(has_text="Picked up")).to_be_visible()

        a_node_beats_again()
        expect(banner).to_be_hidden()

    def test_a_supervisor_sees_the_banner_on_the_monitor_until_a_node_beats_again(self):
        carol = self.log_in("carol")
        self.launch(carol, "Refund Request", {"Customer": "Ada Lovelace", "Amount": "120.50"})
        sam = self.log_in("sam")
        sam.get_by_role("link", name="Monitor").click()
        sam.get_by_label("Process").select_option("Refund Request")
        sam.get_by_role("button", name="Watch").click()
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()
        expect(sam.locator("#monitor-rows tr")).to_have_count(1)
        banner = sam.get_by_role("alert").filter(has_text=NO_ENGINE)
        expect(banner).to_be_hidden()

        every_node_stops_beating()
        expect(banner).to_be_visible()
        expect(sam.locator("#monitor-rows tr")).to_have_count(1)  # the table stays
        self.screenshot(sam, "monitor-no-engine")

        a_node_beats_again()
        expect(banner).to_be_hidden()
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()
