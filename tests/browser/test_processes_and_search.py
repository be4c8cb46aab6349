"""Launching processes, searching instances and reading one, in the browser; protected values stay hidden."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.browser_case import IBAN, PHONE, BrowserTestCase


class LaunchTests(BrowserTestCase):
    def test_launch_errors_come_back_by_the_field_with_what_was_typed(self):
        dave = self.log_in("dave")
        self.launch(dave, "Refund Request", {"Customer": "", "Amount": "0"})
        card = dave.locator("section.process", has=dave.get_by_role("heading", name="Refund Request", exact=True))
        expect(card.locator(".error-summary")).to_be_focused()
        expect(card.locator(".error-summary")).to_contain_text("Refund Request was not started")
        expect(card.locator(".field .error", has_text="Customer is required")).to_be_visible()
        expect(card.locator(".field .error", has_text="Amount must be at least 1")).to_be_visible()
        summary_link = card.get_by_role("link", name="Amount must be at least 1")
        expect(summary_link).to_have_attribute("href", re.compile("amount$"))
        expect(card.get_by_label("Amount")).to_have_value("0")
        expect(card.get_by_label("Amount")).to_have_attribute("aria-invalid", "true")
        expect(card.get_by_label("Card number")).to_have_count(0)  # dave is not on Payroll: not even the field
        assert dave.url.endswith("/launch")  # the form's own page, reached by a redirect: a reload sends nothing
        self.screenshot(dave, "processes-launch-errors")
        dave.reload()  # the errors were for one page view
        expect(card.locator(".error-summary")).to_have_count(0)
        self.launch(dave, "Refund Request", {"Customer": "", "Amount": "0"})

        card.get_by_label("Customer").fill("Grace Hopper")
        card.get_by_label("Amount").fill("75")
        card.get_by_role("button", name="Launch Refund Request").click()
        # The item goes to the Managers, not to dave: he lands on his new instance.
        expect(dave.get_by_role("heading", name=re.compile(r"Refund Request #\d+"))).to_be_visible()
        expect(dave.get_by_role("status").filter(has_text="started")).to_be_visible()
        expect(dave.locator("#instance-work-items")).to_contain_text("Review Refund")

    def test_launching_pops_the_first_work_item_when_it_is_the_users_own(self):
        bob = self.log_in("bob")  # bob is the Managers' only member
        self.launch(bob, "Expense Approval", {"Employee": "dave", "Amount": "250"})
        bob.wait_for_url(re.compile(r".*/workitems/\d+/$"))
        expect(bob.get_by_role("heading", name="Approve Expense", level=1)).to_be_visible()
        expect(bob.locator(".description")).to_have_text("Expense of 250")

    def test_the_processes_page_lists_what_the_user_may_launch(self):
        carol = self.log_in("carol")
        carol.goto("/processes/")
        for name in ("Car Loan", "Credit Check", "Expense Approval", "Refund Request"):
            expect(carol.get_by_role("link", name=name, exact=True)).to_be_visible()
        loans = carol.locator("section.category", has=carol.get_by_role("heading", name="Loans"))
        expect(loans.get_by_role("link")).to_have_text(["Car Loan", "Credit Check"])
        self.screenshot(carol, "processes")
        carol.get_by_label("Find a process").fill("refund")  # narrows as she types
        expect(carol.locator(".process-entry:visible")).to_have_count(1)
        expect(loans).to_be_hidden()
        carol.get_by_role("link", name="Refund Request", exact=True).click()
        expect(carol.get_by_role("heading", name="Refund Request", level=1)).to_be_visible()
        expect(carol.get_by_label("Card number")).to_be_visible()  # carol is on Payroll
        self.screenshot(carol, "process-launch-page")
        from administration.models import User

        User.objects.create_user("erin", password="erin-pass", license="direct_routed")  # no Launch right
        erin = self.log_in("erin")
        erin.goto("/processes/")
        expect(erin.get_by_role("heading", name="You cannot open this page")).to_be_visible()
        expect(erin.get_by_text("needs the Launch Process right")).to_be_visible()


class SearchTests(BrowserTestCase):
    def test_search_and_detail_show_no_protected_value_to_a_user_not_on_its_specification(self):
        carol = self.log_in("carol")
        self.launch(carol, "Expense Approval", {"Employee": "carol", "Amount": "80", "IBAN": IBAN})
        carol.wait_for_url(re.compile(r".*/workitems/\d+/$"))  # her own Pay Out item pops up
        expect(carol.get_by_label("IBAN")).to_have_value(IBAN)

        sam = self.log_in("sam")
        sam.get_by_role("link", name="Search").click()
        results = sam.locator("#results")
        expect(results).to_contain_text("Expense Approval")
        expect(results).to_contain_text("Work item Pay Out")
        assert IBAN not in sam.content()
        self.screenshot(sam, "search")
        results.get_by_role("link", name=re.compile(r"#\d+")).first.click()
        variables = sam.locator("#variables")
        expect(variables).to_contain_text("Employee")  # names in words
        expect(variables).to_contain_text("Amount")
        expect(variables).not_to_contain_text("IBAN", ignore_case=True)  # left out, not masked
        assert IBAN not in sam.content()
        expect(sam.locator("#instance-work-items")).to_contain_text("Carol Diaz")

        sam.get_by_role("button", name="Relate").click()
        expect(sam.locator("#id_reference_error")).to_contain_text("This field is required")
        sam.get_by_label("Type").select_option("email")
        sam.get_by_label("Reference").fill("Re: expense 80")
        sam.get_by_label("Description").fill("Employee asked when it is paid")
        sam.get_by_role("button", name="Relate").click()
        expect(sam.locator("#interaction-list")).to_contain_text("Re: expense 80")
        expect(sam.locator("#interaction-list")).to_contain_text("Employee asked when it is paid")
        self.screenshot(sam, "instance-detail")

        carol.goto(sam.url.replace(self.live_server_url, ""))
        expect(carol.locator("#variables")).to_contain_text(IBAN)  # carol is on Payroll
        expect(carol.locator("#interaction-list")).to_contain_text("Re: expense 80")

    def test_search_filters_without_a_reload_and_pages_through_results(self):
        from administration.models import User
        from processes.services.instances import launch_process

        admin = User.objects.get(username="admin")
        for number in range(30):
            launch_process(admin, "Credit Check", {"customer": f"C{number}", "amount": "100"})
        launch_process(admin, "Expense Approval", {"employee": "dave", "amount": "250"})

        sam = self.log_in("sam", viewport=PHONE)
        sam.goto("/instances/")
        expect(sam.locator("#results-count")).to_contain_text("31 instances · page 1 of 2")
        sam.get_by_role("link", name="Next ›").click()
        expect(sam.locator("#results-count")).to_contain_text("page 2 of 2")
        sam.goto("/instances/")
        marker = sam.evaluate("() => (window.__kept = 'same page')")
        sam.get_by_label("Status").select_option("waiting")
        expect(sam.locator("#results-count")).to_contain_text("1 instance")
        expect(sam.locator("#results")).to_contain_text("Expense Approval")
        assert sam.evaluate("() => window.__kept") == marker  # htmx swapped the results in place
        sam.wait_for_url(re.compile(r"status=waiting"))
        self.screenshot(sam, "search-phone")

    def test_a_user_without_the_view_right_finds_only_the_instances_they_started(self):
        from administration.models import User
        from processes.services.instances import launch_process

        launch_process(User.objects.get(username="admin"), "Credit Check", {"customer": "X", "amount": "100"})
        dave = self.log_in("dave")
        self.launch(dave, "Credit Check", {"Customer": "Dave's own", "Amount": "100"})
        dave.goto("/instances/")
        expect(dave.locator("#results-count")).to_have_text("1 instance")
        context = self.browser.new_context(viewport=PHONE, base_url=self.live_server_url)
        self.contexts.append(context)
        visitor = context.new_page()
        visitor.goto("/instances/")  # anonymous: asked to log in first
        visitor.wait_for_url(re.compile(r".*/accounts/login/\?next=/instances/"))
        visitor.get_by_label("User name").fill("dave")
        visitor.get_by_label("Password").fill("wrong")
        visitor.get_by_role("button", name="Log in").click()
        expect(visitor.get_by_role("alert")).to_contain_text("Wrong user name or password")
        self.screenshot(visitor, "login-phone")
