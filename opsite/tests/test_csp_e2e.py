"""The Content-Security-Policy in a real browser: the admin, the dashboard and the API docs run
under it with no violation (Playwright driving Debian's Chromium, headless).

Every page's console messages and ``securitypolicyviolation`` events are collected, across
navigations, and must be empty; each page is also checked for what it should show (charts drawn, a
what-if applied, an admin form, Swagger UI's operations), so a page that broke quietly under the
policy fails too. Skipped without Chromium on a workstation; CI installs it and fails if missing.
Screenshots at 1366 px go to ``$OPSITE_ARTIFACTS_DIR/screenshots`` (default
``artifacts/screenshots``).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from communities.models import Community
from opsite.dashboard.charts import CHART_SLUGS
from opsite.tests.browser import LAPTOP, artifacts

# Transactional: the live server's thread must see the demo committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Registered before any page script runs, on every document of the context: each violation is
# handed to the test through a binding, so none is lost when the page navigates away.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation({
    page: document.location.pathname,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
    source: `${event.sourceFile}:${event.lineNumber}`,
  });
});
"""


class Watched:
    """A browser context whose console messages, page errors and CSP violations are collected."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.context = browser.new_context(viewport=LAPTOP)
        self.violations: list[dict] = []
        self.console: list[str] = []
        self.policies: dict[str, str] = {}
        self.context.expose_binding("__reportCspViolation", lambda _source, v: self.violations.append(v))
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on(
            "console", lambda m: self.console.append(f"{m.type}: {m.text} ({m.location.get('url')})")
        )
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error} ({self.page.url})"))
        self.page.on("response", self._note_policy)

    def _note_policy(self, response) -> None:
        if response.request.resource_type == "document":
            self.policies[response.url] = response.headers.get("content-security-policy", "")

    def goto(self, path: str):
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        return response

    def log_in(self, username: str, next_path: str) -> None:
        self.goto(f"/admin/login/?next={next_path}")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", f"pw-{username}")
        self.page.click("input[type=submit]")
        self.page.wait_for_url(f"{self.base_url}{next_path}")

    def settle(self) -> None:
        """Let late violations (a script's, a style's) reach the binding before they are read."""
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(300)

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=str(artifacts() / f"{name}-1366.png"), full_page=False)

    def assert_clean(self) -> None:
        self.settle()
        assert self.violations == [], "\n".join(map(str, self.violations))
        assert self.console == [], "\n".join(self.console)
        # Every document was served under the policy (none slipped through without the header).
        assert self.policies
        assert all("script-src 'self'" in policy for policy in self.policies.values()), self.policies


def test_the_dashboard_draws_its_charts_and_plans_a_what_if_under_the_policy(
    browser, live_server, leadership_user, demo_computed
):
    watched = Watched(browser, live_server.url)
    page = watched.page
    watched.log_in("lead", "/leadership/")
    page.wait_for_function(
        "(count) => document.querySelectorAll('[data-chart] .main-svg').length >= count",
        arg=len(CHART_SLUGS),
        timeout=30_000,
    )
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('[data-chart] g.trace path')]"
        ".filter((path) => (path.getAttribute('d') || '').length > 10).length"
    )
    assert drawn >= len(CHART_SLUGS)

    # The what-if preview: a fetch to the site, the runway card and the cash chart redrawn.
    months = page.locator("#runway-base .months")
    before = months.inner_text()
    page.select_option("#what-if-scenario", "base")
    page.select_option("#what-if-kind", "hire")
    page.fill("#what-if-label", "Two engineers")
    page.fill("#what-if-amount", "300000.00")
    page.fill("#what-if-benefits_rate", "0.25")
    page.fill("#what-if-start_on", "2025-02-01")
    page.click("#what-if-add")
    page.wait_for_function(
        "(before) => document.querySelector('#runway-base .months').textContent.trim() !== before",
        arg=before,
    )
    assert "was " + before in page.locator("#what-if-result").inner_text()
    # Plotly's hover layer: its tooltip styles are set by script, which the policy allows.
    page.locator("[data-chart=cash] .nsewdrag").first.hover(force=True)
    watched.screenshot("csp-dashboard")
    watched.assert_clean()
    watched.context.close()


def test_the_admin_pages_and_the_api_docs_run_under_the_policy(
    browser, live_server, superuser, demo_computed
):
    community = Community.objects.order_by("pk").first()
    watched = Watched(browser, live_server.url)
    page = watched.page
    watched.log_in("root", "/admin/")

    watched.goto("/admin/communities/community/")
    assert page.locator("#result_list tbody tr").count() >= 1
    page.click("#result_list tbody tr:first-child input.action-select")  # the actions bar's script
    assert page.locator(".action-counter").inner_text().startswith("1 of")

    watched.goto(f"/admin/communities/community/{community.pk}/change/")
    assert page.locator("#community_form").count() == 1
    page.click(".add-row a")  # the hubs inline adds a row by script
    assert page.locator("#hubs-0-slug, #hubs-group tr.form-row.dynamic-hubs").count() >= 1
    # The calendar widget of the new row's first date: a box drawn by script, styles included.
    page.locator("#hubs-group .dynamic-hubs").last.locator(".datetimeshortcuts a").last.click()
    assert page.locator(".calendarbox:visible").count() == 1
    watched.screenshot("csp-admin-change-form")

    watched.goto("/admin/communities/community/import/")
    assert page.locator("input[type=file]").count() == 1
    watched.screenshot("csp-admin-import")

    watched.goto("/admin/communities/community/export/")
    assert page.locator("select[name=format]").count() == 1
    # import-export's "select all" box toggles every field by script.
    boxes = page.locator(".selectable-field-export-row input[type=checkbox]:visible")
    assert boxes.count() >= 2
    ticked = "(boxes) => boxes.filter((box) => box.checked).length"
    page.uncheck("input.select-toggle")
    assert boxes.evaluate_all(ticked) == 0
    page.check("input.select-toggle")
    assert boxes.evaluate_all(ticked) == boxes.count()
    watched.screenshot("csp-admin-export")

    watched.goto("/api/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 10
    page.locator(".opblock-summary").first.click()  # an operation opens
    page.wait_for_selector(".opblock-body")
    watched.screenshot("csp-api-docs")
    watched.assert_clean()
    assert {url.split(live_server.url, 1)[1].split("?", 1)[0] for url in watched.policies} >= {
        "/admin/communities/community/",
        f"/admin/communities/community/{community.pk}/change/",
        "/admin/communities/community/import/",
        "/admin/communities/community/export/",
        "/api/docs/",
    }
    watched.context.close()


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_lockout_page_is_the_sites_own_under_the_policy(browser, live_server, superuser):
    watched = Watched(browser, live_server.url)
    page = watched.page
    for _ in range(settings.AXES_FAILURE_LIMIT):
        watched.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "not-the-password")
        with page.expect_response(lambda response: response.request.method == "POST") as answer:
            page.click("input[type=submit]")
    assert answer.value.status == 429
    assert answer.value.headers["retry-after"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert page.locator("h1").inner_text() == "Sign-in paused"
    assert page.locator(".site-header").count() == 1  # the site's layout and stylesheet
    watched.screenshot("csp-login-lockout")
    # The browser reports the 429 document itself as a console error: that one is expected.
    watched.console = [line for line in watched.console if "status of 429" not in line]
    watched.assert_clean()
    watched.context.close()
