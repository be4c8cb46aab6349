"""Presence follows the person and queues are in sight, in Chromium.

The periodic sweep is run by the test (the live server runs Daphne only), as a Celery beat
or ``serve``'s sweep thread would. Its pushes cross processes only through Redis, so without
``REDIS_URL`` the waiting agent's page is reloaded instead of updated live.
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from playwright.sync_api import expect

from tests.browser.browser_case import BrowserTestCase

PATIENCE = 15  # seconds the server may take to notice a closed window


def set_parameter(name: str, value: str) -> None:
    from administration.models import ServerParameter
    from administration.parameters import forget_parameters

    ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
    forget_parameters()


def presence_of(username: str) -> str:
    from administration.models import User

    return User.objects.get(username=username).presence


def sweep_until_offline(username: str) -> None:
    from processes.services import runtime

    deadline = time.monotonic() + PATIENCE
    while presence_of(username) != "offline":
        assert time.monotonic() < deadline, f"{username} is still {presence_of(username)}"
        runtime.sweep()
        time.sleep(0.3)


class PresenceAndQueuesTests(BrowserTestCase):
    def launch_refund(self):
        carol = self.log_in("carol")
        self.launch(carol, "Refund Request", {"Customer": "Ada Lovelace", "Amount": "120.50"})
        expect(carol.get_by_role("heading", name=re.compile(r"Refund Request #\d+"))).to_be_visible()

    def test_an_agent_who_closed_the_browser_turns_offline_after_the_grace_and_the_offer_moves_on(self):
        from administration.models import User, Workgroup

        User.objects.get(username="alice").workgroups.add(Workgroup.objects.get(name="Managers"))
        set_parameter("Presence_OfflineGraceSeconds", "1")
        alice = self.log_in("alice")  # Available first: idle the longest, offered first
        self.wait_until_live(alice)
        bob = self.log_in("bob")
        self.wait_until_live(bob)

        self.launch_refund()
        expect(alice.locator("#work-item-rows tr", has_text="Review Refund")).to_contain_text("Offered")
        expect(bob.locator("#my-queues details[data-workgroup='Managers']")).to_contain_text("1 offered")
        self.screenshot(alice, "presence-1-offered-to-alice")

        alice.context.close()  # the browser closes: her last socket with it
        self.contexts.remove(alice.context)
        sweep_until_offline("alice")

        if not settings.REDIS_URL:
            bob.reload()
        row = bob.locator("#work-item-rows tr", has_text="Review Refund")
        expect(row).to_contain_text("Offered")
        self.screenshot(bob, "presence-2-offer-moved-to-bob")

        alice = self.log_in("alice")  # logging in again: Available
        expect(alice.locator("#presence")).to_have_value("available")

    def test_an_agent_on_another_page_keeps_their_presence(self):
        set_parameter("Presence_OfflineGraceSeconds", "0")
        bob = self.log_in("bob")
        bob.goto("/processes/")
        expect(bob.locator("#presence")).to_have_value("available")
        from processes.services import runtime
        from workitems.models import ClientSocket

        deadline = time.monotonic() + PATIENCE
        while not ClientSocket.objects.filter(user__username="bob", closed_at__isnull=True).exists():
            assert time.monotonic() < deadline, "the Processes page opened no socket"
            time.sleep(0.2)
        runtime.sweep()
        assert presence_of("bob") == "available"

    def test_my_queues_show_what_waits_live_and_an_agent_takes_it(self):
        bob = self.log_in("bob")
        bob.locator("#presence").select_option("away")  # nothing is offered to him now
        expect(bob.locator("#presence-status")).to_have_text("Presence set to Away.")
        self.wait_until_live(bob)
        managers = bob.locator("#my-queues details[data-workgroup='Managers']")
        expect(managers).to_contain_text("0 queued")
        statuses = bob.locator("#filter-status option")
        expect(statuses).to_have_text(["All", "Offered", "Processing", "Held"])

        self.launch_refund()
        expect(managers).to_contain_text("1 queued")  # live: no reload
        expect(managers).to_contain_text("Review Refund")
        expect(managers).not_to_contain_text("Ada Lovelace")  # no description or value before an offer
        self.screenshot(bob, "queues-1-one-waiting")

        managers.get_by_role("button", name="Take Review Refund from the Managers queue").click()
        expect(bob.get_by_role("heading", name="Review Refund", level=1)).to_be_visible()
        expect(bob.get_by_role("status").filter(has_text="Picked up")).to_be_visible()
        bob.goto("/workitems/")
        expect(managers).to_contain_text("0 queued")
        expect(managers).to_contain_text("1 being worked on")
        self.screenshot(bob, "queues-2-taken")

    def test_an_agent_who_asked_is_notified_on_the_desktop_while_the_tab_is_hidden(self):
        bob = self.log_in("bob")
        bob.context.grant_permissions(["notifications"])
        bob.evaluate("""() => {
            window.__notes = [];
            const Real = window.Notification;
            window.Notification = class extends Real {
                constructor(title, options) { super(title, options); window.__notes.push(title); }
            };
            Object.defineProperty(window.Notification, "permission", { get: () => Real.permission });
            window.Notification.requestPermission = () => Real.requestPermission();
            Object.defineProperty(document, "hidden", { get: () => true });
        }""")
        self.wait_until_live(bob)
        bob.get_by_role("button", name="Tell me on my desktop when work arrives").click()
        expect(bob.locator("#notify-state")).to_contain_text("Your desktop tells you")
        self.launch_refund()
        expect(bob.locator("#work-item-rows tr", has_text="Review Refund")).to_be_visible()
        assert bob.evaluate("() => window.__notes") == ["New work item: Review Refund"]
