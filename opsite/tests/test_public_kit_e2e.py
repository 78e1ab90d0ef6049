"""The public website kit in a real browser: Playwright driving Debian's Chromium, headless.

A page served by a second web server, on another origin, embeds the widget script and an iframe
card and shows the live figures; the script makes one request and, when our site cannot be
reached, leaves the page's own text alone. ``/kpis/`` shows its figures with JavaScript switched
off, draws its charts with it on, and never scrolls sideways on a phone. Screenshots (laptop and
phone widths) go to ``$OPSITE_ARTIFACTS_DIR/screenshots``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from communities.models import Community
from opsite.kpis.demo_stories import load_demo_stories
from opsite.kpis.models import ImpactStory
from opsite.kpis.rollups import KPIS_LATEST, get_rollup
from opsite.tests.browser import LAPTOP, PHONE, artifacts
from opsite.tests.processes import free_port

# Transactional: the live server's thread must see the rows committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Whether the page scrolls sideways.
WIDTHS = "() => ({page: document.documentElement.scrollWidth, viewport: window.innerWidth})"

OTHER_SITE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A partner's site</title></head>
<body>
  <h1>About us</h1>
  <p>We serve <span id="communities" data-opsite-kpi="communities.active">more than 90</span> communities,
  <span id="users" data-opsite-kpi="users.monthly_active">over 6,500</span> people a month,
  as of <span id="as-of" data-opsite-kpi="as_of">last year</span>.
  <span id="unknown" data-opsite-kpi="users.no_such_key">kept as written</span></p>
  <iframe id="card" src="{base}/widgets/kpi/monthly-active-users/?theme=dark&size=medium"
          title="Monthly active users" width="300" height="150" style="border:0"></iframe>
  <script src="{base}/widgets/kpis.js" async {api}></script>
</body></html>
"""


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A second web server, on another port (so another origin), serving ``tmp_path``."""
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(QuietFiles, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def figures(demo_computed) -> dict:
    """The demo with its stories, and the KPI block the public API serves."""
    load_demo_stories(Community.objects.all())
    return get_rollup(KPIS_LATEST).value


def test_a_page_on_another_origin_shows_the_live_figures_from_the_script_and_the_card(
    browser, live_server, figures, other_site, settings
):
    origin, folder = other_site
    settings.CORS_ALLOWED_ORIGINS = [origin]
    (folder / "about.html").write_text(OTHER_SITE.format(base=live_server.url, api=""))
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    api_requests = []
    page.on("request", lambda request: "/api/v1/public/kpis/" in request.url and api_requests.append(request))

    page.goto(f"{origin}/about.html")
    page.wait_for_selector("#users[data-opsite-live]")

    assert page.text_content("#communities") == f"{figures['communities']['active']:,}"
    assert page.text_content("#users") == f"{figures['users']['monthly_active']:,}"
    assert page.text_content("#as-of") == figures["as_of"]
    assert page.text_content("#unknown") == "kept as written"
    card = page.frame_locator("#card")
    assert card.locator(".figure").text_content() == f"{figures['users']['monthly_active']:,}"
    assert "monthly active users" in card.locator(".label").text_content()
    # One request for all the elements, sent without cookies.
    assert len(api_requests) == 1
    assert "cookie" not in api_requests[0].all_headers()
    page.screenshot(path=str(artifacts() / "widgets-other-site-1366.png"))
    context.close()


def test_the_script_leaves_the_pages_own_text_when_our_api_cannot_be_reached(
    browser, live_server, figures, other_site
):
    origin, folder = other_site
    unreachable = f'data-api="http://127.0.0.1:{free_port()}/api/v1/public/kpis/"'
    (folder / "offline.html").write_text(OTHER_SITE.format(base=live_server.url, api=unreachable))
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto(f"{origin}/offline.html")
    page.wait_for_function("() => window.__opsiteKpis && Object.keys(window.__opsiteKpis).length === 1")
    page.wait_for_timeout(500)

    assert failed and "/api/v1/public/kpis/" in failed[0]
    assert page.text_content("#communities") == "more than 90"
    assert page.text_content("#users") == "over 6,500"
    context.close()


def test_the_figures_page_shows_its_figures_and_stories_without_javascript(browser, live_server, figures):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()

    response = page.goto(f"{live_server.url}/kpis/")

    assert response.status == 200
    assert page.text_content("#kpi-users").strip() == f"{figures['users']['monthly_active']:,}"
    assert page.text_content("#kpi-communities").strip() == f"{figures['communities']['active']:,}"
    # The charts' figures are readable as tables; the live snippet shows the figures as rendered.
    assert page.locator("details.numbers[open] table").count() == 4
    assert page.locator(".plot:visible").count() == 0
    published = ImpactStory.objects.filter(published=True).count()
    assert page.locator(".stories > li").count() == min(published, 9)
    assert page.locator(".story", has_text="Our contributions to Jupyter Book 2").count() == 0  # a draft
    sizes = page.evaluate(WIDTHS)
    assert sizes["page"] <= sizes["viewport"], sizes
    page.screenshot(path=str(artifacts() / "kpis-no-javascript-390.png"), full_page=True)
    context.close()


@pytest.mark.parametrize(("viewport", "name"), [(LAPTOP, "1366"), (PHONE, "390")])
def test_the_figures_page_draws_its_charts_and_fits_the_screen(browser, live_server, figures, viewport, name):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    page.goto(f"{live_server.url}/kpis/")
    page.locator("#charts").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('.plot .main-svg').length >= 4", timeout=20_000)
    page.wait_for_selector("[data-opsite-kpi][data-opsite-live]")

    assert errors == []
    # Each chart drawn, its table folded away but still there.
    assert page.locator(".plot:visible").count() == 4
    assert page.locator("details.numbers[open]").count() == 0
    # The live examples: the script's figures and both cards.
    assert (
        page.text_content(".live-script [data-opsite-kpi='users.monthly_active']")
        == f"{figures['users']['monthly_active']:,}"
    )
    for frame in ("light", "dark"):
        # Lazy frames: loaded as they come into view, as a reader scrolls to them.
        page.locator(f"iframe[title$='{frame} card']").scroll_into_view_if_needed()
        card = page.frame_locator(f"iframe[title$='{frame} card']")
        assert card.locator(".figure").text_content() == f"{figures['users']['monthly_active']:,}"
    sizes = page.evaluate(WIDTHS)
    assert sizes["page"] <= sizes["viewport"], sizes
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts() / f"kpis-{name}.png"), full_page=True)
    context.close()
