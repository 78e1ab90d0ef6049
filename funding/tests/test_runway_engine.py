"""The runway engine against hand-computed figures (docs/definitions.md "Runway").

Plain functions, no database and no Django: the engine takes plain data in.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from funding.runway import (
    Adjustment,
    Band,
    Employment,
    Expense,
    Flow,
    PayLine,
    RunwayInputs,
    RunwayResult,
    ScenarioParams,
    Thresholds,
    project,
)

A = date(2024, 10, 31)  # periods: Nov (30 days), Dec (31), Jan (31), Feb (28), Mar (31), Apr (30) ...


def D(value: str | int) -> Decimal:
    return Decimal(value)


def end_of(k: int) -> date:
    """The last day of period k."""
    return A + relativedelta(months=k)


def run(
    *,
    opening: str | int = 0,
    pipeline: str = "weighted",
    reserve: str | int = 0,
    horizon: int = 12,
    thresholds: Thresholds | None = None,
    **lists,
) -> RunwayResult:
    return project(
        RunwayInputs(
            as_of=lists.pop("as_of", A),
            opening_balance=D(opening),
            params=ScenarioParams(pipeline=pipeline, reserve=D(reserve), horizon_months=horizon),
            thresholds=thresholds or Thresholds(),
            **lists,
        )
    )


def inflow(on: date, amount: str | int, **extra) -> Flow:
    extra.setdefault("source", "contracts")
    return Flow(on=on, amount=D(amount), direction="in", **extra)


def monthly(amount: str | int, start_on: date = date(2024, 1, 1), end_on: date | None = None) -> Expense:
    return Expense(name="hosting", amount=D(amount), recurrence="monthly", start_on=start_on, end_on=end_on)


def ins(result: RunwayResult) -> list[Decimal]:
    return [period.in_ for period in result.periods]


def outs(result: RunwayResult) -> list[Decimal]:
    return [period.out for period in result.periods]


# --- periods ------------------------------------------------------------------------------------


def test_periods_run_from_the_day_after_as_of_to_as_of_plus_k_months():
    result = run(horizon=3)
    assert [(p.start, p.end) for p in result.periods] == [
        (date(2024, 11, 1), date(2024, 11, 30)),
        (date(2024, 12, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 1, 31)),
    ]


def test_period_ends_clip_to_the_month_end_without_drifting():
    result = run(as_of=date(2024, 1, 31), horizon=4)
    assert [p.end for p in result.periods] == [
        date(2024, 2, 29),
        date(2024, 3, 31),  # A + 2 months, not Feb 29 + 1 month
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    assert [p.start for p in result.periods] == [
        date(2024, 2, 1),
        date(2024, 3, 1),
        date(2024, 4, 1),
        date(2024, 5, 1),
    ]


def test_a_mid_month_as_of_gives_mid_month_periods():
    result = run(as_of=date(2024, 1, 15), horizon=2)
    assert [(p.start, p.end) for p in result.periods] == [
        (date(2024, 1, 16), date(2024, 2, 15)),
        (date(2024, 2, 16), date(2024, 3, 15)),
    ]


def test_a_row_on_a_period_end_belongs_to_that_period_and_the_next_day_to_the_next():
    result = run(horizon=3, flows=[inflow(date(2024, 11, 30), 100), inflow(date(2024, 12, 1), 7)])
    assert ins(result) == [D(100), D(7), D(0)]


def test_a_settled_row_on_or_before_as_of_is_ignored_because_it_is_already_in_the_balance():
    result = run(
        horizon=2,
        flows=[
            inflow(A, 500, settled=True),
            inflow(date(2024, 6, 1), 400, settled=True),
            inflow(date(2024, 11, 2), 30, settled=True),  # received after the cash position
        ],
    )
    assert ins(result) == [D(30), D(0)]


def test_an_overdue_open_row_lands_in_period_one():
    result = run(horizon=2, flows=[inflow(date(2024, 8, 15), 250), inflow(A, 50)])
    assert ins(result) == [D(300), D(0)]


def test_rows_beyond_the_horizon_are_left_out():
    result = run(horizon=2, flows=[inflow(end_of(2), 1), inflow(end_of(2) + relativedelta(days=1), 1000)])
    assert ins(result) == [D(0), D(1)]


# --- pipeline -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pipeline", "contracts", "grants", "subawards"),
    [
        ("committed", "1000.00", "0.00", "0.00"),
        ("weighted", "4500.00", "2000.00", "500.00"),
        ("full", "11000.00", "8000.00", "2000.00"),
    ],
)
def test_pipeline_money_is_left_out_weighted_or_counted_in_full(pipeline, contracts, grants, subawards):
    flows = [
        inflow(date(2024, 11, 10), 1000),  # a signed contract's payment
        inflow(date(2024, 11, 20), 10000, pipeline_probability=D(35)),  # a proposed contract
        inflow(date(2024, 11, 25), 8000, source="grants", pipeline_probability=D(25)),  # a prospect
        Flow(
            on=date(2024, 11, 26),
            amount=D(2000),
            direction="out",
            source="subawards",
            pipeline_probability=D(25),
        ),
    ]
    period = run(horizon=1, pipeline=pipeline, flows=flows).periods[0]
    assert period.in_by_source == {
        "contracts": D(contracts),
        "grants": D(grants),
        "adjustments": D(0),
        "usage_fees": D(0),
    }
    assert period.out_by_source["subawards"] == D(subawards)
    assert period.in_ == D(contracts) + D(grants)


# --- payroll ------------------------------------------------------------------------------------


def employed_since(person: str = "ada", start_on: date = date(2020, 1, 1), end_on: date | None = None):
    return Employment(person=person, start_on=start_on, end_on=end_on)


def test_a_raise_in_the_middle_of_a_period_is_prorated_by_days():
    pay_lines = [
        # 60,000 * 1.20 / 12 = 6,000 a month
        PayLine(person="ada", effective_on=date(2023, 1, 1), annual_salary=D(60000), benefits_rate=D("0.20")),
        # from 21 November: 72,000 * 1.25 / 12 = 7,500 a month
        PayLine(
            person="ada", effective_on=date(2024, 11, 21), annual_salary=D(72000), benefits_rate=D("0.25")
        ),
    ]
    result = run(horizon=2, employments=[employed_since()], pay_lines=pay_lines)
    # November has 30 days: 20 days at 6,000/30 = 4,000, then 10 days at 7,500/30 = 2,500.
    assert [p.out_by_source["payroll"] for p in result.periods] == [D("6500.00"), D("7500.00")]


def test_payroll_counts_only_the_days_a_person_is_employed():
    result = run(
        horizon=3,
        employments=[employed_since(start_on=date(2024, 11, 11), end_on=date(2024, 12, 15))],
        pay_lines=[PayLine(person="ada", effective_on=date(2024, 11, 11), annual_salary=D(72000))],
    )
    # 6,000 a month: November 20/30 days = 4,000; December 15/31 days = 2,903.2258...
    assert outs(result) == [D("4000.00"), D("2903.23"), D("0.00")]


def test_days_without_a_compensation_in_effect_cost_nothing():
    result = run(
        horizon=1,
        employments=[employed_since()],
        pay_lines=[PayLine(person="ada", effective_on=date(2024, 11, 16), annual_salary=D(72000))],
    )
    assert outs(result) == [D("3000.00")]  # 15 of 30 days at 6,000


def test_overlapping_employments_never_pay_a_person_twice():
    result = run(
        horizon=1,
        employments=[employed_since(), employed_since(start_on=date(2024, 6, 1), end_on=date(2025, 6, 1))],
        pay_lines=[PayLine(person="ada", effective_on=date(2020, 1, 1), annual_salary=D(72000))],
    )
    assert outs(result) == [D("6000.00")]


def test_a_person_without_pay_lines_or_without_employment_costs_nothing():
    result = run(
        horizon=1,
        employments=[employed_since("ada")],
        pay_lines=[PayLine(person="bob", effective_on=date(2020, 1, 1), annual_salary=D(72000))],
    )
    assert outs(result) == [D("0.00")]


# --- expenses -----------------------------------------------------------------------------------


def test_a_monthly_expense_is_prorated_by_its_active_days():
    result = run(horizon=4, expenses=[monthly(3100, date(2024, 12, 10), date(2025, 1, 20))])
    # December: 22 of 31 days of 3,100 = 2,200; January: 20 of 31 days = 2,000.
    assert [p.out_by_source["expenses"] for p in result.periods] == [D(0), D(2200), D(2000), D(0)]


def test_a_once_expense_lands_on_its_date_and_one_before_as_of_is_already_paid():
    expenses = [
        Expense(name="laptop", amount=D(1500), recurrence="once", start_on=date(2024, 12, 5)),
        Expense(name="travel", amount=D(900), recurrence="once", start_on=A),
    ]
    assert outs(run(horizon=2, expenses=expenses)) == [D(0), D(1500)]


# --- adjustments --------------------------------------------------------------------------------


def test_a_hire_adds_payroll_under_adjustments():
    hire = Adjustment(
        kind="hire",
        label="SRE",
        amount=D(96000),  # 96,000 * 1.25 / 12 = 10,000 a month
        benefits_rate=D("0.25"),
        recurrence="annual_salary",
        start_on=date(2024, 12, 1),
        end_on=date(2025, 1, 15),
    )
    result = run(horizon=3, adjustments=[hire])
    # January: 15 of 31 days of 10,000 = 4,838.709...
    assert [p.out_by_source["adjustments"] for p in result.periods] == [D(0), D(10000), D("4838.71")]
    assert [p.out_by_source["payroll"] for p in result.periods] == [D(0)] * 3


def test_inflow_and_outflow_adjustments_land_once_or_monthly_prorated():
    adjustments = [
        Adjustment(kind="inflow", label="gift", amount=D(5000), start_on=date(2024, 12, 24)),
        Adjustment(kind="inflow", label="stale gift", amount=D(999), start_on=A),  # already in B
        Adjustment(
            kind="outflow",
            label="office",
            amount=D(3000),
            recurrence="monthly",
            start_on=date(2024, 11, 16),  # 15 of November's 30 days
        ),
    ]
    result = run(horizon=3, adjustments=adjustments)
    assert [p.in_by_source["adjustments"] for p in result.periods] == [D(0), D(5000), D(0)]
    assert [p.out_by_source["adjustments"] for p in result.periods] == [D(1500), D(3000), D(3000)]


def test_a_delay_moves_a_grants_open_disbursements_later_but_not_received_ones():
    flows = [
        inflow(date(2024, 11, 15), 100, source="grants", grant_ref="nsf-1"),
        inflow(date(2024, 11, 20), 20, source="grants", grant_ref="nsf-1", settled=True),
        inflow(date(2024, 11, 15), 3, source="grants", grant_ref="other"),
        inflow(date(2024, 8, 15), 4000, source="grants", grant_ref="nsf-1"),  # overdue: Aug -> Oct <= A
    ]
    delay = Adjustment(kind="delay", label="late", start_on=A, grant_ref="nsf-1", months=2)
    result = run(horizon=3, flows=flows, adjustments=[delay])
    assert [p.in_by_source["grants"] for p in result.periods] == [D(4023), D(0), D(100)]


def test_delays_of_one_grant_add_up():
    flows = [inflow(date(2024, 11, 15), 100, source="grants", grant_ref="g")]
    delays = [Adjustment(kind="delay", label=str(m), start_on=A, grant_ref="g", months=m) for m in (1, 2)]
    assert ins(run(horizon=4, flows=flows, adjustments=delays)) == [D(0), D(0), D(0), D(100)]


def test_a_delay_also_shifts_the_committed_inflow_of_the_indicators():
    flows = [inflow(end_of(6), 60000, source="grants", grant_ref="g")]
    base = run(expenses=[monthly(10000)], flows=flows)
    delayed = run(
        expenses=[monthly(10000)],
        flows=flows,
        adjustments=[Adjustment(kind="delay", label="late", start_on=A, grant_ref="g", months=1)],
    )
    assert base.indicators["cost_coverage"].value == D("1.00")
    assert delayed.indicators["cost_coverage"].value == D("0.00")


# --- runway -------------------------------------------------------------------------------------


def test_runway_is_null_when_cash_never_runs_out():
    result = run(opening=100000, expenses=[monthly(1000)])
    assert result.months is None
    assert result.cash_out_on is None


def test_runway_is_zero_when_the_balance_is_already_below_the_reserve():
    result = run(opening=4999, reserve=5000, flows=[inflow(date(2024, 11, 1), 100000)])
    assert result.months == D("0.00")
    assert result.cash_out_on == A


def test_runway_counts_the_fraction_of_the_period_in_which_cash_runs_out():
    result = run(opening=25000, expenses=[monthly(10000)])
    # Closing 15,000, 5,000, -5,000: out in period 3 (Jan, 31 days) after 5,000/10,000 of it.
    assert result.months == D("2.50")
    assert result.cash_out_on == date(2025, 1, 15)  # Dec 31 + floor(0.5 * 31) days


def test_runway_is_measured_down_to_the_reserve():
    result = run(opening=25000, reserve=2000, expenses=[monthly(10000)])
    assert result.months == D("2.30")  # 2 + 3,000 / 10,000
    assert result.cash_out_on == date(2025, 1, 9)  # Dec 31 + floor(0.3 * 31) days


def test_runway_months_are_rounded_down_never_overstated():
    result = run(opening=20000, expenses=[monthly(3000)])
    # Closing 17,000 ... 2,000 after six periods, -1,000 after the seventh: 6 + 2,000/3,000.
    assert result.months == D("6.66")
    assert result.cash_out_on == date(2025, 5, 20)  # Apr 30 + floor(0.666... * 31) days


def test_a_runway_that_ends_exactly_on_a_period_end_is_a_whole_number():
    result = run(opening=20000, expenses=[monthly(10000)])
    # Closing 10,000, then exactly 0 (not below the reserve), then -10,000.
    assert result.months == D("2.00")
    assert result.cash_out_on == date(2024, 12, 31)


def test_the_opening_balance_chains_through_the_periods():
    result = run(
        opening="1000.50", horizon=3, expenses=[monthly(300)], flows=[inflow(date(2024, 12, 2), "99.99")]
    )
    assert [(p.opening, p.closing) for p in result.periods] == [
        (D("1000.50"), D("700.50")),
        (D("700.50"), D("500.49")),
        (D("500.49"), D("200.49")),
    ]


def test_figures_add_up_exactly_after_rounding_to_cents():
    # 1,000/3 a month of payroll prorated over odd day counts: nothing is a round number.
    result = run(
        opening=10000,
        employments=[employed_since(start_on=date(2024, 11, 8))],
        pay_lines=[PayLine(person="ada", effective_on=date(2020, 1, 1), annual_salary=D(4000))],
        expenses=[monthly(77, date(2024, 11, 3), date(2025, 2, 17))],
    )
    for period in result.periods:
        assert period.in_ == sum(period.in_by_source.values())
        assert period.out == sum(period.out_by_source.values())
        assert period.closing == period.opening + period.in_ - period.out
        assert period.out.as_tuple().exponent == -2


# --- forward burn -------------------------------------------------------------------------------


def test_forward_burn_is_the_mean_net_outflow_of_the_first_three_periods():
    result = run(opening=100000, expenses=[monthly(10000)], flows=[inflow(date(2024, 12, 15), 1000)])
    assert result.forward_burn == D("9666.67")  # (10,000 + 9,000 + 10,000) / 3


def test_forward_burn_uses_the_periods_there_are_when_the_horizon_is_shorter():
    assert run(horizon=2, expenses=[monthly(10000)]).forward_burn == D("10000.00")


def test_forward_burn_is_negative_when_more_comes_in_than_goes_out():
    assert run(horizon=3, flows=[inflow(date(2024, 11, 15), 3000)]).forward_burn == D("-1000.00")


# --- indicators ---------------------------------------------------------------------------------

BOUNDARIES = {
    "committed_runway": [
        ("5.99", "red"),
        ("6", "yellow"),
        ("11.99", "yellow"),
        ("12", "green"),
        ("23.99", "green"),
        ("24", "over"),
    ],
    "cost_coverage": [
        ("0.84", "red"),
        ("0.85", "yellow"),
        ("0.99", "yellow"),
        ("1.00", "green"),
        ("1.29", "green"),
        ("1.30", "over"),
    ],
    "pipeline_coverage": [
        ("0.99", "red"),
        ("1.00", "yellow"),
        ("1.49", "yellow"),
        ("1.50", "green"),
        ("2.49", "green"),
        ("2.50", "over"),
    ],
    "cash_reserve": [
        ("2.99", "red"),
        ("3", "yellow"),
        ("5.99", "yellow"),
        ("6", "green"),
        ("11.99", "green"),
        ("12", "over"),
    ],
}


@pytest.mark.parametrize(
    ("indicator", "value", "status"),
    [(name, value, status) for name, cases in BOUNDARIES.items() for value, status in cases],
)
def test_a_value_on_a_boundary_takes_the_better_status(indicator, value, status):
    band: Band = getattr(Thresholds(), indicator)
    assert band.status(D(value)) == status


def outflow_of_10000_a_month(**extra) -> RunwayResult:
    return run(horizon=60, expenses=[monthly(10000)], **extra)


@pytest.mark.parametrize(
    ("opening", "value", "status"),
    [
        (59999, "5.99", "red"),  # 5 + 9,999/10,000, rounded down
        (60000, "6.00", "yellow"),
        (120000, "12.00", "green"),
        (239999, "23.99", "green"),
        (240000, "24.00", "over"),
    ],
)
def test_committed_runway_ignores_pipeline_and_adjustments(opening, value, status):
    result = outflow_of_10000_a_month(
        opening=opening,
        pipeline="full",
        flows=[inflow(date(2024, 11, 5), 10**9, pipeline_probability=D(50))],
        adjustments=[Adjustment(kind="inflow", label="gift", amount=D(10**9), start_on=date(2024, 11, 5))],
    )
    assert result.months is None
    indicator = result.indicators["committed_runway"]
    assert (indicator.value, indicator.status) == (D(value), status)


def test_committed_runway_beyond_the_horizon_is_null_and_over():
    result = outflow_of_10000_a_month(opening=10**7)
    assert result.indicators["committed_runway"].value is None
    assert result.indicators["committed_runway"].status == "over"


@pytest.mark.parametrize(
    ("committed_in_six_months", "value", "status"),
    [
        (50999, "0.84", "red"),  # 0.84998..., rounded down
        (51000, "0.85", "yellow"),
        (60000, "1.00", "green"),
        (77999, "1.29", "green"),
        (78000, "1.30", "over"),
    ],
)
def test_cost_coverage_is_committed_inflow_over_outflow_for_six_months(
    committed_in_six_months, value, status
):
    result = outflow_of_10000_a_month(
        flows=[
            inflow(date(2024, 12, 1), committed_in_six_months),
            inflow(end_of(7), 10**6),  # the seventh month is outside the window
            inflow(date(2024, 12, 1), 10**6, pipeline_probability=D(100)),  # pipeline is not committed
        ]
    )
    indicator = result.indicators["cost_coverage"]
    assert (indicator.value, indicator.status) == (D(value), status)


def test_cost_coverage_without_outflow_is_null_and_over():
    indicator = run(flows=[inflow(date(2024, 12, 1), 100)]).indicators["cost_coverage"]
    assert (indicator.value, indicator.status) == (None, "over")


@pytest.mark.parametrize(
    ("pipeline_amount", "value", "status"),
    [
        (35999, "0.99", "red"),
        (36000, "1.00", "yellow"),
        (54000, "1.50", "green"),
        (89999, "2.49", "green"),
        (90000, "2.50", "over"),
    ],
)
def test_pipeline_coverage_is_weighted_pipeline_over_the_gap_committed_inflow_leaves(
    pipeline_amount, value, status
):
    # Committed 4,000 a month against 10,000 out: a gap of 6,000 a month, 36,000 over six months.
    committed = [inflow(end_of(k), 4000) for k in range(1, 7)]
    # Weighted at 50%, plus a 50% slice through an adjustment: the pipeline counts both.
    pipeline = inflow(date(2024, 11, 5), pipeline_amount, pipeline_probability=D(50))
    gift = Adjustment(kind="inflow", label="gift", amount=D(pipeline_amount) / 2, start_on=date(2024, 11, 6))
    # The scenario's own pipeline setting does not matter: the indicator always weighs it.
    result = outflow_of_10000_a_month(pipeline="committed", flows=[*committed, pipeline], adjustments=[gift])
    indicator = result.indicators["pipeline_coverage"]
    assert (indicator.value, indicator.status) == (D(value), status)


def test_pipeline_coverage_with_no_gap_to_cover_is_null_and_over():
    committed = [inflow(end_of(k), 10000) for k in range(1, 7)]
    indicator = outflow_of_10000_a_month(flows=committed).indicators["pipeline_coverage"]
    assert (indicator.value, indicator.status) == (None, "over")


@pytest.mark.parametrize(
    ("opening", "value", "status"),
    [
        (29999, "2.99", "red"),
        (30000, "3.00", "yellow"),
        (60000, "6.00", "green"),
        (119999, "11.99", "green"),
        (120000, "12.00", "over"),
    ],
)
def test_cash_reserve_is_the_balance_over_the_mean_outflow_of_three_months(opening, value, status):
    # Income does not count: the indicator asks how long the cash lasts if income stopped today.
    result = outflow_of_10000_a_month(opening=opening, flows=[inflow(date(2024, 11, 5), 10**6)])
    indicator = result.indicators["cash_reserve"]
    assert (indicator.value, indicator.status) == (D(value), status)


def test_cash_reserve_without_outflow_is_null_and_over_unless_overdrawn():
    assert run(opening=1000).indicators["cash_reserve"].status == "over"
    overdrawn = run(opening=-1000).indicators["cash_reserve"]
    assert (overdrawn.value, overdrawn.status) == (None, "red")


def test_thresholds_come_from_a_plain_dict_and_keep_the_defaults_they_do_not_name():
    thresholds = Thresholds.from_dict(
        {"cost_coverage": {"yellow": "0.9"}, "cash_reserve": [2, 4, 8.5], "pipeline_coverage": None}
    )
    assert thresholds.cost_coverage == Band(yellow=D("0.9"), green=D("1.00"), over=D("1.30"))
    assert thresholds.cash_reserve == Band(yellow=D(2), green=D(4), over=D("8.5"))
    assert thresholds.committed_runway == Thresholds().committed_runway
    assert thresholds.pipeline_coverage == Thresholds().pipeline_coverage
    result = run(opening=80000, expenses=[monthly(10000)], thresholds=thresholds)
    assert result.indicators["cash_reserve"].status == "green"  # 8 months: over would start at 8.5


@pytest.mark.parametrize(
    "bad",
    [
        {"runway": [1, 2, 3]},
        {"cost_coverage": {"orange": 1}},
        {"cost_coverage": [3, 2, 1]},
        {"cost_coverage": [1, 2]},
    ],
)
def test_thresholds_refuse_unknown_names_and_bands_that_do_not_ascend(bad):
    with pytest.raises(ValueError):
        Thresholds.from_dict(bad)


# --- inputs and output --------------------------------------------------------------------------


def test_money_given_as_a_binary_fraction_is_refused():
    with pytest.raises(TypeError):
        Flow(on=A, amount=1.5, direction="in", source="contracts")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Flow(on=A, amount=D(1), direction="in", source="subawards"),
        lambda: Flow(on=A, amount=D(1), direction="in", source="contracts", pipeline_probability=D(101)),
        lambda: Expense(name="x", amount=D(1), recurrence="monthly", start_on=A, end_on=date(2024, 1, 1)),
        lambda: Adjustment(kind="delay", label="x", start_on=A),
        lambda: Adjustment(kind="inflow", label="x", start_on=A, recurrence="annual_salary"),
        lambda: ScenarioParams(horizon_months=0),
        lambda: ScenarioParams(pipeline="optimistic"),
    ],
)
def test_inputs_that_make_no_sense_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_as_dict_has_the_shape_of_the_runway_api():
    result = run(
        opening=1850000,
        horizon=2,
        expenses=[monthly(30000)],
        flows=[inflow(date(2024, 11, 10), 40000)],
    )
    data = result.as_dict()
    assert list(data) == [
        "as_of",
        "opening_balance",
        "months",
        "cash_out_on",
        "horizon_months",
        "forward_burn",
        "indicators",
        "periods",
    ]
    assert data["as_of"] == "2024-10-31"
    assert data["opening_balance"] == "1850000.00"
    assert data["months"] is None
    assert data["cash_out_on"] is None
    assert data["horizon_months"] == 2
    assert data["forward_burn"] == "10000.00"
    # target: the next better band's boundary. needed: cost coverage (40,000 + 2x) / 60,000 reaches
    # 0.85 at x = 5,500; pipeline coverage has no pipeline, so only closing the 30,000 gap of
    # period 2 turns it (null, "over"). One contract inflow naming no community: concentration 1.
    assert data["indicators"] == {
        "committed_runway": {"value": None, "status": "over", "target": None, "needed": None},
        "cost_coverage": {"value": "0.66", "status": "red", "target": "0.85", "needed": "5500.00"},
        "pipeline_coverage": {"value": "0.00", "status": "red", "target": "1.00", "needed": "30000.00"},
        "cash_reserve": {"value": "61.66", "status": "over", "target": None, "needed": None},
        "invoice_collection": {"value": None, "status": "green", "target": None, "needed": None},
        "customer_concentration": {"value": "1.00", "status": "red", "target": "0.50", "needed": None},
    }
    assert data["periods"][0] == {
        "start": "2024-11-01",
        "end": "2024-11-30",
        "opening": "1850000.00",
        "in": "40000.00",
        "out": "30000.00",
        "closing": "1860000.00",
        "in_by_source": {
            "contracts": "40000.00",
            "grants": "0.00",
            "adjustments": "0.00",
            "usage_fees": "0.00",
        },
        "out_by_source": {
            "payroll": "0.00",
            "expenses": "30000.00",
            "subawards": "0.00",
            "adjustments": "0.00",
            "fiscal_sponsor_fee": "0.00",
        },
        "committed_in": "40000.00",
        "weighted_in": "40000.00",
    }


def test_as_dict_writes_months_and_cash_out_on_as_strings_when_cash_runs_out():
    data = run(opening=25000, expenses=[monthly(10000)]).as_dict()
    assert (data["months"], data["cash_out_on"]) == ("2.50", "2025-01-15")
