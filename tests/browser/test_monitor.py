"""The Process Monitor in Chromium: a supervisor watches instances launched elsewhere, live, and repairs them.

The walkthrough's steps (``MonitorWalkthrough``) run here on the embedded default, and in
``test_monitor_production.py`` on the production stack (Daphne, Redis, a Celery node).
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.test import override_settings
from playwright.sync_api import expect

from tests.browser.browser_case import BrowserTestCase
from tests.monitor.conftest import PROBE
from tests.monitor.scoring import ScoringService, credit_check


class MonitorWalkthrough:
    """What a supervisor does in the monitor; mixed into a BrowserTestCase whose class has a
    ``scoring`` service (down until a step brings it up) and Credit Check published."""

    scoring: ScoringService

    def watch(self, sam, process: str) -> None:
        sam.get_by_role("link", name="Monitor").click()
        expect(sam.get_by_text("Nothing is monitored until you choose a filter")).to_be_visible()
        sam.get_by_label("Process").select_option(process)
        sam.get_by_role("button", name="Watch").click()
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()

    def instance_launched_elsewhere_appears_falls_into_error_is_retried_and_completes(self) -> None:
        sam = self.log_in("sam")
        self.watch(sam, "Credit Check")
        expect(sam.locator("#monitor-empty")).to_be_visible()
        sam.get_by_label("Save the watched filter as a tab named").fill("Credit checks")
        sam.get_by_role("button", name="Save as tab").click()
        tabs = sam.get_by_role("navigation", name="Saved filters")
        expect(tabs.get_by_role("link", name="Credit checks")).to_have_attribute("aria-current", "page")
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()

        alice = self.log_in("alice")  # launches in another window: sam does not reload
        self.launch(alice, "Credit Check", {"Customer": "Acme"})
        alice.wait_for_url(re.compile(r".*/instances/\d+/$"))
        instance_id = int(re.search(r"/instances/(\d+)/", alice.url).group(1))

        row = sam.locator(f"#monitor-rows tr[data-id='{instance_id}']")
        expect(row).to_contain_text("Credit Check")
        expect(row).to_contain_text("Review")
        expect(row).to_contain_text("workgroup Managers")  # queued: no manager is available
        expect(row).to_contain_text("alice")

        bob = self.log_in("bob")  # available now: the ACD offers him the item
        bob.locator("#work-item-rows").get_by_role("link", name="Review Credit").click()
        bob.get_by_role("button", name="Pick up").click()
        expect(row).to_contain_text("bob")
        self.screenshot(sam, "monitor-live-table")
        bob.get_by_role("button", name="Approve").click()  # on to Score: the scoring service is down

        expect(row.locator(".status")).to_have_text("Error")
        expect(row).to_contain_text("Score")
        cause = re.compile(r"^run_handler http_json failed: .* answered HTTP 503")  # no technical position
        expect(row.locator(".error-cause")).to_have_text(cause)

        row.get_by_role("link", name=f"#{instance_id}").click()
        timeline = sam.locator("#timeline")
        expect(timeline).to_contain_text("Sent “Review Credit” to workgroup Managers")
        expect(timeline).to_contain_text("bob completed “Review Credit” with “approve”")
        cause = sam.locator("#instance-error > p")  # in plain words; the position behind a disclosure
        expect(cause).to_contain_text("Stopped in error in the state “Score”")
        expect(cause).to_contain_text("answered HTTP 503 Service Unavailable")
        expect(cause).not_to_contain_text("states.Score.actions")
        sam.locator("#instance-error").get_by_text("Technical position").click()
        expect(sam.locator("#instance-error code")).to_have_text("states.Score.actions[0]")
        self.screenshot(sam, "monitor-details-in-error")

        self.scoring.up = True  # the service is back: the same call succeeds now
        sam.get_by_label("Why (optional, kept in the history").fill("scoring is back")
        sam.once("dialog", lambda dialog: dialog.accept())
        sam.get_by_role("button", name="Retry").click()
        expect(sam.get_by_role("status").filter(has_text="The failed action runs again")).to_be_visible()
        expect(timeline).to_contain_text("sam noted: “scoring is back”")

        sam.get_by_role("link", name="Process Monitor").click()
        expect(row.locator(".status")).to_have_text("Completed")
        sam.goto(f"/monitor/instances/{instance_id}/")
        expect(sam.locator("#instance-status")).to_have_text("Completed")
        expect(sam.locator("#variables")).to_contain_text("720")
        self.screenshot(sam, "monitor-completed-after-retry")

    def instances_in_error(self, count: int) -> list[int]:
        """``count`` Credit Checks launched by alice and approved by bob while scoring is down: in error."""
        from processes.models import ProcessInstance
        from processes.services import runtime
        from processes.services.instances import launch_process
        from tests.monitor.conftest import user
        from workitems import services
        from workitems.models import WorkItem

        ids = [launch_process(user("alice"), "Credit Check", {"customer": f"Broken {n}"}).pk for n in range(count)]
        for pk in ids:
            item = wait_for(lambda pk=pk: WorkItem.objects.filter(instance_id=pk, name="Review Credit").first(),
                            "the Review Credit item")
            if item.status in ("queued", "offered"):
                services.pickup_work_item(user("bob"), item.pk)
            services.complete_work_item(user("bob"), item.pk, "approve", {})

        def all_in_error() -> bool:
            if settings.EMBEDDED:
                runtime.run_until_quiet()
            return set(ProcessInstance.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"error"}

        wait_for(all_in_error, "the instances to fall into error")
        return ids

    def bulk_retry_shows_its_progress_and_each_result(self) -> None:
        ids = self.instances_in_error(2)
        sam = self.log_in("sam")
        sam.goto("/monitor/?status=error")
        expect(sam.locator("#monitor-rows tr")).to_have_count(2)
        self.scoring.up = True
        sam.get_by_label("every instance this filter matches").check()
        expect(sam.locator("#selected-count")).to_have_text("All 2")
        sam.get_by_label("Why (optional, kept in each").fill("scoring is back")
        sam.once("dialog", lambda dialog: dialog.accept())
        sam.get_by_role("button", name="Retry selected").click()
        expect(sam.locator("#bulk-summary")).to_contain_text("2 of 2 done · 2 succeeded, 0 failed")
        expect(sam.locator("#bulk-results li.ok")).to_have_count(2)
        for pk in ids:
            expect(sam.locator(f"#bulk-results li[data-result='{pk}']")).to_be_visible()
        expect(sam.locator("#bulk-progress")).to_have_attribute("value", "2")
        expect(sam.locator("#monitor-rows tr")).to_have_count(0)  # completed, no longer in error: removed live
        self.screenshot(sam, "monitor-bulk-retry")
        sam.goto("/monitor/?status=completed")
        for pk in ids:
            expect(sam.locator(f"#monitor-rows tr[data-id='{pk}'] .status")).to_have_text("Completed")

    def queue_view_updates_when_an_agent_picks_up_an_item(self) -> None:
        sam = self.log_in("sam")
        sam.goto("/monitor/queues/")
        expect(sam.locator("#live-state[data-state='live']")).to_be_visible()
        managers = sam.locator("section.queue[data-workgroup='Managers']")
        processing_before = int(managers.locator("[data-count='processing']").inner_text())

        alice = self.log_in("alice")
        self.launch(alice, "Credit Check", {"Customer": "Globex"})
        alice.wait_for_url(re.compile(r".*/instances/\d+/$"))
        instance_id = int(re.search(r"/instances/(\d+)/", alice.url).group(1))
        item = managers.locator("tr[data-item]").filter(has=sam.locator(f"a[href='/monitor/instances/{instance_id}/']"))
        expect(item).to_contain_text("Review Credit")  # queued, or offered at once to a manager who is available
        expect(item.locator(".status.s-queued, .status.s-offered")).to_be_visible()

        bob = self.log_in("bob")
        bob.locator("#work-item-rows").get_by_role("link", name="Review Credit").first.click()
        bob.get_by_role("button", name="Pick up").click()
        expect(item.locator(".status.s-processing")).to_be_visible()
        expect(item.locator("td[data-label='Held by']")).to_have_text("bob")
        expect(managers.locator("[data-count='processing']")).to_have_text(str(processing_before + 1))
        self.screenshot(sam, "monitor-queues")

    def too_broad_filter_is_refused(self) -> None:
        from administration import parameters
        from administration.models import ServerParameter, User
        from processes.models import ProcessDefinition, ProcessInstance

        ServerParameter.objects.update_or_create(name="PAS Maximum Monitored Flows", defaults={"value": "100"})
        definition = ProcessDefinition.objects.filter(name="Credit Check").latest("pk")
        ProcessInstance.objects.bulk_create([
            ProcessInstance(definition=definition, process_name="Credit Check", status="waiting",
                            started_by=User.objects.get(username="alice"))
            for _ in range(101)
        ])
        sam = self.log_in("sam")
        time.sleep(parameters.CACHE_SECONDS)  # the live server reads the new cap within this (no restart)
        sam.goto("/monitor/?new=1")  # not a saved tab
        sam.get_by_label("Process").select_option("Credit Check")
        sam.get_by_role("button", name="Watch").click()
        expect(sam.locator("#refused")).to_contain_text("more than the 100")
        expect(sam.locator("#refused")).to_contain_text("Narrow it")
        expect(sam.locator("#live-state[data-state='refused']")).to_be_visible()
        expect(sam.locator("#monitor-table")).to_be_hidden()
        expect(sam.get_by_role("button", name="Retry selected")).to_be_hidden()
        self.screenshot(sam, "monitor-refused")


def wait_for(condition, what: str, seconds: float = 30):
    """What ``condition()`` returns once it is truthy; an AssertionError naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@override_settings(IPA_HTTP_ALLOW_PRIVATE_ADDRESSES=True)  # the scoring service listens on loopback
class MonitorTests(MonitorWalkthrough, BrowserTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        # The forked server runs bulk jobs right after their commit, with REDIS_URL too (no Celery node here).
        from monitor import bulk

        cls._job_runner = bulk._job_runner
        bulk._job_runner = bulk.run_bulk_job
        super().setUpClass()
        cls.scoring = ScoringService().__enter__()

    @classmethod
    def tearDownClass(cls) -> None:
        from monitor import bulk

        cls.scoring.__exit__()
        bulk._job_runner = cls._job_runner
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        from processes.services.definitions import import_definition

        import_definition(PROBE, publish=True)
        import_definition(credit_check(self.scoring.url), publish=True)
        self.scoring.up = False

    def test_an_instance_launched_elsewhere_appears_falls_into_error_is_retried_from_the_page_and_completes(self):
        self.instance_launched_elsewhere_appears_falls_into_error_is_retried_and_completes()

    def test_a_bulk_retry_shows_its_progress_and_each_result_and_the_rows_leave_the_filter(self):
        self.bulk_retry_shows_its_progress_and_each_result()

    def test_the_queue_view_updates_when_an_agent_picks_up_an_item(self):
        self.queue_view_updates_when_an_agent_picks_up_an_item()

    def test_a_filter_that_matches_too_much_is_refused_with_a_message(self):
        self.too_broad_filter_is_refused()

    def test_without_the_license_the_monitor_says_which_license_is_needed(self):
        alice = self.log_in("alice")
        expect(alice.get_by_role("link", name="Monitor")).to_have_count(0)
        alice.goto("/monitor/")
        expect(alice.get_by_text("needs the Process Monitor license")).to_be_visible()
