"""Headcount and FTE on a day, by team (docs/definitions.md "Headcount / FTE")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from staff.choices import Team
from staff.models import StaffMember
from staff.rollups import (
    employed_on,
    staffing_as_of,
    staffing_first_day,
    staffing_on,
    staffing_series,
)
from staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


def test_a_person_counts_from_their_start_day_through_their_last_day():
    person = StaffMemberFactory(start_on=date(2024, 3, 1), end_on=date(2024, 3, 31))

    def employed(day):
        return StaffMember.objects.filter(employed_on(day), pk=person.pk).exists()

    assert [employed(date(2024, 2, 29)), employed(date(2024, 3, 1))] == [False, True]
    assert [employed(date(2024, 3, 31)), employed(date(2024, 4, 1))] == [True, False]


def test_a_person_without_an_end_date_counts_from_their_start_on():
    StaffMemberFactory(start_on=date(2020, 1, 1), end_on=None)

    assert staffing_as_of(date(2030, 1, 1)).headcount == 1


def test_headcount_and_fte_add_up_people_by_team_with_every_team_listed():
    StaffMemberFactory(team=Team.ENGINEERING, fte=Decimal("1.00"))
    StaffMemberFactory(team=Team.ENGINEERING, fte=Decimal("0.50"))
    StaffMemberFactory(team=Team.OPERATIONS, fte=Decimal("0.80"))
    StaffMemberFactory(team=Team.LEADERSHIP, start_on=date(2025, 1, 1))

    staffing = staffing_as_of(date(2024, 6, 30))

    assert (staffing.headcount, staffing.fte) == (3, Decimal("2.30"))
    assert staffing.by_team[Team.ENGINEERING].headcount == 2
    assert staffing.by_team[Team.ENGINEERING].fte == Decimal("1.50")
    assert staffing.by_team[Team.LEADERSHIP].headcount == 0
    assert set(staffing.by_team) == set(Team.values)


def test_the_monthly_series_reads_each_month_end_and_the_as_of_day():
    StaffMemberFactory(start_on=date(2024, 1, 10))
    StaffMemberFactory(start_on=date(2024, 2, 5), end_on=date(2024, 2, 29))
    StaffMemberFactory(start_on=date(2024, 3, 20))

    series = staffing_series(interval="month", start=date(2024, 1, 1), as_of=date(2024, 3, 15))

    assert [(period.label, staffing.headcount) for period, staffing in series] == [
        ("2024-01", 1),
        ("2024-02", 2),
        ("2024-03", 1),
    ]


def test_headcount_on_many_days_takes_one_query_for_3_or_30_people(django_assert_num_queries):
    days = [date(2024, month, 1) for month in range(1, 13)]
    StaffMemberFactory.create_batch(3)
    with django_assert_num_queries(1):
        small = staffing_on(days)
    StaffMemberFactory.create_batch(27, fte=Decimal("0.50"))
    with django_assert_num_queries(1):
        large = staffing_on(days)

    assert (small[days[0]].headcount, large[days[0]].headcount, large[days[0]].fte) == (
        3,
        30,
        Decimal("16.50"),
    )


def test_the_headcount_series_starts_at_the_earliest_start_date():
    StaffMemberFactory(start_on=date(2022, 5, 2))
    StaffMemberFactory(start_on=date(2019, 9, 1), end_on=date(2020, 1, 31))

    assert staffing_first_day() == date(2019, 9, 1)
