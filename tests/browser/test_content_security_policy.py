"""The pages pass their Content-Security-Policy: no violation on any of them, live updates included."""

from __future__ import annotations

from tests.browser.browser_case import BrowserTestCase

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.__violations.push(event.violatedDirective + " " + event.blockedURI));
"""


class ContentSecurityPolicyTests(BrowserTestCase):
    def test_every_page_runs_under_the_policy_without_a_violation(self):
        carol = self.log_in("carol")
        carol.context.add_init_script(RECORD_VIOLATIONS)
        console = []
        carol.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
        self.launch(carol, "Expense Approval", {"Employee": "carol", "Amount": "80.00"})
        instance_page = carol.url
        pages = ["/workitems/", "/processes/", "/instances/", instance_page]
        for path in pages:
            response = carol.goto(path)
            assert "script-src 'self'" in response.headers["content-security-policy"], path
            if path == "/workitems/":
                self.wait_until_live(carol)  # the socket connects under connect-src
                carol.locator("#work-item-rows a").first.click()
                carol.wait_for_load_state()
            assert carol.evaluate("window.__violations") == [], (path, carol.evaluate("window.__violations"))
        assert not [text for text in console if "Content Security Policy" in text], console
