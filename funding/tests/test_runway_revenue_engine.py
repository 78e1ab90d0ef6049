"""Revenue realism in the runway engine, against hand-computed figures (docs/definitions.md
"Revenue realism"): the fiscal sponsor's fee, usage-fee inflows, invoice collection, customer
concentration, and each indicator's target and needed.

Plain functions, no database: the engine takes plain data in.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from funding.runway import (
    Adjustment,
    Band,
    Expense,
    Flow,
    Invoice,
    RunwayInputs,
    RunwayResult,
    ScenarioParams,
    Thresholds,
    UsageFeeInflow,
    project,
)

A = date(2024, 10, 31)  # periods: Nov, Dec, Jan, Feb, Mar, Apr, ...
D = Decimal


def end_of(k: int) -> date:
    return A + relativedelta(months=k)


def run(
    *, opening: str | int = 0, pipeline: str = "weighted", horizon: int = 12, fee: str = "0", **lists
) -> RunwayResult:
    return project(
        RunwayInputs(
            as_of=lists.pop("as_of", A),
            opening_balance=D(opening),
            params=ScenarioParams(pipeline=pipeline, horizon_months=horizon),
            fiscal_sponsor_fee=D(fee),
            **lists,
        )
    )


def contract(on: date, amount: str | int, customer: str = "a", **extra) -> Flow:
    return Flow(on=on, amount=D(amount), direction="in", source="contracts", customer=customer, **extra)


def grant(on: date, amount: str | int, **extra) -> Flow:
    return Flow(on=on, amount=D(amount), direction="in", source="grants", **extra)


def monthly_cost(amount: str | int) -> Expense:
    return Expense(name="costs", amount=D(amount), recurrence="monthly", start_on=date(2024, 1, 1))


def fees(result: RunwayResult) -> list[Decimal]:
    return [period.out_by_source["fiscal_sponsor_fee"] for period in result.periods]


def values(result: RunwayResult) -> dict[str, Decimal | None]:
    return {name: indicator.value for name, indicator in result.indicators.items()}


# --- the hand-computed case ---------------------------------------------------------------------

# 100,000 in the bank, 20,000 of costs a month, a 15% fee. Periods 1-5 bring in:
#   1. a hub contract's 12,000 (customer a) and a cloud pass-through's 5,000 (customer b, exempt);
#   2. an awarded grant's 30,000;
#   3. the hub contract's second 12,000;
#   4. a proposed contract's 10,000 at 50% (weighted: 5,000; not committed);
#   5. a what-if inflow of 4,000 (not committed).
BOOKS = {
    "opening": 100000,
    "expenses": [monthly_cost(20000)],
    "flows": [
        contract(date(2024, 11, 15), 12000),
        contract(date(2024, 11, 20), 5000, customer="b", fee_exempt=True),
        grant(date(2024, 12, 10), 30000),
        contract(date(2025, 1, 15), 12000),
        contract(date(2025, 2, 10), 10000, customer="c", pipeline_probability=D(50)),
    ],
    "adjustments": [Adjustment(kind="inflow", label="gift", amount=D(4000), start_on=date(2025, 3, 5))],
}


def test_the_fee_is_taken_on_every_inflow_but_cloud_contracts_as_the_scenario_counts_it():
    result = run(fee="0.15", **BOOKS)
    # 15% of: 12,000 (the cloud 5,000 exempt); 30,000; 12,000; 5,000 weighted; the what-if's 4,000.
    assert fees(result) == [D(1800), D(4500), D(1800), D(750), D(600)] + [D(0)] * 7
    assert [period.out for period in result.periods[:6]] == [
        D(21800), D(24500), D(21800), D(20750), D(20600), D(20000),
    ]  # fmt: skip
    # Not exempt, the cloud payment would have cost 750 more in period 1.
    unexempt = [dataclasses.replace(f, fee_exempt=False) for f in BOOKS["flows"]]
    assert fees(run(fee="0.15", **{**BOOKS, "flows": unexempt}))[0] == D(2550)


def test_the_fee_lowers_every_indicator_read_on_the_outflow_and_no_other():
    without, with_fee = run(**BOOKS), run(fee="0.15", **BOOKS)
    # Committed inflow 17,000; 30,000; 12,000; then none. Closing on it, against the outflow:
    # without the fee 97,000; 107,000; 99,000; 79,000; 59,000; 39,000; 19,000, then -1,000 in
    # period 8: 7 + 19,000 / 20,000 = 7.95 months. With it (outflow 21,800; 24,500; 21,800;
    # 20,750; 20,600; 20,000 ...): 95,200; 100,700; 90,900; 70,150; 49,550; 29,550; 9,550, then
    # 7 + 9,550 / 20,000 = 7.4775, shown 7.47.
    # Cost coverage: 59,000 / 120,000 = 0.4916 -> 0.49; with the fee 59,000 / 129,450 -> 0.45.
    # Pipeline coverage: weighted above committed 5,000 + 4,000 = 9,000, over the gaps 3,000 + 0 +
    # 8,000 + 20,000 * 3 = 71,000 -> 0.12; with the fee 4,800 + 0 + 9,800 + 20,750 + 20,600 +
    # 20,000 = 75,950 -> 0.11.
    # Cash reserve: 100,000 / 20,000 = 5.00; with the fee 100,000 / (68,100 / 3) = 4.405 -> 4.40.
    # Concentration (customer a 24,000, b 5,000: the top three are all) and collection (nothing
    # due) do not read the outflow.
    assert values(without) == {
        "committed_runway": D("7.95"),
        "cost_coverage": D("0.49"),
        "pipeline_coverage": D("0.12"),
        "cash_reserve": D("5.00"),
        "invoice_collection": None,
        "customer_concentration": D("1.00"),
    }
    assert values(with_fee) == {
        "committed_runway": D("7.47"),
        "cost_coverage": D("0.45"),
        "pipeline_coverage": D("0.11"),
        "cash_reserve": D("4.40"),
        "invoice_collection": None,
        "customer_concentration": D("1.00"),
    }
    # The runway itself, with every inflow: without the fee 97,000; 107,000; 99,000; 84,000;
    # 68,000; 48,000; 28,000; 8,000, then 8 + 8,000 / 20,000 = 8.40. With it 95,200; 100,700;
    # 90,900; 75,150; 58,550; 38,550; 18,550, then 7 + 18,550 / 20,000 = 7.9275 -> 7.92.
    assert (without.months, with_fee.months) == (D("8.40"), D("7.92"))


def test_the_hand_computed_case_says_what_turns_each_indicator_better():
    result = run(fee="0.15", **BOOKS)
    indicators = result.indicators
    # Yellow and red indicators aim at the next band up: 12 months, 0.85, 1.00, 6 months.
    assert {name: i.target for name, i in indicators.items()} == {
        "committed_runway": D(12),
        "cost_coverage": D("0.85"),
        "pipeline_coverage": D("1.00"),
        "cash_reserve": D(6),
        "invoice_collection": None,
        "customer_concentration": D("0.50"),
    }
    # Cost coverage: t x C / (1 - t x f) with C the monthly cost left uncovered at t = 0.85,
    # (129,450 - 59,000 / 0.85) / 6 = 10,006.37...: 0.85 x 10,006.37 / (1 - 0.85 x 0.15) = 9,748.33
    # (each period's fee rounded to the cent, as the engine does, keeps it there).
    assert indicators["cost_coverage"].needed == D("9748.33")
    # Cash reserve: 6 x 22,700 - 100,000 = 36,200 more cash.
    assert indicators["cash_reserve"].needed == D("36200.00")
    assert indicators["customer_concentration"].needed is None
    assert indicators["invoice_collection"].needed is None


# --- the fee under each pipeline mode, delays and adjustments ----------------------------------


@pytest.mark.parametrize(
    ("pipeline", "fee"), [("committed", "0.00"), ("weighted", "500.00"), ("full", "1000.00")]
)
def test_the_fee_on_pipeline_money_follows_the_scenarios_mode(pipeline, fee):
    flows = [
        contract(date(2024, 11, 10), 10000, pipeline_probability=D(50)),
        contract(date(2024, 11, 12), 8000, pipeline_probability=D(50), fee_exempt=True),
    ]
    assert fees(run(pipeline=pipeline, fee="0.10", horizon=1, flows=flows)) == [D(fee)]


def test_the_fee_follows_a_delayed_disbursement_and_the_adjustments_inflows():
    flows = [grant(date(2024, 11, 10), 10000, grant_ref="g1")]
    delay = Adjustment(kind="delay", label="late", start_on=A, grant_ref="g1", months=2)
    monthly_gift = Adjustment(
        kind="inflow", label="gift", amount=D(1000), recurrence="monthly", start_on=date(2024, 11, 1)
    )
    cost = Adjustment(kind="outflow", label="rent", amount=D(5000), start_on=date(2024, 11, 5))
    result = run(fee="0.10", horizon=3, flows=flows, adjustments=[delay, monthly_gift, cost])
    # The grant lands in period 3 (January); every month's 1,000 gift pays the fee, the rent does not.
    assert fees(result) == [D(100), D(100), D(1100)]


def test_with_no_fee_the_fee_is_zero_everywhere():
    assert fees(run(**BOOKS)) == [D(0)] * 12


@pytest.mark.parametrize("fee", ["1", "1.5", "-0.01"])
def test_a_fee_outside_zero_to_one_is_refused(fee):
    with pytest.raises(ValueError, match="fiscal sponsor's fee"):
        run(fee=fee)


# --- usage-fee inflows --------------------------------------------------------------------------


def test_a_usage_fee_lands_on_each_month_end_after_as_of_within_the_term():
    usage = UsageFeeInflow(amount=D(550), start_on=date(2024, 6, 1), end_on=date(2025, 2, 15), customer="a")
    result = run(horizon=5, usage_fees=[usage])
    # November, December and January end within the term; 28 February is after its end.
    assert [p.in_by_source["usage_fees"] for p in result.periods] == [D(550)] * 3 + [D(0)] * 2
    assert [p.committed_in for p in result.periods] == [D(550)] * 3 + [D(0)] * 2


def test_with_a_mid_month_as_of_the_month_end_falls_in_the_period_that_holds_it():
    usage = UsageFeeInflow(amount=D(100), start_on=date(2024, 10, 31), end_on=date(2024, 12, 31))
    result = run(as_of=date(2024, 10, 15), horizon=3, usage_fees=[usage])
    # Periods: Oct 16-Nov 15 (holds 31 October), Nov 16-Dec 15 (30 November), Dec 16-Jan 15.
    assert [p.in_by_source["usage_fees"] for p in result.periods] == [D(100)] * 3


@pytest.mark.parametrize(
    ("pipeline", "counted", "weighted"),
    [("committed", "0.00", "220.00"), ("weighted", "220.00", "220.00"), ("full", "550.00", "220.00")],
)
def test_a_proposed_contracts_usage_fee_is_weighted_like_the_contract(pipeline, counted, weighted):
    usage = UsageFeeInflow(amount=D(550), start_on=A, end_on=date(2025, 12, 31), pipeline_probability=D(40))
    period = run(pipeline=pipeline, horizon=1, fee="0.10", usage_fees=[usage]).periods[0]
    assert period.in_by_source["usage_fees"] == D(counted)
    assert (period.committed_in, period.weighted_in) == (D(0), D(weighted))
    assert period.out_by_source["fiscal_sponsor_fee"] == D(counted) / 10  # 10% of what is counted


def test_a_cloud_contracts_usage_fee_pays_no_fee():
    usage = UsageFeeInflow(amount=D(550), start_on=A, end_on=date(2025, 12, 31), fee_exempt=True)
    assert fees(run(horizon=2, fee="0.15", usage_fees=[usage])) == [D(0), D(0)]


# --- invoice collection -------------------------------------------------------------------------

WINDOW_START = date(2024, 8, 3)  # the 90 days up to 31 October: 3 August to 31 October


@pytest.mark.parametrize(
    ("paid", "unpaid", "value", "status"),
    [
        (800, 200, "0.80", "yellow"),  # exactly 0.80: the better status
        (7999, 2001, "0.79", "red"),  # 0.7999, rounded down
        (950, 50, "0.95", "green"),  # exactly 0.95
        (9499, 501, "0.94", "yellow"),
        (1000, 0, "1.00", "green"),
    ],
)
def test_invoice_collection_is_the_share_paid_of_what_fell_due_in_the_90_days(paid, unpaid, value, status):
    invoices = [
        Invoice(due_on=WINDOW_START, amount=D(paid), paid_on=date(2024, 8, 20)),
        Invoice(due_on=A, amount=D(unpaid)) if unpaid else None,
        # Outside the window either way: due the day before it starts, or after A.
        Invoice(due_on=date(2024, 8, 2), amount=D(1000000)),
        Invoice(due_on=date(2024, 11, 1), amount=D(1000000)),
    ]
    indicator = run(invoices=[i for i in invoices if i]).indicators["invoice_collection"]
    assert (indicator.value, indicator.status) == (D(value), status)


def test_a_payment_marked_paid_after_as_of_was_not_paid_by_it():
    invoices = [Invoice(due_on=date(2024, 10, 1), amount=D(100), paid_on=date(2024, 11, 2))]
    assert run(invoices=invoices).indicators["invoice_collection"].value == D("0.00")


def test_invoice_collection_is_null_and_green_when_nothing_fell_due():
    indicator = run(invoices=[Invoice(due_on=date(2024, 8, 2), amount=D(100))]).indicators[
        "invoice_collection"
    ]
    assert (indicator.value, indicator.status, indicator.target, indicator.needed) == (
        None,
        "green",
        None,
        None,
    )


def test_invoice_collection_needs_the_amount_that_lifts_it_to_the_next_band():
    invoices = [
        Invoice(due_on=date(2024, 9, 1), amount=D(800), paid_on=date(2024, 9, 5)),
        Invoice(due_on=date(2024, 10, 1), amount=D(200)),
    ]
    indicator = run(invoices=invoices).indicators["invoice_collection"]
    # 0.80 is yellow; green from 0.95: 0.95 x 1,000 - 800 = 150 more collected.
    assert (indicator.status, indicator.target, indicator.needed) == ("yellow", D("0.95"), D("150.00"))


# --- customer concentration ---------------------------------------------------------------------


def _customers(amounts: dict[str, int]) -> list[Flow]:
    return [contract(date(2024, 11, 10), amount * 1000, customer=name) for name, amount in amounts.items()]


@pytest.mark.parametrize(
    ("amounts", "value", "status"),
    [
        # The three largest, 15 + 10 + 10 = 35 of 100: exactly 0.35 is green.
        ({"a": 15, "b": 10, "c": 10, "d": 10, "e": 10, "f": 10, "g": 10, "h": 10, "i": 10, "j": 5}, "0.35", "green"),
        # 20 + 20 + 10 = 50 of 100: exactly 0.50 is yellow.
        ({"a": 20, "b": 20, "c": 10, "d": 10, "e": 10, "f": 10, "g": 10, "h": 10}, "0.50", "yellow"),
        # 51 of 101: 0.5049..., rounded up (a concentration is never understated): red.
        ({"a": 21, "b": 20, "c": 10, "d": 10, "e": 10, "f": 10, "g": 10, "h": 10}, "0.51", "red"),
        # 36 of 101: 0.356..., rounded up to 0.36: yellow.
        ({"a": 16, "b": 10, "c": 10, "d": 10, "e": 10, "f": 10, "g": 10, "h": 10, "i": 10, "j": 5}, "0.36", "yellow"),
    ],
)  # fmt: skip
def test_customer_concentration_is_the_top_three_communities_share(amounts, value, status):
    indicator = run(flows=_customers(amounts)).indicators["customer_concentration"]
    assert (indicator.value, indicator.status) == (D(value), status)
    assert indicator.target == {"green": None, "yellow": D("0.35"), "red": D("0.50")}[status]


def test_customer_concentration_reads_committed_contract_inflow_of_periods_1_to_12_only():
    flows = [
        contract(date(2024, 11, 10), 1000, customer="a"),
        contract(date(2024, 11, 10), 1000, customer="b"),
        contract(date(2024, 11, 10), 1000, customer="c"),
        contract(end_of(12), 1000, customer="d"),  # the last day of period 12: counted
        contract(end_of(12) + relativedelta(days=1), 50000, customer="e"),  # period 13: not
        contract(date(2024, 11, 10), 50000, customer="f", pipeline_probability=D(90)),  # pipeline: not
        grant(date(2024, 11, 10), 50000),  # grants: not
    ]
    usage = UsageFeeInflow(amount=D(100), start_on=A, end_on=date(2024, 12, 31), customer="g")
    result = run(horizon=24, flows=flows, usage_fees=[usage])
    # 1,000 each from a, b, c, d, and 200 of usage fees from g: 3,000 of 4,200 = 0.714... -> 0.72.
    assert result.indicators["customer_concentration"].value == D("0.72")


def test_customer_concentration_is_null_and_green_without_committed_contract_inflow():
    indicator = run(flows=[grant(date(2024, 11, 10), 1000)]).indicators["customer_concentration"]
    assert (indicator.value, indicator.status, indicator.target) == (None, "green", None)


# --- bands and targets --------------------------------------------------------------------------


def test_a_band_where_lower_is_better_runs_the_other_way():
    band = Band(green=D("0.35"), yellow=D("0.50"), lower_is_better=True)
    assert [band.status(D(v)) for v in ("0.10", "0.35", "0.36", "0.50", "0.51")] == [
        "green", "green", "yellow", "yellow", "red",
    ]  # fmt: skip
    assert [band.target(s) for s in ("red", "yellow", "green")] == [D("0.50"), D("0.35"), None]


def test_the_next_better_boundary_is_the_target_and_green_or_over_have_none():
    band = Thresholds().cost_coverage
    assert [band.target(s) for s in ("red", "yellow", "green", "over")] == [D("0.85"), D("1.00"), None, None]


def test_thresholds_of_the_new_indicators_come_from_settings_in_their_own_terms():
    thresholds = Thresholds.from_dict(
        {"invoice_collection": [0.75, 0.9], "customer_concentration": {"yellow": "0.60"}}
    )
    assert thresholds.invoice_collection == Band(yellow=D("0.75"), green=D("0.90"))
    assert thresholds.customer_concentration == Band(green=D("0.35"), yellow=D("0.60"), lower_is_better=True)


@pytest.mark.parametrize(
    "bad",
    [
        {"invoice_collection": {"over": "1.2"}},  # a share has no over band
        {"invoice_collection": [1, 2, 3]},
        {"customer_concentration": [0.6, 0.4]},  # green must not be above yellow
    ],
)
def test_thresholds_of_the_new_indicators_refuse_what_makes_no_sense(bad):
    with pytest.raises(ValueError):
        Thresholds.from_dict(bad)


# --- needed -------------------------------------------------------------------------------------


def test_no_committed_revenue_lifts_cost_coverage_when_the_fee_eats_more_than_it_brings():
    # At a 90% fee each dollar raised adds 0.90 of cost: coverage never passes 1 / 0.9 = 1.11,
    # so with a yellow band from 1.20 no amount turns it.
    thresholds = Thresholds.from_dict({"cost_coverage": [1.2, 1.3, 1.4]})
    result = run(fee="0.9", expenses=[monthly_cost(1000)], thresholds=thresholds)
    indicator = result.indicators["cost_coverage"]
    assert (indicator.status, indicator.target, indicator.needed) == ("red", D("1.2"), None)


def test_no_monthly_revenue_lifts_a_committed_runway_that_starts_below_the_reserve():
    inputs = RunwayInputs(
        as_of=A,
        opening_balance=D(100),
        expenses=[monthly_cost(1000)],
        params=ScenarioParams(reserve=D(500), horizon_months=12),
    )
    indicator = project(inputs).indicators["committed_runway"]
    assert (indicator.value, indicator.status, indicator.needed) == (D("0.00"), "red", None)
