"""Calendar periods: labels, bounds, and the days stock figures are read on."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsite.core.periods import (
    Period,
    parse_period,
    period_end,
    period_label,
    period_of,
    period_start,
    periods_between,
    quarter_of,
    reading_days,
)


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2024, 1, 1), 1),
        (date(2024, 3, 31), 1),
        (date(2024, 4, 1), 2),
        (date(2024, 6, 30), 2),
        (date(2024, 7, 1), 3),
        (date(2024, 9, 30), 3),
        (date(2024, 10, 1), 4),
        (date(2024, 12, 31), 4),
    ],
)
def test_quarter_is_computed_from_the_date_at_both_ends_of_each_quarter(day, quarter):
    assert quarter_of(day) == quarter


@pytest.mark.parametrize(
    ("interval", "label"), [("month", "2024-03"), ("quarter", "2024-Q1"), ("year", "2024")]
)
def test_labels_read_like_2024_03_2024_q1_and_2024(interval, label):
    assert period_label(date(2024, 3, 15), interval) == label


def test_a_quarter_runs_from_its_first_to_its_last_calendar_day():
    period = period_of(date(2024, 5, 17), "quarter")

    assert (period.start, period.end, period.label) == (date(2024, 4, 1), date(2024, 6, 30), "2024-Q2")


def test_february_ends_on_the_29th_in_a_leap_year_and_the_28th_otherwise():
    assert period_end(date(2024, 2, 3), "month") == date(2024, 2, 29)
    assert period_end(date(2023, 2, 3), "month") == date(2023, 2, 28)


def test_a_year_runs_from_january_first_to_december_31st():
    assert period_start(date(2024, 7, 4), "year") == date(2024, 1, 1)
    assert period_end(date(2024, 7, 4), "year") == date(2024, 12, 31)


def test_periods_between_two_dates_cover_both_ends_oldest_first():
    periods = periods_between(date(2023, 11, 20), date(2024, 2, 10), "quarter")

    assert [period.label for period in periods] == ["2023-Q4", "2024-Q1"]


def test_periods_between_are_empty_when_the_end_comes_before_the_start():
    assert periods_between(date(2024, 2, 1), date(2024, 1, 31), "month") == []


def test_an_unknown_interval_is_refused_with_the_allowed_ones_named():
    with pytest.raises(ValueError, match="month, quarter, year"):
        period_of(date(2024, 1, 1), "week")


@pytest.mark.parametrize("label", ["2024-03", "2024-Q1", "2024"])
def test_a_label_parses_back_to_its_period(label):
    assert parse_period(label).label == label


@pytest.mark.parametrize("label", ["2024-13", "2024-Q5", "24", "2024-3", "Q1-2024"])
def test_a_malformed_label_is_refused(label):
    with pytest.raises(ValueError, match="Not a period label"):
        parse_period(label)


def test_the_current_period_is_read_on_the_as_of_day_and_a_past_one_on_its_last_day():
    march = period_of(date(2024, 3, 1), "month")

    assert march.reading_day(date(2024, 3, 10)) == date(2024, 3, 10)
    assert march.reading_day(date(2024, 5, 1)) == date(2024, 3, 31)


def test_reading_days_are_the_month_ends_then_the_as_of_day():
    assert reading_days(date(2024, 1, 15), date(2024, 3, 10)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 10),
    ]


def test_a_period_serializes_with_its_label_and_iso_dates():
    assert period_of(date(2024, 2, 2), "month").as_dict() == {
        "period": "2024-02",
        "start": "2024-02-01",
        "end": "2024-02-29",
    }


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.sampled_from(["month", "quarter", "year"]),
)
def test_every_day_falls_in_exactly_the_period_its_label_names(day, interval):
    period = period_of(day, interval)

    assert day in period
    assert parse_period(period.label) == period
    assert period.next().start == date.fromordinal(period.end.toordinal() + 1)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.sampled_from(["month", "quarter", "year"]),
)
def test_periods_between_tile_the_span_without_gap_or_overlap(start, end, interval):
    periods = periods_between(start, end, interval)

    if end < start:
        assert periods == []
        return
    assert start in periods[0] and end in periods[-1]
    for before, after in itertools.pairwise(periods):
        assert after.start.toordinal() == before.end.toordinal() + 1
    assert all(isinstance(period, Period) for period in periods)
