"""Properties of the runway engine that must hold for any records, checked with hypothesis."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from funding.runway import (
    Adjustment,
    Employment,
    Expense,
    Flow,
    PayLine,
    RunwayInputs,
    RunwayResult,
    ScenarioParams,
    project,
)

# Enough examples to find the edge cases, few enough that the suite stays fast.
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)
PEOPLE = ("ada", "bob", "cy")
INFINITY = Decimal("Infinity")  # a null runway is "beyond the horizon": longer than any number

as_ofs = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Money with two places; drawn as whole cents, which generates and shrinks faster than decimals()."""
    return st.integers(min_value=low * 100, max_value=high * 100).map(lambda c: Decimal(c).scaleb(-2))


money = cents(0, 200_000)
# Mostly solvent, sometimes overdrawn, reserves often 0: examples run out at once, mid-horizon or never.
balances = st.tuples(st.integers(0, 9), cents(0, 600_000)).map(lambda t: -t[1] if t[0] == 0 else t[1])
reserves = st.just(Decimal(0)) | cents(0, 50_000)
rates = cents(0, 1)
probabilities = st.integers(min_value=0, max_value=100).map(Decimal)
offsets = st.integers(min_value=-90, max_value=800)  # days from the cash position
grant_refs = st.sampled_from(("g1", "g2"))


def on_after(as_of: date, offset: int) -> date:
    return as_of + timedelta(days=offset)


@st.composite
def flows(draw: st.DrawFn, as_of: date, pipeline_inflows_only: bool = False) -> Flow:
    direction = draw(st.sampled_from(("in", "out")))
    source = draw(st.sampled_from(("contracts", "grants"))) if direction == "in" else "subawards"
    pipeline = draw(st.booleans()) and (direction == "in" or not pipeline_inflows_only)
    return Flow(
        on=on_after(as_of, draw(offsets)),
        amount=draw(money),
        direction=direction,
        source=source,
        settled=draw(st.booleans()),
        pipeline_probability=draw(probabilities) if pipeline else None,
        grant_ref=draw(grant_refs) if source == "grants" else None,
    )


@st.composite
def spans(draw: st.DrawFn, as_of: date) -> tuple[date, date | None]:
    start = on_after(as_of, draw(offsets))
    length = draw(st.none() | st.integers(min_value=0, max_value=700))
    return start, None if length is None else start + timedelta(days=length)


@st.composite
def expenses(draw: st.DrawFn, as_of: date) -> Expense:
    start, end = draw(spans(as_of))
    recurrence = draw(st.sampled_from(("once", "monthly")))
    return Expense(name="e", amount=draw(money), recurrence=recurrence, start_on=start, end_on=end)


@st.composite
def cost_adjustments(draw: st.DrawFn, as_of: date) -> Adjustment:
    """A what-if that only ever adds cost: a hire or an outflow."""
    start, end = draw(spans(as_of))
    if draw(st.booleans()):
        return Adjustment(
            kind="hire",
            label="hire",
            amount=draw(money),
            benefits_rate=draw(rates),
            recurrence="annual_salary",
            start_on=start,
            end_on=end,
        )
    recurrence = draw(st.sampled_from(("once", "monthly")))
    return Adjustment(
        kind="outflow", label="out", amount=draw(money), recurrence=recurrence, start_on=start, end_on=end
    )


@st.composite
def adjustments(draw: st.DrawFn, as_of: date) -> Adjustment:
    kind = draw(st.sampled_from(("inflow", "delay", "cost")))
    if kind == "cost":
        return draw(cost_adjustments(as_of))
    if kind == "delay":
        months = draw(st.integers(min_value=0, max_value=6))
        return Adjustment(kind="delay", label="d", start_on=as_of, grant_ref=draw(grant_refs), months=months)
    start, end = draw(spans(as_of))
    recurrence = draw(st.sampled_from(("once", "monthly")))
    return Adjustment(
        kind="inflow", label="in", amount=draw(money), recurrence=recurrence, start_on=start, end_on=end
    )


@st.composite
def payroll(draw: st.DrawFn, as_of: date) -> tuple[list[Employment], list[PayLine]]:
    employments, pay_lines = [], []
    for person in draw(st.lists(st.sampled_from(PEOPLE), max_size=3, unique=True)):
        for _ in range(draw(st.integers(min_value=1, max_value=2))):
            start, end = draw(spans(as_of))
            employments.append(Employment(person=person, start_on=start, end_on=end))
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            pay_lines.append(
                PayLine(
                    person=person,
                    effective_on=on_after(as_of, draw(offsets)),
                    annual_salary=draw(money),
                    benefits_rate=draw(rates),
                )
            )
    return employments, pay_lines


@st.composite
def runway_inputs(draw: st.DrawFn, pipeline_inflows_only: bool = False) -> RunwayInputs:
    as_of = draw(as_ofs)
    employments, pay_lines = draw(payroll(as_of))
    return RunwayInputs(
        as_of=as_of,
        opening_balance=draw(balances),
        flows=draw(st.lists(flows(as_of, pipeline_inflows_only), max_size=8)),
        expenses=draw(st.lists(expenses(as_of), max_size=4)),
        employments=employments,
        pay_lines=pay_lines,
        adjustments=draw(st.lists(adjustments(as_of), max_size=4)),
        params=ScenarioParams(
            pipeline=draw(st.sampled_from(("committed", "weighted", "full"))),
            reserve=draw(reserves),
            horizon_months=draw(st.integers(min_value=1, max_value=24)),
        ),
    )


def length(result: RunwayResult) -> Decimal:
    return INFINITY if result.months is None else result.months


def with_params(inputs: RunwayInputs, **changes) -> RunwayInputs:
    return dataclasses.replace(inputs, params=dataclasses.replace(inputs.params, **changes))


@PROPERTY_SETTINGS
@given(runway_inputs())
def test_every_period_closes_at_its_opening_plus_in_minus_out(inputs):
    result = project(inputs)
    assert len(result.periods) == inputs.params.horizon_months
    opening = result.opening_balance
    for period in result.periods:
        assert period.opening == opening
        assert period.in_ == sum(period.in_by_source.values())
        assert period.out == sum(period.out_by_source.values())
        assert period.closing == period.opening + period.in_ - period.out
        opening = period.closing


@PROPERTY_SETTINGS
@given(runway_inputs())
def test_the_periods_tile_the_horizon_without_gaps(inputs):
    result = project(inputs)
    expected_start = inputs.as_of + timedelta(days=1)
    for k, period in enumerate(result.periods, start=1):
        assert period.start == expected_start
        assert period.end == inputs.as_of + relativedelta(months=k)
        expected_start = period.end + timedelta(days=1)


@PROPERTY_SETTINGS
@given(runway_inputs())
def test_months_is_null_or_between_zero_and_the_horizon(inputs):
    result = project(inputs)
    if result.months is None:
        assert result.cash_out_on is None
        assert all(period.closing >= inputs.params.reserve for period in result.periods)
    else:
        assert 0 <= result.months <= inputs.params.horizon_months
        assert result.months.as_tuple().exponent == -2
        horizon_end = inputs.as_of + relativedelta(months=inputs.params.horizon_months)
        assert result.cash_out_on is not None
        assert inputs.as_of <= result.cash_out_on <= horizon_end


@PROPERTY_SETTINGS
@given(st.data())
def test_adding_any_cost_never_lengthens_the_runway(data):
    inputs = data.draw(runway_inputs())
    as_of = inputs.as_of
    cost = data.draw(
        st.one_of(
            expenses(as_of),
            cost_adjustments(as_of),
            st.builds(
                Flow,
                on=offsets.map(lambda days: on_after(as_of, days)),
                amount=money,
                direction=st.just("out"),
                source=st.just("subawards"),
                settled=st.booleans(),
                pipeline_probability=st.none() | probabilities,
            ),
        )
    )
    if isinstance(cost, Expense):
        costlier = dataclasses.replace(inputs, expenses=(*inputs.expenses, cost))
    elif isinstance(cost, Adjustment):
        costlier = dataclasses.replace(inputs, adjustments=(*inputs.adjustments, cost))
    else:
        costlier = dataclasses.replace(inputs, flows=(*inputs.flows, cost))
    before, after = project(inputs), project(costlier)
    assert length(after) <= length(before)
    if before.cash_out_on is not None:
        assert after.cash_out_on is not None
        assert after.cash_out_on <= before.cash_out_on
    committed_before = before.indicators["committed_runway"].value
    committed_after = after.indicators["committed_runway"].value
    assert (INFINITY if committed_after is None else committed_after) <= (
        INFINITY if committed_before is None else committed_before
    )


@PROPERTY_SETTINGS
@given(runway_inputs(pipeline_inflows_only=True))
def test_counting_more_of_an_inflow_pipeline_never_shortens_the_runway(inputs):
    committed, weighted, full = (
        project(with_params(inputs, pipeline=mode)) for mode in ("committed", "weighted", "full")
    )
    assert length(committed) <= length(weighted) <= length(full)


@PROPERTY_SETTINGS
@given(st.data())
def test_delaying_a_grant_never_lengthens_the_runway(data):
    inputs = data.draw(runway_inputs())
    delay = Adjustment(
        kind="delay",
        label="late",
        start_on=inputs.as_of,
        grant_ref=data.draw(grant_refs),
        months=data.draw(st.integers(min_value=1, max_value=12)),
    )
    later = dataclasses.replace(inputs, adjustments=(*inputs.adjustments, delay))
    assert length(project(later)) <= length(project(inputs))


@PROPERTY_SETTINGS
@given(runway_inputs())
def test_as_dict_writes_money_as_strings_with_two_decimals(inputs):
    data = project(inputs).as_dict()
    figures = [data["opening_balance"], data["forward_burn"]]
    for period in data["periods"]:
        figures += [period["opening"], period["in"], period["out"], period["closing"]]
        figures += [*period["in_by_source"].values(), *period["out_by_source"].values()]
    figures += [item["value"] for item in data["indicators"].values() if item["value"] is not None]
    for figure in figures:
        assert isinstance(figure, str)
        assert Decimal(figure).as_tuple().exponent == -2
        assert not figure.startswith("-0.00")


def payroll_day_by_day(inputs: RunwayInputs) -> list[Decimal]:
    """DESIGN's payroll read literally: every day of every period, every person, no shortcuts."""
    totals = []
    for k in range(1, inputs.params.horizon_months + 1):
        first = inputs.as_of + relativedelta(months=k - 1) + timedelta(days=1)
        end = inputs.as_of + relativedelta(months=k)
        days_in_period = (end - first).days + 1
        total = Decimal(0)
        for day in (first + timedelta(days=n) for n in range(days_in_period)):
            for person in {line.person for line in inputs.pay_lines}:
                employed = any(
                    e.person == person and e.start_on <= day and (e.end_on is None or day <= e.end_on)
                    for e in inputs.employments
                )
                in_effect = [
                    line for line in inputs.pay_lines if line.person == person and line.effective_on <= day
                ]
                if employed and in_effect:
                    line = max(reversed(in_effect), key=lambda pay_line: pay_line.effective_on)
                    total += line.annual_salary * (1 + line.benefits_rate) / 12 / days_in_period
        totals.append(total)
    return totals


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_payroll_by_segments_equals_payroll_day_by_day(data):
    as_of = data.draw(as_ofs)
    employments, pay_lines = data.draw(payroll(as_of))
    inputs = RunwayInputs(
        as_of=as_of,
        opening_balance=Decimal(0),
        employments=employments,
        pay_lines=pay_lines,
        params=ScenarioParams(horizon_months=data.draw(st.integers(min_value=1, max_value=14))),
    )
    shown = [period.out_by_source["payroll"] for period in project(inputs).periods]
    # Both sides are exact to ~25 digits; a cent apart only where a half cent rounds either way.
    assert all(abs(a - b) <= Decimal("0.01") for a, b in zip(shown, payroll_day_by_day(inputs), strict=True))
