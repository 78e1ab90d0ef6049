"""The Monte Carlo pipeline (docs/definitions.md "Probabilistic pipeline"): hand-checkable cases,
the all-or-nothing of an item, determinism, and the invariants as hypothesis properties."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding.runway import Expense, Flow, RunwayInputs, ScenarioParams, UsageFeeInflow, project
from funding.runway.montecarlo import draw, simulate

from .test_runway_properties import runway_inputs

D = Decimal
A = date(2024, 8, 31)
MONTHLY_COST = Expense(name="hosting", amount=D("30000"), recurrence="monthly", start_on=date(2024, 1, 1))


def books(*flows: Flow, opening: str = "100000", horizon: int = 24, **extra) -> RunwayInputs:
    extra.setdefault("params", ScenarioParams(horizon_months=horizon))
    return RunwayInputs(as_of=A, opening_balance=D(opening), flows=flows, expenses=[MONTHLY_COST], **extra)


def pipeline(on: date, amount: str, probability: int, item: str, direction: str = "in") -> Flow:
    source = "grants" if direction == "in" else "subawards"
    return Flow(
        on=on,
        amount=D(amount),
        direction=direction,
        source=source,
        pipeline_probability=D(probability),
        item=item,
    )


# --- hand-checkable -------------------------------------------------------------------------------


def test_two_independent_items_of_half_give_four_outcomes_about_a_quarter_each():
    inputs = books(
        pipeline(date(2024, 9, 15), "100000", 50, "grant:a"),
        pipeline(date(2024, 9, 20), "40000", 50, "grant:b"),
    )
    drawn = draw(inputs, draws=10_000)
    # Period 1 closes at 100,000 - 30,000 plus whichever came: four distinct outcomes.
    outcomes = Counter(drawn.closing[:, 0] / 100)
    assert set(outcomes) == {70_000, 110_000, 170_000, 210_000}
    for count in outcomes.values():
        assert abs(count / 10_000 - 0.25) < 0.02  # the standard error is about 0.004


def test_the_chance_of_running_out_is_the_chance_the_grant_does_not_come():
    # 100,000 in the bank and 30,000 out a month: out in the fourth month without the grant; with
    # it (100,000 in September, 70% likely), 200,000 lasts into the seventh.
    inputs = books(pipeline(date(2024, 9, 15), "100000", 70, "grant:a"))
    result = simulate(inputs, draws=10_000)
    assert abs(result.chance_out_within[6] - D("0.30")) < D("0.02")
    assert result.chance_out_within[12] == D("1.000")
    # The runway of a draw without the grant is the committed projection's; with it, the full one's.
    committed = project(
        dataclasses.replace(inputs, params=ScenarioParams(pipeline="committed", horizon_months=24))
    )
    full = project(dataclasses.replace(inputs, params=ScenarioParams(pipeline="full", horizon_months=24)))
    assert result.runway["p10"] == committed.months == D("3.33")
    assert result.runway["p50"] == result.runway["p90"] == full.months == D("6.66")


def test_a_runway_beyond_the_horizon_is_null():
    inputs = books(pipeline(date(2024, 9, 15), "5000000", 95, "grant:big"), horizon=12)
    result = simulate(inputs, draws=2000)
    assert result.runway["p50"] is None and result.runway["p90"] is None
    assert result.runway["p10"] is None  # 95% of draws last past 12 months
    assert result.chance_out_within[6] < D("0.1")


def test_cash_already_below_the_reserve_is_out_at_once_in_every_draw():
    inputs = books(
        pipeline(date(2024, 9, 15), "100000", 50, "grant:a"),
        params=ScenarioParams(horizon_months=24, reserve=D("200000")),
    )
    result = simulate(inputs, draws=500)
    assert result.runway == {"p10": D("0.00"), "p50": D("0.00"), "p90": D("0.00")}
    assert set(result.chance_out_within.values()) == {D("1.000")}


# --- items ----------------------------------------------------------------------------------------


def test_probability_0_never_comes_and_100_always_does():
    inputs = books(
        pipeline(date(2024, 9, 15), "100000", 0, "grant:never"),
        pipeline(date(2024, 10, 15), "40000", 100, "grant:always"),
    )
    drawn = draw(inputs, draws=2000)
    never, always = drawn.keys.index("grant:never"), drawn.keys.index("grant:always")
    assert not drawn.drawn[:, never].any()
    assert drawn.drawn[:, always].all()
    # Every draw is the same: the committed books plus the sure item.
    assert (drawn.closing == drawn.closing[0]).all()
    assert drawn.closing[0, 1] / 100 == 100_000 - 60_000 + 40_000


def test_the_rows_of_an_item_come_or_go_together():
    # A grant paid in two halves, and its subaward paid out of the second: never half of it.
    inputs = books(
        pipeline(date(2024, 9, 15), "60000", 50, "grant:two"),
        pipeline(date(2024, 11, 15), "60000", 50, "grant:two"),
        pipeline(date(2024, 11, 20), "20000", 50, "grant:two", direction="out"),
        opening="500000",
    )
    drawn = draw(inputs, draws=4000)
    assert drawn.keys == ("grant:two",)
    third = set(drawn.closing[:, 2] / 100)
    assert third == {500_000 - 90_000, 500_000 - 90_000 + 100_000}


def test_a_usage_fee_comes_with_its_contracts_payments():
    contract = Flow(
        on=date(2024, 9, 30),
        amount=D("12000"),
        direction="in",
        source="contracts",
        pipeline_probability=D(40),
        item="contract:7",
    )
    fee = UsageFeeInflow(
        amount=D("1000"), start_on=date(2024, 9, 1), end_on=date(2025, 8, 31), pipeline_probability=D(40),
        item="contract:7",
    )  # fmt: skip
    drawn = draw(books(contract, usage_fees=[fee], opening="900000"), draws=1000)
    assert drawn.keys == ("contract:7",)
    assert set(drawn.closing[:, 0] / 100) == {870_000, 870_000 + 13_000}


def test_rows_of_one_item_with_two_probabilities_are_refused():
    inputs = books(
        pipeline(date(2024, 9, 15), "60000", 50, "grant:odd"),
        pipeline(date(2024, 11, 15), "60000", 60, "grant:odd"),
    )
    with pytest.raises(ValueError, match="grant:odd"):
        draw(inputs, draws=10)


# --- determinism ----------------------------------------------------------------------------------


def test_the_same_inputs_and_seed_give_the_same_figures():
    inputs = books(
        *(pipeline(date(2024, 9 + i % 3, 10), f"{10000 + 1000 * i}", 10 * i, f"g{i}") for i in range(9))
    )
    assert simulate(inputs, draws=700, seed=7) == simulate(inputs, draws=700, seed=7)
    assert simulate(inputs, draws=700, seed=7).as_dict() != simulate(inputs, draws=700, seed=8).as_dict()


def test_the_figures_of_seed_42_are_pinned():
    """The generator (numpy's PCG64) and the order of the uniforms are part of the contract: these
    figures must come out on every machine."""
    inputs = books(
        *(pipeline(date(2024, 9 + i % 3, 10), f"{10000 + 1000 * i}", 10 * i, f"g{i}") for i in range(9))
    )
    result = simulate(inputs, draws=1000, seed=42).as_dict()
    assert result["chance_out_within"] == {"6": "0.900", "12": "1.000", "18": "1.000", "24": "1.000"}
    assert result["runway"] == {"p10": "4.40", "p50": "5.33", "p90": "5.96"}


@pytest.mark.parametrize("draws, seed", [(0, 1), (-5, 1), (True, 1), (10, -1), (10, 1.5)])
def test_bad_draws_or_seed_are_refused_by_name(draws, seed):
    with pytest.raises(ValueError, match="draws" if draws in (0, -5, True) else "seed"):
        draw(books(), draws=draws, seed=seed)


# --- the invariants, for any books (hypothesis) ---------------------------------------------------

MC_SETTINGS = settings(max_examples=60, deadline=None)
fee_rates = st.integers(min_value=0, max_value=50).map(lambda percent: Decimal(percent) / 100)


@MC_SETTINGS
@given(runway_inputs(pipeline_inflows_only=True), fee_rates)
def test_when_every_item_is_a_net_inflow_the_fan_lies_between_committed_and_full(inputs, fee):
    inputs = dataclasses.replace(inputs, fiscal_sponsor_fee=fee)
    result = simulate(inputs, draws=300)
    for period in result.periods:
        assert period.committed <= period.p10 <= period.p50 <= period.p90 <= period.full


@MC_SETTINGS
@given(runway_inputs(), fee_rates)
def test_the_mean_is_within_four_standard_errors_of_weighted(inputs, fee):
    inputs = dataclasses.replace(inputs, fiscal_sponsor_fee=fee)
    drawn = draw(inputs, draws=400)
    mean = drawn.closing.mean(axis=0)
    error = drawn.closing.std(axis=0, ddof=1) / np.sqrt(400)
    # The fee of each draw and period is rounded to the cent, and the weighted line's periods too:
    # a cent a period each way.
    slack = 2 * np.arange(1, drawn.closing.shape[1] + 1)
    assert (np.abs(mean - drawn.weighted) <= 4 * error + slack).all()


@MC_SETTINGS
@given(runway_inputs(), fee_rates)
def test_the_lines_are_the_engines_committed_weighted_and_full_projections(inputs, fee):
    inputs = dataclasses.replace(inputs, fiscal_sponsor_fee=fee)
    result = simulate(inputs, draws=1)
    for mode in ("committed", "weighted", "full"):
        projected = project(
            dataclasses.replace(inputs, params=dataclasses.replace(inputs.params, pipeline=mode))
        )
        for k, (fan, period) in enumerate(zip(result.periods, projected.periods, strict=True)):
            # The engine rounds each source of a period, the draws each item: cents apart at most.
            assert abs(getattr(fan, mode) - period.closing) <= D("0.05") * (k + 1), (mode, k)
