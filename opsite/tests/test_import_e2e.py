"""The admin import in a real browser, as Operations uses it (Playwright driving Debian's Chromium).

A 10,000-row file of active user counts with one bad row: the import runs in the background (the
file is past ``OPSITE_IMPORT_BACKGROUND_ROWS``; Celery is eager in the tests, so the first page
shown is the job's result), and the bad cell is shown in line, with its row, column, value and the
format to write. The file fixed is imported; its export re-imported says every row is skipped.

Skipped without Chromium on a workstation; CI installs it and fails if it is missing. Screenshots
at 1366 and 390 px go to ``$OPSITE_ARTIFACTS_DIR/screenshots`` (default ``artifacts/screenshots``).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction

from communities.models import ActiveUserCount
from communities.tests.factories import HubFactory
from opsite.core.models import ImportJob
from opsite.tests.browser import LAPTOP, PHONE, artifacts

# Transactional: the live server's thread must see what the test wrote, and the eager job's rows.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 10_000
BAD_ROW = 4_321
HUBS = 20
IMPORT_PAGE = "/admin/communities/activeusercount/import/"
EXPORT_PAGE = "/admin/communities/activeusercount/export/"


def usage_file(tmp_path, *, bad: bool) -> str:
    """10,000 daily samples of 20 hubs; with ``bad``, row 4,321's date is 2024-13-01."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["hub", "date", "period", "active_users"])
    for number in range(1, ROWS + 1):
        day = date(2023, 1, 1) + timedelta(days=(number - 1) // HUBS)
        shown = "2024-13-01" if bad and number == BAD_ROW else day.isoformat()
        writer.writerow([f"e2e-hub-{(number - 1) % HUBS}", shown, "30d", 10 + number % 90])
    path = tmp_path / ("usage-with-a-bad-row.csv" if bad else "usage.csv")
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login/?next={IMPORT_PAGE}")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}{IMPORT_PAGE}")


def upload(page, base_url: str, path: str) -> None:
    page.goto(f"{base_url}{IMPORT_PAGE}")
    page.set_input_files("#id_import_file", path)
    page.select_option("#id_format", label="csv")
    page.click("form[enctype] input[type=submit]")
    page.wait_for_load_state("load")


def shoot(page, name: str) -> None:
    """Screenshots at both widths, and the page's width checked against the window's at each."""
    for label, viewport in (("1366", LAPTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(artifacts() / f"import-{name}-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} at {label} px is {overflow} px wider than the window"
    page.set_viewport_size(LAPTOP)


def test_operations_imports_10000_rows_sees_the_bad_cell_in_line_then_a_re_import_skipped(
    browser, live_server, operations_user, tmp_path
):
    with transaction.atomic():  # one recompute for the hubs, not one per row
        for n in range(HUBS):
            HubFactory(slug=f"e2e-hub-{n}")
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    log_in(page, live_server.url)
    assert page.get_by_role("link", name="Download the import template (CSV)").is_visible()
    shoot(page, "form")

    # The bad file: refused, the bad cell named in line (not in a tooltip), nothing written.
    upload(page, live_server.url, usage_file(tmp_path, bad=True))
    assert "/import/job/" in page.url
    problem = page.locator("table.import-problems tbody tr").filter(has_text="2024-13-01")
    assert problem.count() == 1
    cells = [text.strip() for text in problem.locator("td").all_inner_texts()]
    assert cells[0] == f"{BAD_ROW:,}"
    assert cells[1:3] == ["date", "2024-13-01"]
    assert "YYYY-MM-DD" in cells[3] and "YYYY-MM-DD" in cells[4]
    assert problem.is_visible()
    assert page.get_by_text("refused: nothing was written").is_visible()
    assert not ActiveUserCount.objects.exists()
    shoot(page, "refused")

    # The file fixed: previewed, confirmed, written.
    upload(page, live_server.url, usage_file(tmp_path, bad=False))
    assert page.locator(".import-summary").inner_text().startswith("10,000 rows in the file: 10,000 new")
    page.click("input[value='Confirm import']")
    page.wait_for_load_state("load")
    assert page.get_by_text("Import finished: 10,000 new, 0 updated and 0 skipped").is_visible()
    assert ActiveUserCount.objects.count() == ROWS

    # Its export, re-imported: every row skipped, nothing written, no history.
    page.goto(f"{live_server.url}{EXPORT_PAGE}")
    page.select_option("#id_format", label="csv")
    with page.expect_download() as download:
        page.click("form input[type=submit]")
    exported = tmp_path / "export.csv"
    download.value.save_as(exported)
    stamps = sorted(ActiveUserCount.objects.values_list("updated_at", flat=True))
    upload(page, live_server.url, str(exported))
    summary = page.locator(".import-summary").inner_text()
    assert "0 new, 0 changed, 10,000 skipped (unchanged)" in summary
    assert "Every row is as stored: nothing would be written." in summary
    assert not page.locator("table.import-preview").count()
    shoot(page, "skipped")
    page.click("input[value='Confirm import']")
    page.wait_for_load_state("load")
    assert page.get_by_text("Import finished: 0 new, 0 updated and 10,000 skipped").is_visible()
    assert sorted(ActiveUserCount.objects.values_list("updated_at", flat=True)) == stamps
    shoot(page, "finished")
    context.close()


def test_a_running_import_shows_its_progress(browser, live_server, operations_user):
    """The page of a job still running: a progress bar, moved by the polling script."""
    job = ImportJob.objects.create(
        user=operations_user,
        model_label="communities.ActiveUserCount",
        original_name="usage.csv",
        total_rows=ROWS,
        state=ImportJob.State.RUNNING,
    )
    cache.set(f"opsite:import-job:{job.pk}:done", 2_500)
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}{IMPORT_PAGE}job/{job.pk}/")
    bar = page.locator("progress#import-job-progress")
    assert bar.get_attribute("value") == "2500"
    cache.set(f"opsite:import-job:{job.pk}:done", 7_500)
    page.wait_for_function("() => document.getElementById('import-job-progress').value === 7500")
    assert page.locator("#import-job-count").inner_text() == "7,500 of 10,000 rows"
    shoot(page, "progress")
    # Done: the script takes the person to the result.
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.FAILED)
    page.wait_for_selector("text=failed: nothing was written")
    # The polling script runs under the Content-Security-Policy without a complaint.
    assert problems == []
    context.close()


def test_a_small_file_is_previewed_while_the_page_waits_with_its_bad_cell_in_line(
    browser, live_server, operations_user, tmp_path
):
    HubFactory(slug="e2e-hub-0")
    path = tmp_path / "usage.csv"
    path.write_text(
        "hub,date,period,active_users\ne2e-hub-0,2024-01-31,30d,12\ne2e-hub-0,2024-02-29,weekly,14\n",
        encoding="utf-8",
    )
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    log_in(page, live_server.url)
    upload(page, live_server.url, str(path))
    assert page.url.endswith(IMPORT_PAGE)
    problem = page.locator("table.import-problems tbody tr")
    cells = [text.strip() for text in problem.locator("td").all_inner_texts()]
    assert cells[:3] == ["2", "period", "weekly"]
    assert "24h (24 hours), 7d (7 days), 30d (30 days)" in cells[4]
    shoot(page, "small-refused")
    path.write_text("hub,date,period,active_users\ne2e-hub-0,2024-01-31,30d,12\n", encoding="utf-8")
    upload(page, live_server.url, str(path))
    assert page.locator("table.import-preview tbody tr.new").count() == 1
    shoot(page, "small-preview")
    page.click("input[value='Confirm import']")
    page.wait_for_load_state("load")
    assert page.get_by_text("Import finished: 1 new, 0 updated, 0 deleted and 0 skipped").is_visible()
    assert ActiveUserCount.objects.count() == 1
    context.close()
