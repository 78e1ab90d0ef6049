"""The runway engine's inputs: plain, frozen, validated where they are made.

Everything `project()` reads, already in the reporting currency: dated `Flow`s (contract payments,
grant disbursements, subaward payments), `Expense`s, `Employment` spans and `PayLine`s (payroll),
a scenario's `Adjustment`s and `ScenarioParams`, and the health indicators' `Thresholds`. Nothing
here imports Django; the loader (`funding.runway.loader`) builds these from the database.

Each dataclass checks itself in `__post_init__`, so a bad row fails where it is built (naming the
field) rather than deep inside the projection: money must be a `Decimal` (never a float), dates
must be `date`s, an `end_on` never precedes its `start_on`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

Direction = Literal["in", "out"]
PipelineMode = Literal["committed", "weighted", "full"]
Recurrence = Literal["monthly", "once"]
AdjustmentKind = Literal["hire", "inflow", "outflow", "delay"]
AdjustmentRecurrence = Literal["monthly", "once", "annual_salary"]
Status = Literal["red", "yellow", "green", "over"]

# A `Flow` is a recorded row; adjustment money only ever comes from `Adjustment`s, so the
# committed inflow (`cin_k`) can never pick up a what-if by accident.
FLOW_SOURCES: dict[str, tuple[str, ...]] = {
    "in": ("contracts", "grants"),
    "out": ("subawards", "expenses", "payroll"),
}
_FLOW_SOURCE_SETS = {direction: frozenset(sources) for direction, sources in FLOW_SOURCES.items()}
INDICATORS: tuple[str, ...] = ("committed_runway", "cost_coverage", "pipeline_coverage", "cash_reserve")

ZERO = Decimal(0)
HUNDRED = Decimal(100)
TWELVE = Decimal(12)


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
        # The loader builds thousands of these: well-formed ones (Decimal money, a plain date, known
        # direction and source) are checked here in one expression; anything else takes the general
        # path, which normalizes ints and names what is wrong.
        probability = self.pipeline_probability
        if (
            type(self.amount) is Decimal
            and self.amount.is_finite()
            and type(self.on) is date
            and self.source in _FLOW_SOURCE_SETS.get(self.direction, ())
            and (
                probability is None
                or (
                    type(probability) is Decimal
                    and probability.is_finite()
                    and ZERO <= probability <= HUNDRED
                )
            )
        ):
            return
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
