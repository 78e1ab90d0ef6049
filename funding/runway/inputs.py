"""The runway engine's inputs: plain, frozen, validated where they are made.

Everything `project()` reads, already in the reporting currency: dated `Flow`s (contract payments,
grant disbursements, subaward payments), the `UsageFeeInflow`s of usage-priced contracts, the
`Invoice`s recently due (for the collection indicator), `Expense`s, `Employment` spans and
`PayLine`s (payroll), a scenario's `Adjustment`s and `ScenarioParams`, the fiscal sponsor's fee,
the indicators' `Thresholds`, and the `RestrictedGrant`s with the payroll `Allocation`s charged to
them (for the unrestricted runway). Nothing here imports Django; the loader (`funding.runway.loader`)
builds these from the database.

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
# The four health indicators, then those of docs/definitions.md "Revenue realism", in the API's order.
HEALTH_INDICATORS: tuple[str, ...] = (
    "committed_runway",
    "cost_coverage",
    "pipeline_coverage",
    "cash_reserve",
)
REVENUE_INDICATORS: tuple[str, ...] = ("invoice_collection", "customer_concentration")
INDICATORS: tuple[str, ...] = (*HEALTH_INDICATORS, *REVENUE_INDICATORS)
# Invoice collection reads the contract payments due in the N calendar days ending on A.
COLLECTION_DAYS = 90

ZERO = Decimal(0)
ONE = Decimal(1)
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
    subawards) and 0..100 for pipeline money. `grant_ref` names the grant a disbursement comes from
    or a subaward payment is paid under: a `delay` adjustment finds a grant's disbursements by it,
    and the unrestricted runway nets a restricted grant's receipts and charges by it. `fee_exempt`
    marks an inflow the fiscal sponsor takes no fee on (a payment of a `cloud` contract); `customer`
    names the community a contract payment comes from (for `customer_concentration`; contract
    inflows naming none count as one customer together).
    `item` names the pipeline item a pipeline row belongs to (a proposed contract; a prospect or
    submitted grant with its subawards' payments): its rows come or go together in the Monte Carlo
    draws, so they must share one probability. A pipeline row naming none is an item alone.
    """

    on: date
    amount: Decimal
    direction: Direction
    source: str
    settled: bool = False
    pipeline_probability: Decimal | None = None
    grant_ref: str | None = None
    fee_exempt: bool = False
    customer: str | None = None
    item: str | None = None

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
            and type(self.fee_exempt) is bool
            and (self.customer is None or type(self.customer) is str)
            and (self.item is None or type(self.item) is str)
        ):
            return
        _validate(self, decimals=("amount",), dates=("on",), choices={"direction": get_args(Direction)})
        _validate(self, choices={"source": FLOW_SOURCES[self.direction]})
        _validate_probability(self)
        _validate_tags(self)


def _validate_probability(obj: Any) -> None:
    if obj.pipeline_probability is not None:
        _validate(obj, decimals=("pipeline_probability",))
        if not ZERO <= obj.pipeline_probability <= HUNDRED:
            kind = type(obj).__name__
            raise ValueError(f"{kind}.pipeline_probability must be 0..100, got {obj.pipeline_probability}")


def _validate_tags(obj: Any) -> None:
    kind = type(obj).__name__
    if type(obj.fee_exempt) is not bool:
        raise TypeError(f"{kind}.fee_exempt must be a bool, got {type(obj.fee_exempt).__name__}")
    for name in ("customer", "item"):
        value = getattr(obj, name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{kind}.{name} must be a str or None, got {type(value).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageFeeInflow:
    """A usage-priced contract's expected usage fee: `amount` on the last day of every calendar month
    ending from `start_on` to `end_on` (inclusive; None: open-ended) and after `as_of`.

    `amount` is the mean of the contract's last 12 complete months' usage fees, in the reporting
    currency; the loader cuts a contract's term where the exchange rate changes, one inflow per
    piece. Weighted like the contract (`pipeline_probability` as in `Flow`), exempt from the fee
    like its payments, counted for its `customer`, and drawn with its contract's payments (`item`).
    """

    amount: Decimal
    start_on: date
    end_on: date | None = None
    pipeline_probability: Decimal | None = None
    fee_exempt: bool = False
    customer: str | None = None
    item: str | None = None

    def __post_init__(self) -> None:
        _validate(self, decimals=("amount",), dates=("start_on", "end_on"))
        _validate_probability(self)
        _validate_tags(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Invoice:
    """A signed contract's payment as `invoice_collection` reads it: due on `due_on`, paid on
    `paid_on` (None: not marked paid)."""

    due_on: date
    amount: Decimal
    paid_on: date | None = None

    def __post_init__(self) -> None:
        _validate(self, decimals=("amount",), dates=("due_on",))
        if self.paid_on is not None and (
            not isinstance(self.paid_on, date) or isinstance(self.paid_on, datetime)
        ):
            raise TypeError(f"Invoice.paid_on must be a datetime.date, got {type(self.paid_on).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Expense:
    """A recorded expense: `once` on `start_on`, or `monthly` from `start_on` to `end_on` (inclusive).

    `grant` names the grant it is charged to (its reference), if any: a restricted grant pays it
    from its own money in the unrestricted runway.
    """

    name: str
    amount: Decimal
    recurrence: Recurrence
    start_on: date
    end_on: date | None = None
    grant: str | None = None

    def __post_init__(self) -> None:
        choices = {"recurrence": get_args(Recurrence)}
        _validate(self, decimals=("amount",), dates=("start_on", "end_on"), choices=choices)
        if self.grant is not None and not isinstance(self.grant, str):
            raise TypeError(f"Expense.grant must be a str or None, got {type(self.grant).__name__}")


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
class Allocation:
    """A `share` (0 < share <= 1) of `person`'s payroll charged to `grant` (its reference) on every
    day from `start_on` to `end_on` (inclusive; None: open-ended) on which they are paid."""

    person: str
    grant: str
    share: Decimal
    start_on: date
    end_on: date | None = None

    def __post_init__(self) -> None:
        _validate(self, decimals=("share",), dates=("start_on", "end_on"))
        if not ZERO < self.share <= ONE:
            raise ValueError(f"Allocation.share must be above 0 and at most 1, got {self.share}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RestrictedGrant:
    """A `restricted` grant (by reference, `key`) and its restricted net assets at `A`: received
    minus spent up to `A`, floored at 0 (docs/definitions.md "Restricted money and funder reports").

    Its receipts after `A` are the `grants` flows naming it (`Flow.grant_ref`); what is charged to it
    is the subaward payments naming it, the expenses naming it (`Expense.grant`) and its
    `Allocation`s of payroll.
    """

    key: str
    net_assets: Decimal = ZERO

    def __post_init__(self) -> None:
        _validate(self, decimals=("net_assets",))
        if not isinstance(self.key, str) or not self.key:
            raise TypeError("RestrictedGrant.key must be a non-empty str")
        if self.net_assets < ZERO:
            raise ValueError(
                f"RestrictedGrant {self.key!r}: net assets are floored at 0, got {self.net_assets}"
            )


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
    """One indicator's cut points: red below `yellow`, yellow from it, green from `green`, over from
    `over` (None: no over band, as for `invoice_collection`, a share that cannot pass 1).

    A value on a cut point takes the better status (DESIGN: "exactly 6 months is yellow"), so with
    the default runway band exactly 12 is green and exactly 24 is over.

    With `lower_is_better` (`customer_concentration`) the scale runs the other way: green up to
    `green`, yellow up to `yellow`, red above it; there is no over band. Exactly 0.35 is green and
    exactly 0.50 yellow, again the better status on a cut point.
    """

    yellow: Decimal
    green: Decimal
    over: Decimal | None = None
    lower_is_better: bool = False

    def __post_init__(self) -> None:
        _validate(self, decimals=("yellow", "green") if self.over is None else ("yellow", "green", "over"))
        if self.lower_is_better:
            if self.over is not None:
                raise ValueError("A band where lower is better has no over cut point")
            if not self.green <= self.yellow:
                raise ValueError(f"Band cut points must ascend: green {self.green}, yellow {self.yellow}")
        elif not self.yellow <= self.green <= (self.green if self.over is None else self.over):
            cuts = ", ".join(str(cut) for cut in (self.yellow, self.green, self.over) if cut is not None)
            raise ValueError(f"Band cut points must ascend: {cuts}")

    @property
    def cut_names(self) -> tuple[str, ...]:
        """The band's cut points from the lowest value up, as settings name them."""
        if self.lower_is_better:
            return ("green", "yellow")
        return ("yellow", "green") if self.over is None else ("yellow", "green", "over")

    def status(self, value: Decimal) -> Status:
        if self.lower_is_better:
            if value <= self.green:
                return "green"
            return "yellow" if value <= self.yellow else "red"
        if self.over is not None and value >= self.over:
            return "over"
        if value >= self.green:
            return "green"
        if value >= self.yellow:
            return "yellow"
        return "red"

    def target(self, status: Status) -> Decimal | None:
        """The boundary of the next better band: yellow's from red, green's from yellow; None from
        green or over (nothing better to reach)."""
        return {"red": self.yellow, "yellow": self.green}.get(status)


# DESIGN's defaults: red < 6 months, yellow 6-12, green 12-24, over > 24 (and so on).
COMMITTED_RUNWAY_BAND = Band(yellow=Decimal(6), green=Decimal(12), over=Decimal(24))
COST_COVERAGE_BAND = Band(yellow=Decimal("0.85"), green=Decimal("1.00"), over=Decimal("1.30"))
PIPELINE_COVERAGE_BAND = Band(yellow=Decimal("1.00"), green=Decimal("1.50"), over=Decimal("2.50"))
CASH_RESERVE_BAND = Band(yellow=Decimal(3), green=Decimal(6), over=Decimal(12))
# Red < 0.80, yellow 0.80-0.95, green >= 0.95.
INVOICE_COLLECTION_BAND = Band(yellow=Decimal("0.80"), green=Decimal("0.95"))
# Green <= 0.35, yellow 0.35-0.50, red > 0.50.
CUSTOMER_CONCENTRATION_BAND = Band(green=Decimal("0.35"), yellow=Decimal("0.50"), lower_is_better=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """The indicators' cut points; the defaults are DESIGN's, settings may override them."""

    committed_runway: Band = COMMITTED_RUNWAY_BAND
    cost_coverage: Band = COST_COVERAGE_BAND
    pipeline_coverage: Band = PIPELINE_COVERAGE_BAND
    cash_reserve: Band = CASH_RESERVE_BAND
    invoice_collection: Band = INVOICE_COLLECTION_BAND
    customer_concentration: Band = CUSTOMER_CONCENTRATION_BAND

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Thresholds:
        """Build from settings, e.g. ``{"cost_coverage": {"yellow": "0.9"}, "cash_reserve": [2, 4, 8]}``.

        Each band is a mapping with any of its cut points (the rest keep their defaults) or a
        sequence of all of them from the lowest value up: ``[yellow, green, over]`` for the four
        health indicators, ``[yellow, green]`` for ``invoice_collection``, ``[green, yellow]`` for
        ``customer_concentration`` (lower is better). Numbers may be Decimals, ints, strings or
        floats (a float is read through its shortest repr, so ``0.85`` means ``Decimal("0.85")``).
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
            names = default.cut_names
            if isinstance(given, Mapping):
                extra = set(given) - set(names)
                if extra:
                    raise ValueError(f"Unknown keys for {name}: {', '.join(sorted(extra))}")
                cuts = [given.get(key, getattr(default, key)) for key in names]
            elif isinstance(given, Sequence) and not isinstance(given, str) and len(given) == len(names):
                cuts = list(given)
            else:
                raise ValueError(f"{name} must be a mapping or a [{', '.join(names)}] list")
            values = {key: _setting_decimal(cut, name) for key, cut in zip(names, cuts, strict=True)}
            bands[name] = Band(**values, lower_is_better=default.lower_is_better)
        return cls(**bands)


def _setting_decimal(value: object, name: str) -> Decimal:
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # 0.85 -> Decimal("0.85"), not its binary expansion
    raise TypeError(f"{name}: a threshold must be a number, got {type(value).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunwayInputs:
    """Everything one scenario's projection needs, in the reporting currency.

    `fiscal_sponsor_fee` is the fiscal sponsor's share of the inflows it is owed a fee on, a
    fraction from 0 up to (not including) 1.
    """

    as_of: date
    opening_balance: Decimal
    flows: Sequence[Flow] = ()
    usage_fees: Sequence[UsageFeeInflow] = ()
    invoices: Sequence[Invoice] = ()
    expenses: Sequence[Expense] = ()
    employments: Sequence[Employment] = ()
    pay_lines: Sequence[PayLine] = ()
    adjustments: Sequence[Adjustment] = ()
    params: ScenarioParams = field(default_factory=ScenarioParams)
    thresholds: Thresholds = field(default_factory=Thresholds)
    fiscal_sponsor_fee: Decimal = ZERO
    restricted: Sequence[RestrictedGrant] = ()
    allocations: Sequence[Allocation] = ()

    def __post_init__(self) -> None:
        _validate(self, decimals=("opening_balance", "fiscal_sponsor_fee"), dates=("as_of",))
        check_fiscal_sponsor_fee(self.fiscal_sponsor_fee)
        for name in (
            "flows",
            "usage_fees",
            "invoices",
            "expenses",
            "employments",
            "pay_lines",
            "adjustments",
            "restricted",
            "allocations",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))  # frozen: no list to mutate later
        keys = [grant.key for grant in self.restricted]
        if len(set(keys)) != len(keys):
            raise ValueError("RunwayInputs.restricted names a grant twice")


def check_fiscal_sponsor_fee(fee: Decimal) -> Decimal:
    """The fee, if it is a fraction from 0 up to (not including) 1; else a ValueError saying so.

    A fee of 1 or more would take every dollar it is owed on: no revenue could ever cover a cost.
    """
    if not ZERO <= fee < ONE:
        raise ValueError(
            f"The fiscal sponsor's fee is a fraction from 0 up to (not including) 1, such as 0.15 for "
            f"15%; got {fee}."
        )
    return fee
