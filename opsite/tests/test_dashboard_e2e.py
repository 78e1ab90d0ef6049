"""The leadership dashboard in a real browser: Playwright driving Debian's Chromium, headless.

Skipped on a workstation without Chromium; CI (CI=true) installs it and fails if it is missing.
Screenshots (laptop and phone widths) and the printed PDF go to ``$OPSITE_ARTIFACTS_DIR/screenshots``
(default ``artifacts/screenshots``), which CI keeps.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from funding.models import RunwaySnapshot, ScenarioAdjustment
from opsite.dashboard.charts import CHART_SLUGS
from opsite.kpis.rollups import series
from opsite.tests.browser import LAPTOP, PHONE, artifacts

# Transactional: the live server's thread must see the demo committed. The rollback restores what
# the migrations put in (the role groups, the default scenarios) for the tests that run after these.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Every chart's drawn traces: Plotly puts each in a `g.trace` holding a line path or bar paths;
# an empty chart has its `.main-svg` but no path with a real shape in it.
DRAWN_TRACES = """
(slug) => {
  const element = document.querySelector(`[data-chart="${slug}"]`);
  if (!element || !element.querySelector(".main-svg")) return 0;
  return [...element.querySelectorAll("g.trace")].filter(
    (trace) => [...trace.querySelectorAll("path")].some((path) => (path.getAttribute("d") || "").length > 10)
  ).length;
}
"""


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/leadership/")
    assert "/admin/login/" in page.url and "next=/leadership/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("input[type=submit]")


def _wait_for_charts(page) -> None:
    page.wait_for_function(
        "(count) => document.querySelectorAll('[data-chart] .main-svg').length >= count",
        arg=len(CHART_SLUGS),
        timeout=30_000,
    )


def test_leadership_sees_every_chart_plans_a_hire_and_downloads_a_csv(
    browser, live_server, leadership_user, demo_computed
):
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(page, live_server.url, "lead")
    page.wait_for_url(f"{live_server.url}/leadership/")
    _wait_for_charts(page)

    # Every chart is drawn with data: at least one trace with a real shape.
    for slug in CHART_SLUGS:
        assert page.evaluate(DRAWN_TRACES, slug) >= 1, f"chart {slug} has no drawn trace"
    assert page.locator("#runway-base .indicator").count() == 4
    assert errors == []

    # A what-if hire: the base scenario's runway changes at once, nothing is written.
    snapshots, adjustments = RunwaySnapshot.objects.count(), ScenarioAdjustment.objects.count()
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
    after = months.inner_text()
    assert Decimal(after.split()[0]) < Decimal(before.split()[0])
    assert "was " + before in page.locator("#what-if-result").inner_text()
    what_if_traces = page.evaluate(
        "() => document.querySelector('[data-chart=cash]').data.filter((t) => t.meta && t.meta.what_if).length"
    )
    assert what_if_traces == 1
    assert page.locator("#what-if-list li").first.inner_text().startswith("Two engineers")
    _wait_for_charts(page)
    page.screenshot(path=str(artifacts() / "dashboard-what-if-1366.png"), full_page=False)
    assert (RunwaySnapshot.objects.count(), ScenarioAdjustment.objects.count()) == (snapshots, adjustments)

    # Discard puts the page back.
    page.click("#what-if-discard")
    page.wait_for_function(
        "(before) => document.querySelector('#runway-base .months').textContent.trim() === before", arg=before
    )

    # A CSV download: the funding chart's quarters, as stored.
    with page.expect_download() as download_info:
        page.click("#chart-funding a[download]")
    download = download_info.value
    assert download.suggested_filename.startswith("opsite-funding-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    stored = series("funding", "quarter").value["points"]
    assert rows[0][0] == "Quarter"
    assert [row[0] for row in rows[1:]] == [point["period"] for point in stored]
    assert [row[-2] for row in rows[1:]] == [point["value"] for point in stored]

    # Screenshots at laptop and phone widths; the phone layout never scrolls sideways.
    folder = artifacts()
    page.screenshot(path=str(folder / "dashboard-1366.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)  # Plotly redraws on resize
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(folder / "dashboard-390.png"), full_page=True)

    # Printed for a board pack: one or two pages, the forms left out.
    page.set_viewport_size(LAPTOP)
    page.emulate_media(media="print")
    assert not page.locator("#what-if").is_visible()
    pdf = page.pdf(format="A4", print_background=True)
    (folder / "dashboard-print.pdf").write_bytes(pdf)
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 1 <= pages <= 2, f"the printed dashboard takes {pages} pages"
    assert errors == []
    context.close()


def test_an_operations_user_gets_403(browser, live_server, operations_user):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    _log_in(page, live_server.url, "ops")
    page.wait_for_load_state()
    response = page.goto(f"{live_server.url}/leadership/")
    assert response.status == 403
    assert page.locator("[data-chart]").count() == 0
    context.close()
