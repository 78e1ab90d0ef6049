"""The runway projection engine: plain data in, plain data out (docs/definitions.md "Runway").

Nothing here imports Django: a loader turns querysets into `RunwayInputs` (already converted to the
reporting currency; the input dataclasses live in `inputs.py`), `project()` turns them into a
`RunwayResult`, and `RunwayResult.as_dict()` is the JSON of docs/api.md "Runway API" without
`"scenario"`, `"monte_carlo"` and `"unrestricted"` (the snapshot adds them; the last is
`RunwayResult.unrestricted`, computed here from the same rows by `restricted.py`). Keeping it pure
is what lets the property tests and the benchmark run it alone. The calendar and rounding live in
`grid.py`, the indicators in `indicators.py`.

Choices the design leaves open, made here once:

- Money is `Decimal` end to end, computed at full precision and quantized to cents (ROUND_HALF_UP)
  per source and period; a period's `in`/`out` are the sums of its quantized sources, and the
  opening/closing chain runs on those quantized figures, so `closing = opening + in - out` holds
  exactly on every figure the API shows. The fiscal sponsor's fee is one of those sources: the fee
  rate times the period's subject inflow at full precision, then rounded to the cent.
- `months` and the indicator values are rounded down (ROUND_FLOOR) to two places: a runway or a
  coverage is never overstated. `customer_concentration`, where lower is better, is rounded up,
  and so is every `needed`. Statuses are read from the rounded value, so what leadership sees and
  its colour always agree with the threshold table.
- `cash_out_on` is `A + (k-1) months + floor(fraction * days in period k)` days: the day on which
  the linearly falling balance crosses the reserve, reading dates as midnights.
- A `once` expense, inflow or outflow dated on or before `A` is ignored: if it happened, it is
  already in `B` (the same rule as a paid row). Overdue *open* `Flow`s still land in period 1.
- A hire's `amount` is always an annual salary, whatever its recurrence says.
- Several delays of one grant add up. A delay moves only open "grants" inflows of that grant
  (received ones are in `B`; subaward payments keep their own schedule), and ignores `start_on`.
- The fiscal sponsor's fee follows the inflows as the scenario counts them: committed money in
  full, pipeline as the scenario's mode counts it (none, weighted, full), delayed disbursements
  where the delay puts them, and the adjustments' inflows (a what-if names no contract, so none is
  exempt). `cloud` contracts' payments and usage fees are exempt. A period whose subject inflow
  nets below zero pays no fee.
- A usage-fee inflow counts like its contract: committed (`cin`) when signed, pipeline otherwise;
  with the contract payments in `customer_concentration`.
- Zero denominators: `cost_coverage` is null/"over" when nothing goes out in periods 1-6;
  `pipeline_coverage` is null/"over" when committed inflow covers every outflow (DESIGN);
  `cash_reserve` is null when nothing goes out in periods 1-3: "over" (cash lasts indefinitely),
  unless `B` is already negative ("red"). A null runway is "beyond the horizon": status "over".
  `invoice_collection` with nothing due and `customer_concentration` without committed contract
  inflow are null and "green". With a horizon shorter than 3 (or 6, or 12) periods, the averages
  and sums use the periods there are.
- Overlapping employments of one person are merged (nobody is paid twice for a day); of two pay
  lines with one `effective_on`, the later given wins.
- The unrestricted runway reads each restricted grant's receipts and charges as the scenario counts
  them: pipeline weighted by its mode, disbursements where a delay puts them. What is charged to a
  grant is its subaward payments, the expenses naming it and its allocations' share of the payroll
  (the person's payroll on the allocation's days, as above); hires, outflow what-ifs and the fiscal
  sponsor's fee are charged to no grant. Receipts and charges are rounded to the cent per grant and
  period before they are netted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any

from dateutil.relativedelta import relativedelta

from .grid import CONTEXT, Grid, add_payroll, cents, earlier_end, runway
from .indicators import (
    BURN_PERIODS,
    CONCENTRATION_PERIODS,
    COVERAGE_PERIODS,
    Indicator,
    Series,
    fee_on,
    indicators,
)

# The inputs live in `inputs.py`; they are re-exported here so `from funding.runway.engine import
# Flow` keeps working.
from .inputs import (
    CASH_RESERVE_BAND,
    COMMITTED_RUNWAY_BAND,
    COST_COVERAGE_BAND,
    CUSTOMER_CONCENTRATION_BAND,
    FLOW_SOURCES,
    HEALTH_INDICATORS,
    HUNDRED,
    INDICATORS,
    INVOICE_COLLECTION_BAND,
    PIPELINE_COVERAGE_BAND,
    REVENUE_INDICATORS,
    TWELVE,
    ZERO,
    Adjustment,
    AdjustmentKind,
    AdjustmentRecurrence,
    Allocation,
    Band,
    Direction,
    Employment,
    Expense,
    Flow,
    Invoice,
    PayLine,
    PipelineMode,
    Recurrence,
    RestrictedGrant,
    RunwayInputs,
    ScenarioParams,
    Status,
    Thresholds,
    UsageFeeInflow,
)
from .restricted import UnrestrictedRunway, unrestricted_runway

__all__ = [
    "BURN_PERIODS",
    "CASH_RESERVE_BAND",
    "COMMITTED_RUNWAY_BAND",
    "CONCENTRATION_PERIODS",
    "COST_COVERAGE_BAND",
    "COVERAGE_PERIODS",
    "CUSTOMER_CONCENTRATION_BAND",
    "FLOW_SOURCES",
    "HEALTH_INDICATORS",
    "HUNDRED",
    "INDICATORS",
    "INVOICE_COLLECTION_BAND",
    "IN_SOURCES",
    "OUT_SOURCES",
    "PIPELINE_COVERAGE_BAND",
    "REVENUE_INDICATORS",
    "TWELVE",
    "ZERO",
    "Adjustment",
    "AdjustmentKind",
    "AdjustmentRecurrence",
    "Allocation",
    "Band",
    "Direction",
    "Employment",
    "Expense",
    "Flow",
    "Indicator",
    "Invoice",
    "PayLine",
    "Period",
    "PipelineMode",
    "Recurrence",
    "RestrictedGrant",
    "RunwayInputs",
    "RunwayResult",
    "ScenarioParams",
    "Status",
    "Thresholds",
    "UnrestrictedRunway",
    "UsageFeeInflow",
    "project",
]

# The keys of `in_by_source` / `out_by_source`, in the order the API shows them (keys added later
# come last, so a reader of older snapshots finds the first ones where they were).
IN_SOURCES: tuple[str, ...] = ("contracts", "grants", "adjustments", "usage_fees")
OUT_SOURCES: tuple[str, ...] = ("payroll", "expenses", "subawards", "adjustments", "fiscal_sponsor_fee")


# --- outputs ------------------------------------------------------------------------------------


def _money_str(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """Period k: the days after `A + (k-1) months` up to `A + k months`; `start` is its first day.

    `committed_in` and `weighted_in` are the indicators' `cin_k` and `ein_k`; `out` is their `out_k`.
    """

    start: date
    end: date
    opening: Decimal
    in_: Decimal
    out: Decimal
    closing: Decimal
    in_by_source: dict[str, Decimal]
    out_by_source: dict[str, Decimal]
    committed_in: Decimal = ZERO
    weighted_in: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "opening": _money_str(self.opening),
            "in": _money_str(self.in_),
            "out": _money_str(self.out),
            "closing": _money_str(self.closing),
            "in_by_source": {key: _money_str(self.in_by_source[key]) for key in IN_SOURCES},
            "out_by_source": {key: _money_str(self.out_by_source[key]) for key in OUT_SOURCES},
            "committed_in": _money_str(self.committed_in),
            "weighted_in": _money_str(self.weighted_in),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunwayResult:
    as_of: date
    opening_balance: Decimal
    months: Decimal | None
    cash_out_on: date | None
    horizon_months: int
    forward_burn: Decimal
    indicators: dict[str, Indicator]
    periods: tuple[Period, ...]
    # The runway of unrestricted money; None only for a result built by hand without it.
    unrestricted: UnrestrictedRunway | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON of docs/api.md "Runway API", without "scenario" (the caller knows which)."""
        return {
            "as_of": self.as_of.isoformat(),
            "opening_balance": _money_str(self.opening_balance),
            "months": None if self.months is None else _money_str(self.months),
            "cash_out_on": None if self.cash_out_on is None else self.cash_out_on.isoformat(),
            "horizon_months": self.horizon_months,
            "forward_burn": _money_str(self.forward_burn),
            "indicators": {name: self.indicators[name].as_dict() for name in INDICATORS},
            "periods": [period.as_dict() for period in self.periods],
        }


# --- the projection -----------------------------------------------------------------------------


def project(inputs: RunwayInputs) -> RunwayResult:
    """Project one scenario's cash month by month and read its runway and indicators."""
    with localcontext(CONTEXT):
        return _project(inputs)


def _weigh(amount: Decimal, probability: Decimal | None, pipeline: PipelineMode) -> tuple[Decimal, Decimal]:
    """(as the scenario counts it, as `weighted` counts it): committed money counts in full."""
    if probability is None:
        return amount, amount
    weighted = amount * probability / HUNDRED
    if pipeline == "weighted":
        return weighted, weighted
    return (amount if pipeline == "full" else ZERO), weighted


@dataclass(slots=True)
class PipelineItem:
    """One pipeline item's rows by 0-based period (sparse): what it brings in net of what it pays
    out (`net`), and the part of its inflow the fiscal sponsor's fee is taken on (`fee_base`)."""

    probability: Decimal
    net: dict[int, Decimal]
    fee_base: dict[int, Decimal]


class _Items:
    """Collects the pipeline rows by item, for the Monte Carlo draws (`montecarlo.py`)."""

    def __init__(self) -> None:
        self.items: dict[str, PipelineItem] = {}

    def add(self, key: str, probability: Decimal, k: int, amount: Decimal, *, fee_base: bool) -> None:
        item = self.items.get(key)
        if item is None:
            item = self.items[key] = PipelineItem(probability=probability, net={}, fee_base={})
        elif item.probability != probability:
            raise ValueError(
                f"The rows of pipeline item {key!r} have different probabilities "
                f"({item.probability} and {probability}): an item comes or goes as one."
            )
        item.net[k] = item.net.get(k, ZERO) + amount
        if fee_base:
            item.fee_base[k] = item.fee_base.get(k, ZERO) + amount


def _item_key(item: str | None, row: int) -> str:
    """A pipeline row's item: the one it names, else itself alone."""
    return item if item is not None else f"row:{row}"


class _Inflows:
    """The inflow side of a projection, by 0-based period: by source as the scenario counts it,
    `cin_k`, `ein_k`, the fee's base, and the committed contract inflow of each customer; with
    `items`, the pipeline rows by item too."""

    def __init__(self, grid: Grid, items: _Items | None = None) -> None:
        self.by_source: dict[str, list[Decimal]] = {source: grid.zeros() for source in IN_SOURCES}
        self.committed = grid.zeros()  # cin_k: committed inflow, delays applied, no pipeline, no what-ifs
        self.weighted = grid.zeros()  # ein_k: inflow under weighted pipeline, with the what-ifs
        self.fee_base = grid.zeros()  # what the fiscal sponsor's fee is taken on, as the scenario counts it
        self.customers: dict[str | None, Decimal] = defaultdict(Decimal)  # committed, periods 1-12
        self.near = min(CONCENTRATION_PERIODS, grid.size)
        self.items = items

    def add(
        self,
        source: str,
        k: int,
        amount: Decimal,
        probability: Decimal | None,
        pipeline: PipelineMode,
        *,
        fee_exempt: bool,
        customer: str | None,
        item: str | None = None,
    ) -> None:
        scenario_amount, weighted_amount = _weigh(amount, probability, pipeline)
        self.by_source[source][k] += scenario_amount
        self.weighted[k] += weighted_amount
        if not fee_exempt:
            self.fee_base[k] += scenario_amount
        if probability is None:
            self.committed[k] += amount
            if source != "grants" and k < self.near:
                self.customers[customer] += amount
        elif self.items is not None and item is not None:
            self.items.add(item, probability, k, amount, fee_base=not fee_exempt)


class _Restricted:
    """Each restricted grant's receipts and charges by 0-based period, as the scenario counts them
    (before the rounding), by grant key."""

    def __init__(self, grid: Grid, keys: Iterable[str]) -> None:
        self.receipts: dict[str, list[Decimal]] = {key: grid.zeros() for key in keys}
        self.charges: dict[str, list[Decimal]] = {key: grid.zeros() for key in self.receipts}


@dataclass(slots=True)
class _Accumulated:
    """A scenario's rows by 0-based period, before the fee and the rounding."""

    grid: Grid
    inflows: _Inflows
    out_by: dict[str, list[Decimal]]
    restricted: _Restricted | None = None


def _project(inputs: RunwayInputs) -> RunwayResult:
    params = inputs.params
    flows = _accumulate(inputs, params.pipeline, restricted=True)
    grid, inflows, out_by = flows.grid, flows.inflows, flows.out_by

    rate = inputs.fiscal_sponsor_fee
    fee = [fee_on(rate, base) for base in inflows.fee_base] if rate else grid.zeros()

    # Quantize per source first, then sum and chain: every shown figure adds up exactly.
    in_cents = {source: [cents(v) for v in values] for source, values in inflows.by_source.items()}
    out_cents = {source: [cents(v) for v in values] for source, values in out_by.items()}
    out_cents["fiscal_sponsor_fee"] = fee  # already to the cent
    ins = [sum((in_cents[s][k] for s in IN_SOURCES), ZERO) for k in range(grid.size)]
    outs = [sum((out_cents[s][k] for s in OUT_SOURCES), ZERO) for k in range(grid.size)]
    cin = [cents(v) for v in inflows.committed]
    ein = [cents(v) for v in inflows.weighted]

    opening_balance = cents(inputs.opening_balance)
    periods: list[Period] = []
    balance = opening_balance
    for k in range(grid.size):
        closing = balance + ins[k] - outs[k]
        periods.append(
            Period(
                start=grid.bounds[k] + timedelta(days=1),
                end=grid.bounds[k + 1],
                opening=balance,
                in_=ins[k],
                out=outs[k],
                closing=closing,
                in_by_source={s: in_cents[s][k] for s in IN_SOURCES},
                out_by_source={s: out_cents[s][k] for s in OUT_SOURCES},
                committed_in=cin[k],
                weighted_in=ein[k],
            )
        )
        balance = closing

    reserve = params.reserve
    months, cash_out_on = runway(grid, opening_balance, ins, outs, reserve)
    held = flows.restricted or _Restricted(grid, ())
    unrestricted = unrestricted_runway(
        grid=grid,
        opening=opening_balance,
        ins=ins,
        outs=outs,
        reserve=reserve,
        grants=[RestrictedGrant(key=g.key, net_assets=cents(g.net_assets)) for g in inputs.restricted],
        receipts={key: [cents(v) for v in values] for key, values in held.receipts.items()},
        charges={key: [cents(v) for v in values] for key, values in held.charges.items()},
    )
    burn_n = min(BURN_PERIODS, grid.size)
    forward_burn = cents(sum((outs[k] - ins[k] for k in range(burn_n)), ZERO) / burn_n)
    series = Series(
        grid=grid,
        as_of=inputs.as_of,
        opening=opening_balance,
        reserve=reserve,
        cin=cin,
        ein=ein,
        outs=outs,
        fee_base=inflows.fee_base,
        fee=fee,
        rate=rate,
        customers=inflows.customers,
        invoices=inputs.invoices,
    )

    return RunwayResult(
        as_of=inputs.as_of,
        opening_balance=opening_balance,
        months=months,
        cash_out_on=cash_out_on,
        horizon_months=grid.size,
        forward_burn=forward_burn,
        indicators=indicators(series, inputs.thresholds),
        periods=tuple(periods),
        unrestricted=unrestricted,
    )


def _accumulate(
    inputs: RunwayInputs, pipeline: PipelineMode, items: _Items | None = None, *, restricted: bool = False
) -> _Accumulated:
    """Every row of the scenario in its period, the pipeline counted as `pipeline` says; with
    `items`, each pipeline row also collected under its item; with `restricted`, each restricted
    grant's receipts and charges collected under its key too."""
    params = inputs.params
    grid = Grid(inputs.as_of, params.horizon_months)
    inflows = _Inflows(grid, items)
    out_by: dict[str, list[Decimal]] = {source: grid.zeros() for source in OUT_SOURCES}
    held = _Restricted(grid, (grant.key for grant in inputs.restricted)) if restricted else None
    receipts = held.receipts if held is not None else {}
    charges = held.charges if held is not None else {}

    delays: dict[str, int] = defaultdict(int)
    for adjustment in inputs.adjustments:
        if adjustment.kind == "delay":
            delays[adjustment.grant_ref or ""] += adjustment.months or 0

    period_of: dict[date, int | None] = {}  # many rows share a date: bisect each date once
    for row, flow in enumerate(inputs.flows):
        if flow.settled and flow.on <= inputs.as_of:
            continue  # paid or received: already in B
        on = flow.on
        if not flow.settled and flow.source == "grants" and flow.grant_ref in delays:
            on += relativedelta(months=delays[flow.grant_ref])
        if on in period_of:
            k = period_of[on]
        else:
            k = period_of[on] = grid.index_of(on)
        if k is None:
            continue
        if flow.grant_ref in receipts:
            counted = _weigh(flow.amount, flow.pipeline_probability, pipeline)[0]
            if flow.direction == "in" and flow.source == "grants":
                receipts[flow.grant_ref][k] += counted
            elif flow.direction == "out" and flow.source == "subawards":
                charges[flow.grant_ref][k] += counted
        if flow.direction == "in":
            inflows.add(
                flow.source,
                k,
                flow.amount,
                flow.pipeline_probability,
                pipeline,
                fee_exempt=flow.fee_exempt,
                customer=flow.customer,
                item=_item_key(flow.item, row) if items is not None else None,
            )
        else:
            out_by[flow.source][k] += _weigh(flow.amount, flow.pipeline_probability, pipeline)[0]
            if items is not None and flow.pipeline_probability is not None:
                key = _item_key(flow.item, row)
                items.add(key, flow.pipeline_probability, k, -flow.amount, fee_base=False)

    _add_usage_fees(grid, inflows, inputs, pipeline)

    for expense in inputs.expenses:
        targets = [out_by["expenses"]]
        if expense.grant in charges:
            targets.append(charges[expense.grant])
        for into in targets:
            if expense.recurrence == "once":
                grid.once(into, expense.start_on, expense.amount)
            else:
                end = expense.end_on.toordinal() if expense.end_on else None
                grid.spread(into, expense.amount, expense.start_on.toordinal(), end)

    spans: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for employment in inputs.employments:
        end = employment.end_on.toordinal() if employment.end_on else None
        spans[employment.person].append((employment.start_on.toordinal(), end))
    lines: dict[str, list[PayLine]] = defaultdict(list)
    for line in inputs.pay_lines:
        lines[line.person].append(line)
    # In one order whatever order the rows came in: a prorated month is a repeating decimal, and
    # a total on a half cent must round the same way for the loader and for any other caller.
    for person in sorted(lines):
        add_payroll(grid, out_by["payroll"], spans.get(person, ()), lines[person])
    if charges:
        _add_allocations(grid, charges, inputs.allocations, spans, lines)

    adjusted_in = grid.zeros()
    for adjustment in inputs.adjustments:
        start = adjustment.start_on
        end = adjustment.end_on.toordinal() if adjustment.end_on else None
        if adjustment.kind == "hire":
            hire = PayLine(
                person=adjustment.label,
                effective_on=start,
                annual_salary=adjustment.amount,
                benefits_rate=adjustment.benefits_rate,
            )
            add_payroll(grid, out_by["adjustments"], [(start.toordinal(), end)], [hire])
        elif adjustment.kind in ("inflow", "outflow"):
            into = adjusted_in if adjustment.kind == "inflow" else out_by["adjustments"]
            if adjustment.recurrence == "once":
                grid.once(into, start, adjustment.amount)
            else:
                grid.spread(into, adjustment.amount, start.toordinal(), end)
    for k, amount in enumerate(adjusted_in):
        inflows.by_source["adjustments"][k] += amount
        inflows.weighted[k] += amount
        inflows.fee_base[k] += amount

    return _Accumulated(grid=grid, inflows=inflows, out_by=out_by, restricted=held)


def _add_allocations(
    grid: Grid,
    charges: dict[str, list[Decimal]],
    allocations: Iterable[Allocation],
    spans: dict[str, list[tuple[int, int | None]]],
    lines: dict[str, list[PayLine]],
) -> None:
    """Each allocation's share of its person's payroll on its days, charged to its grant (restricted
    grants only): the payroll of the person's employment cut to the allocation, times the share."""
    for allocation in allocations:
        into = charges.get(allocation.grant)
        person_lines = lines.get(allocation.person)
        if into is None or not person_lines:
            continue
        first = allocation.start_on.toordinal()
        last = allocation.end_on.toordinal() if allocation.end_on else None
        cut = []
        for start, end in spans.get(allocation.person, ()):
            span_first, span_last = max(start, first), earlier_end(end, last)
            if span_last is None or span_first <= span_last:
                cut.append((span_first, span_last))
        payroll = grid.zeros()
        add_payroll(grid, payroll, cut, person_lines)
        for k, amount in enumerate(payroll):
            if amount:
                into[k] += amount * allocation.share


def _add_usage_fees(grid: Grid, inflows: _Inflows, inputs: RunwayInputs, pipeline: PipelineMode) -> None:
    """Each usage-priced contract's expected fee on every month end after A within its term."""
    if not inputs.usage_fees:
        return
    month_ends = grid.month_ends()
    ordinals = [ordinal for ordinal, _ in month_ends]
    for row, usage in enumerate(inputs.usage_fees):
        item = None if inflows.items is None else _item_key(usage.item, -1 - row)
        first = bisect_left(ordinals, usage.start_on.toordinal())
        last = len(ordinals) if usage.end_on is None else bisect_right(ordinals, usage.end_on.toordinal())
        for _, k in month_ends[first:last]:
            inflows.add(
                "usage_fees",
                k,
                usage.amount,
                usage.pipeline_probability,
                pipeline,
                fee_exempt=usage.fee_exempt,
                customer=usage.customer,
                item=item,
            )
