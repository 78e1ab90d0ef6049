"""The leadership dashboard in a real browser: Playwright driving Debian's Chromium, headless.

Skipped on a workstation without Chromium; CI (CI=true) installs it and fails if it is missing.
Screenshots (laptop and phone widths) and the printed PDF go to ``$OPSITE_ARTIFACTS_DIR/screenshots``
(default ``artifacts/screenshots``), which CI keeps.

Nothing here pins the demo's last day: dates are set from its cash position, and whether that
cash position is stale is set by the setting, not by the calendar.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from funding.models import RunwaySnapshot, Scenario, ScenarioAdjustment
from opsite.dashboard.charts import CHART_SLUGS
from opsite.kpis.rollups import series
from opsite.tests.browser import LAPTOP, PHONE, artifacts
from opsite.tests.dashboard_support import months_after_cash

# Transactional: the live server's thread must see the demo committed. The rollback restores what
# the migrations put in (the role groups, the default scenarios) for the tests that run after these.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUNDLE_LIMIT = 1_500_000  # bytes

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

# Pairs of things drawn on top of each other in a chart: its legend and any axis tick label or
# axis title, or a visible toolbar button and any of them. Empty when nothing collides.
OVERLAPS = """
(slug) => {
  const element = document.querySelector(`[data-chart="${slug}"]`);
  const box = (node) => node.getBoundingClientRect();
  const meet = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const labels = [...element.querySelectorAll(".xtick text, .ytick text, .y2tick text, .g-xtitle text, .g-ytitle text, .g-y2title text")]
    .filter((node) => node.textContent.trim() && box(node).width > 0);
  const blockers = [...element.querySelectorAll(".legend .bg, .modebar-btn")].filter((node) => box(node).width > 0);
  const found = [];
  for (const blocker of blockers) {
    for (const label of labels) {
      if (meet(box(blocker), box(label))) found.push(`${blocker.getAttribute("class")} over "${label.textContent}"`);
    }
  }
  return found;
}
"""


def _log_in(page, base_url: str, username: str, path: str = "/leadership/") -> None:
    page.goto(f"{base_url}{path}")
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


def _no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert page.evaluate("() => document.body.scrollWidth") <= width


def _growth_scenario() -> Scenario:
    return Scenario.objects.filter(adjustments__kind="hire").distinct().get()


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
    # The four health lights, invoice collection and customer concentration.
    assert page.locator("#runway-base .indicator").count() == 6
    assert errors == []

    # The charts are drawn by the small bundle alone, served by the site.
    scripts = page.evaluate(
        """() => performance.getEntriesByType("resource")
          .filter((entry) => entry.initiatorType === "script")
          .map((entry) => [entry.name, entry.decodedBodySize])"""
    )
    assert sorted(url for url, _ in scripts) == [
        f"{live_server.url}/static/leadership/dashboard.js",
        f"{live_server.url}/static/vendor/plotly-basic.min.js",
    ]
    assert all(0 < size < BUNDLE_LIMIT for _, size in scripts)

    # The cash chart marks today, and no Plotly toolbar covers a label.
    today = page.locator("#chart-cash .annotation-text", has_text="Today, ")
    assert today.count() == 1
    assert page.locator(".modebar-btn").count() == 0

    # A what-if hire: the base scenario's runway changes at once, nothing is written.
    snapshots, adjustments = RunwaySnapshot.objects.count(), ScenarioAdjustment.objects.count()
    months = page.locator("#runway-base .months")
    before = months.inner_text()
    odds = page.locator("#runway-base .odds-detail")
    odds_before = odds.inner_text()
    assert odds_before.startswith("Chance within 6 months: ")
    median_of_fan = (
        "() => document.querySelector('[data-chart=odds]').data.find((t) => t.name === 'Median draw').y"
    )
    fan_before = page.evaluate(median_of_fan)
    page.select_option("#what-if-scenario", "base")
    page.select_option("#what-if-kind", "hire")
    page.fill("#what-if-label", "Two engineers")
    page.fill("#what-if-amount", "300000.00")
    page.fill("#what-if-benefits_rate", "0.25")
    page.fill("#what-if-start_on", months_after_cash(1))
    page.click("#what-if-add")
    page.wait_for_function(
        "(before) => document.querySelector('#runway-base .months').textContent.trim() !== before",
        arg=before,
    )
    after = months.inner_text()
    assert Decimal(after.split()[0]) < Decimal(before.split()[0])
    assert "was " + before in page.locator("#what-if-result").inner_text()
    # The chance of running out follows the what-if, and the fan chart of the default scenario too.
    assert odds.inner_text() != odds_before
    assert page.evaluate(median_of_fan) != fan_before
    what_if_traces = page.evaluate(
        "() => document.querySelector('[data-chart=cash]').data.filter((t) => t.meta && t.meta.what_if).length"
    )
    assert what_if_traces == 1
    assert (
        page.locator("#what-if-list li").first.inner_text().startswith("Two engineers, 300,000.00 USD a year")
    )
    _wait_for_charts(page)
    page.screenshot(path=str(artifacts() / "dashboard-what-if-1366.png"), full_page=False)
    assert (RunwaySnapshot.objects.count(), ScenarioAdjustment.objects.count()) == (snapshots, adjustments)

    # Discard puts the page back.
    page.click("#what-if-discard")
    page.wait_for_function(
        "(before) => document.querySelector('#runway-base .months').textContent.trim() === before", arg=before
    )
    assert odds.inner_text() == odds_before
    assert page.evaluate(median_of_fan) == fan_before

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

    # Laptop and phone widths: no sideways scroll, no legend or toolbar over an axis label.
    folder = artifacts()
    _no_sideways_scroll(page, LAPTOP["width"])
    for slug in CHART_SLUGS:
        assert page.evaluate(OVERLAPS, slug) == [], slug
    page.screenshot(path=str(folder / "dashboard-1366.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every((c) => c.dataset.narrow === 'true')"
    )
    page.wait_for_timeout(500)  # Plotly redraws on resize
    _no_sideways_scroll(page, PHONE["width"])
    for slug in CHART_SLUGS:
        assert page.evaluate(OVERLAPS, slug) == [], slug
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


def test_a_what_if_without_its_amount_is_refused_on_the_field(
    browser, live_server, leadership_user, demo_computed
):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _log_in(page, live_server.url, "lead")
    page.wait_for_url(f"{live_server.url}/leadership/")
    _wait_for_charts(page)
    before = ScenarioAdjustment.objects.count()

    page.select_option("#what-if-kind", "inflow")
    page.fill("#what-if-label", "A gift")
    page.fill("#what-if-start_on", months_after_cash(1))
    page.click("#what-if-add")

    error = page.locator("#what-if-amount_error")
    error.wait_for(state="visible")
    assert error.inner_text() == (
        "An inflow needs its amount as a positive figure (each month when monthly); got nothing."
    )
    amount = page.locator("#what-if-amount")
    assert amount.get_attribute("aria-invalid") == "true"
    assert "what-if-amount_error" in amount.get_attribute("aria-describedby")
    assert page.locator("#what-if-list").inner_text() == "No what-ifs yet."
    assert page.locator("#runway-base .what-if-badge").is_hidden()
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts() / "dashboard-what-if-refused-390.png"), full_page=False)

    # With the amount, the same what-if is taken and the message goes.
    page.fill("#what-if-amount", "25000.00")
    page.click("#what-if-add")
    page.locator("#what-if-list li", has_text="A gift, 25,000.00 USD").wait_for()
    assert error.is_hidden() and amount.get_attribute("aria-invalid") is None
    assert ScenarioAdjustment.objects.count() == before
    context.close()


def test_saving_a_what_if_keeps_the_scenario_and_says_what_was_saved_where(
    browser, live_server, leadership_user, demo_computed
):
    grow = _growth_scenario()
    assert not grow.is_default
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    _log_in(page, live_server.url, "lead")
    page.wait_for_url(f"{live_server.url}/leadership/")
    _wait_for_charts(page)

    page.select_option("#what-if-scenario", grow.slug)
    page.select_option("#what-if-kind", "outflow")
    page.fill("#what-if-label", "Conference booth")
    page.fill("#what-if-amount", "12000.00")
    page.fill("#what-if-start_on", months_after_cash(2))
    page.click("#what-if-add")
    page.locator("#what-if-list li", has_text="Conference booth").wait_for()
    page.click("#what-if-save")

    page.wait_for_url(f"{live_server.url}/leadership/?scenario={grow.slug}#what-if")
    confirmation = page.locator("#what-if-confirmation")
    confirmation.wait_for()
    assert confirmation.inner_text() == f"Saved the outflow “Conference booth” to scenario {grow.name}."
    assert page.input_value("#what-if-scenario") == grow.slug
    assert page.locator("#what-if-saved li", has_text="Conference booth").count() == 1
    saved = ScenarioAdjustment.objects.get(label="Conference booth")
    assert (saved.scenario_id, saved.kind, saved.amount) == (grow.pk, "outflow", Decimal("12000.00"))
    _wait_for_charts(page)
    page.screenshot(path=str(artifacts() / "dashboard-what-if-saved-1366.png"), full_page=False)
    context.close()


def test_a_stale_cash_position_turns_the_cards_amber_and_says_so(
    browser, live_server, leadership_user, demo_computed, settings
):
    # Stale by the setting, whatever the demo's last day: any cash position older than today is.
    settings.OPSITE_CASH_POSITION_STALE_DAYS = 0
    base = RunwaySnapshot.objects.filter(scenario__slug="base").latest().result
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _log_in(page, live_server.url, "lead")
    page.wait_for_url(f"{live_server.url}/leadership/")
    _wait_for_charts(page)

    card = page.locator("#runway-base")
    assert card.get_attribute("data-state") == "amber"
    assert "days old" in card.locator(".card-warning").inner_text()
    assert card.locator(".card-state").inner_text() == "Needs checking"
    # Amber, not green: the top border is the page's yellow.
    border = card.evaluate("(node) => getComputedStyle(node).borderTopColor")
    assert border == "rgb(224, 168, 0)", border
    _no_sideways_scroll(page, PHONE["width"])
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts() / "dashboard-stale-390.png"), full_page=False)

    # A fresh cash position: the card is green unless its cash-out date is already past.
    settings.OPSITE_CASH_POSITION_STALE_DAYS = 100_000
    page.reload()
    _wait_for_charts(page)
    passed = (
        base["cash_out_on"] is not None and date.fromisoformat(base["cash_out_on"]) <= timezone.localdate()
    )
    below = base["months"] is not None and Decimal(base["months"]) < settings.OPSITE_RUNWAY_COMFORT_MONTHS
    expected = "red" if below else ("amber" if passed else "green")
    assert card.get_attribute("data-state") == expected
    assert "days old" not in card.inner_text()
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
