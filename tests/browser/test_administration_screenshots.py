"""Every administration page in Chromium, each checked by axe-core and kept as a screenshot
(1280x800, the first screen): in test-output/screenshots/admin/, or with ``IPA_DOC_SCREENSHOTS=1``
in docs/screenshots/admin/ for the documentation (docs/administration.md lists them).

After changing an administration page, renew the pictures and look at them:
``IPA_DOC_SCREENSHOTS=1 ./test tests/browser/test_administration_screenshots.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.browser_case import ROOT, SCREENSHOTS, BrowserTestCase

# Written to docs/ only when asked: each run's times and ids differ, and the docs keep one set.
SHOTS = ROOT / "docs" / "screenshots" / "admin" if os.environ.get("IPA_DOC_SCREENSHOTS") else SCREENSHOTS / "admin"
SCREEN = {"width": 1280, "height": 800}

# (file name, address, the page's heading[, what to scroll to]): every administration page, then the report.
PAGES = [
    ("01-users", "/administration/users/", "Users"),
    ("02-user-effective-rights", "/administration/users/alice/", "alice", "Effective rights"),
    ("03-licenses", "/administration/licenses/", "Licenses"),
    ("04-access-rights", "/administration/rights/", "Access rights"),
    ("05-workgroups", "/administration/workgroups/", "Workgroups"),
    ("06-workgroup", "/administration/workgroups/Underwriters/", "Underwriters"),
    ("07-roles", "/administration/roles/", "Roles"),
    ("08-role", "/administration/roles/Supervisor/", "Supervisor"),
    ("09-skills", "/administration/skills/", "Skills"),
    ("10-security-specifications", "/administration/security/", "Security specifications"),
    ("11-security-specification", "/administration/security/Payroll/", "Payroll"),
    ("12-server-parameters", "/administration/parameters/", "Server parameters"),
    ("13-data-sources", "/administration/data-sources/", "Data sources"),
    ("14-certification-authorities", "/administration/certification-authorities/", "Certification authorities"),
    ("15-process-definitions", "/administration/processes/", "Process definitions"),
    ("16-audit-trail", "/administration/audit/", "Audit trail"),
    ("17-variable-report", "/reports/variables/", "Variable report"),
]


class AdministrationScreenshotTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        import trustme

        from administration import authorities, services
        from administration.models import User, Workgroup
        from processes.services.instances import launch_process

        admin = User.objects.get(username="admin")
        underwriters = services.workgroup_entry(Workgroup.objects.get(name="Underwriters"))
        services.save_workgroup(admin, {**underwriters, "rights": [
            "launch", {"right": "view", "categories": ["Loans"]}]}, "Underwriters")
        services.save_data_source(admin, "warehouse", "postgres://reports:secret@warehouse.example:5432/sales")
        authorities.save_certificate_authority(
            admin, "Example root CA", trustme.CA(organization_name="Example").cert_pem.bytes().decode())
        for amount in ("80", "250", "1200"):
            launch_process(admin, "Expense Approval", {"employee": "dave", "amount": amount})

    def test_every_administration_page_is_shown_and_kept_as_a_screenshot(self):
        admin = self.log_in("admin", viewport=SCREEN)
        SHOTS.mkdir(parents=True, exist_ok=True)
        for name, address, heading, *scroll_to in PAGES:
            with self.subTest(page=name):
                admin.goto(address)
                expect(admin.get_by_role("heading", level=1)).to_contain_text(heading)
                for text in scroll_to:
                    admin.get_by_role("heading", name=text).evaluate("heading => heading.scrollIntoView()")
                self.check_accessibility(admin)
                admin.screenshot(path=str(SHOTS / f"{name}.png"))
        self.assertEqual(sorted(p.stem for p in Path(SHOTS).glob("*.png")), sorted(page[0] for page in PAGES))
