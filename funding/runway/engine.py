"""The runway projection engine: plain data in, plain data out (DESIGN.md "Definitions: Runway").

Nothing here imports Django: a loader turns querysets into `RunwayInputs` (already converted to the
reporting currency), `project()` turns them into a `RunwayResult`, and `RunwayResult.as_dict()` is the
JSON of DESIGN.md "Runway API" without `"scenario"` (the caller adds it). Keeping it pure is what lets
the property tests and the benchmark run it alone.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any, Literal, get_args

from dateutil.relativedelta import relativedelta

Direction = Literal["in", "out"]
PipelineMode = Literal["committed", "weighted", "full"]
Recurrence = Literal["monthly", "once"]
AdjustmentKind = Literal["hire", "inflow", "outflow", "delay"]
AdjustmentRecurrence = Literal["monthly", "once", "annual_salary"]
Status = Literal["red", "yellow", "green", "over"]

# The keys of `in_by_source` / `out_by_source`, in the order the API shows them.
IN_SOURCES: tuple[str, ...] = ("contracts", "grants", "adjustments")
OUT_SOURCES: tuple[str, ...] = ("payroll", "expenses", "subawards", "adjustments")
# A `Flow` is a recorded row; adjustment money only ever comes from `Adjustment`s, so the
# committed inflow (`cin_k`) can never pick up a what-if by accident.
FLOW_SOURCES: dict[str, tuple[str, ...]] = {
    "in": ("contracts", "grants"),
    "out": ("subawards", "expenses", "payroll"),
}
INDICATORS: tuple[str, ...] = ("committed_runway", "cost_coverage", "pipeline_coverage", "cash_reserve")
COVERAGE_PERIODS = 6  # cost and pipeline coverage look six months ahead
BURN_PERIODS = 3  # forward burn and cash reserve average the next three months

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
TWELVE = Decimal(12)
# A fixed context, so a caller that changed the thread's decimal context cannot change the numbers.
_CONTEXT = Context(prec=28)


# --- validation helpers -------------------------------------------------------------------------


def _decimal(value: object, name: str) -> Decimal:
    """Accept a Decimal (or an int); refuse floats: binary fractions are wrong for money."""
    if isinstance(value, bool):  # bool is an int, but a True salary is a bug, not a 1
        raise TypeError(f"{name} must be a Decimal, got bool")
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _validate(
    obj: Any,
    *,
    decimals: tuple[str, ...] = (),
    dates: tuple[str, ...] = (),
    choices: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """Check and normalize a frozen input in its __post_init__, so bad data fails where it is made.

    Decimal fields stay Decimals (ints accepted, floats refused); dates must be `date`s (a datetime
    does not compare with a date: refuse it here, not deep inside the projection); an `end_on`
    may be None (open-ended) but never before `start_on`.
    """
    kind = type(obj).__name__
    for name in decimals:
        object.__setattr__(obj, name, _decimal(getattr(obj, name), f"{kind}.{name}"))
    for name in dates:
        value = getattr(obj, name)
        if name == "end_on" and value is None:
            continue
        if not isinstance(value, date) or isinstance(value, datetime):
            raise TypeError(f"{kind}.{name} must be a datetime.date, got {type(value).__name__}")
    for name, allowed in (choices or {}).items():
        if getattr(obj, name) not in allowed:
            raise ValueError(f"{kind}.{name} must be one of {', '.join(allowed)}; got {getattr(obj, name)!r}")
    if getattr(obj, "end_on", None) is not None and obj.end_on < obj.start_on:
        raise ValueError(f"{kind} ends ({obj.end_on}) before it starts ({obj.start_on})")


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """A dated one-off row: a contract payment or grant disbursement (in), a subaward payment (out).

    `settled` rows (paid/received) are dated by their paid/received date and ignored when on or
    before `as_of`; open rows are dated by due/expected date, and an overdue one lands in period 1.
    `pipeline_probability` is None for committed money (signed contracts, awarded grants and their
    subawards) and 0..100 for pipeline money. `grant_ref` lets a `delay` adjustment find a grant's
    disbursements.
    """

    on: date
    amount: Decimal
    direction: Direction
    source: str
    settled: bool = False
    pipeline_probability: Decimal | None = None
    grant_ref: str | None = None

    def __post_init__(self) -> None:
        _validate(self, decimals=("amount",), dates=("on",), choices={"direction": get_args(Direction)})
        _validate(self, choices={"source": FLOW_SOURCES[self.direction]})
        if self.pipeline_probability is not None:
            _validate(self, decimals=("pipeline_probability",))
            if not ZERO <= self.pipeline_probability <= HUNDRED:
                raise ValueError(f"Flow.pipeline_probability must be 0..100, got {self.pipeline_probability}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Expense:
    """A recorded expense: `once` on `start_on`, or `monthly` from `start_on` to `end_on` (inclusive)."""

    name: str
    amount: Decimal
    recurrence: Recurrence
    start_on: date
    end_on: date | None = None

    def __post_init__(self) -> None:
        choices = {"recurrence": get_args(Recurrence)}
        _validate(self, decimals=("amount",), dates=("start_on", "end_on"), choices=choices)


@dataclass(frozen=True, slots=True, kw_only=True)
class Employment:
    """A span (inclusive; open end allowed) during which `person` is on the payroll."""

    person: str
    start_on: date
    end_on: date | None = None

    def __post_init__(self) -> None:
        _validate(self, dates=("start_on", "end_on"))


@dataclass(frozen=True, slots=True, kw_only=True)
class PayLine:
    """A compensation in effect for `person` from `effective_on` until their next one."""

    person: str
    effective_on: date
    annual_salary: Decimal
    benefits_rate: Decimal = ZERO

    def __post_init__(self) -> None:
        _validate(self, decimals=("annual_salary", "benefits_rate"), dates=("effective_on",))

    @property
    def monthly_cost(self) -> Decimal:
        return self.annual_salary * (1 + self.benefits_rate) / TWELVE


@dataclass(frozen=True, slots=True, kw_only=True)
class Adjustment:
    """A scenario's what-if: a `hire`, an `inflow`, an `outflow`, or a `delay` of a grant."""

    kind: AdjustmentKind
    label: str
    start_on: date
    amount: Decimal = ZERO
    benefits_rate: Decimal = ZERO
    recurrence: AdjustmentRecurrence = "once"
    end_on: date | None = None
    grant_ref: str | None = None
    months: int | None = None

    def __post_init__(self) -> None:
        choices = {"kind": get_args(AdjustmentKind), "recurrence": get_args(AdjustmentRecurrence)}
        _validate(self, decimals=("amount", "benefits_rate"), dates=("start_on", "end_on"), choices=choices)
        if self.kind in ("inflow", "outflow") and self.recurrence == "annual_salary":
            raise ValueError(f"Adjustment {self.label!r}: only a hire is an annual salary")
        if self.kind == "delay":
            if not self.grant_ref:
                raise ValueError(f"Delay {self.label!r} names no grant")
            if isinstance(self.months, bool) or not isinstance(self.months, int) or self.months < 0:
                raise ValueError(f"Delay {self.label!r} needs months >= 0, got {self.months!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioParams:
    pipeline: PipelineMode = "weighted"
    reserve: Decimal = ZERO
    horizon_months: int = 60

    def __post_init__(self) -> None:
        _validate(self, decimals=("reserve",), choices={"pipeline": get_args(PipelineMode)})
        if isinstance(self.horizon_months, bool) or not isinstance(self.horizon_months, int):
            raise TypeError("ScenarioParams.horizon_months must be an int")
        if self.horizon_months < 1:
            raise ValueError(f"ScenarioParams.horizon_months must be >= 1, got {self.horizon_months}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """One indicator's cut points: red below `yellow`, yellow from it, green from `green`, over from `over`.

    A value on a cut point takes the better status (DESIGN: "exactly 6 months is yellow"), so with
    the default runway band exactly 12 is green and exactly 24 is over.
    """

    yellow: Decimal
    green: Decimal
    over: Decimal

    def __post_init__(self) -> None:
        _validate(self, decimals=("yellow", "green", "over"))
        if not self.yellow <= self.green <= self.over:
            raise ValueError(f"Band cut points must ascend: {self.yellow}, {self.green}, {self.over}")

    def status(self, value: Decimal) -> Status:
        if value >= self.over:
            return "over"
        if value >= self.green:
            return "green"
        if value >= self.yellow:
            return "yellow"
        return "red"


# DESIGN's defaults: red < 6 months, yellow 6-12, green 12-24, over > 24 (and so on).
COMMITTED_RUNWAY_BAND = Band(yellow=Decimal(6), green=Decimal(12), over=Decimal(24))
COST_COVERAGE_BAND = Band(yellow=Decimal("0.85"), green=Decimal("1.00"), over=Decimal("1.30"))
PIPELINE_COVERAGE_BAND = Band(yellow=Decimal("1.00"), green=Decimal("1.50"), over=Decimal("2.50"))
CASH_RESERVE_BAND = Band(yellow=Decimal(3), green=Decimal(6), over=Decimal(12))


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """The health indicators' cut points; the defaults are DESIGN's, settings may override them."""

    committed_runway: Band = COMMITTED_RUNWAY_BAND
    cost_coverage: Band = COST_COVERAGE_BAND
    pipeline_coverage: Band = PIPELINE_COVERAGE_BAND
    cash_reserve: Band = CASH_RESERVE_BAND

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Thresholds:
        """Build from settings, e.g. ``{"cost_coverage": {"yellow": "0.9"}, "cash_reserve": [2, 4, 8]}``.

        Each band is a mapping with any of ``yellow``/``green``/``over`` (the rest keep their
        defaults) or a sequence of all three. Numbers may be Decimals, ints, strings or floats (a
        float is read through its shortest repr, so ``0.85`` means ``Decimal("0.85")``).
        """
        defaults = cls()
        data = data or {}
        unknown = set(data) - set(INDICATORS)
        if unknown:
            raise ValueError(f"Unknown runway indicators: {', '.join(sorted(unknown))}")
        bands: dict[str, Band] = {}
        for name in INDICATORS:
            default: Band = getattr(defaults, name)
            given = data.get(name)
            if given is None:
                bands[name] = default
                continue
            if isinstance(given, Mapping):
                extra = set(given) - {"yellow", "green", "over"}
                if extra:
                    raise ValueError(f"Unknown keys for {name}: {', '.join(sorted(extra))}")
                cuts = [given.get(key, getattr(default, key)) for key in ("yellow", "green", "over")]
            elif isinstance(given, Sequence) and not isinstance(given, str) and len(given) == 3:
                cuts = list(given)
            else:
                raise ValueError(f"{name} must be a mapping or a [yellow, green, over] list")
            yellow, green, over = (_setting_decimal(cut, name) for cut in cuts)
            bands[name] = Band(yellow=yellow, green=green, over=over)
        return cls(**bands)


def _setting_decimal(value: object, name: str) -> Decimal:
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # 0.85 -> Decimal("0.85"), not its binary expansion
    raise TypeError(f"{name}: a threshold must be a number, got {type(value).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunwayInputs:
    """Everything one scenario's projection needs, in the reporting currency."""

    as_of: date
    opening_balance: Decimal
    flows: Sequence[Flow] = ()
    expenses: Sequence[Expense] = ()
    employments: Sequence[Employment] = ()
    pay_lines: Sequence[PayLine] = ()
    adjustments: Sequence[Adjustment] = ()
    params: ScenarioParams = field(default_factory=ScenarioParams)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        _validate(self, decimals=("opening_balance",), dates=("as_of",))
        for name in ("flows", "expenses", "employments", "pay_lines", "adjustments"):
            object.__setattr__(self, name, tuple(getattr(self, name)))  # frozen: no list to mutate later


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
        """The JSON of DESIGN.md "Runway API", without "scenario" (the caller knows which)."""
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
        ords, days = self.ords, self.days
        for k in range(bisect_left(ords, first), bisect_left(ords, last) + 1):
            active = min(last, ords[k]) - max(first, ords[k - 1] + 1) + 1
            if active == days[k - 1]:
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

    for flow in inputs.flows:
        if flow.settled and flow.on <= inputs.as_of:
            continue  # paid or received: already in B
        on = flow.on
        if not flow.settled and flow.source == "grants" and flow.grant_ref in delays:
            on += relativedelta(months=delays[flow.grant_ref])
        k = grid.index_of(on)
        if k is None:
            continue
        amount = flow.amount
        if flow.pipeline_probability is None:
            scenario_amount = weighted_amount = amount
        else:
            weighted_amount = amount * flow.pipeline_probability / HUNDRED
            scenario_amount = {"committed": ZERO, "weighted": weighted_amount, "full": amount}[
                params.pipeline
            ]
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
