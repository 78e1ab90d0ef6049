"""The rollup store: what a recompute writes, when versions change, and what readers get."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communities.choices import HubKind, UsagePeriod
from communities.models import ActiveUserCount
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory
from contracts.tests.factories import ServiceContractFactory
from contributions.tests.factories import PullRequestFactory, RepositoryFactory, UpstreamCommunityFactory
from funding.currency import MissingExchangeRate
from funding.tests.factories import GrantFactory, SubawardFactory
from opsite.core.periods import INTERVALS
from opsite.kpis.histogram import HUBS_BY_USERS
from opsite.kpis.models import Rollup
from opsite.kpis.rollups import (
    KPIS_LATEST,
    METRICS,
    default_as_of,
    get_rollup,
    kpis,
    kpis_key,
    public_metrics,
    recompute_rollups,
    series,
    series_key,
    version_of,
)
from opsite.tests.factories import MONTH_ENDS, build_organization
from staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

AS_OF = MONTH_ENDS[-1]
# Every test runs after the data's dates: the default as-of day is never in the future.
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def published() -> dict[str, Rollup]:
    return {row.key: row for row in Rollup.objects.exclude(key__startswith="state:")}


def values() -> dict[str, object]:
    return {key: row.value for key, row in published().items()}


def recomputed_from_scratch(as_of: date) -> dict[str, object]:
    """The values stored now; then empties the store and recomputes it from nothing.

    ``recomputed_from_scratch(day) == values()`` compares what the incremental path stored with
    what a recompute from an empty store gives.
    """
    incremental = values()
    Rollup.objects.all().delete()
    recompute_rollups(as_of=as_of)
    return incremental


# --- what is stored ---------------------------------------------------------------------------


def test_the_kpi_block_has_the_shape_of_the_public_api(settings):
    settings.OPSITE_CONTRIBUTIONS_SINCE = "2021-01-01"
    build_organization(hubs=3)

    recompute_rollups(as_of=AS_OF)

    assert get_rollup(kpis_key(AS_OF)).value == {
        "as_of": "2024-03-31",
        "communities": {"active": 3, "historically_marginalized": 1, "countries": 2},
        "hubs": {"active": 3},
        "users": {"monthly_active": 30, "weekly_active": 12, "daily_active": 3},
        "contributions": {"merged_pull_requests": 3, "repositories": 1, "since": "2021-01-01"},
        "staff": {"headcount": 2, "fte": "1.80"},
    }
    assert get_rollup(KPIS_LATEST).value == get_rollup(kpis_key(AS_OF)).value


def test_every_public_metric_is_stored_at_every_interval():
    build_organization()

    recompute_rollups(as_of=AS_OF)

    assert {series_key(metric, interval) for metric in METRICS for interval in INTERVALS} <= set(published())


def test_series_points_carry_label_bounds_value_and_groups():
    build_organization(hubs=3)

    recompute_rollups(as_of=AS_OF)

    communities = get_rollup(series_key("active-communities", "quarter")).value
    assert communities["points"] == [
        {
            "period": "2024-Q1",
            "start": "2024-01-01",
            "end": "2024-03-31",
            "value": 3,
            "groups": {"historically_marginalized": 1, "other": 2},
        }
    ]
    pulls = get_rollup(series_key("merged-pull-requests", "month")).value["points"]
    assert [(point["period"], point["value"], point["groups"]) for point in pulls] == [
        ("2024-02", 3, {"jupyterhub": 3}),
        ("2024-03", 0, {"jupyterhub": 0}),
    ]


def test_money_values_are_decimal_strings_and_funding_groups_include_service_contracts():
    build_organization(hubs=2)
    SubawardFactory(
        grant=GrantFactory(prime=True, awarded_on=date(2024, 2, 1), amount=Decimal("300.00")),
        amount=Decimal("100.00"),
    )

    recompute_rollups(as_of=AS_OF)

    (quarter,) = get_rollup(series_key("funding", "quarter")).value["points"]
    # Two grants of 1,000.00, the prime one of 300.00 passing 100.00 on, two contracts of 500.25.
    assert (quarter["value"], quarter["net"]) == ("3300.50", "3200.50")
    assert quarter["groups"]["service_contract"] == "1000.50"
    (contracts,) = get_rollup(series_key("contracts", "quarter")).value["points"]
    assert (contracts["value"], contracts["total_value"]) == (2, "1000.50")


def test_a_series_starts_at_the_metrics_earliest_data():
    build_organization()
    StaffMemberFactory(start_on=date(2022, 11, 5), end_on=date(2022, 12, 31))

    recompute_rollups(as_of=AS_OF)

    headcount = get_rollup(series_key("headcount", "month")).value["points"]
    users = get_rollup(series_key("monthly-active-users", "month")).value["points"]
    assert (headcount[0]["period"], users[0]["period"]) == ("2022-11", "2024-01")
    assert [point["value"] for point in headcount[:3]] == [1, 1, 0]


def test_the_current_period_is_read_on_the_as_of_day():
    build_organization(hubs=1)

    recompute_rollups(as_of=date(2024, 3, 15))

    (point,) = get_rollup(series_key("monthly-active-users", "quarter")).value["points"]
    # The 2024-02-29 sample is within 35 days of 2024-03-15; the month-end one comes later.
    assert (point["value"], get_rollup(KPIS_LATEST).value["as_of"]) == (10, "2024-03-15")


# --- the default as-of day --------------------------------------------------------------------


def test_the_default_as_of_day_is_the_latest_usage_sample():
    build_organization()
    PullRequestFactory(author_login="octo", merged_at=datetime(2024, 5, 5, tzinfo=UTC))

    assert default_as_of() == AS_OF


def test_the_default_as_of_day_falls_back_to_the_latest_counted_contribution():
    person = StaffMemberFactory(github="octo", start_on=date(2023, 1, 1))
    PullRequestFactory(author_login=person.github, merged_at=datetime(2024, 5, 5, 23, tzinfo=UTC))

    assert default_as_of() == date(2024, 5, 5)


def test_the_default_as_of_day_is_never_in_the_future():
    ActiveUserCountFactory(date=date(2030, 1, 1))

    assert default_as_of() == NOW.date()


def test_without_any_data_the_default_as_of_day_is_today():
    assert default_as_of() == NOW.date()


# --- versions -------------------------------------------------------------------------------


def test_the_version_is_a_content_hash_independent_of_key_order():
    assert version_of({"a": 1, "b": [1, 2]}) == version_of({"b": [1, 2], "a": 1})
    assert version_of({"a": 1}) != version_of({"a": 2})


def test_a_recompute_without_data_changes_keeps_every_version_and_computed_at(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    first = recompute_rollups(as_of=AS_OF)
    before = {key: (row.version, row.computed_at) for key, row in published().items()}

    frozen_clock.shift(timedelta(hours=2))
    second = recompute_rollups(as_of=AS_OF)

    assert {key: (row.version, row.computed_at) for key, row in published().items()} == before
    assert (len(first["written"]), second["written"], second["unchanged"]) == (len(before), [], len(before))
    # Nothing was read again: every stored day still held.
    assert (second["usage_days_read"], second["staff_days_read"], second["contributions_reused"]) == (
        0,
        0,
        True,
    )


def test_a_data_change_gives_new_versions_to_the_figures_it_changes_and_only_those(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF)
    before = published()

    frozen_clock.shift(timedelta(hours=2))
    emptied = ActiveUserCount.objects.filter(date=AS_OF, period=UsagePeriod.MONTH).first()
    emptied.active_users = 0
    emptied.save()
    ActiveUserCountFactory(
        hub=HubFactory(launched_on=date(2024, 1, 1)), date=AS_OF, period=UsagePeriod.MONTH, active_users=5
    )
    result = recompute_rollups(as_of=AS_OF)
    after = published()

    mau = series_key("monthly-active-users", "month")
    funding = series_key("funding", "month")
    assert after[mau].version != before[mau].version
    assert after[mau].computed_at == NOW + timedelta(hours=4)
    assert after[mau].value["points"][-1]["value"] == 25
    assert (after[funding].version, after[funding].computed_at) == (
        before[funding].version,
        NOW + timedelta(hours=2),
    )
    assert mau in result["written"] and funding not in result["written"]


def test_writing_twice_never_duplicates_a_row():
    build_organization()

    recompute_rollups(as_of=AS_OF)
    recompute_rollups(as_of=AS_OF)

    keys = list(Rollup.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys))


def test_a_recompute_that_started_before_the_last_writer_discards_its_results(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=1))
    recompute_rollups(as_of=AS_OF)
    stored = values()

    # A slower recompute that started an hour earlier finishes now, with older data.
    frozen_clock.shift(timedelta(hours=-2))
    ActiveUserCount.objects.all().delete()
    result = recompute_rollups(as_of=AS_OF)

    assert result["skipped"] is True
    assert values() == stored


@pytest.mark.django_db(transaction=True)
def test_two_recomputes_at_once_leave_one_row_per_key_and_the_same_figures():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("needs a database several connections can write at once (a file or PostgreSQL)")
    build_organization()
    start = threading.Barrier(2)
    errors: list[Exception] = []

    def recompute():
        try:
            start.wait(timeout=10)
            recompute_rollups(as_of=AS_OF)
        except Exception as error:  # reported below, with the thread's traceback lost but its type kept
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=recompute) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    keys = list(Rollup.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys))
    assert recomputed_from_scratch(AS_OF) == values()


# --- the incremental recompute agrees with a recompute from scratch ---------------------------


def test_one_more_day_of_usage_reads_only_that_day_again(frozen_clock):
    build_organization()
    # Samples written within the margin before a recompute are read again by the next one.
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups()
    frozen_clock.shift(timedelta(hours=3))
    for hub in HubFactory._meta.model.objects.all():
        ActiveUserCountFactory(hub=hub, date=date(2024, 4, 1), period=UsagePeriod.MONTH, active_users=11)

    result = recompute_rollups()

    assert (result["as_of"], result["usage_days_read"]) == ("2024-04-01", 1)
    assert recomputed_from_scratch(date(2024, 4, 1)) == values()


def test_a_changed_old_sample_is_read_again(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF)
    frozen_clock.shift(timedelta(hours=3))
    old = ActiveUserCount.objects.get(
        date=date(2024, 1, 31),
        period=UsagePeriod.MONTH,
        hub__slug=HubFactory._meta.model.objects.first().slug,
    )
    old.active_users = 500
    old.save()

    result = recompute_rollups(as_of=AS_OF)

    # January's end is affected, and so is February's, whose window reaches back to January 26.
    assert result["usage_days_read"] == 2
    assert recomputed_from_scratch(AS_OF) == values()


def test_a_deleted_sample_makes_every_day_read_again(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF)
    frozen_clock.shift(timedelta(hours=3))
    ActiveUserCount.objects.filter(date=date(2024, 1, 31)).first().delete()

    result = recompute_rollups(as_of=AS_OF)

    assert result["usage_days_read"] == 3
    assert recomputed_from_scratch(AS_OF) == values()


def test_a_retired_hub_makes_every_day_read_again(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF)
    frozen_clock.shift(timedelta(hours=3))
    HubFactory._meta.model.objects.filter(pk=HubFactory._meta.model.objects.first().pk).update(
        retired_on=date(2024, 2, 15), kind=HubKind.DASKHUB
    )

    result = recompute_rollups(as_of=AS_OF)

    assert result["usage_days_read"] == 3
    assert recomputed_from_scratch(AS_OF) == values()


def test_new_contributions_after_the_as_of_day_are_added_to_the_kept_ones(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=date(2024, 2, 3))
    frozen_clock.shift(timedelta(hours=3))

    result = recompute_rollups(as_of=AS_OF)

    assert result["contributions_reused"] is True
    assert recomputed_from_scratch(AS_OF) == values()


def test_a_new_pull_request_makes_the_contributions_counted_again(frozen_clock):
    build_organization()
    frozen_clock.shift(timedelta(hours=2))
    recompute_rollups(as_of=AS_OF)
    frozen_clock.shift(timedelta(hours=3))
    PullRequestFactory(
        repository=RepositoryFactory(upstream_community=UpstreamCommunityFactory(slug="pangeo")),
        author_login="octo",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        merged_at=datetime(2024, 1, 2, tzinfo=UTC),
    )

    result = recompute_rollups(as_of=AS_OF)

    assert result["contributions_reused"] is False
    assert get_rollup(KPIS_LATEST).value["contributions"]["merged_pull_requests"] == 4
    assert recomputed_from_scratch(AS_OF) == values()


def test_a_roster_change_is_reflected_in_the_headcount_already_stored(frozen_clock):
    build_organization()
    recompute_rollups(as_of=AS_OF)
    frozen_clock.shift(timedelta(hours=3))
    StaffMemberFactory(start_on=date(2024, 2, 10), end_on=date(2024, 3, 5))

    recompute_rollups(as_of=AS_OF)

    points = get_rollup(series_key("headcount", "month")).value["points"]
    assert [point["value"] for point in points[-3:]] == [1, 3, 2]
    assert recomputed_from_scratch(AS_OF) == values()


# --- cost ---------------------------------------------------------------------------------------


def test_a_full_recompute_takes_the_same_queries_for_3_or_30_hubs(django_assert_num_queries):
    build_organization(hubs=3)
    with CaptureQueriesContext(connection) as small:
        recompute_rollups(as_of=AS_OF)
    Rollup.objects.all().delete()
    build_more = 27
    for index in range(build_more):
        hub = HubFactory(launched_on=date(2023, 12, 1), community=CommunityFactory())
        for day in MONTH_ENDS:
            ActiveUserCountFactory(hub=hub, date=day, period=UsagePeriod.MONTH, active_users=index)
        PullRequestFactory(
            repository=RepositoryFactory(),
            author_login="octo",
            created_at=datetime(2024, 3, 1, tzinfo=UTC),
            merged_at=datetime(2024, 3, 2, tzinfo=UTC),
        )
        StaffMemberFactory(start_on=date(2024, 1, 1))
        GrantFactory(awarded_on=date(2024, 1, 2))
        ServiceContractFactory(signed_on=date(2024, 3, 3))

    with django_assert_num_queries(len(small)):
        recompute_rollups(as_of=AS_OF)

    assert get_rollup(KPIS_LATEST).value["hubs"]["active"] == 29


def test_a_full_recompute_reads_the_counted_contributions_once():
    """The series and the month-end totals count the same contributions: a recompute from scratch
    reads them once (the heaviest read of the recompute at scale), and still stores the figures."""
    build_organization()
    with CaptureQueriesContext(connection) as queries:
        recompute_rollups(as_of=AS_OF)
    reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT")
        and "GROUP BY" in query["sql"]
        and "contributions_pullrequest" in query["sql"]
    ]

    assert len(reads) == 1, reads
    assert values() == recomputed_from_scratch(AS_OF)


def test_the_histogram_takes_the_usage_rollups_read_and_a_recompute_with_nothing_new_reads_no_sample(
    frozen_clock,
):
    build_organization()
    # Samples written within the margin before a recompute are read again by the next one.
    frozen_clock.shift(timedelta(hours=2))

    def seeks() -> tuple[int, int, object]:
        with CaptureQueriesContext(connection) as queries:
            summary = recompute_rollups(as_of=AS_OF)
        latest = [query for query in queries.captured_queries if "LIMIT 1)" in query["sql"]]
        return len(latest), summary["usage_days_read"], get_rollup(HUBS_BY_USERS).value

    first, days_read, histogram = seeks()
    frozen_clock.shift(timedelta(hours=3))
    again, _, kept = seeks()

    # One query per two reading days, none for the histogram alone; then none at all.
    assert (first, again, kept) == ((days_read + 1) // 2, 0, histogram)
    assert days_read > 2
    recomputed_from_scratch(AS_OF)
    assert get_rollup(HUBS_BY_USERS).value == histogram
    assert sum(row["hubs"] for row in histogram["bins"]) >= 1


# --- failures -------------------------------------------------------------------------------------


def test_a_missing_exchange_rate_stores_everything_else_then_fails_naming_currency_and_date():
    build_organization()
    GrantFactory(currency="EUR", awarded_on=date(2024, 2, 20))

    with pytest.raises(MissingExchangeRate, match=r"EUR .*2024-02-20"):
        recompute_rollups(as_of=AS_OF)

    assert get_rollup(KPIS_LATEST) is not None
    assert get_rollup(series_key("monthly-active-users", "month")) is not None
    assert get_rollup(series_key("funding", "month")) is None


# --- readers ----------------------------------------------------------------------------------


def test_readers_compute_everything_once_on_an_empty_store():
    build_organization()

    stored = kpis()

    assert stored.value["as_of"] == "2024-03-31"
    assert stored.version == version_of(stored.value)
    assert get_rollup(series_key("headcount", "year")) is not None


def test_reading_the_stored_kpis_takes_one_query(django_assert_num_queries):
    build_organization()
    recompute_rollups(as_of=AS_OF)

    with django_assert_num_queries(1):
        stored = kpis()

    assert stored.value == get_rollup(kpis_key(AS_OF)).value


def test_kpis_for_a_day_not_stored_are_the_stored_month_end_s_before_it_never_computed():
    build_organization()
    recompute_rollups(as_of=AS_OF)

    answer = kpis(as_of=date(2024, 2, 10))

    # The January month-end's block, as stored: nothing computed, nothing stored for the 10th.
    assert answer.value["as_of"] == "2024-01-31"
    assert answer.version == get_rollup(kpis_key(date(2024, 1, 31))).version
    assert get_rollup(kpis_key(date(2024, 2, 10))) is None


def test_a_second_recompute_keeps_every_month_end_block_and_drops_nothing():
    build_organization()
    recompute_rollups(as_of=AS_OF)
    stored = get_rollup(kpis_key(date(2024, 1, 31)))

    result = recompute_rollups(as_of=AS_OF)

    assert result["removed"] == 0
    assert get_rollup(kpis_key(date(2024, 1, 31))).computed_at == stored.computed_at


def test_kpis_for_a_future_day_are_refused():
    with pytest.raises(ValueError, match="in the future"):
        kpis(as_of=NOW.date() + timedelta(days=1))


def test_a_series_read_for_a_span_slices_the_stored_points_and_versions_the_slice():
    build_organization()
    recompute_rollups(as_of=AS_OF)
    whole = series("monthly-active-users", "month")

    sliced = series("monthly-active-users", "month", start=date(2024, 2, 15), end=date(2024, 3, 1))

    assert [point["period"] for point in sliced.value["points"]] == ["2024-02", "2024-03"]
    assert sliced.version == version_of(sliced.value) != whole.version
    assert whole.version == get_rollup(series_key("monthly-active-users", "month")).version


def test_reading_a_series_takes_one_query(django_assert_num_queries):
    build_organization()
    recompute_rollups(as_of=AS_OF)

    with django_assert_num_queries(1):
        series("merged-pull-requests", "quarter", start=date(2024, 1, 1))


@pytest.mark.parametrize(("metric", "interval"), [("visitors", "month"), ("headcount", "week")])
def test_an_unknown_metric_or_interval_is_refused(metric, interval):
    with pytest.raises(ValueError, match="Unknown"):
        series(metric, interval)


def test_funding_and_contracts_are_public_metrics_only_when_the_setting_says_so(settings):
    settings.OPSITE_PUBLIC_FUNDING = False
    private = public_metrics()
    settings.OPSITE_PUBLIC_FUNDING = True

    assert "funding" not in private and "contracts" not in private and "headcount" in private
    assert set(public_metrics()) == set(METRICS)


def test_get_rollup_answers_none_for_a_key_never_stored():
    assert get_rollup("series:nothing:month") is None
