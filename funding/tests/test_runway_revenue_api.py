"""The runway API's revenue-realism keys (docs/api.md "Runway API"): what each snapshot keeps per
period and per indicator, the two new indicators, and older snapshots served with those keys null."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test.utils import override_settings
from django.urls import path
from drf_spectacular.generators import SchemaGenerator

from contracts.choices import ContractCategory
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.api.runway import RunwayRecomputeView, RunwayView
from funding.models import Scenario
from funding.runway.snapshots import runway_recompute_all

from .factories import CashPositionFactory, ExpenseFactory, RunwaySnapshotFactory
from .test_runway_api import (
    INDICATOR_KEYS,
    PERIOD_KEYS,
    RECOMPUTE_URL,
    RUNWAY_URL,
    TOP_KEYS,
    assert_runway_shape,
)

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 10, 31)

# A snapshot stored before revenue realism: four indicators of value and status, three sources in,
# four out, no committed or weighted inflow per period.
OLD_RESULT = {
    "scenario": "base",
    "as_of": "2024-10-31",
    "opening_balance": "1850000.00",
    "months": "11.40",
    "cash_out_on": "2025-10-12",
    "horizon_months": 1,
    "forward_burn": "162000.00",
    "indicators": {
        "committed_runway": {"value": "9.10", "status": "yellow"},
        "cost_coverage": {"value": "0.78", "status": "red"},
        "pipeline_coverage": {"value": "1.20", "status": "yellow"},
        "cash_reserve": {"value": "9.25", "status": "green"},
    },
    "periods": [
        {
            "start": "2024-11-01",
            "end": "2024-11-30",
            "opening": "1850000.00",
            "in": "40000.00",
            "out": "201000.00",
            "closing": "1689000.00",
            "in_by_source": {"contracts": "40000.00", "grants": "0.00", "adjustments": "0.00"},
            "out_by_source": {"payroll": "171000.00", "expenses": "30000.00", "subawards": "0.00", "adjustments": "0.00"},
        }
    ],
}  # fmt: skip


def test_a_snapshot_stored_before_these_keys_is_served_with_them_null(finance_client):
    RunwaySnapshotFactory(scenario=Scenario.objects.get(slug="base"), result=OLD_RESULT)

    response = finance_client.get(RUNWAY_URL)

    assert response.status_code == 200
    data = response.json()
    # The same keys, in the same order, as a fresh snapshot.
    assert list(data) == TOP_KEYS
    assert list(data["indicators"]) == INDICATOR_KEYS
    assert list(data["periods"][0]) == PERIOD_KEYS
    assert data["indicators"]["cost_coverage"] == {
        "value": "0.78",
        "status": "red",
        "target": None,
        "needed": None,
    }
    assert data["indicators"]["invoice_collection"] is None
    assert data["indicators"]["customer_concentration"] is None
    period = data["periods"][0]
    assert (period["committed_in"], period["weighted_in"]) == (None, None)
    assert period["in_by_source"]["usage_fees"] is None
    assert period["out_by_source"]["fiscal_sponsor_fee"] is None
    assert data["monte_carlo"] is None
    # Everything it did keep is served as kept.
    assert period["out_by_source"]["payroll"] == "171000.00"
    assert data["indicators"]["cash_reserve"]["value"] == "9.25"


@pytest.fixture
def books():
    """100,000 in the bank, 20,000 of costs a month, a hub contract paying 12,000 in November and a
    cloud pass-through paying 5,000 then (no fee on it), and 90% of what fell due in the 90 days
    up to A marked paid."""
    CashPositionFactory(as_of=A, balance=D("100000.00"))
    ExpenseFactory(amount=D("20000.00"), start_on=dt.date(2024, 1, 1))
    hub = ServiceContractFactory(reference="c-hub")
    cloud = ServiceContractFactory(reference="c-cloud", category=ContractCategory.CLOUD)
    ContractPaymentFactory(contract=hub, due_on=dt.date(2024, 11, 15), amount=D("12000.00"))
    ContractPaymentFactory(contract=cloud, due_on=dt.date(2024, 11, 20), amount=D("5000.00"))
    ContractPaymentFactory(
        contract=hub, due_on=dt.date(2024, 9, 15), amount=D("900.00"), paid_on=dt.date(2024, 9, 20)
    )
    ContractPaymentFactory(contract=hub, due_on=dt.date(2024, 10, 15), amount=D("100.00"))


@override_settings(OPSITE_FISCAL_SPONSOR_FEE="0.15")
def test_a_fresh_snapshot_keeps_the_inflows_per_period_and_what_turns_each_indicator(finance_client, books):
    runway_recompute_all()

    data = finance_client.get(RUNWAY_URL, {"scenario": "committed"}).json()

    assert_runway_shape(data)
    first = data["periods"][0]
    # In: 12,000 + 5,000, and the 100 still open since October (overdue: period 1). Out: 20,000 of
    # costs and 15% of the 12,100 that pays the fee (1,815).
    assert (first["committed_in"], first["weighted_in"], first["out"]) == ("17100.00", "17100.00", "21815.00")
    assert first["out_by_source"]["fiscal_sponsor_fee"] == "1815.00"
    assert data["periods"][1]["committed_in"] == "0.00"
    indicators = data["indicators"]
    # Cost coverage 17,100 / (21,815 + 5 x 20,000) = 0.140... -> 0.14, red, aiming at 0.85.
    assert indicators["cost_coverage"]["value"] == "0.14"
    assert indicators["cost_coverage"]["target"] == "0.85"
    assert indicators["cost_coverage"]["needed"] is not None
    # 900 of the 1,000 due in the 90 days is paid: 0.90, yellow; 50 more collected reaches 0.95.
    assert indicators["invoice_collection"] == {
        "value": "0.90",
        "status": "yellow",
        "target": "0.95",
        "needed": "50.00",
    }
    # Two communities share the committed contract inflow: the top three have it all.
    assert indicators["customer_concentration"] == {
        "value": "1.00",
        "status": "red",
        "target": "0.50",
        "needed": None,
    }


def test_the_openapi_schema_describes_target_needed_and_the_kept_inflows_as_nullable():
    patterns = [
        path(RUNWAY_URL.lstrip("/"), RunwayView.as_view()),
        path(RECOMPUTE_URL.lstrip("/"), RunwayRecomputeView.as_view()),
    ]
    components = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)["components"][
        "schemas"
    ]

    indicator = components["RunwayIndicator"]["properties"]
    assert list(indicator) == ["value", "status", "target", "needed"]
    assert indicator["target"]["nullable"] is True and indicator["needed"]["nullable"] is True
    period = components["RunwayPeriod"]["properties"]
    assert period["committed_in"]["nullable"] is True and period["weighted_in"]["nullable"] is True
    indicators = components["RunwayIndicators"]["properties"]
    assert indicators["invoice_collection"].get("nullable") is True
    assert "nullable" not in indicators["cost_coverage"]
    assert components["RunwayInBySource"]["properties"]["usage_fees"]["nullable"] is True
    assert components["RunwayOutBySource"]["properties"]["fiscal_sponsor_fee"]["nullable"] is True
