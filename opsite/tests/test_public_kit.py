"""The public figures page (/kpis/) and the widgets other sites embed: what they show, their
caching and cost, and the framing and CORS headers that let other sites embed the widgets and
nothing else (docs/api.md "Public website kit")."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from communities.choices import UsagePeriod
from communities.models import ActiveUserCount
from communities.tests.factories import CommunityFactory
from opsite.kpis import rollups
from opsite.kpis.api.public import CACHE_CONTROL
from opsite.kpis.models import ImpactStory
from opsite.kpis.tests.factories import ImpactStoryFactory
from opsite.tests.public_kit_support import (  # noqa: F401 (fixtures)
    ALLOWED_ORIGIN,
    AS_OF,
    NOW,
    cors,
    kpis,
    organization,
    pass_version_ttl,
    stored_organization,
    text_of,
    worker_clock,
)
from opsite.tests.test_security_headers import EXPECTED_POLICY, policy_of, scripts_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("organization")]

PAGE = "/kpis/"
SCRIPT = "/widgets/kpis.js"


def card(metric: str = "monthly-active-users", **options: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in options.items())
    return reverse("widgets:card", args=[metric]) + (f"?{query}" if query else "")


# --- the page -------------------------------------------------------------------------------------


def test_the_page_shows_the_figures_in_its_html_to_anyone():
    response = Client().get(PAGE)
    html = response.content.decode()
    figures = kpis()

    assert response.status_code == 200
    assert text_of(html, "kpi-communities") == f"{figures['communities']['active']:,}"
    assert text_of(html, "kpi-users") == f"{figures['users']['monthly_active']:,}"
    assert text_of(html, "kpi-countries") == f"{figures['communities']['countries']:,}"
    assert text_of(html, "kpi-pull-requests") == f"{figures['contributions']['merged_pull_requests']:,}"
    assert text_of(html, "as-of") == f"{AS_OF.day} {AS_OF:%B %Y}"


def test_the_page_has_the_charts_data_and_their_tables():
    html = Client().get(PAGE).content.decode()

    assert 'id="kpis-charts" type="application/json"' in html
    for chart in ("users", "hubs", "histogram", "pull_requests"):
        assert f'data-chart="{chart}"' in html
    # Each chart's table is open until a script draws the chart.
    assert html.count('<details class="numbers" open>') == 4
    assert "vendor/plotly-basic.min.js" in html


def test_the_page_is_public_for_five_minutes_with_an_etag_and_no_cookie():
    response = Client().get(PAGE)

    assert response["Cache-Control"] == CACHE_CONTROL
    assert response["ETag"].startswith('"')
    assert not response.cookies
    assert "cookie" not in response.get("Vary", "").lower()


def test_a_matching_etag_gets_304_with_no_body():
    client = Client()
    etag = client.get(PAGE)["ETag"]

    response = client.get(PAGE, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_a_signed_in_user_gets_the_same_page_as_anyone(operations_client):
    anonymous = Client().get(PAGE).content

    signed_in = operations_client.get(PAGE)

    assert signed_in.content == anonymous
    assert b"Log out" not in signed_in.content and b"csrfmiddlewaretoken" not in signed_in.content
    assert not signed_in.cookies


def test_a_new_story_reaches_the_page_once_the_worker_reads_the_versions_again():
    client = Client()
    before = client.get(PAGE)
    ImpactStoryFactory(title="A story published just now")

    assert client.get(PAGE)["ETag"] == before["ETag"]  # within the second the worker trusts
    pass_version_ttl()
    after = client.get(PAGE)

    assert after["ETag"] != before["ETag"]
    assert b"A story published just now" in after.content


# Reading the page once the worker's trust has lapsed: 1 the page's rollup versions, 2 the stories'
# version. Rendering it again after a change: 3 the rollups' values, 4 the published stories with
# their communities (joined).
CHECK_QUERIES = 2
RENDER_QUERIES = 4


def test_the_page_costs_the_same_queries_for_2_stories_as_for_20(django_assert_num_queries):
    client = Client()
    for size in (2, 20):
        ImpactStoryFactory.create_batch(size - ImpactStory.objects.count(), community=CommunityFactory())
        pass_version_ttl()
        with django_assert_num_queries(RENDER_QUERIES):
            assert client.get(PAGE).status_code == 200
        pass_version_ttl()
        with django_assert_num_queries(CHECK_QUERIES):
            client.get(PAGE)
        with django_assert_num_queries(0):
            client.get(PAGE)


def test_the_page_runs_no_inline_script_and_may_not_be_framed():
    response = Client().get(PAGE)

    assert policy_of(response) == EXPECTED_POLICY
    assert response["X-Frame-Options"] == "DENY"
    found = scripts_of(response)
    assert found.inline_scripts == [] and found.handlers == []
    assert reverse("widgets:script") in found.sources


def test_the_page_gives_each_snippet_for_this_sites_address(settings):
    settings.ALLOWED_HOSTS = ["ops.example.org"]
    html = unescape(Client().get(PAGE, HTTP_HOST="ops.example.org").content.decode())

    assert '<script src="http://ops.example.org/widgets/kpis.js" async></script>' in html
    assert (
        '<iframe src="http://ops.example.org/widgets/kpi/monthly-active-users/?theme=light&size=medium"'
        in html
    )
    assert (
        "https://img.shields.io/endpoint?url=http%3A%2F%2Fops.example.org%2Fapi%2Fv1%2Fpublic%2Fbadges"
        in html
    )
    assert 'fetch("http://ops.example.org/api/v1/public/kpis/")' in html


# --- the widget script ----------------------------------------------------------------------------


@pytest.mark.usefixtures("cors")
def test_the_script_is_public_cacheable_and_loadable_from_any_site():
    response = Client().get(SCRIPT, headers={"Origin": ALLOWED_ORIGIN})
    body = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == CACHE_CONTROL
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert not response.cookies
    assert Client().get(SCRIPT, headers={"If-None-Match": response["ETag"]}).status_code == 304
    # Small, no dependency, no cookies, one request: what the file promises, in the file.
    assert len(response.content) < 4096
    assert 'credentials: "omit"' in body and "import " not in body and "require(" not in body
    assert body.count("fetch(") == 1


# --- the iframe card ------------------------------------------------------------------------------


def test_the_card_shows_the_figure_of_its_metric():
    html = Client().get(card()).content.decode()

    assert f">{kpis()['users']['monthly_active']:,}<" in html
    assert "monthly active users" in html


@pytest.mark.parametrize(
    ("options", "body_class"),
    [({}, "theme-light size-medium"), ({"theme": "dark", "size": "small"}, "theme-dark size-small")],
)
def test_the_card_has_a_light_and_a_dark_theme_in_three_sizes(options, body_class):
    html = Client().get(card(**options)).content.decode()

    assert f'<body class="{body_class}">' in html


@pytest.mark.parametrize(
    ("url", "status"),
    [(card(theme="pink"), 400), (card(size="huge"), 400), (card("nope"), 404), (card("funding"), 404)],
)
def test_a_bad_option_is_400_and_an_unknown_or_unpublished_metric_404(url, status):
    assert Client().get(url).status_code == status


def test_with_funding_published_its_card_shows_the_current_year(settings):
    settings.OPSITE_PUBLIC_FUNDING = True

    response = Client().get(card("funding"))

    assert response.status_code == 200
    assert b"funding 2024" in response.content


def test_the_card_and_only_the_card_may_be_framed_by_any_site():
    client = Client()
    framed = client.get(card())

    assert "X-Frame-Options" not in framed
    assert policy_of(framed) == {**EXPECTED_POLICY, "frame-ancestors": ["*"]}
    assert framed["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert framed["Cache-Control"] == CACHE_CONTROL
    for url in (
        PAGE,
        SCRIPT,
        "/api/v1/public/kpis/",
        "/api/v1/public/stories/",
        card("nope"),
        card(theme="x"),
    ):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", url
        assert policy_of(response)["frame-ancestors"] == ["'none'"], url


def test_the_card_etag_changes_with_its_figure_and_not_otherwise():
    client = Client()
    first = client.get(card())["ETag"]
    pass_version_ttl()

    assert client.get(card())["ETag"] == first
    assert client.get(card(), headers={"If-None-Match": first}).status_code == 304
    assert client.get(card(theme="dark"))["ETag"] != first

    sample = ActiveUserCount.objects.filter(date=AS_OF, period=UsagePeriod.MONTH).first()
    sample.active_users += 5
    sample.save()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        rollups.recompute_rollups(as_of=AS_OF)
    pass_version_ttl()
    changed = client.get(card(), headers={"If-None-Match": first})

    assert changed.status_code == 200
    assert f">{kpis()['users']['monthly_active']:,}<".encode() in changed.content


@pytest.mark.usefixtures("cors")
def test_cors_reaches_the_widgets_and_the_public_api_only():
    client = Client()
    granted = [SCRIPT, card(), "/api/v1/public/stories/"]
    refused = [PAGE, "/api/v1/kpis/impact-stories/", "/admin/login/"]

    for url in granted:
        assert (
            client.get(url, headers={"Origin": ALLOWED_ORIGIN})["Access-Control-Allow-Origin"]
            == ALLOWED_ORIGIN
        )
    for url in refused:
        assert "Access-Control-Allow-Origin" not in client.get(url, headers={"Origin": ALLOWED_ORIGIN}), url
