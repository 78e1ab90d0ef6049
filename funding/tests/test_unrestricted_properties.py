"""Properties of the unrestricted runway (docs/definitions.md "Unrestricted runway") that must hold
for any records, checked with hypothesis: it is never longer than the runway, and it is the runway
when nothing is restricted."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from funding.runway.engine import RunwayResult, project
from funding.runway.inputs import (
    Allocation,
    Expense,
    Flow,
    RestrictedGrant,
    RunwayInputs,
    ScenarioParams,
)

from .test_runway_properties import (
    INFINITY,
    PEOPLE,
    PROPERTY_SETTINGS,
    adjustments,
    as_ofs,
    balances,
    cents,
    money,
    offsets,
    on_after,
    payroll,
    reserves,
    spans,
)

GRANTS = ("g1", "g2", "g3")
grant_keys = st.sampled_from(GRANTS)
shares = st.integers(min_value=1, max_value=1000).map(lambda n: Decimal(n).scaleb(-3))


@st.composite
def grant_flows(draw: st.DrawFn, as_of: date) -> Flow:
    """A disbursement (in) or subaward payment (out) of one of the grants, committed or pipeline."""
    direction = draw(st.sampled_from(("in", "out")))
    return Flow(
        on=on_after(as_of, draw(offsets)),
        amount=draw(money),
        direction=direction,
        source="grants" if direction == "in" else "subawards",
        settled=draw(st.booleans()),
        pipeline_probability=draw(st.none() | st.integers(0, 100).map(Decimal)),
        grant_ref=draw(grant_keys),
    )


@st.composite
def grant_expenses(draw: st.DrawFn, as_of: date) -> Expense:
    start, end = draw(spans(as_of))
    return Expense(
        name="e",
        amount=draw(money),
        recurrence=draw(st.sampled_from(("once", "monthly"))),
        start_on=start,
        end_on=end,
        grant=draw(st.none() | grant_keys),
    )


@st.composite
def allocations(draw: st.DrawFn, as_of: date) -> Allocation:
    start, end = draw(spans(as_of))
    return Allocation(
        person=draw(st.sampled_from(PEOPLE)),
        grant=draw(grant_keys),
        share=draw(shares),
        start_on=start,
        end_on=end,
    )


@st.composite
def restricted_inputs(draw: st.DrawFn) -> RunwayInputs:
    """A scenario whose grants may be restricted, holding money or not, with charges of every kind."""
    as_of = draw(as_ofs)
    employments, pay_lines = draw(payroll(as_of))
    restricted = [
        RestrictedGrant(key=key, net_assets=draw(st.just(Decimal(0)) | cents(0, 300_000)))
        for key in draw(st.lists(grant_keys, max_size=3, unique=True))
    ]
    return RunwayInputs(
        as_of=as_of,
        opening_balance=draw(balances),
        flows=draw(st.lists(grant_flows(as_of), max_size=8)),
        expenses=draw(st.lists(grant_expenses(as_of), max_size=5)),
        employments=employments,
        pay_lines=pay_lines,
        adjustments=draw(st.lists(adjustments(as_of), max_size=3)),
        allocations=draw(st.lists(allocations(as_of), max_size=4)),
        restricted=restricted,
        params=ScenarioParams(
            pipeline=draw(st.sampled_from(("committed", "weighted", "full"))),
            reserve=draw(reserves),
            horizon_months=draw(st.integers(min_value=1, max_value=36)),
        ),
    )


def months_of(months: Decimal | None) -> Decimal:
    return INFINITY if months is None else months


def day_of(day: date | None) -> date:
    return date.max if day is None else day


@PROPERTY_SETTINGS
@given(restricted_inputs())
def test_the_unrestricted_runway_is_never_longer_than_the_runway(inputs: RunwayInputs):
    result: RunwayResult = project(inputs)
    unrestricted = result.unrestricted

    assert months_of(unrestricted.months) <= months_of(result.months)
    assert day_of(unrestricted.cash_out_on) <= day_of(result.cash_out_on)
    assert unrestricted.restricted_net_assets == sum((g.net_assets for g in inputs.restricted), Decimal(0))


@PROPERTY_SETTINGS
@given(restricted_inputs())
def test_with_nothing_restricted_the_unrestricted_runway_is_the_runway(inputs: RunwayInputs):
    result = project(dataclasses.replace(inputs, restricted=()))

    assert (result.unrestricted.months, result.unrestricted.cash_out_on) == (
        result.months,
        result.cash_out_on,
    )
    assert result.unrestricted.restricted_net_assets == 0 and result.unrestricted.grants == ()


@PROPERTY_SETTINGS
@given(restricted_inputs())
def test_a_restricted_grant_with_no_money_changes_nothing(inputs: RunwayInputs):
    # No net assets and no receipts: its pool is always empty, every charge falls on unrestricted
    # cash, exactly as if it were not restricted.
    penniless = tuple(RestrictedGrant(key=grant.key) for grant in inputs.restricted)
    keys = {grant.key for grant in penniless}
    flows = tuple(f for f in inputs.flows if not (f.source == "grants" and f.grant_ref in keys))
    result = project(dataclasses.replace(inputs, restricted=penniless, flows=flows))

    assert (result.unrestricted.months, result.unrestricted.cash_out_on) == (
        result.months,
        result.cash_out_on,
    )
