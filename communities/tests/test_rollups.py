"""Usage rollups: live and active hubs, active communities, countries, MAU/WAU/DAU (docs/definitions.md)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from communities.choices import CommunityKind, HubKind, UsagePeriod
from communities.rollups import (
    changed_sample_dates,
    days_affected_by,
    facts_signature,
    hub_active_users,
    hub_facts,
    implausible_rows,
    is_live,
    samples_deleted_since,
    usage_as_of,
    usage_first_day,
    usage_last_day,
    usage_on,
    usage_series,
    window_start,
)
from communities.tests.factories import ActiveUserCountFactory, CommunityFactory, HubFactory

pytestmark = pytest.mark.django_db

D = date(2024, 6, 30)


def sample(hub, day, users, period=UsagePeriod.MONTH):
    return ActiveUserCountFactory(hub=hub, date=day, period=period, active_users=users)


# --- live hubs ------------------------------------------------------------------------------


def test_a_hub_is_live_from_its_launch_day():
    assert is_live(launched_on=D, retired_on=None, day=D)
    assert not is_live(launched_on=D, retired_on=None, day=D - timedelta(days=1))


def test_a_hub_retired_on_a_day_is_no_longer_live_that_day():
    assert is_live(launched_on=date(2021, 1, 1), retired_on=D, day=D - timedelta(days=1))
    assert not is_live(launched_on=date(2021, 1, 1), retired_on=D, day=D)


def test_a_hub_retired_on_the_day_counts_neither_as_active_nor_in_mau():
    sample(HubFactory(retired_on=D), D - timedelta(days=3), 40)
    sample(HubFactory(retired_on=D + timedelta(days=1)), D - timedelta(days=3), 7)

    usage = usage_as_of(D)

    assert (usage.active_hubs, usage.monthly_active) == (1, 7)


def test_a_hub_launched_after_the_day_is_not_counted_even_with_a_sample():
    sample(HubFactory(launched_on=D + timedelta(days=1)), D, 40)

    assert usage_as_of(D).active_hubs == 0


# --- look-back windows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "window"), [(UsagePeriod.MONTH, 35), (UsagePeriod.WEEK, 10), (UsagePeriod.DAY, 2)]
)
def test_the_window_is_the_n_days_ending_on_the_day(period, window):
    assert window_start(D, period) == D - timedelta(days=window - 1)


@pytest.mark.parametrize(
    ("period", "field", "window"),
    [
        (UsagePeriod.MONTH, "monthly", 35),
        (UsagePeriod.WEEK, "weekly", 10),
        (UsagePeriod.DAY, "daily", 2),
    ],
)
def test_a_sample_on_the_first_day_of_the_window_counts(period, field, window):
    hub = HubFactory()
    sample(hub, D - timedelta(days=window - 1), 12, period)

    assert getattr(hub_active_users([D])[D][hub.pk], field) == 12


@pytest.mark.parametrize(
    ("period", "field", "window"),
    [
        (UsagePeriod.MONTH, "monthly", 35),
        (UsagePeriod.WEEK, "weekly", 10),
        (UsagePeriod.DAY, "daily", 2),
    ],
)
def test_a_sample_one_day_before_the_window_counts_as_zero(period, field, window):
    hub = HubFactory()
    sample(hub, D - timedelta(days=window), 12, period)

    assert getattr(hub_active_users([D])[D][hub.pk], field) == 0


def test_the_latest_sample_in_the_window_wins_and_later_ones_are_ignored():
    hub = HubFactory()
    sample(hub, D - timedelta(days=20), 5)
    sample(hub, D - timedelta(days=2), 9)
    sample(hub, D + timedelta(days=1), 100)

    assert hub_active_users([D])[D][hub.pk].monthly == 9


@pytest.mark.parametrize("days", [[D], [D - timedelta(days=1), D, D + timedelta(days=1)]])
def test_live_only_reads_no_samples_of_a_hub_before_its_launch_or_from_its_retirement(days):
    """The usage figures count only live hubs: ``live`` skips the others' samples in the query,
    day by day, and answers zero for them; without it (cost per active user) every hub is read."""
    launched = HubFactory(launched_on=D)
    retired = HubFactory(launched_on=D - timedelta(days=400), retired_on=D)
    for hub in (launched, retired):
        for day in days:
            sample(hub, day, 7, UsagePeriod.DAY)

    live = hub_active_users(days, live=True)
    every = hub_active_users(days)

    for day in days:
        assert live[day][launched.pk].daily == (7 if day >= D else 0)
        assert live[day][retired.pk].daily == (7 if day < D else 0)
        assert (every[day][launched.pk].daily, every[day][retired.pk].daily) == (7, 7)


def test_a_hub_without_samples_has_zero_users_and_is_not_active():
    hub = HubFactory()

    assert hub_active_users([D])[D][hub.pk].monthly == 0
    assert usage_as_of(D).active_hubs == 0


def test_a_hub_with_zero_thirty_day_users_is_live_but_not_active():
    sample(HubFactory(), D, 0)
    sample(HubFactory(), D, 1)

    assert usage_as_of(D).active_hubs == 1


# --- MAU / WAU / DAU --------------------------------------------------------------------------


def test_mau_wau_and_dau_sum_the_live_hubs_per_period():
    for users in (10, 20):
        hub = HubFactory()
        sample(hub, D, users, UsagePeriod.MONTH)
        sample(hub, D, users // 2, UsagePeriod.WEEK)
        sample(hub, D, users // 10, UsagePeriod.DAY)

    usage = usage_as_of(D)

    assert (usage.monthly_active, usage.weekly_active, usage.daily_active) == (30, 15, 3)


def test_a_binderhub_is_left_out_of_mau_but_still_counts_as_an_active_hub():
    sample(HubFactory(kind=HubKind.BINDERHUB), D, 500)
    sample(HubFactory(kind=HubKind.BINDERHUB), D, 50, UsagePeriod.WEEK)
    sample(HubFactory(kind=HubKind.DASKHUB), D, 25)

    usage = usage_as_of(D)

    assert (usage.monthly_active, usage.weekly_active, usage.active_hubs) == (25, 0, 2)


# --- communities and countries ----------------------------------------------------------------


def test_a_community_with_two_active_hubs_is_counted_once():
    community = CommunityFactory()
    sample(HubFactory(community=community), D, 3)
    sample(HubFactory(community=community), D, 4)
    sample(HubFactory(community=CommunityFactory()), D, 0)

    usage = usage_as_of(D)

    assert (usage.active_hubs, usage.active_communities) == (2, 1)


def test_the_marginalized_split_follows_the_derived_flag_and_the_override_wins():
    r1_in_us = CommunityFactory(kind=CommunityKind.R1_UNIVERSITY, country="US")
    college_in_us = CommunityFactory(kind=CommunityKind.COMMUNITY_COLLEGE, country="US")
    r1_in_kenya = CommunityFactory(kind=CommunityKind.R1_UNIVERSITY, country="KE")
    overridden_school = CommunityFactory(kind=CommunityKind.SCHOOL, country="US", marginalized_override=False)
    overridden_r1 = CommunityFactory(
        kind=CommunityKind.R1_UNIVERSITY, country="DE", marginalized_override=True
    )
    for community in (r1_in_us, college_in_us, r1_in_kenya, overridden_school, overridden_r1):
        sample(HubFactory(community=community), D, 10)

    usage = usage_as_of(D)

    assert (usage.historically_marginalized, usage.other) == (3, 2)


def test_countries_served_are_the_distinct_countries_of_active_communities_only():
    for country in ("US", "US", "BR"):
        sample(HubFactory(community=CommunityFactory(country=country)), D, 5)
    sample(HubFactory(community=CommunityFactory(country="KE")), D, 0)

    assert usage_as_of(D).countries == 2


# --- series ---------------------------------------------------------------------------------


def test_a_quarter_is_read_on_its_last_day_and_the_current_one_on_the_as_of_day():
    hub = HubFactory(launched_on=date(2024, 1, 1))
    sample(hub, date(2024, 3, 31), 10)
    sample(hub, date(2024, 4, 15), 99)
    sample(hub, date(2024, 6, 30), 20)
    sample(hub, date(2024, 8, 10), 30)

    series = usage_series(interval="quarter", start=date(2024, 2, 1), as_of=date(2024, 8, 12))

    assert [(period.label, usage.monthly_active) for period, usage in series] == [
        ("2024-Q1", 10),
        ("2024-Q2", 20),
        ("2024-Q3", 30),
    ]


def test_figures_for_many_days_take_the_same_queries_for_3_or_30_hubs(django_assert_num_queries):
    days = [date(2024, month, 28) for month in range(1, 13)]

    def add_hubs(count):
        for _ in range(count):
            hub = HubFactory()
            for day in days:
                sample(hub, day, 4)

    add_hubs(3)
    # Hub facts, then one query per two days (12 days -> 6).
    with django_assert_num_queries(7):
        small = usage_on(days)
    add_hubs(27)
    with django_assert_num_queries(7):
        large = usage_on(days)

    assert (small[days[-1]].monthly_active, large[days[-1]].monthly_active) == (12, 120)


def test_the_usage_series_start_at_the_first_thirty_day_sample_and_end_at_the_last_sample():
    hub = HubFactory()
    sample(hub, date(2022, 5, 31), 1, UsagePeriod.WEEK)
    sample(hub, date(2022, 6, 30), 1)
    sample(hub, date(2024, 1, 2), 1, UsagePeriod.DAY)

    assert (usage_first_day(), usage_last_day()) == (date(2022, 6, 30), date(2024, 1, 2))


def test_there_is_no_first_or_last_day_without_samples():
    assert (usage_first_day(), usage_last_day()) == (None, None)


# --- change detection -----------------------------------------------------------------------


def test_changed_sample_dates_span_the_samples_written_since_a_moment():
    hub = HubFactory()
    with time_machine.travel(datetime(2025, 1, 1, tzinfo=UTC), tick=False):
        sample(hub, date(2024, 1, 31), 5)
    moment = datetime(2025, 2, 1, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        sample(hub, date(2024, 3, 31), 5)
        sample(hub, date(2024, 2, 29), 5)

    assert changed_sample_dates(moment) == (date(2024, 2, 29), date(2024, 3, 31))
    assert changed_sample_dates(moment + timedelta(seconds=1)) is None


def test_an_updated_sample_is_a_changed_one():
    hub = HubFactory()
    with time_machine.travel(datetime(2025, 1, 1, tzinfo=UTC), tick=False):
        row = sample(hub, date(2023, 1, 31), 5)
    moment = datetime(2025, 2, 1, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        row.active_users = 6
        row.save()

    assert changed_sample_dates(moment) == (date(2023, 1, 31), date(2023, 1, 31))


def test_a_changed_sample_affects_the_days_whose_longest_window_contains_it():
    assert days_affected_by(date(2024, 1, 1), date(2024, 1, 2)) == (date(2024, 1, 1), date(2024, 2, 5))


def test_a_sample_deleted_since_a_moment_is_told_by_a_stamp_and_a_rolled_back_one_is_not():
    hub = HubFactory()
    first = sample(hub, date(2024, 1, 31), 5)
    second = sample(hub, date(2024, 2, 29), 5)
    moment = timezone.now()
    assert samples_deleted_since(moment) is False

    with transaction.atomic():
        first.delete()
        transaction.set_rollback(True)
    assert samples_deleted_since(moment) is False
    second.delete()
    assert samples_deleted_since(moment) is True
    assert samples_deleted_since(timezone.now() + timedelta(seconds=1)) is False


def test_deleting_a_hub_stamps_the_deletion_of_its_samples():
    hub = HubFactory()
    sample(hub, date(2024, 1, 31), 5)
    moment = timezone.now()
    hub.delete()
    assert samples_deleted_since(moment) is True


def test_the_facts_signature_changes_when_a_hub_is_retired():
    hub = HubFactory()
    before = facts_signature(hub_facts())
    hub.retired_on = date(2024, 1, 1)
    hub.save()

    assert facts_signature(hub_facts()) != before


# --- counting what is left out ---------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_samples_left_out_are_counted_by_index_ranges_never_a_whole_period():
    """Each recompute counts the samples dated outside the plausible range. Asked as
    ``period IN (..) AND (date < .. OR date > ..)``, SQLite seeks the period alone and reads every
    sample of it (0.45 s at ten times the demo); each branch must seek a period *and* a date range."""
    hub = HubFactory()
    sample(hub, D, 10)
    with CaptureQueriesContext(connection) as queries:
        assert implausible_rows()["communities.ActiveUserCount"] == 0
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + queries.captured_queries[0]["sql"])
        plan = [row[-1] for row in cursor.fetchall() if "communities_activeusercount" in row[-1]]
    assert len(plan) == 2 * len(UsagePeriod.values)
    assert all(re.search(r"\(period=\? AND date[<>]\?\)", step) for step in plan), plan
