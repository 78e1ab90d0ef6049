"""The dashboard's "Grant budgets and reports" panel: grants off pace, and funder reports due or late."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from funding.tests.factories import (
    CashPositionFactory,
    FunderReportFactory,
    GrantBudgetLineFactory,
    GrantFactory,
    StaffAllocationFactory,
)
from opsite.dashboard.grants import pace_items, report_items
from opsite.tests.dashboard_support import URL
from staff.tests.factories import CompensationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _grant_spending(reference: str, *, share: str, budget: str):
    """A 2024 grant paying ``share`` of a 120,000/yr person (10,000 a month), budget ``budget``."""
    person = StaffMemberFactory(start_on=date(2023, 1, 2))
    CompensationFactory(staff=person, annual_salary=D("120000.00"), benefits_rate=D("0"))
    grant = GrantFactory(reference=reference, start_on=date(2024, 1, 1), end_on=date(2024, 12, 31))
    GrantBudgetLineFactory(grant=grant, category="personnel", amount=D(budget))
    StaffAllocationFactory(staff=person, grant=grant, share=D(share))
    return grant


def test_grants_off_pace_are_listed_farthest_first_and_those_on_pace_are_not(leadership_user):
    # On 30 Jun 2024, 182 of 366 days are gone. Spent: 6 months x 10,000 x share.
    _grant_spending("fast", share="1", budget="80000.00")  # 60,000 / 80,000 = 0.75 of budget: pace 1.51
    _grant_spending("slow", share="0.2", budget="100000.00")  # 12,000 / 100,000: pace 0.24
    _grant_spending("on-pace", share="0.5", budget="60000.00")  # 30,000 / 60,000: pace 1.01
    items = pace_items(leadership_user, date(2024, 6, 30))
    assert [(item.reference, item.pace, item.faster) for item in items] == [
        ("slow", D("0.24"), False),
        ("fast", D("1.51"), True),
    ]
    assert items[1].spent_share == "75%"


def test_the_pace_list_is_for_who_may_see_what_was_spent(operations_user):
    _grant_spending("fast", share="1", budget="80000.00")
    assert pace_items(operations_user, date(2024, 6, 30)) == []


def test_reports_due_within_35_days_or_late_are_listed_soonest_first(leadership_user):
    today = date(2024, 7, 1)
    late = FunderReportFactory(due_on=today - timedelta(days=3))
    due = FunderReportFactory(due_on=today + timedelta(days=35))
    FunderReportFactory(due_on=today + timedelta(days=36))  # not yet
    FunderReportFactory(due_on=today - timedelta(days=30), submitted_on=today - timedelta(days=31))
    items = report_items(leadership_user, today)
    assert [(item.due_on, item.late, item.days) for item in items] == [
        (late.due_on, True, 3),
        (due.due_on, False, 35),
    ]


def test_the_panel_says_it_on_the_page(leadership_client):
    CashPositionFactory(as_of=date(2024, 6, 30))
    _grant_spending("fast-grant", share="1", budget="80000.00")
    today = timezone.localdate()
    FunderReportFactory(grant__reference="late-grant", due_on=today - timedelta(days=2))
    html = leadership_client.get(URL).content.decode()
    assert "Grants spending faster or slower than time" in html
    assert "pace 1.51" in html and "fast-grant" in html
    assert "late</strong>, was due" in html and "2 days ago" in html
