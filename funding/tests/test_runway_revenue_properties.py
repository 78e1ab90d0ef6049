"""Properties of the fiscal sponsor's fee and of `needed`, for any records (hypothesis).

- Adding the fee never lengthens the runway, nor the committed runway.
- `needed` is exact: re-running the engine with that much more committed revenue every month (or
  that much more cash, for the cash reserve) turns the indicator to its target, and a cent less
  does not.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from funding.runway import Flow, Indicator, RunwayInputs, RunwayResult, UsageFeeInflow, project

from .test_runway_properties import (
    INFINITY,
    PROPERTY_SETTINGS,
    length,
    money,
    offsets,
    on_after,
    probabilities,
    runway_inputs,
)
from .test_runway_revenue_engine import BOOKS

CENT = Decimal("0.01")
fee_rates = st.integers(min_value=0, max_value=95).map(lambda percent: Decimal(percent) / 100)
# The indicators whose `needed` is more committed revenue a month.
REVENUE_NEEDED = ("committed_runway", "cost_coverage", "pipeline_coverage")


@st.composite
def usage_fees(draw: st.DrawFn, as_of: date) -> UsageFeeInflow:
    start = on_after(as_of, draw(offsets))
    return UsageFeeInflow(
        amount=draw(money),
        start_on=start,
        end_on=draw(st.none() | st.integers(0, 700).map(lambda days: on_after(start, days))),
        pipeline_probability=draw(st.none() | probabilities),
        fee_exempt=draw(st.booleans()),
        customer=draw(st.sampled_from(("a", "b", "c", "d"))),
    )


@st.composite
def revenue_inputs(draw: st.DrawFn) -> RunwayInputs:
    """The engine's general inputs, with some inflows exempt, some customers named, usage fees."""
    inputs = draw(runway_inputs())
    flows = [
        dataclasses.replace(
            flow, fee_exempt=draw(st.booleans()), customer=draw(st.sampled_from(("a", "b", "c", "d")))
        )
        if flow.direction == "in"
        else flow
        for flow in inputs.flows
    ]
    usage = draw(st.lists(usage_fees(inputs.as_of), max_size=3))
    return dataclasses.replace(inputs, flows=flows, usage_fees=usage)


def committed_runway(result: RunwayResult) -> Decimal:
    value = result.indicators["committed_runway"].value
    return INFINITY if value is None else value


@PROPERTY_SETTINGS
@given(revenue_inputs(), fee_rates)
def test_adding_the_fee_never_lengthens_the_runway(inputs, fee):
    before = project(inputs)
    after = project(dataclasses.replace(inputs, fiscal_sponsor_fee=fee))
    assert length(after) <= length(before)
    assert committed_runway(after) <= committed_runway(before)
    for old, new in zip(before.periods, after.periods, strict=True):
        assert new.out_by_source["fiscal_sponsor_fee"] >= 0
        assert new.closing <= old.closing
        assert new.in_ == old.in_  # the fee is an outflow: the inflow does not move


@PROPERTY_SETTINGS
@given(revenue_inputs(), fee_rates)
def test_the_fee_is_never_more_than_its_share_of_the_periods_inflow(inputs, fee):
    result = project(dataclasses.replace(inputs, fiscal_sponsor_fee=fee))
    for period in result.periods:
        # Within half a cent of rounding, never above the fee on everything that came in.
        assert period.out_by_source["fiscal_sponsor_fee"] <= fee * max(period.in_, Decimal(0)) + CENT


def reaches(indicator: Indicator, target: Decimal) -> bool:
    """Whether the indicator is at its target band or better (null here means "over")."""
    return indicator.value is None or indicator.value >= target


def with_more_committed_revenue(inputs: RunwayInputs, amount: Decimal) -> RunwayInputs:
    """A signed contract paying `amount` on the last day of every period, subject to the fee."""
    extra = [
        Flow(on=inputs.as_of + relativedelta(months=k), amount=amount, direction="in", source="contracts")
        for k in range(1, inputs.params.horizon_months + 1)
    ]
    return dataclasses.replace(inputs, flows=(*inputs.flows, *extra))


def assert_needed_is_exact(inputs: RunwayInputs) -> int:
    """Check every indicator's `needed` by re-running the engine; return how many were checked."""
    result = project(inputs)
    checked = 0
    for name in REVENUE_NEEDED:
        indicator = result.indicators[name]
        if indicator.needed is None:
            continue
        assert indicator.target is not None and not reaches(indicator, indicator.target)
        assert indicator.needed > 0
        more = project(with_more_committed_revenue(inputs, indicator.needed)).indicators[name]
        assert reaches(more, indicator.target), (name, indicator, more)
        less = project(with_more_committed_revenue(inputs, indicator.needed - CENT)).indicators[name]
        assert not reaches(less, indicator.target), (name, indicator, less)
        checked += 1
    reserve = result.indicators["cash_reserve"]
    if reserve.needed is not None and reserve.value is not None:
        richer = dataclasses.replace(inputs, opening_balance=result.opening_balance + reserve.needed)
        assert reaches(project(richer).indicators["cash_reserve"], reserve.target)
        poorer = dataclasses.replace(inputs, opening_balance=result.opening_balance + reserve.needed - CENT)
        assert not reaches(project(poorer).indicators["cash_reserve"], reserve.target)
        checked += 1
    return checked


@PROPERTY_SETTINGS
@given(revenue_inputs(), fee_rates)
def test_needed_more_committed_revenue_reaches_the_target_and_a_cent_less_does_not(inputs, fee):
    assert_needed_is_exact(dataclasses.replace(inputs, fiscal_sponsor_fee=fee))


@pytest.mark.parametrize("fee", ["0", "0.15", "0.5"])
def test_needed_is_exact_on_the_hand_computed_case(fee):
    inputs = RunwayInputs(
        as_of=date(2024, 10, 31),
        opening_balance=Decimal(BOOKS["opening"]),
        flows=BOOKS["flows"],
        expenses=BOOKS["expenses"],
        adjustments=BOOKS["adjustments"],
        fiscal_sponsor_fee=Decimal(fee),
    )
    # Committed runway (yellow), cost and pipeline coverage (red) and the cash reserve (yellow).
    assert assert_needed_is_exact(inputs) == 4
