"""The grants changelist's collection flags: the "flags" column and the "collection flag" filter,
their cost (a fixed number of queries a page, none a row), and who sees them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funding.collection import FlagCode

from .factories import CashPositionFactory, DisbursementFactory, GrantFactory

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 8, 31)
URL = reverse("admin:funding_grant_changelist")


def overdue_grant(reference: str):
    """Awarded in April (not stale), fully scheduled, one disbursement due three months before A
    and not received: overdue only."""
    grant = GrantFactory(
        reference=reference, amount=D("50000"), start_on=dt.date(2024, 4, 1), end_on=dt.date(2025, 12, 31)
    )
    DisbursementFactory(grant=grant, amount=D("50000"), expected_on=dt.date(2024, 6, 1))
    return grant


def healthy_grant(reference: str):
    """Fully scheduled and received."""
    grant = GrantFactory(
        reference=reference, amount=D("40000"), start_on=dt.date(2024, 1, 1), end_on=dt.date(2025, 12, 31)
    )
    DisbursementFactory(
        grant=grant, amount=D("40000"), expected_on=dt.date(2024, 2, 1), received_on=dt.date(2024, 2, 1)
    )
    return grant


@pytest.fixture
def grants():
    CashPositionFactory(as_of=A)
    return overdue_grant("late-grant"), healthy_grant("paid-grant")


def rows(response) -> dict[str, str]:
    """The page's grants by reference, each with its "flags" cell."""
    changelist = response.context["cl"]
    return {grant.reference: changelist.model_admin.flags_column(grant) for grant in changelist.result_list}


def test_the_flags_column_names_each_grants_flags(finance_client, grants):
    response = finance_client.get(URL)
    assert "flags_column" in response.context["cl"].list_display
    cells = rows(response)
    assert cells["late-grant"] == str(FlagCode.OVERDUE.label)
    assert cells["paid-grant"] == ""


@pytest.mark.parametrize(
    "value, expected",
    [(FlagCode.OVERDUE.value, {"late-grant"}), ("any", {"late-grant"}), (FlagCode.STALE.value, set())],
)
def test_the_filter_keeps_the_grants_raising_the_flag(finance_client, grants, value, expected):
    response = finance_client.get(URL, {"collection_flag": value})
    assert response.status_code == 200
    assert set(rows(response)) == expected


def test_the_flags_cost_the_same_queries_with_more_grants(finance_client, grants):
    def queries() -> int:
        finance_client.get(URL)  # warm per-process caches
        with CaptureQueriesContext(connection) as captured:
            assert finance_client.get(URL).status_code == 200
        return len(captured)

    before = queries()
    for index in range(5):
        overdue_grant(f"late-{index}")
        healthy_grant(f"paid-{index}")
    assert queries() == before


def test_operations_sees_neither_the_column_nor_the_filter(operations_client, grants):
    response = operations_client.get(URL)
    assert response.status_code == 200
    assert "flags_column" not in response.context["cl"].list_display
    assert "collection_flag" not in response.content.decode()
    assert str(FlagCode.OVERDUE.label) not in response.content.decode()
