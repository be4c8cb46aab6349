"""An administrator configures a team from the administration pages alone; the rules hold at once."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.browser_case import BrowserTestCase


class AdministrationTests(BrowserTestCase):
    def test_an_administrator_configures_a_team_from_the_pages_and_the_rules_hold_at_once(self):
        admin = self.log_in("admin")
        admin.get_by_role("link", name="Administration").click()
        expect(admin.get_by_role("heading", name="Users", level=1)).to_be_visible()
        self.screenshot(admin, "administration-users")

        # A skill, then a workgroup needing it with the Launch right (chosen, never typed).
        admin.get_by_role("link", name="Skills").click()
        admin.get_by_label("New skill").fill("french")
        admin.get_by_role("button", name="Add skill").click()
        expect(admin.locator(".message")).to_contain_text("Skill french added")
        self.screenshot(admin, "administration-skills")
        admin.get_by_role("link", name="Workgroups").click()
        admin.get_by_role("link", name="New workgroup").click()
        admin.get_by_label("Name").fill("Claims")
        admin.get_by_text("or only for some processes").first.click()  # the Launch right, for one process
        admin.get_by_label("Launch Process for Refund Request").check()
        admin.get_by_label("french").check()
        admin.get_by_role("button", name="Save workgroup").click()
        expect(admin.locator(".message")).to_contain_text("Workgroup Claims saved")
        self.screenshot(admin, "administration-workgroup")

        # Seats: the Process Monitor license has one seat, held by sam; giving it to erin is refused.
        admin.get_by_role("link", name="Licenses").click()
        admin.get_by_label("Seats of Process Monitor").fill("1")
        admin.get_by_role("button", name="Save seats of Process Monitor").click()
        expect(admin.locator("#license-process_monitor")).to_contain_text("sam")
        self.screenshot(admin, "administration-licenses")
        admin.get_by_role("link", name="Users").click()
        admin.get_by_role("link", name="New user").click()
        admin.get_by_label("User name").fill("erin")
        admin.get_by_label("Password").fill("erin-pass")
        admin.get_by_label("First name").fill("Erin")
        admin.get_by_label("License").select_option("process_monitor")
        admin.get_by_label("Claims").check()
        admin.get_by_label("french").fill("5")
        admin.get_by_role("button", name="Create user").click()
        expect(admin.locator(".field .error")).to_contain_text("Process Monitor license has 1 seats")
        expect(admin.locator(".field .error")).to_contain_text("erin, sam")
        self.screenshot(admin, "administration-user-refused")
        admin.get_by_label("Password").fill("erin-pass")
        admin.get_by_label("License").select_option("group_routed")
        admin.get_by_role("button", name="Create user").click()
        expect(admin.locator(".message")).to_contain_text("User erin created")
        expect(admin.locator("section", has_text="Effective rights")).to_contain_text("workgroup Claims")
        expect(admin.get_by_label("french")).to_have_value("5")
        self.screenshot(admin, "administration-user")

        # A security specification: the Claims workgroup may see Payroll values.
        admin.get_by_role("link", name="Security specifications").click()
        admin.get_by_role("link", name="Payroll", exact=True).click()
        admin.get_by_role("checkbox", name="Claims").check()
        admin.get_by_role("button", name="Save security specification").click()
        expect(admin.locator("section", has_text="Used by the published processes")).to_contain_text("card_number")
        self.screenshot(admin, "administration-security-specification")

        # erin: the workgroup's Launch right and the specification hold in her client.
        erin = self.log_in("erin")
        erin.goto("/processes/")
        expect(erin.locator(".process-entry")).to_have_count(1)  # the right is for Refund Request only
        expect(erin.get_by_role("link", name="Administration")).to_have_count(0)
        erin.get_by_role("link", name="Refund Request").click()  # each launch form on its own page
        expect(erin.get_by_label("Card number")).to_be_visible()
        self.screenshot(erin, "administration-scoped-right-in-the-client")

        # The administrator takes the Launch right away from Claims: erin's next page refuses.
        admin.get_by_role("link", name="Workgroups").click()
        admin.get_by_role("link", name="Claims").click()
        admin.get_by_label("Launch Process for Refund Request").uncheck()
        admin.get_by_role("button", name="Save workgroup").click()
        erin.goto("/processes/")
        expect(erin.get_by_text("needs the Launch Process right")).to_be_visible()

        # A parameter breaking its rule is refused with the rule; the audit trail lists the changes.
        admin.get_by_role("link", name="Server parameters").click()
        admin.get_by_label("Value of PAS Maximum Monitored Flows").fill("50")
        admin.get_by_role("button", name="Save PAS Maximum Monitored Flows").click()
        expect(admin.get_by_role("alert")).to_contain_text("must be a whole number, at least 100")
        self.screenshot(admin, "administration-parameters")
        admin.get_by_role("link", name="Audit trail").click()
        expect(admin.locator("tbody tr").first).to_contain_text(re.compile("changed workgroup Claims"))
        self.screenshot(admin, "administration-audit")

        # Process definitions: a bad file's errors by JSON path; versions with their status.
        admin.get_by_role("link", name="Process definitions").click()
        admin.get_by_label("Definition file (ipa.process/v1 JSON)").set_input_files(files=[{
            "name": "bad.json", "mimeType": "application/json",
            "buffer": b'{"format": "ipa.process/v1", "name": "Bad", "start_state": "X", "states": []}'}])
        admin.get_by_role("button", name="Import").click()
        expect(admin.locator(".error-summary")).to_contain_text("bad.json was not imported")
        expect(admin.locator(".error-summary code").first).to_be_visible()
        self.screenshot(admin, "administration-process-definitions")
        admin.get_by_role("link", name="Reports").click()
        expect(admin.get_by_role("heading", name="Variable report")).to_be_visible()
        self.screenshot(admin, "reports-variables")
