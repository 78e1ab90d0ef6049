"""The public KPI API: its contract (docs/api.md "Public KPI API"), caching, CORS, throttling, errors."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from communities.choices import UsagePeriod
from communities.tests.factories import ActiveUserCountFactory
from contributions.tests.factories import PullRequestFactory
from opsite.core.api.throttling import PublicRateThrottle
from opsite.core.periods import INTERVALS
from opsite.kpis import rollups
from opsite.kpis.api import public
from opsite.tests import factories
from opsite.tests.factories import MONTH_ENDS
from opsite.tests.shared_rows import shared_rows

pytestmark = pytest.mark.django_db

AS_OF = MONTH_ENDS[-1]
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
ALLOWED_ORIGIN = "https://www.example.org"
PUBLIC_METRICS = [name for name, metric in rollups.METRICS.items() if not metric.funding]
FUNDING_METRICS = [name for name, metric in rollups.METRICS.items() if metric.funding]
MONEY = re.compile(r"^-?\d+\.\d{2}$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class WorkerClock:
    """The clock a worker times its trust in a rollup version by, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def pass_version_ttl(self) -> None:
        self.now += public.VERSION_TTL


@pytest.fixture(autouse=True)
def worker_clock(monkeypatch):
    clock = WorkerClock()
    monkeypatch.setattr(public, "_clock", clock)
    return clock


@pytest.fixture(autouse=True)
def fresh_throttle():
    # The throttle counts in the cache, which outlives a test: every test starts with none used.
    cache.clear()
    yield
    cache.clear()


def build_organization() -> dict:
    """Three hubs (one community in Brazil, so historically marginalized), two staff members, a
    key upstream community with three merged pull requests, grants and contracts; recomputed."""
    organization = factories.build_organization(hubs=3)
    # At the tests' frozen time: a recompute that started earlier than the last one to write
    # (as one run at the real time would look to the tests) discards its results.
    with override_settings(OPSITE_CONTRIBUTIONS_SINCE="2021-01-01"), time_machine.travel(NOW, tick=False):
        rollups.recompute_rollups(as_of=AS_OF)
    return organization


@pytest.fixture(scope="module")
def stored_organization(django_db_setup, django_db_blocker):
    """The organization, built once for the module and rolled back after it; each test's own
    changes roll back to it."""
    with shared_rows(django_db_blocker, build_organization) as built:
        yield built


@pytest.fixture
def organization(stored_organization, settings):
    settings.OPSITE_CONTRIBUTIONS_SINCE = "2021-01-01"
    settings.OPSITE_PUBLIC_FUNDING = False
    return stored_organization


def kpis_url(**params) -> str:
    return _with(reverse("public-api:kpis"), params)


def series_url(metric: str, **params) -> str:
    return _with(reverse("public-api:series", args=[metric]), params)


def badge_url(metric: str) -> str:
    return reverse("public-api:badge", args=[metric])


def _with(url: str, params: dict) -> str:
    return url + ("?" + "&".join(f"{key}={value}" for key, value in params.items()) if params else "")


def every_public_url() -> list[str]:
    return [
        kpis_url(),
        *(series_url(metric, interval=interval) for metric in PUBLIC_METRICS for interval in INTERVALS),
        *(badge_url(metric) for metric in PUBLIC_METRICS),
    ]


# --- the contract -------------------------------------------------------------------------------


def test_the_kpis_answer_every_key_of_the_design_with_its_type(client, organization):
    body = client.get(kpis_url()).json()

    assert list(body) == ["as_of", "communities", "hubs", "users", "contributions", "staff"]
    assert list(body["communities"]) == ["active", "historically_marginalized", "countries"]
    assert list(body["hubs"]) == ["active"]
    assert list(body["users"]) == ["monthly_active", "weekly_active", "daily_active"]
    assert list(body["contributions"]) == ["merged_pull_requests", "repositories", "since"]
    assert list(body["staff"]) == ["headcount", "fte"]
    counts = [
        *body["communities"].values(),
        *body["hubs"].values(),
        *body["users"].values(),
        body["contributions"]["merged_pull_requests"],
        body["contributions"]["repositories"],
        body["staff"]["headcount"],
    ]
    assert all(type(count) is int for count in counts)
    assert ISO_DAY.match(body["as_of"]) and ISO_DAY.match(body["contributions"]["since"])
    assert MONEY.match(body["staff"]["fte"])


def test_the_kpis_are_the_stored_rollup_and_pin_the_organizations_figures(client, organization):
    body = client.get(kpis_url()).json()

    assert body == rollups.kpis().value
    assert body == {
        "as_of": "2024-03-31",
        "communities": {"active": 3, "historically_marginalized": 1, "countries": 2},
        "hubs": {"active": 3},
        "users": {"monthly_active": 30, "weekly_active": 12, "daily_active": 3},
        "contributions": {"merged_pull_requests": 3, "repositories": 1, "since": "2021-01-01"},
        "staff": {"headcount": 2, "fte": "1.80"},
    }


def test_the_kpis_as_of_a_past_day_are_that_days_figures(client, organization):
    body = client.get(kpis_url(as_of="2024-01-31")).json()

    assert body == rollups.kpis(date(2024, 1, 31)).value
    assert (body["as_of"], body["staff"]["headcount"], body["contributions"]["merged_pull_requests"]) == (
        "2024-01-31",
        1,
        0,
    )


def test_reading_the_kpis_takes_one_query_a_second_and_never_recomputes(
    client, organization, django_assert_num_queries, worker_clock
):
    client.get(kpis_url())

    # Within the second a worker trusts the version it read: no query at all. No authentication,
    # session or throttle query either.
    with django_assert_num_queries(0):
        fresh = client.get(kpis_url())
    worker_clock.pass_version_ttl()
    # Then the stored row's version, read by key; the answer rendered for it is reused.
    with django_assert_num_queries(1):
        checked = client.get(kpis_url())

    assert fresh.json() == checked.json() == rollups.kpis().value


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("metric", PUBLIC_METRICS)
def test_every_public_series_is_the_stored_rollup(client, organization, metric, interval):
    body = client.get(series_url(metric, interval=interval)).json()

    assert body == rollups.get_rollup(rollups.series_key(metric, interval)).value
    assert (body["metric"], body["interval"]) == (metric, interval)
    assert body["points"], "the organization has data for every public metric"


def test_a_series_point_has_period_bounds_value_and_groups(client, organization):
    pulls = client.get(series_url("merged-pull-requests", interval="month")).json()["points"]
    communities = client.get(series_url("active-communities", interval="quarter")).json()["points"]

    assert [list(point)[:5] for point in pulls] == [["period", "start", "end", "value", "groups"]] * 2
    assert [(point["period"], point["value"], point["groups"]) for point in pulls] == [
        ("2024-02", 3, {"jupyterhub": 3}),
        ("2024-03", 0, {"jupyterhub": 0}),
    ]
    assert communities == [
        {
            "period": "2024-Q1",
            "start": "2024-01-01",
            "end": "2024-03-31",
            "value": 3,
            "groups": {"historically_marginalized": 1, "other": 2},
        }
    ]


def test_a_series_without_an_interval_is_quarterly(client, organization):
    assert client.get(series_url("active-hubs")).json()["interval"] == "quarter"


def test_start_and_end_keep_only_the_periods_overlapping_them(client, organization):
    body = client.get(
        series_url("monthly-active-users", interval="month", start="2024-02-15", end="2024-02-20")
    )

    assert [point["period"] for point in body.json()["points"]] == ["2024-02"]


@pytest.mark.parametrize(
    ("metric", "section", "key", "label"),
    [
        ("active-communities", "communities", "active", "active communities"),
        ("active-hubs", "hubs", "active", "active hubs"),
        ("monthly-active-users", "users", "monthly_active", "monthly active users"),
        ("weekly-active-users", "users", "weekly_active", "weekly active users"),
        ("merged-pull-requests", "contributions", "merged_pull_requests", "merged pull requests"),
        ("headcount", "staff", "headcount", "headcount"),
    ],
)
def test_a_badge_is_the_kpi_figure_in_the_shields_endpoint_schema(
    client, organization, metric, section, key, label
):
    body = client.get(badge_url(metric)).json()

    assert body == {
        "schemaVersion": 1,
        "label": label,
        "message": f"{rollups.kpis().value[section][key]:,}",
        "color": "blue",
        "cacheSeconds": 300,
    }


def test_a_badge_writes_thousands_with_separators(client, organization, worker_clock):
    hub = organization["hub"]
    ActiveUserCountFactory(hub=hub, date=date(2024, 4, 30), period=UsagePeriod.MONTH, active_users=12345)
    rollups.recompute_rollups(as_of=date(2024, 4, 30))
    worker_clock.pass_version_ttl()

    # The two other hubs' March samples (10 each) are still within the 35-day look-back.
    assert client.get(badge_url("monthly-active-users")).json()["message"] == "12,365"


# --- caching ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [kpis_url(), series_url("headcount"), badge_url("active-hubs")])
def test_answers_are_public_for_five_minutes_with_the_rollup_version_as_etag(client, organization, url):
    response = client.get(url)

    assert response["Cache-Control"] == "public, max-age=300"
    assert re.fullmatch(r'"[0-9a-f]{64}"', response["ETag"])


def test_the_etag_is_the_version_of_the_rollup_served(client, organization):
    kpis = client.get(kpis_url())
    series = client.get(series_url("headcount", interval="month"))

    assert kpis["ETag"] == f'"{rollups.get_rollup(rollups.KPIS_LATEST).version}"'
    assert series["ETag"] == f'"{rollups.get_rollup(rollups.series_key("headcount", "month")).version}"'


@pytest.mark.parametrize("url", [kpis_url(), series_url("headcount"), badge_url("active-hubs")])
def test_a_matching_if_none_match_gets_304_with_no_body(client, organization, url):
    etag = client.get(url)["ETag"]

    response = client.get(url, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert (response["ETag"], response["Cache-Control"]) == (etag, "public, max-age=300")


@pytest.mark.parametrize("header", ['W/"{v}"', '"other", "{v}"', "*"])
def test_a_weak_listed_or_wildcard_if_none_match_also_gets_304(client, organization, header):
    version = rollups.get_rollup(rollups.KPIS_LATEST).version

    response = client.get(kpis_url(), headers={"If-None-Match": header.format(v=version)})

    assert response.status_code == 304


def test_another_etag_gets_the_full_answer(client, organization):
    response = client.get(kpis_url(), headers={"If-None-Match": '"0000"'})

    assert response.status_code == 200
    assert response.json()["hubs"] == {"active": 3}


def test_a_slice_of_a_series_has_its_own_etag(client, organization):
    whole = client.get(series_url("monthly-active-users", interval="month"))
    part = client.get(series_url("monthly-active-users", interval="month", start="2024-03-01"))

    assert whole["ETag"] != part["ETag"]


def test_the_etag_holds_over_a_recompute_that_changes_nothing(client, organization, worker_clock):
    before = [client.get(url)["ETag"] for url in every_public_url()]

    rollups.recompute_rollups(as_of=AS_OF)
    worker_clock.pass_version_ttl()

    assert [client.get(url)["ETag"] for url in every_public_url()] == before


def test_the_etag_changes_once_a_data_change_is_recomputed_and_not_before(client, organization, worker_clock):
    pulls = series_url("merged-pull-requests", interval="quarter")
    kpis_before, pulls_before = client.get(kpis_url())["ETag"], client.get(pulls)["ETag"]
    headcount_before = client.get(series_url("headcount"))["ETag"]
    PullRequestFactory(
        repository=organization["repository"],
        author_login=organization["person"].github,
        created_at=datetime(2024, 3, 1, tzinfo=UTC),
        merged_at=datetime(2024, 3, 2, tzinfo=UTC),
    )

    # Served from the store: nothing is recomputed on request, so nothing moved yet.
    assert client.get(kpis_url())["ETag"] == kpis_before
    assert client.get(pulls)["ETag"] == pulls_before

    rollups.recompute_rollups(as_of=AS_OF)
    # A worker trusts the version it read for a second: the new figures show once that passed.
    assert client.get(kpis_url())["ETag"] == kpis_before
    worker_clock.pass_version_ttl()

    kpis_after = client.get(kpis_url())
    assert kpis_after["ETag"] != kpis_before
    assert kpis_after.json()["contributions"]["merged_pull_requests"] == 4
    assert client.get(badge_url("merged-pull-requests")).json()["message"] == "4"
    assert client.get(pulls)["ETag"] != pulls_before
    assert client.get(pulls, headers={"If-None-Match": pulls_before}).status_code == 200
    # The headcount did not change: its ETag stays, and a client holding it still gets 304.
    assert client.get(series_url("headcount"))["ETag"] == headcount_before


def test_a_slice_and_another_day_s_kpis_are_kept_while_their_rollups_hold(
    client, organization, django_assert_num_queries, worker_clock
):
    """Derived per request, yet read and rendered once: kept while the versions of the rollups
    they come from hold, rendered again once a recompute changed one of them."""
    pulls = series_url("merged-pull-requests", interval="month", start="2024-03-01")
    day = kpis_url(as_of="2024-03-15")
    first = {url: client.get(url) for url in (pulls, day)}
    worker_clock.pass_version_ttl()

    # The versions they came from, read again in one query each (the kept answers are reused).
    with django_assert_num_queries(2):
        kept = {url: client.get(url) for url in (pulls, day)}
    assert {url: answer["ETag"] for url, answer in kept.items()} == {
        url: answer["ETag"] for url, answer in first.items()
    }

    PullRequestFactory(
        repository=organization["repository"],
        author_login=organization["person"].github,
        created_at=datetime(2024, 3, 1, tzinfo=UTC),
        merged_at=datetime(2024, 3, 2, tzinfo=UTC),
    )
    rollups.recompute_rollups(as_of=AS_OF)
    worker_clock.pass_version_ttl()

    again = {url: client.get(url) for url in (pulls, day)}
    assert again[pulls].json()["points"][0]["value"] == first[pulls].json()["points"][0]["value"] + 1
    assert again[day].json() == rollups.kpis(date(2024, 3, 15)).value
    assert again[pulls]["ETag"] != first[pulls]["ETag"]


# --- CORS ---------------------------------------------------------------------------------------


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]


def test_an_allowed_origin_may_read_the_public_api_from_a_page(client, organization, cors):
    response = client.get(kpis_url(), headers={"Origin": ALLOWED_ORIGIN})

    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert "origin" in response["Vary"].lower()
    assert "Access-Control-Allow-Credentials" not in response


def test_another_origin_gets_no_cors_grant(client, organization, cors):
    response = client.get(kpis_url(), headers={"Origin": "https://elsewhere.example.net"})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_from_an_allowed_origin_may_send_if_none_match_with_get(client, organization, cors):
    response = client.options(
        badge_url("headcount"),
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "if-none-match" in response["Access-Control-Allow-Headers"]
    assert "POST" not in response["Access-Control-Allow-Methods"]


def test_cors_stops_at_the_public_api(client, organization, cors):
    response = client.get("/api/v1/contracts/contracts/", headers={"Origin": ALLOWED_ORIGIN})

    assert "Access-Control-Allow-Origin" not in response


def test_the_allowed_origins_are_the_setting_opsite_public_cors_origins(monkeypatch):
    origins = "https://www.example.org,https://widgets.example.org"
    monkeypatch.setenv("OPSITE_PUBLIC_CORS_ORIGINS", origins)
    # The settings module read afresh, as a deployment with that environment reads it.
    spec = importlib.util.find_spec("opsite.settings.base")
    base = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(base)

    assert base.CORS_ALLOWED_ORIGINS == base.OPSITE_PUBLIC_CORS_ORIGINS == origins.split(",")
    assert re.match(base.CORS_URLS_REGEX, "/api/v1/public/kpis/")
    assert not re.match(base.CORS_URLS_REGEX, "/api/v1/funding/runway/")


# --- throttling ---------------------------------------------------------------------------------


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"public": "3/min"}}


def test_a_client_over_the_rate_gets_429_with_retry_after(client, organization, three_per_minute):
    statuses = [client.get(kpis_url()).status_code for _ in range(4)]

    response = client.get(badge_url("headcount"))
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    # NOW is 12:00:00 sharp: the minute's window closes in 60 seconds.
    assert response["Retry-After"] == "60"
    assert "throttled" in response.json()["detail"].lower()


def test_the_throttle_lets_the_client_in_again_in_the_next_window(
    client, organization, three_per_minute, frozen_clock
):
    for _ in range(3):
        client.get(kpis_url())
    assert client.get(kpis_url()).status_code == 429

    frozen_clock.shift(61)

    assert client.get(kpis_url()).status_code == 200


def test_each_client_address_has_its_own_allowance(client, organization, three_per_minute):
    for _ in range(3):
        client.get(kpis_url(), REMOTE_ADDR="192.0.2.1")

    assert client.get(kpis_url(), REMOTE_ADDR="192.0.2.1").status_code == 429
    assert client.get(kpis_url(), REMOTE_ADDR="192.0.2.2").status_code == 200


def test_a_forged_forwarded_for_header_does_not_buy_a_new_allowance(client, organization, three_per_minute):
    for index in range(3):
        client.get(kpis_url(), headers={"X-Forwarded-For": f"198.51.100.{index}"})

    assert client.get(kpis_url(), headers={"X-Forwarded-For": "198.51.100.99"}).status_code == 429


def test_signed_in_users_are_throttled_like_anyone(organization, three_per_minute, operations_client):
    statuses = [operations_client.get(kpis_url()).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_with_the_cache_down_the_public_api_still_answers(
    client, organization, three_per_minute, monkeypatch
):
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache server unreachable")

    monkeypatch.setattr(PublicRateThrottle.cache, "incr", unreachable)
    monkeypatch.setattr(PublicRateThrottle.cache, "add", unreachable)

    assert {client.get(kpis_url()).status_code for _ in range(5)} == {200}


def test_without_a_rate_nothing_is_throttled(client, organization, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}

    assert {client.get(kpis_url()).status_code for _ in range(5)} == {200}


# --- funding figures ----------------------------------------------------------------------------


@pytest.mark.parametrize("metric", FUNDING_METRICS)
def test_funding_and_contract_figures_are_unknown_while_the_setting_is_off(client, organization, metric):
    for url in (series_url(metric), badge_url(metric)):
        response = client.get(url)

        assert response.status_code == 404
        assert f"'{metric}'" in response.json()["detail"]
        assert "unavailable" in response.json()["detail"]


def test_the_unknown_metric_message_lists_no_funding_metric_while_the_setting_is_off(client, organization):
    detail = client.get(series_url("nope")).json()["detail"]

    assert "merged-pull-requests" in detail
    assert "funding" not in detail and "contracts" not in detail


def test_with_the_setting_on_funding_is_served_with_money_as_decimal_strings(client, organization, settings):
    settings.OPSITE_PUBLIC_FUNDING = True

    funding = client.get(series_url("funding", interval="quarter")).json()
    contracts = client.get(series_url("contracts", interval="quarter")).json()

    assert funding == rollups.get_rollup(rollups.series_key("funding", "quarter")).value
    (quarter,) = funding["points"]
    assert (quarter["value"], quarter["groups"]["service_contract"]) == ("4500.75", "1500.75")
    assert all(MONEY.match(amount) for amount in [quarter["net"], *quarter["groups"].values()])
    (signed,) = contracts["points"]
    assert (signed["value"], signed["total_value"]) == (3, "1500.75")


def test_with_the_setting_on_the_funding_badge_is_the_current_years_amount(client, organization, settings):
    settings.OPSITE_PUBLIC_FUNDING = True

    funding = client.get(badge_url("funding")).json()
    contracts = client.get(badge_url("contracts")).json()

    assert (funding["label"], funding["message"]) == ("funding 2024", "4,501 USD")
    assert (contracts["label"], contracts["message"]) == ("new contracts 2024", "3")


# --- bad requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (kpis_url(as_of="2024-13-01"), "as_of"),
        (kpis_url(as_of="31/12/2024"), "as_of"),
        (kpis_url(as_of="20241231"), "as_of"),
        (kpis_url(as_of="2025-06-02"), "2025-06-02"),
        (kpis_url(as_of="0001-01-01"), "as_of"),
        (series_url("nope"), "'nope'"),
        (series_url("headcount", interval="week"), "'week'"),
        (series_url("headcount", start="2024-02-30"), "start"),
        (series_url("headcount", end="soon"), "end"),
        (series_url("headcount", start="2024-03-01", end="2024-02-01"), "before start"),
        (badge_url("nope"), "'nope'"),
    ],
)
def test_a_bad_parameter_gets_400_naming_it(client, organization, url, named):
    response = client.get(url)

    assert response.status_code == 400
    assert named in response.json()["detail"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", [kpis_url(), series_url("headcount"), badge_url("headcount")])
def test_the_public_api_is_read_only(client, organization, method, url):
    response = getattr(client, method)(url, data={}, content_type="application/json")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_head_and_options_are_answered(client, organization):
    assert client.head(kpis_url()).status_code == 200
    assert client.options(kpis_url()).json()["name"]


# --- anonymous means anonymous ------------------------------------------------------------------


def test_a_revoked_token_or_an_inactive_session_still_reads_the_public_api(organization, inactive_user):
    token = Token.objects.create(user=inactive_user)
    key = token.key
    token.delete()
    session = Client()
    session.force_login(inactive_user)

    assert Client().get(kpis_url(), headers={"Authorization": f"Token {key}"}).status_code == 200
    assert session.get(kpis_url()).status_code == 200


SENSITIVE_KEYS = {"compensation", "salary", "annual_salary", "benefits_rate", "balance", "cash", "runway"}


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


def test_no_public_answer_has_a_salary_cash_or_runway_key(client, organization, settings):
    settings.OPSITE_PUBLIC_FUNDING = True
    urls = every_public_url() + [series_url(metric) for metric in FUNDING_METRICS]

    found = set().union(*(_keys(client.get(url).json()) for url in urls))

    assert not found & SENSITIVE_KEYS
