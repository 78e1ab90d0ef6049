"""The unrestricted runway against hand-computed figures (docs/definitions.md "Unrestricted runway"):
the pure engine first, then the loader, the snapshot, the runway API and the dashboard card.

A = 31 Oct 2024, so period 1 is November (30 days), 2 December (31), 3 January (31), ...
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from funding.models import Scenario
from funding.runway.engine import RunwayResult, project
from funding.runway.grid import Grid
from funding.runway.inputs import (
    Adjustment,
    Allocation,
    Employment,
    Expense,
    Flow,
    PayLine,
    RestrictedGrant,
    RunwayInputs,
    ScenarioParams,
)
from funding.runway.loader import load_inputs
from funding.runway.restricted import unrestricted_runway, unrestricted_series
from funding.runway.snapshots import runway_recompute, runway_recompute_all
from staff.tests.factories import CompensationFactory, StaffMemberFactory

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    ExpenseFactory,
    GrantFactory,
    RunwaySnapshotFactory,
    StaffAllocationFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

D = Decimal
A = dt.date(2024, 10, 31)
RUNWAY_URL = "/api/v1/funding/runway/"
DASHBOARD_URL = "/leadership/"


def after(months: int, days: int = 0) -> dt.date:
    """A + months (calendar-wise) + days."""
    return A + relativedelta(months=months) + dt.timedelta(days=days)


def run(*, opening: int | str, horizon: int = 24, reserve: int = 0, **lists) -> RunwayResult:
    return project(
        RunwayInputs(
            as_of=A,
            opening_balance=D(opening),
            params=ScenarioParams(pipeline="weighted", reserve=D(reserve), horizon_months=horizon),
            **lists,
        )
    )


def monthly(amount: int | str, *, grant: str | None = None, end_on: dt.date | None = None) -> Expense:
    return Expense(
        name="costs",
        amount=D(amount),
        recurrence="monthly",
        start_on=dt.date(2024, 1, 1),
        end_on=end_on,
        grant=grant,
    )


def receipt(on: dt.date, amount: int | str, grant: str = "g", **extra) -> Flow:
    return Flow(on=on, amount=D(amount), direction="in", source="grants", grant_ref=grant, **extra)


# --- the engine: hand-computed cases --------------------------------------------------------------


def test_a_grant_covering_all_its_charges_leaves_the_runway_of_everything_else():
    # Unrestricted costs 10,000 a month. Grant g receives 60,000 in November and is charged 5,000 a
    # month for six months (30,000): it covers every charge, so unrestricted cash pays 10,000 a
    # month from 105,000: 10 months leave 5,000, half of month 11 -> 10.50; period 11 (September
    # 2025) has 30 days, half of it is 15 -> 15 Sep 2025.
    result = run(
        opening=105000,
        flows=[receipt(dt.date(2024, 11, 15), 60000)],
        expenses=[monthly(10000), monthly(5000, grant="g", end_on=dt.date(2025, 4, 30))],
        restricted=[RestrictedGrant(key="g")],
    )
    without_the_grant = run(opening=105000, expenses=[monthly(10000)])

    assert result.unrestricted.months == D("10.50") == without_the_grant.months
    assert result.unrestricted.cash_out_on == dt.date(2025, 9, 15) == without_the_grant.cash_out_on
    # The runway counts the 30,000 the grant has left: 105,000 + 60,000 - 6 x 15,000 = 75,000,
    # then 10,000 a month: 7.5 months more -> 13.50.
    assert result.months == D("13.50")
    assert result.unrestricted.restricted_net_assets == D("0.00")


def test_a_grant_that_runs_out_mid_period_passes_the_rest_of_its_charges_to_unrestricted_cash():
    # g receives 12,000 in November and is charged 5,000 a month: its pool is 7,000 after
    # November, 2,000 after December, and covers only 2,000 of January's 5,000. Unrestricted cash
    # (22,000, no income: g's receipt is not its money) pays 10,000 in November and December and
    # 13,000 in January: 2,000 left at the start of January, 2,000 / 13,000 = 0.1538 -> 2.15 months,
    # floor(0.1538 x 31) = 4 days into January -> 4 Jan 2025.
    result = run(
        opening=22000,
        flows=[receipt(dt.date(2024, 11, 10), 12000)],
        expenses=[monthly(10000), monthly(5000, grant="g")],
        restricted=[RestrictedGrant(key="g")],
    )

    assert result.unrestricted.months == D("2.15")
    assert result.unrestricted.cash_out_on == dt.date(2025, 1, 4)
    # The runway: 22,000 + 12,000 - 15,000 = 19,000, then 4,000; 4,000 / 15,000 of January
    # -> 2.26 months, floor(0.2667 x 31) = 8 -> 8 Jan 2025.
    assert (result.months, result.cash_out_on) == (D("2.26"), dt.date(2025, 1, 8))


def test_money_received_in_advance_is_taken_out_of_the_opening_balance_and_pays_the_charges():
    # g holds 30,000 at A (already in the 100,000). It is charged 4,000 a month for six months
    # (24,000), all covered. Unrestricted: 70,000 at 10,000 a month -> 7.00 months, 31 May 2025.
    result = run(
        opening=100000,
        expenses=[monthly(10000), monthly(4000, grant="g", end_on=dt.date(2025, 4, 30))],
        restricted=[RestrictedGrant(key="g", net_assets=D("30000"))],
    )

    assert result.unrestricted.months == D("7.00")
    assert result.unrestricted.cash_out_on == dt.date(2025, 5, 31)
    # The runway: 100,000 - 6 x 14,000 = 16,000, then 10,000 a month: 1.6 more -> 7.60; June has
    # 30 days, floor(0.6 x 30) = 18 -> 18 Jun 2025.
    assert (result.months, result.cash_out_on) == (D("7.60"), dt.date(2025, 6, 18))
    assert result.unrestricted.as_dict() == {
        "months": "7.00",
        "cash_out_on": "2025-05-31",
        "restricted_net_assets": "30000.00",
        "grants": [{"grant": "g", "net_assets": "30000.00"}],
    }


def test_an_allocation_charges_its_share_of_the_persons_payroll_on_its_days():
    # 120,000 a year, no benefits: 10,000 a month. Half of it goes to g from 1 Nov 2024 to 15 Jan
    # 2025: 5,000 in November and December, 5,000 x 15/31 = 2,419.35 in January; g's 15,000 of net
    # assets cover all 12,419.35. Unrestricted: 35,000 - 5,000 - 5,000 - 7,580.65 - 10,000
    # = 7,419.35 at the start of March; 7,419.35 / 10,000 -> 4.74 months, floor(0.741935 x 31)
    # = 22 -> 22 Mar 2025.
    result = run(
        opening=50000,
        employments=[Employment(person="ana", start_on=dt.date(2020, 1, 1))],
        pay_lines=[PayLine(person="ana", effective_on=dt.date(2020, 1, 1), annual_salary=D("120000"))],
        allocations=[
            Allocation(
                person="ana",
                grant="g",
                share=D("0.5"),
                start_on=dt.date(2024, 11, 1),
                end_on=dt.date(2025, 1, 15),
            )
        ],
        restricted=[RestrictedGrant(key="g", net_assets=D("15000"))],
    )

    assert result.unrestricted.months == D("4.74")
    assert result.unrestricted.cash_out_on == dt.date(2025, 3, 22)
    assert result.months == D("5.00")  # 50,000 at 10,000 a month


def test_receipts_count_as_the_scenario_counts_them_weighted_and_delayed():
    # A prospect disbursement of 20,000 at 50% counts 10,000 under `weighted`; a 2-month delay moves
    # it from November to January. g is charged 4,000 a month, so its empty pool leaves November's
    # and December's charges to unrestricted cash: 20,000 - 14,000 = 6,000 after November, and
    # 6,000 / 14,000 = 0.4286 of December -> 1.42 months, floor(0.4286 x 31) = 13 -> 13 Dec 2024.
    # (Undelayed, the 10,000 would pay November and December: 2.00 months.)
    result = run(
        opening=20000,
        flows=[receipt(dt.date(2024, 11, 20), 20000, pipeline_probability=D(50))],
        expenses=[monthly(10000), monthly(4000, grant="g")],
        adjustments=[Adjustment(kind="delay", label="late", start_on=A, grant_ref="g", months=2)],
        restricted=[RestrictedGrant(key="g")],
    )

    assert (result.unrestricted.months, result.unrestricted.cash_out_on) == (D("1.42"), dt.date(2024, 12, 13))


def test_subaward_payments_are_charged_to_their_grant_and_other_grants_are_not_netted():
    # g holds 3,000 and pays a 5,000 subaward payment in December: it covers 3,000, unrestricted
    # cash 2,000. Grant h is not restricted: its receipt stays unrestricted money.
    result = run(
        opening=10000,
        horizon=3,
        flows=[
            Flow(on=dt.date(2024, 12, 5), amount=D(5000), direction="out", source="subawards", grant_ref="g"),
            receipt(dt.date(2024, 11, 5), 1000, grant="h"),
        ],
        expenses=[monthly(4000)],
        restricted=[RestrictedGrant(key="g", net_assets=D("3000"))],
    )

    # Unrestricted: 7,000 + 1,000 - 4,000 = 4,000; December 4,000 - 6,000 < 0: 4,000 / 6,000
    # = 0.6667 -> 1.66 months, floor(0.6667 x 31) = 20 -> 20 Dec 2024.
    assert (result.unrestricted.months, result.unrestricted.cash_out_on) == (D("1.66"), dt.date(2024, 12, 20))


def test_the_series_are_netted_grant_by_grant_and_period_by_period():
    series = unrestricted_series(
        opening=D("1000.00"),
        ins=[D("300.00"), D("0.00"), D("50.00")],
        outs=[D("100.00"), D("400.00"), D("400.00")],
        grants=[RestrictedGrant(key="g", net_assets=D("100.00")), RestrictedGrant(key="h")],
        receipts={"g": [D("200.00"), D("0.00"), D("0.00")], "h": [D("0.00"), D("0.00"), D("50.00")]},
        charges={"g": [D("50.00"), D("300.00"), D("100.00")], "h": [D("80.00"), D("0.00"), D("80.00")]},
    )

    # g: pool 100 + 200 = 300, covers 50 (250 left), then 250 of 300, then nothing.
    # h: pool 0 covers nothing in period 1; in period 3 its 50 received covers 50 of 80.
    assert series.opening == D("900.00")
    assert series.ins == [D("100.00"), D("0.00"), D("0.00")]
    assert series.outs == [D("50.00"), D("150.00"), D("350.00")]


def test_unrestricted_cash_already_below_the_reserve_has_no_runway():
    grid = Grid(A, 12)
    answer = unrestricted_runway(
        grid=grid,
        opening=D("50000.00"),
        ins=grid.zeros(),
        outs=grid.zeros(),
        reserve=D("20000"),
        grants=[RestrictedGrant(key="g", net_assets=D("40000.00"))],
        receipts={},
        charges={},
    )
    assert (answer.months, answer.cash_out_on) == (D("0.00"), A)
    assert answer.restricted_net_assets == D("40000.00")


def test_restricted_inputs_are_checked_where_they_are_made():
    with pytest.raises(ValueError, match="floored at 0"):
        RestrictedGrant(key="g", net_assets=D("-1"))
    with pytest.raises(ValueError, match="share"):
        Allocation(person="ana", grant="g", share=D("1.5"), start_on=A)
    with pytest.raises(TypeError, match="float"):
        RestrictedGrant(key="g", net_assets=1.5)
    with pytest.raises(ValueError, match="twice"):
        RunwayInputs(as_of=A, opening_balance=D(0), restricted=[RestrictedGrant(key="g")] * 2)


# --- the loader, the snapshot and the API -----------------------------------------------------------


@pytest.fixture
def restricted_books():
    """100,000 in the bank at A; one person at 10,000 a month, half of it charged to the restricted
    grant ``moore`` from November 2024 to October 2025 (5,000 a month).

    ``moore`` received 50,000 in March 2024 and spent 8,000 (a trip in June) and 2,000 (a subaward
    payment in September) up to A: 40,000 of net assets. It expects 30,000 more on 15 Jan 2025.
    An unrestricted grant ``open`` received money too: it holds nothing back.
    """
    CashPositionFactory(as_of=A, balance=D("100000.00"))
    person = StaffMemberFactory(slug="ana", start_on=dt.date(2020, 1, 1))
    CompensationFactory(
        staff=person, effective_on=dt.date(2020, 1, 1), annual_salary=D("120000.00"), benefits_rate=D("0")
    )
    moore = GrantFactory(
        reference="moore", restricted=True, prime=True, amount=D("200000.00"), end_on=dt.date(2025, 12, 31)
    )
    DisbursementFactory(
        grant=moore, amount=D("50000.00"), expected_on=dt.date(2024, 3, 1), received_on=dt.date(2024, 3, 1)
    )
    DisbursementFactory(grant=moore, amount=D("30000.00"), expected_on=dt.date(2025, 1, 15))
    ExpenseFactory(
        grant=moore, category="travel", recurrence="once", amount=D("8000.00"), start_on=dt.date(2024, 6, 1)
    )
    subaward = SubawardFactory(grant=moore)
    SubawardPaymentFactory(
        subaward=subaward, amount=D("2000.00"), due_on=dt.date(2024, 9, 15), paid_on=dt.date(2024, 9, 15)
    )
    StaffAllocationFactory(
        staff=person,
        grant=moore,
        share=D("0.500"),
        start_on=dt.date(2024, 11, 1),
        end_on=dt.date(2025, 10, 31),
    )
    other = GrantFactory(reference="open")
    DisbursementFactory(
        grant=other, amount=D("7000.00"), expected_on=dt.date(2024, 5, 1), received_on=dt.date(2024, 5, 1)
    )
    return moore


@pytest.mark.django_db
def test_the_loader_reads_net_assets_allocations_and_what_is_charged_to_a_restricted_grant(restricted_books):
    inputs = load_inputs(scenario=Scenario.objects.get(slug="base"))

    assert inputs.restricted == (RestrictedGrant(key="moore", net_assets=D("40000.00")),)
    assert inputs.allocations == (
        Allocation(
            person="ana",
            grant="moore",
            share=D("0.500"),
            start_on=dt.date(2024, 11, 1),
            end_on=dt.date(2025, 10, 31),
        ),
    )
    # The received disbursement is in B: it is no flow; the one to come is, under its grant.
    assert [(flow.grant_ref, flow.amount) for flow in inputs.flows if flow.source == "grants"] == [
        ("moore", D("30000.00"))
    ]


@pytest.mark.django_db
def test_the_snapshot_keeps_the_unrestricted_runway_beside_the_runway(restricted_books):
    snapshot = runway_recompute(scenario=Scenario.objects.get(slug="base"))

    # The runway: 100,000 + 30,000 at 10,000 a month -> 13.00 months. Unrestricted: 60,000
    # (100,000 less moore's 40,000 of net assets); moore's 40,000 + 30,000
    # cover its 12 x 5,000 charges, so unrestricted cash pays 5,000 a month for 12 months, then
    # 10,000: exactly 0 after 12 months -> 12.00, A + 12 months = 31 Oct 2025.
    assert snapshot.months == D("13.00")
    assert snapshot.result["unrestricted"] == {
        "months": "12.00",
        "cash_out_on": "2025-10-31",
        "restricted_net_assets": "40000.00",
        "grants": [{"grant": "moore", "net_assets": "40000.00"}],
    }


@pytest.mark.django_db
def test_the_runway_api_answers_the_unrestricted_runway_to_finance_and_nothing_to_operations(
    restricted_books, finance_client, operations_client
):
    runway_recompute(scenario=Scenario.objects.get(slug="base"))

    answer = finance_client.get(RUNWAY_URL)
    assert answer.status_code == 200
    assert answer.json()["unrestricted"] == {
        "months": "12.00",
        "cash_out_on": "2025-10-31",
        "restricted_net_assets": "40000.00",
        "grants": [{"grant": "moore", "net_assets": "40000.00"}],
    }

    refused = operations_client.get(RUNWAY_URL)
    assert refused.status_code == 403
    body = refused.content.decode()
    for secret in ("unrestricted", "40000", "moore", "restricted_net_assets"):
        assert secret not in body


@pytest.mark.django_db
def test_a_snapshot_stored_before_the_unrestricted_runway_answers_it_as_null(finance_client):
    base = Scenario.objects.get(slug="base")
    CashPositionFactory(as_of=A, balance=D("1000.00"))
    older = dict(runway_recompute(scenario=base).result)
    del older["unrestricted"]
    RunwaySnapshotFactory(scenario=base, as_of=A, result=older)  # the latest now

    assert finance_client.get(RUNWAY_URL).json()["unrestricted"] is None


@pytest.mark.django_db
def test_the_leadership_dashboard_shows_the_unrestricted_runway_beside_each_scenarios_runway(
    restricted_books, leadership_client
):
    runway_recompute_all()

    content = leadership_client.get(DASHBOARD_URL).content.decode()

    for slug in ("base", "committed", "full"):
        card = content[content.index(f'id="runway-{slug}"') :]
        card = card[: card.index("</article>")]
        # Nothing is in the pipeline: every scenario has the same two runways.
        assert "Unrestricted runway: 12.00 months (cash out on 31 Oct 2025)." in card
        assert "Restricted net assets: 40,000 USD, held by 1 restricted grant." in card
