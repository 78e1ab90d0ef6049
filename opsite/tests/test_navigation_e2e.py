"""The way around the site in a real browser: Playwright driving Debian's Chromium, headless.

``/`` after signing in lands each role on its page; the grant and contract lists and a community's
hubs fit a laptop's screen with their amounts in view; the phone layout never scrolls sideways.
Screenshots (laptop and phone widths) go to ``$OPSITE_ARTIFACTS_DIR/screenshots``, which CI keeps.
Skipped on a workstation without Chromium; CI (CI=true) installs it and fails if it is missing.
"""

from __future__ import annotations

import re

import pytest

from communities.models import Community
from opsite.tests.browser import LAPTOP, PHONE, artifacts

# Transactional: the live server's thread must see the rows committed. The rollback restores what
# the migrations put in (the role groups, the default scenarios) for the tests that run after these.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONEY = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2} [A-Z]{3}$")

# Whether the page scrolls sideways, and whether the results table (or an inline's table) is wider
# than the box it sits in.
FITS = """
(selector) => {
  const table = selector ? document.querySelector(selector) : null;
  return {
    page: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    table: table ? table.scrollWidth : null,
    box: table ? table.parentElement.clientWidth : null,
  };
}
"""

# The money cells of the first row of the results, with where each ends on the screen.
FIRST_ROW_MONEY = """
() => [...document.querySelectorAll('#result_list tbody tr:first-child td .figure')]
  .map((figure) => ({text: figure.textContent.trim(), right: figure.getBoundingClientRect().right}))
  .filter((cell) => /[A-Z]{3}$/.test(cell.text))
"""


def _sign_in(browser, base_url: str, username: str, viewport=LAPTOP):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{base_url}/")
    # An anonymous visitor lands on the public figures, whose "Staff sign-in" comes back to /.
    assert page.url.endswith("/kpis/")
    page.click("text=Staff sign-in")
    assert "/admin/login/" in page.url and "next=/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return context, page


def _assert_fits(page, selector: str | None = None) -> None:
    sizes = page.evaluate(FITS, selector)
    assert sizes["page"] <= sizes["viewport"], sizes
    if selector is not None:
        assert sizes["table"] is not None, f"no {selector} on {page.url}"
        assert sizes["table"] <= sizes["box"], sizes


@pytest.mark.parametrize(
    ("user_fixture", "username", "lands_on", "sees_dashboard_link"),
    [
        ("operations_user", "ops", "/admin/", False),
        ("finance_user", "fin", "/leadership/", True),
        ("leadership_user", "lead", "/leadership/", True),
        ("superuser", "root", "/leadership/", True),
    ],
)
def test_signing_in_from_the_start_page_lands_on_the_page_of_the_role(
    request, browser, live_server, demo_computed, user_fixture, username, lands_on, sees_dashboard_link
):
    request.getfixturevalue(user_fixture)
    context, page = _sign_in(browser, live_server.url, username)
    page.wait_for_url(f"{live_server.url}{lands_on}")
    # Back to / later: the same page again, without signing in.
    page.goto(f"{live_server.url}/")
    assert page.url == f"{live_server.url}{lands_on}"

    # The records' header links to the dashboard for exactly those who may open it.
    page.goto(f"{live_server.url}/admin/")
    assert (page.locator("#dashboard-link").count() == 1) is sees_dashboard_link
    if sees_dashboard_link:
        page.click("#dashboard-link")
        page.wait_for_url(f"{live_server.url}/leadership/")
        page.click("#nav-records")  # and the dashboard links back
        page.wait_for_url(f"{live_server.url}/admin/")
    context.close()


def test_the_grant_and_contract_lists_fit_a_laptop_with_their_amounts_in_view(
    browser, live_server, finance_user, demo_computed
):
    context, page = _sign_in(browser, live_server.url, "fin")
    folder = artifacts()
    for name, path in (
        ("grants", "/admin/funding/grant/"),
        ("contracts", "/admin/contracts/servicecontract/"),
    ):
        page.set_viewport_size(LAPTOP)
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200
        _assert_fits(page, "#result_list")
        money = page.evaluate(FIRST_ROW_MONEY)
        assert len(money) >= 2, money  # the amount (or value) and a figure beside it
        for cell in money:
            assert MONEY.match(cell["text"]), cell
            assert cell["right"] <= LAPTOP["width"], cell
        page.screenshot(path=str(folder / f"admin-{name}-1366.png"), full_page=False)

        page.set_viewport_size(PHONE)
        page.goto(f"{live_server.url}{path}")
        _assert_fits(page)  # the table scrolls in its own box; the page does not
        page.screenshot(path=str(folder / f"admin-{name}-390.png"), full_page=False)
    context.close()


def test_a_community_page_fits_a_laptop_with_its_hubs(browser, live_server, operations_user, demo_computed):
    community = Community.objects.filter(hubs__isnull=False).order_by("pk").first()
    context, page = _sign_in(browser, live_server.url, "ops")
    page.goto(f"{live_server.url}/admin/communities/community/{community.pk}/change/")
    assert page.locator("#hubs-group tbody tr.has_original").count() >= 1
    _assert_fits(page, "#hubs-group table")
    page.locator("#hubs-group").screenshot(path=str(artifacts() / "admin-community-hubs-1366.png"))

    # Searching by the country's name finds it.
    country = community.get_country_display()
    page.goto(f"{live_server.url}/admin/communities/community/?q={country}")
    assert page.locator("#result_list tbody tr", has_text=community.name).count() == 1
    context.close()


def test_a_refusal_is_the_site_page_with_a_way_back(browser, live_server, operations_user, demo_computed):
    context, page = _sign_in(browser, live_server.url, "ops")
    folder = artifacts()
    for viewport, width in ((LAPTOP, "1366"), (PHONE, "390")):
        page.set_viewport_size(viewport)
        response = page.goto(f"{live_server.url}/leadership/")
        assert response.status == 403
        assert page.locator("h1").inner_text() == "You may not open this page"
        _assert_fits(page)
        page.screenshot(path=str(folder / f"error-403-{width}.png"), full_page=False)
    page.click("text=The records")
    page.wait_for_url(f"{live_server.url}/admin/")
    context.close()
