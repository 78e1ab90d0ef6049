"""The runway projection engine: plain data in, plain data out (docs/definitions.md "Runway").

Nothing here imports Django: a loader turns querysets into `RunwayInputs` (already converted to the
reporting currency; the input dataclasses live in `inputs.py`), `project()` turns them into a
`RunwayResult`, and `RunwayResult.as_dict()` is the JSON of docs/api.md "Runway API" without
`"scenario"` (the caller adds it). Keeping it pure is what lets the property tests and the benchmark
run it alone.

Choices the design leaves open, made here once:

- Money is `Decimal` end to end, computed at full precision and quantized to cents (ROUND_HALF_UP)
  per source and period; a period's `in`/`out` are the sums of its quantized sources, and the
  opening/closing chain runs on those quantized figures, so `closing = opening + in - out` holds
  exactly on every figure the API shows.
- `months` and the indicator values are rounded down (ROUND_FLOOR) to two places: a runway or a
  coverage is never overstated. Statuses are read from the rounded value, so what leadership sees
  and its colour always agree with the threshold table.
- `cash_out_on` is `A + (k-1) months + floor(fraction * days in period k)` days: the day on which
  the linearly falling balance crosses the reserve, reading dates as midnights.
- A `once` expense, inflow or outflow dated on or before `A` is ignored: if it happened, it is
  already in `B` (the same rule as a paid row). Overdue *open* `Flow`s still land in period 1.
- A hire's `amount` is always an annual salary, whatever its recurrence says.
- Several delays of one grant add up. A delay moves only open "grants" inflows of that grant
  (received ones are in `B`; subaward payments keep their own schedule), and ignores `start_on`.
- Zero denominators: `cost_coverage` is null/"over" when nothing goes out in periods 1-6;
  `pipeline_coverage` is null/"over" when committed inflow covers every outflow (DESIGN);
  `cash_reserve` is null when nothing goes out in periods 1-3: "over" (cash lasts indefinitely),
  unless `B` is already negative ("red"). A null runway is "beyond the horizon": status "over".
  With a horizon shorter than 3 (or 6) periods, the averages and sums use the periods there are.
- Overlapping employments of one person are merged (nobody is paid twice for a day); of two pay
  lines with one `effective_on`, the later given wins.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from dateutil.relativedelta import relativedelta

# The inputs live in `inputs.py`; they are re-exported here so `from funding.runway.engine import
# Flow` keeps working.
from .inputs import (
    CASH_RESERVE_BAND,
    COMMITTED_RUNWAY_BAND,
    COST_COVERAGE_BAND,
    FLOW_SOURCES,
    HUNDRED,
    INDICATORS,
    PIPELINE_COVERAGE_BAND,
    TWELVE,
    ZERO,
    Adjustment,
    AdjustmentKind,
    AdjustmentRecurrence,
    Band,
    Direction,
    Employment,
    Expense,
    Flow,
    PayLine,
    PipelineMode,
    Recurrence,
    RunwayInputs,
    ScenarioParams,
    Status,
    Thresholds,
)

__all__ = [
    "CASH_RESERVE_BAND",
    "COMMITTED_RUNWAY_BAND",
    "COST_COVERAGE_BAND",
    "FLOW_SOURCES",
    "HUNDRED",
    "INDICATORS",
    "IN_SOURCES",
    "OUT_SOURCES",
    "PIPELINE_COVERAGE_BAND",
    "TWELVE",
    "ZERO",
    "Adjustment",
    "AdjustmentKind",
    "AdjustmentRecurrence",
    "Band",
    "Direction",
    "Employment",
    "Expense",
    "Flow",
    "Indicator",
    "PayLine",
    "Period",
    "PipelineMode",
    "Recurrence",
    "RunwayInputs",
    "RunwayResult",
    "ScenarioParams",
    "Status",
    "Thresholds",
    "project",
]

# The keys of `in_by_source` / `out_by_source`, in the order the API shows them.
IN_SOURCES: tuple[str, ...] = ("contracts", "grants", "adjustments")
OUT_SOURCES: tuple[str, ...] = ("payroll", "expenses", "subawards", "adjustments")
COVERAGE_PERIODS = 6  # cost and pipeline coverage look six months ahead
BURN_PERIODS = 3  # forward burn and cash reserve average the next three months

CENT = Decimal("0.01")
# A fixed context, so a caller that changed the thread's decimal context cannot change the numbers.
_CONTEXT = Context(prec=28)


# --- outputs ------------------------------------------------------------------------------------


def _money_str(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class Indicator:
    value: Decimal | None
    status: Status

    def as_dict(self) -> dict[str, Any]:
        return {"value": None if self.value is None else _money_str(self.value), "status": self.status}


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """Period k: the days after `A + (k-1) months` up to `A + k months`; `start` is its first day."""

    start: date
    end: date
    opening: Decimal
    in_: Decimal
    out: Decimal
    closing: Decimal
    in_by_source: dict[str, Decimal]
    out_by_source: dict[str, Decimal]

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


def _quantize(value: Decimal, rounding: str) -> Decimal:
    result = value.quantize(CENT, rounding=rounding)
    return result.copy_abs() if result.is_zero() else result  # never show "-0.00"


def _cents(value: Decimal) -> Decimal:
    return _quantize(value, ROUND_HALF_UP)


def _floor2(value: Decimal) -> Decimal:
    return _quantize(value, ROUND_FLOOR)


class _Grid:
    """The periods as date ordinals: period k (1-based) covers the days `ords[k-1] + 1 .. ords[k]`.

    Each bound is `A + k months` from `A` itself, never chained, so end-of-month clipping does not
    drift: A = Jan 31 gives Feb 29, Mar 31, Apr 30, ... not Feb 29, Mar 29, Apr 29.
    """

    def __init__(self, as_of: date, horizon: int) -> None:
        self.size = horizon
        self.bounds = [as_of + relativedelta(months=k) for k in range(horizon + 1)]
        self.ords = [bound.toordinal() for bound in self.bounds]
        self.days = [self.ords[k + 1] - self.ords[k] for k in range(horizon)]  # 0-based index
        self.days_decimal = [Decimal(days) for days in self.days]

    def zeros(self) -> list[Decimal]:
        return [ZERO] * self.size

    def index_of(self, on: date) -> int | None:
        """The 0-based period of a row still to come; overdue rows fall in the first."""
        ordinal = on.toordinal()
        if ordinal <= self.ords[0]:
            return 0
        if ordinal > self.ords[-1]:
            return None  # beyond the horizon
        return bisect_left(self.ords, ordinal) - 1

    def once(self, into: list[Decimal], on: date, amount: Decimal) -> None:
        """A one-off amount; dated on or before A it is already in B."""
        ordinal = on.toordinal()
        if self.ords[0] < ordinal <= self.ords[-1]:
            into[bisect_left(self.ords, ordinal) - 1] += amount

    def spread(self, into: list[Decimal], monthly: Decimal, first: int, last: int | None) -> None:
        """Add `monthly` to each period, prorated by the days of `first..last` (ordinals) inside it.

        Walking segments, not days: one multiplication per period touched, and whole periods get
        `monthly` exactly, so a steady cost shows as a round figure.
        """
        first = max(first, self.ords[0] + 1)
        last = self.ords[-1] if last is None else min(last, self.ords[-1])
        if first > last:
            return
        ords = self.ords
        k_first, k_last = bisect_left(ords, first), bisect_left(ords, last)  # 1-based periods
        if k_first == k_last:
            self._part(into, monthly, k_first, first, last)
            return
        # Only the first and last periods can be partial; those between get `monthly` whole.
        self._part(into, monthly, k_first, first, ords[k_first])
        for index in range(k_first, k_last - 1):
            into[index] += monthly
        self._part(into, monthly, k_last, ords[k_last - 1] + 1, last)

    def _part(self, into: list[Decimal], monthly: Decimal, k: int, first: int, last: int) -> None:
        """`monthly` prorated by the days `first..last` (ordinals, inside period k, 1-based)."""
        active = last - first + 1
        if active == self.days[k - 1]:
            into[k - 1] += monthly
        else:
            into[k - 1] += monthly * active / self.days_decimal[k - 1]


def _merge_spans(spans: Iterable[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    """Union of inclusive ordinal spans, so overlapping employments never pay a person twice."""
    merged: list[tuple[int, int | None]] = []
    for start, end in sorted(spans, key=lambda span: span[0]):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end + 1:
                new_end = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_start, new_end)
                continue
        merged.append((start, end))
    return merged


def _earlier_end(a: int | None, b: int | None) -> int | None:
    """The earlier of two inclusive ends, None meaning open-ended."""
    if a is None:
        return b
    return a if b is None else min(a, b)


def _add_payroll(
    grid: _Grid, into: list[Decimal], spans: Iterable[tuple[int, int | None]], lines: Iterable[PayLine]
) -> None:
    """One person's payroll: each compensation runs until the next one, cut to their employment."""
    merged = _merge_spans(spans)
    if not merged:
        return
    # Stable sort: of two lines on one date, the later given wins (the earlier gets an empty segment).
    ordered = sorted(lines, key=lambda line: line.effective_on)
    for i, line in enumerate(ordered):
        seg_first = line.effective_on.toordinal()
        seg_last = ordered[i + 1].effective_on.toordinal() - 1 if i + 1 < len(ordered) else None
        if seg_last is not None and (seg_last < seg_first or seg_last <= grid.ords[0]):
            continue  # superseded before the projection starts
        monthly = line.monthly_cost
        for start, end in merged:
            grid.spread(into, monthly, max(seg_first, start), _earlier_end(seg_last, end))


def _runway(
    grid: _Grid, opening: Decimal, ins: Sequence[Decimal], outs: Sequence[Decimal], reserve: Decimal
) -> tuple[Decimal | None, date | None]:
    """DESIGN step 4: months until the balance first falls below `reserve`, and that day."""
    if opening < reserve:
        return ZERO.quantize(CENT), grid.bounds[0]
    balance = opening
    for k in range(grid.size):
        closing = balance + ins[k] - outs[k]
        if closing < reserve:
            # balance >= reserve > closing, so the net outflow is positive and fraction in [0, 1).
            fraction = (balance - reserve) / (outs[k] - ins[k])
            offset = int((fraction * grid.days_decimal[k]).to_integral_value(rounding=ROUND_FLOOR))
            return _floor2(k + fraction), grid.bounds[k] + timedelta(days=offset)
        balance = closing
    return None, None


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return _floor2(numerator / denominator) if denominator > 0 else None


def project(inputs: RunwayInputs) -> RunwayResult:
    """Project one scenario's cash month by month and read its runway and health indicators."""
    with localcontext(_CONTEXT):
        return _project(inputs)


def _project(inputs: RunwayInputs) -> RunwayResult:
    params = inputs.params
    grid = _Grid(inputs.as_of, params.horizon_months)
    in_by: dict[str, list[Decimal]] = {source: grid.zeros() for source in IN_SOURCES}
    out_by: dict[str, list[Decimal]] = {source: grid.zeros() for source in OUT_SOURCES}
    committed_in = grid.zeros()  # cin_k: committed inflow, delays applied, no pipeline, no what-ifs
    weighted_in = grid.zeros()  # ein_k: inflow under weighted pipeline, with the what-ifs

    delays: dict[str, int] = defaultdict(int)
    for adjustment in inputs.adjustments:
        if adjustment.kind == "delay":
            delays[adjustment.grant_ref or ""] += adjustment.months or 0

    pipeline = params.pipeline
    period_of: dict[date, int | None] = {}  # many rows share a date: bisect each date once
    for flow in inputs.flows:
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
        amount = flow.amount
        if flow.pipeline_probability is None:
            scenario_amount = weighted_amount = amount
        else:
            weighted_amount = amount * flow.pipeline_probability / HUNDRED
            if pipeline == "weighted":
                scenario_amount = weighted_amount
            else:
                scenario_amount = amount if pipeline == "full" else ZERO
        if flow.direction == "in":
            in_by[flow.source][k] += scenario_amount
            weighted_in[k] += weighted_amount
            if flow.pipeline_probability is None:
                committed_in[k] += amount
        else:
            out_by[flow.source][k] += scenario_amount

    for expense in inputs.expenses:
        if expense.recurrence == "once":
            grid.once(out_by["expenses"], expense.start_on, expense.amount)
        else:
            end = expense.end_on.toordinal() if expense.end_on else None
            grid.spread(out_by["expenses"], expense.amount, expense.start_on.toordinal(), end)

    spans: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for employment in inputs.employments:
        end = employment.end_on.toordinal() if employment.end_on else None
        spans[employment.person].append((employment.start_on.toordinal(), end))
    lines: dict[str, list[PayLine]] = defaultdict(list)
    for line in inputs.pay_lines:
        lines[line.person].append(line)
    for person, person_lines in lines.items():
        _add_payroll(grid, out_by["payroll"], spans.get(person, ()), person_lines)

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
            _add_payroll(grid, out_by["adjustments"], [(start.toordinal(), end)], [hire])
        elif adjustment.kind in ("inflow", "outflow"):
            into = adjusted_in if adjustment.kind == "inflow" else out_by["adjustments"]
            if adjustment.recurrence == "once":
                grid.once(into, start, adjustment.amount)
            else:
                grid.spread(into, adjustment.amount, start.toordinal(), end)
    for k, amount in enumerate(adjusted_in):
        in_by["adjustments"][k] += amount
        weighted_in[k] += amount

    # Quantize per source first, then sum and chain: every shown figure adds up exactly.
    in_cents = {source: [_cents(v) for v in values] for source, values in in_by.items()}
    out_cents = {source: [_cents(v) for v in values] for source, values in out_by.items()}
    ins = [sum((in_cents[s][k] for s in IN_SOURCES), ZERO) for k in range(grid.size)]
    outs = [sum((out_cents[s][k] for s in OUT_SOURCES), ZERO) for k in range(grid.size)]
    cin = [_cents(v) for v in committed_in]
    ein = [_cents(v) for v in weighted_in]

    opening_balance = _cents(inputs.opening_balance)
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
            )
        )
        balance = closing

    reserve = params.reserve
    months, cash_out_on = _runway(grid, opening_balance, ins, outs, reserve)
    burn_n = min(BURN_PERIODS, grid.size)
    forward_burn = _cents(sum((outs[k] - ins[k] for k in range(burn_n)), ZERO) / burn_n)

    return RunwayResult(
        as_of=inputs.as_of,
        opening_balance=opening_balance,
        months=months,
        cash_out_on=cash_out_on,
        horizon_months=grid.size,
        forward_burn=forward_burn,
        indicators=_indicators(grid, inputs.thresholds, opening_balance, reserve, cin, ein, outs),
        periods=tuple(periods),
    )


def _indicators(
    grid: _Grid,
    thresholds: Thresholds,
    opening: Decimal,
    reserve: Decimal,
    cin: list[Decimal],
    ein: list[Decimal],
    outs: list[Decimal],
) -> dict[str, Indicator]:
    """DESIGN step 6, each value rounded down and its status read from the rounded value."""

    def rated(band: Band, value: Decimal | None, status_if_null: Status = "over") -> Indicator:
        return Indicator(value, status_if_null if value is None else band.status(value))

    committed_months, _ = _runway(grid, opening, cin, outs, reserve)

    ahead = min(COVERAGE_PERIODS, grid.size)
    cost_coverage = _ratio(sum(cin[:ahead], ZERO), sum(outs[:ahead], ZERO))
    pipeline = sum((max(ZERO, ein[k] - cin[k]) for k in range(ahead)), ZERO)
    gap = sum((max(ZERO, outs[k] - cin[k]) for k in range(ahead)), ZERO)
    pipeline_coverage = _ratio(pipeline, gap)

    near = min(BURN_PERIODS, grid.size)
    cash_reserve = _ratio(opening, sum(outs[:near], ZERO) / near)

    return {
        "committed_runway": rated(thresholds.committed_runway, committed_months),
        "cost_coverage": rated(thresholds.cost_coverage, cost_coverage),
        "pipeline_coverage": rated(thresholds.pipeline_coverage, pipeline_coverage),
        # Nothing going out: the cash lasts indefinitely, unless there is none to begin with.
        "cash_reserve": rated(thresholds.cash_reserve, cash_reserve, "over" if opening >= 0 else "red"),
    }
