"""The dashboard's runway history: sampled so the page stays the same size whatever the history.

Years of snapshots (four a day, as the recomputes after the day's changes store them) are bulk
created behind the demo's own, then the page is asked for: the history chart and its table keep
at most a fixed number of points per scenario, and the page's size and queries do not grow between
one year and three years of history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from funding.models import RunwaySnapshot, Scenario
from opsite.dashboard.history import (
    DAILY_HISTORY_DAYS,
    MOST_POINTS,
    OLDER_HISTORY_POINTS,
    history_sampling,
    oldest_snapshot_day,
    runway_history,
)
from opsite.dashboard.selectors import scenario_runways
from opsite.tests.dashboard_support import URL, csv_rows, demo, figures_of  # noqa: F401 (demo: a fixture)

A_DAY = [time(3, 30), time(9, 0), time(14, 0), time(17, 45)]


def _snapshots(first: date, last: date) -> None:
    """Four small snapshots a day of every scenario from ``first`` to ``last`` (both included)."""
    rows = []
    scenarios = list(Scenario.objects.order_by("pk"))
    day = first
    while day <= last:
        for n, moment in enumerate(A_DAY):
            for scenario in scenarios:
                rows.append(
                    RunwaySnapshot(
                        scenario=scenario,
                        as_of=day - timedelta(days=day.day),
                        computed_at=datetime.combine(day, moment, tzinfo=UTC),
                        months=Decimal("18.00") + n,
                        cash_out_on=day + timedelta(days=540),
                        result={},
                    )
                )
        day += timedelta(days=1)
    RunwaySnapshot.objects.bulk_create(rows, batch_size=2000)


def _page(client) -> tuple[bytes, int]:
    """The page's bytes and the number of queries it took."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    return response.content, len(captured.captured_queries)


def _history_points(content: bytes) -> dict[str, int]:
    figure = figures_of(content.decode())["runway-history"]
    return {trace["name"]: len(trace["x"]) for trace in figure["data"]}


@pytest.mark.usefixtures("demo", "db")
class TestHistoryOfYears:
    def test_the_page_is_the_same_size_and_queries_with_one_or_three_years_of_history(
        self, leadership_client
    ):
        # The demo's snapshots are the latest ones (computed now): the history goes before them.
        today = timezone.localdate()
        leadership_client.get(URL)  # warm up: content types, the permission cache's first fill
        _snapshots(today - timedelta(days=365), today - timedelta(days=1))
        one_year, one_year_queries = _page(leadership_client)
        _snapshots(today - timedelta(days=3 * 365), today - timedelta(days=366))
        three_years, three_years_queries = _page(leadership_client)

        assert RunwaySnapshot.objects.count() > 3 * 365 * len(A_DAY) * Scenario.objects.count()
        assert three_years_queries == one_year_queries
        ratio = len(three_years) / len(one_year)
        assert 1 / 1.1 <= ratio <= 1.1, f"{len(one_year)} bytes with a year, {len(three_years)} with three"
        for content in (one_year, three_years):
            points = _history_points(content)
            assert len(points) == Scenario.objects.count()
            assert max(points.values()) <= MOST_POINTS, points

    def test_the_chart_and_its_csv_show_the_same_sampled_points(self, leadership_client):
        today = timezone.localdate()
        _snapshots(today - timedelta(days=3 * 365), today - timedelta(days=1))
        content, _ = _page(leadership_client)
        rows = csv_rows(leadership_client.get("/leadership/data/runway-history.csv"))
        assert len(rows) - 1 == sum(_history_points(content).values())
        assert len(rows) - 1 <= MOST_POINTS * Scenario.objects.count()
        assert "before that, a point a quarter, the last of each." in content.decode()


@pytest.mark.django_db
def test_the_last_30_days_are_a_point_a_day_the_last_snapshot_of_each():
    today = date(2026, 6, 30)
    _snapshots(today - timedelta(days=2 * 365), today - timedelta(days=1))
    history = _history(today).points
    base = [point for point in history if point.scenario_slug == "base"]
    daily_from = today - timedelta(days=DAILY_HISTORY_DAYS)
    recent = [point for point in base if point.computed_at.date() >= daily_from]
    # Each day from 30 days ago to yesterday once, at its last recompute (none today yet).
    assert [point.computed_at.date() for point in recent] == [
        today - timedelta(days=n) for n in range(DAILY_HISTORY_DAYS, 0, -1)
    ]
    assert all(point.computed_at.time() == A_DAY[-1] for point in recent)
    # The two years before them fit in 24 months: a point a month, the last snapshot of each (May's
    # cut at 30 May, the day before the daily days).
    assert _history(today).sampling.older == "month"
    older = [point.computed_at for point in base if point.computed_at.date() < daily_from]
    assert len(older) == OLDER_HISTORY_POINTS
    assert older[-3:] == [
        datetime.combine(day, A_DAY[-1], tzinfo=UTC)
        for day in (date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 30))
    ]
    assert older[0] == datetime.combine(date(2024, 6, 30), A_DAY[-1], tzinfo=UTC)
    assert [point.computed_at for point in history] == sorted(point.computed_at for point in history)
    assert len(history) == 3 * len(base)


def _history(today: date):
    """The history as the dashboard reads it on ``today``."""
    first = [runway.first_computed_at for runway in scenario_runways()]
    return runway_history(today=today, oldest=oldest_snapshot_day(first))


# --- the rule, on a small case ------------------------------------------------------------------

TODAY = date(2025, 3, 31)  # the daily part starts on 1 Mar 2025; the older part ends on Fri 28 Feb


def _at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@pytest.mark.parametrize(
    ("oldest", "older"),
    [
        (TODAY - timedelta(days=DAILY_HISTORY_DAYS), None),
        # 24 weeks: the week of Mon 24 Feb 2025 (cut at 1 Mar) and the 23 before, from Mon 16 Sep 2024.
        (date(2024, 9, 16), "week"),
        (date(2024, 9, 15), "month"),
        # 24 months: Feb 2025 and the 23 before, from Mar 2023.
        (date(2023, 3, 1), "month"),
        (date(2023, 2, 28), "quarter"),
        # 24 quarters: 2025-Q1 and the 23 before, from 2019-Q2.
        (date(2019, 4, 1), "quarter"),
        (date(2019, 3, 31), "year"),
        (date(1990, 1, 1), "year"),
    ],
)
def test_the_older_history_is_sampled_as_finely_as_24_points_reach_the_oldest(oldest, older):
    sampling = history_sampling(today=TODAY, oldest=oldest)
    assert sampling.daily_from == date(2025, 3, 1)
    assert sampling.older == older
    assert len(sampling.starts) == DAILY_HISTORY_DAYS + 1 + (OLDER_HISTORY_POINTS if older else 0)
    assert list(sampling.starts) == sorted(sampling.starts, reverse=True)


@pytest.mark.django_db
def test_the_history_keeps_the_last_snapshot_of_each_day_then_of_each_week_by_hand():
    base, full = Scenario.objects.get(slug="base"), Scenario.objects.get(slug="full")
    stored = {
        "today, early": (base, _at(TODAY, 9)),
        "today, late": (base, _at(TODAY, 15)),
        "first daily day, early": (base, _at(date(2025, 3, 1), 1)),
        "first daily day, late": (base, _at(date(2025, 3, 1), 23)),
        "Fri 28 Feb": (base, _at(date(2025, 2, 28), 10)),
        "Mon 24 Feb": (base, _at(date(2025, 2, 24), 8)),
        "Sun 23 Feb": (base, _at(date(2025, 2, 23))),
        "Mon 16 Sep 2024, midnight": (base, _at(date(2024, 9, 16), 0)),
        "full, Mon 24 Feb": (full, _at(date(2025, 2, 24), 8)),
    }
    for scenario, moment in stored.values():
        RunwaySnapshot.objects.create(
            scenario=scenario, as_of=date(2024, 12, 31), computed_at=moment, months=Decimal("12.00")
        )

    def kept() -> list[str]:
        points = _history(TODAY).points
        by_moment = {(scenario.slug, moment): name for name, (scenario, moment) in stored.items()}
        return [by_moment[(point.scenario_slug, point.computed_at)] for point in points]

    assert kept() == [
        "Mon 16 Sep 2024, midnight",
        "Sun 23 Feb",
        "full, Mon 24 Feb",
        "Fri 28 Feb",
        "first daily day, late",
        "today, late",
    ]
    # One snapshot a minute before the 24 weeks: the older history goes by month instead.
    stored["Sun 15 Sep 2024"] = (base, _at(date(2024, 9, 15), 23, 59))
    RunwaySnapshot.objects.create(
        scenario=base, as_of=date(2024, 8, 31), computed_at=stored["Sun 15 Sep 2024"][1]
    )
    assert kept() == [
        "Mon 16 Sep 2024, midnight",
        "full, Mon 24 Feb",
        "Fri 28 Feb",
        "first daily day, late",
        "today, late",
    ]
    assert _history(TODAY).sampling.older == "month"
