"""The Process Monitor in Chromium: a supervisor watches instances launched elsewhere, live, and repairs one."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.browser_case import BrowserTestCase
from tests.monitor.conftest import PROBE


class MonitorTests(BrowserTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        # The forked server runs bulk jobs right after their commit, with REDIS_URL too (no Celery node here).
        from monitor import bulk

        cls._job_runner = bulk._job_runner
        bulk._job_runner = bulk.run_bulk_job
        super().setUpClass()

    @classmethod
    def tearDownClass(cls) -> None:
        from monitor import bulk

        bulk._job_runner = cls._job_runner
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        from processes.services.definitions import import_definition

        import_definition(PROBE, publish=True)

    def watch_probe(self, sam) -> None:
        sam.get_by_role("link", name="Monitor").click()
        expect(sam.get_by_text("Nothing is monitored until you choose a filter")).to_be_visible()
        sam.get_by_label("Process").select_option("Probe")
        sam.get_by_role("button", name="Watch").click()

    def test_an_instance_launched_elsewhere_appears_changes_falls_into_error_and_is_repaired(self):
        sam = self.log_in("sam")
        self.watch_probe(sam)
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()
        expect(sam.locator("#monitor-empty")).to_be_visible()
        sam.get_by_label("Save the watched filter as a tab named").fill("Probes")
        sam.get_by_role("button", name="Save as tab").click()
        tabs = sam.get_by_role("navigation", name="Saved filters")
        expect(tabs.get_by_role("link", name="Probes")).to_have_attribute("aria-current", "page")
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()

        alice = self.log_in("alice")  # launches in another window: sam does not reload
        self.launch(alice, "Probe", {"Customer": "Acme", "Divisor": "0"})
        alice.wait_for_url(re.compile(r".*/instances/\d+/$"))
        instance_id = int(re.search(r"/instances/(\d+)/", alice.url).group(1))

        row = sam.locator(f"#monitor-rows tr[data-id='{instance_id}']")
        expect(row).to_contain_text("Probe")
        expect(row).to_contain_text("Review")
        expect(row).to_contain_text("workgroup Managers")  # queued: no manager is available
        expect(row).to_contain_text("alice")

        bob = self.log_in("bob")  # available now: the ACD offers him the item
        bob.locator("#work-item-rows").get_by_role("link", name="Check").click()
        bob.get_by_role("button", name="Pick up").click()
        expect(row).to_contain_text("bob")
        self.screenshot(sam, "monitor-live-table")
        bob.get_by_role("button", name="Approve").click()

        expect(row.locator(".status")).to_have_text("Error")
        expect(row).to_contain_text("Pay")
        expect(row).to_contain_text("division")

        row.get_by_role("link", name=f"#{instance_id}").click()
        expect(sam.locator("#timeline")).to_contain_text("Sent “Check” to workgroup Managers")
        expect(sam.locator("#timeline")).to_contain_text("bob completed “Check” with “approve”")
        expect(sam.locator("#instance-error")).to_contain_text("division")
        self.screenshot(sam, "monitor-details")
        sam.get_by_label("Why (optional, kept in the history").fill("paid by hand")
        sam.on("dialog", lambda dialog: dialog.accept())
        sam.get_by_role("button", name="Skip").click()
        expect(sam.get_by_role("status").filter(has_text="skipped")).to_be_visible()
        expect(sam.locator("#instance-status")).to_have_text("Waiting")
        expect(sam.locator("#timeline")).to_contain_text("sam noted: “paid by hand”")

        sam.get_by_role("link", name="Process Monitor").click()
        expect(row.locator(".status")).to_have_text("Waiting")
        expect(row).to_contain_text("Pay Out")

    def test_a_filter_that_matches_too_much_is_refused_with_a_message(self):
        from administration.models import ServerParameter, User
        from processes.models import ProcessDefinition, ProcessInstance

        ServerParameter.objects.update_or_create(name="PAS Maximum Monitored Flows", defaults={"value": "100"})
        definition = ProcessDefinition.objects.get(name="Probe")
        alice = User.objects.get(username="alice")
        ProcessInstance.objects.bulk_create([
            ProcessInstance(definition=definition, process_name="Probe", status="waiting", started_by=alice)
            for _ in range(101)
        ])
        sam = self.log_in("sam")
        self.watch_probe(sam)
        expect(sam.locator("#refused")).to_contain_text("more than the 100")
        expect(sam.locator("#refused")).to_contain_text("Narrow it")
        expect(sam.locator("#monitor-table")).to_be_hidden()
        self.screenshot(sam, "monitor-refused")

    def test_without_the_license_the_monitor_says_which_license_is_needed(self):
        alice = self.log_in("alice")
        expect(alice.get_by_role("link", name="Monitor")).to_have_count(0)
        alice.goto("/monitor/")
        expect(alice.get_by_text("needs the Process Monitor license")).to_be_visible()

    def test_the_queue_view_updates_when_an_agent_picks_up_an_item(self):
        sam = self.log_in("sam")
        sam.goto("/monitor/queues/")
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()
        managers = sam.locator("section.queue[data-workgroup='Managers']")
        expect(managers.locator("[data-count='queued']")).to_have_text("0")

        alice = self.log_in("alice")
        self.launch(alice, "Probe", {"Customer": "Acme"})
        expect(managers.locator("[data-count='queued']")).to_have_text("1")

        bob = self.log_in("bob")
        bob.locator("#work-item-rows").get_by_role("link", name="Check").click()
        bob.get_by_role("button", name="Pick up").click()
        expect(managers.locator("[data-count='processing']")).to_have_text("1")
        expect(managers.locator("[data-count='queued']")).to_have_text("0")
        expect(managers.locator("tr[data-item]")).to_contain_text("bob")
        self.screenshot(sam, "monitor-queues")

    def test_a_bulk_skip_shows_its_progress_and_each_result_and_the_rows_leave_the_filter(self):
        from administration.models import User
        from processes.services import runtime
        from processes.services.instances import launch_process
        from tests.monitor.conftest import complete_check

        alice = User.objects.get(username="alice")
        broken = [launch_process(alice, "Probe", {"customer": f"Broken {n}", "divisor": 0}) for n in range(2)]
        for instance in broken:
            complete_check(instance)
        runtime.run_until_quiet()

        sam = self.log_in("sam")
        sam.goto("/monitor/?status=error")
        expect(sam.locator("#monitor-rows tr")).to_have_count(2)
        sam.get_by_label("every instance this filter matches").check()
        expect(sam.locator("#selected-count")).to_have_text("All 2")
        sam.get_by_label("Why (optional, kept in each").fill("known divisor bug")
        sam.on("dialog", lambda dialog: dialog.accept())
        sam.get_by_role("button", name="Skip selected").click()
        expect(sam.locator("#bulk-summary")).to_contain_text("2 of 2 done · 2 succeeded, 0 failed")
        expect(sam.locator("#bulk-results li.ok")).to_have_count(2)
        expect(sam.locator("#bulk-progress")).to_have_attribute("value", "2")
        expect(sam.locator("#monitor-rows tr")).to_have_count(0)  # no longer in error: removed live
        self.screenshot(sam, "monitor-bulk")
