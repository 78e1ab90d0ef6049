"""The runway's indicators: each a value, a status, the `target` of the next better band and the
amount `needed` to reach it (docs/definitions.md "Health indicators" and "Revenue realism").

Pure, like the engine that calls it: `indicators()` reads a `Series` (what one projection gives
per period) and the `Thresholds`.

`needed` is found by re-running the indicator's own arithmetic, period by period, with the extra
money added where it would land (the fiscal sponsor's fee on it included, each period's fee rounded
to the cent as the engine rounds it), so it is exact: the smallest amount, in cents, with which the
indicator reaches its target; a cent less does not. For the coverages the search starts from the
closed form ``t x C / (1 - t x f)``, so it takes a step or two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from .grid import CENT, Grid, ceil2, cents, floor2, runway
from .inputs import COLLECTION_DAYS, ONE, ZERO, Band, Invoice, Status, Thresholds

COVERAGE_PERIODS = 6  # cost and pipeline coverage look six months ahead
BURN_PERIODS = 3  # forward burn and cash reserve average the next three months
CONCENTRATION_PERIODS = 12  # customer concentration reads the next twelve months
TOP_CUSTOMERS = 3
# The search for `needed` doubles its step at most this often: 2**100 cents is past any budget.
MAX_DOUBLINGS = 100


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class Indicator:
    """An indicator's value (two places, or None), its status, the boundary of the next better band
    (None when green or over) and what reaches it (None when nothing to reach, or no amount does)."""

    value: Decimal | None
    status: Status
    target: Decimal | None = None
    needed: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": _text(self.value),
            "status": self.status,
            "target": _text(self.target),
            "needed": _text(self.needed),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """What the indicators read from one projection, by 0-based period.

    `cin`, `ein` and `outs` are the engine's figures to the cent (`outs` with the fee); `fee_base`
    is the inflow the fiscal sponsor's fee is taken on, as the scenario counts it, at full
    precision, and `fee` that fee to the cent (part of `outs`). `customers` holds the committed
    contract inflow of the first twelve periods by customer.
    """

    grid: Grid
    as_of: date
    opening: Decimal
    reserve: Decimal
    cin: Sequence[Decimal]
    ein: Sequence[Decimal]
    outs: Sequence[Decimal]
    fee_base: Sequence[Decimal]
    fee: Sequence[Decimal]
    rate: Decimal
    customers: Mapping[str | None, Decimal]
    invoices: Sequence[Invoice]

    def with_extra(self, extra: Decimal, periods: int) -> tuple[list[Decimal], list[Decimal]]:
        """`cin` and `outs` of the first `periods` periods with `extra` more committed revenue in
        each: the inflow grows by `extra`, the outflow by what that adds to the period's fee."""
        cin = [value + extra for value in self.cin[:periods]]
        if not self.rate:
            return cin, list(self.outs[:periods])
        outs = [
            out - fee + fee_on(self.rate, base + extra)
            for out, fee, base in zip(self.outs[:periods], self.fee, self.fee_base, strict=False)
        ]
        return cin, outs


def fee_on(rate: Decimal, base: Decimal) -> Decimal:
    """The fiscal sponsor's fee on a period's subject inflow, to the cent (never below zero: a
    period whose subject inflow nets below zero pays none)."""
    return cents(rate * base) if base > 0 else ZERO


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return floor2(numerator / denominator) if denominator > 0 else None


def _least_cents(reached: Callable[[Decimal], bool], guess: Decimal) -> Decimal | None:
    """The smallest positive amount in cents for which `reached` holds, searched from `guess`, or
    None when no amount does. `reached(0)` must be False (the indicator is short of its target).

    The bracket grows by doubling steps from the guess, then halves: a handful of calls when the
    guess is close. The answer `x` has `reached(x)` and not `reached(x - 0.01)`, exactly.
    """
    guess = max(CENT, guess.quantize(CENT, rounding=ROUND_CEILING))
    step = CENT
    if reached(guess):
        high, low = guess, guess - step
        while low > 0 and reached(low):
            high, step = low, step * 2
            low = high - step
        low = max(low, ZERO)
    else:
        low, high = guess, guess + step
        doublings = 0
        while not reached(high):
            doublings += 1
            if doublings > MAX_DOUBLINGS:
                return None
            low, step = high, step * 2
            high = low + step
    while high - low > CENT:
        middle = ((low + high) / 2).quantize(CENT, rounding=ROUND_FLOOR)
        if reached(middle):
            high = middle
        else:
            low = middle
    return high


def _rated(band: Band, value: Decimal | None, status_if_null: Status) -> tuple[Status, Decimal | None]:
    status = status_if_null if value is None else band.status(value)
    return status, band.target(status)


def indicators(series: Series, thresholds: Thresholds) -> dict[str, Indicator]:
    """Every indicator, each value rounded (down, or up where lower is better) and its status read
    from the rounded value."""
    return {
        "committed_runway": _committed_runway(series, thresholds.committed_runway),
        "cost_coverage": _cost_coverage(series, thresholds.cost_coverage),
        "pipeline_coverage": _pipeline_coverage(series, thresholds.pipeline_coverage),
        "cash_reserve": _cash_reserve(series, thresholds.cash_reserve),
        "invoice_collection": _invoice_collection(series, thresholds.invoice_collection),
        "customer_concentration": _customer_concentration(series, thresholds.customer_concentration),
    }


def _committed_runway(series: Series, band: Band) -> Indicator:
    """The runway of `cin` against `out`; needed: the extra committed revenue a month, in every
    period, that carries it to the target (none can when the cash is already below the reserve)."""
    grid = series.grid
    months, _ = runway(grid, series.opening, series.cin, series.outs, series.reserve)
    status, target = _rated(band, months, "over")
    if target is None or series.opening < series.reserve:
        return Indicator(months, status, target)

    def reached(extra: Decimal) -> bool:
        cin, outs = series.with_extra(extra, grid.size)
        months, _ = runway(grid, series.opening, cin, outs, series.reserve)
        return months is None or months >= target

    # A first guess: the shortfall over the target's months, spread over them, grossed up by the fee.
    span = min(grid.size, int(target.to_integral_value(rounding=ROUND_CEILING)) or 1)
    short = sum((series.outs[k] - series.cin[k] for k in range(span)), ZERO) - (
        series.opening - series.reserve
    )
    return Indicator(months, status, target, _least_cents(reached, short / span / (ONE - series.rate)))


def _cost_coverage(series: Series, band: Band) -> Indicator:
    """sum(cin) / sum(out) over periods 1-6; needed: the extra committed revenue a month that lifts
    it to the target t, ``t x C / (1 - t x f)`` with C the monthly cost committed revenue leaves
    uncovered at t (mean out - mean cin / t); none when ``t x f >= 1`` (the fee on each dollar
    raised costs more coverage than the dollar brings)."""
    ahead = min(COVERAGE_PERIODS, series.grid.size)
    income, cost = sum(series.cin[:ahead], ZERO), sum(series.outs[:ahead], ZERO)
    value = _ratio(income, cost)
    status, target = _rated(band, value, "over")
    if target is None or target <= 0 or target * series.rate >= ONE:
        return Indicator(value, status, target)  # (a target of 0 is only short of negative income)

    def reached(extra: Decimal) -> bool:
        cin, outs = series.with_extra(extra, ahead)
        return floor2(sum(cin, ZERO) / sum(outs, ZERO)) >= target

    uncovered = (cost - income / target) / ahead
    return Indicator(
        value, status, target, _least_cents(reached, target * uncovered / (ONE - target * series.rate))
    )


def _gap(cin: Sequence[Decimal], outs: Sequence[Decimal]) -> Decimal:
    return sum((max(ZERO, out - income) for income, out in zip(cin, outs, strict=True)), ZERO)


def _pipeline_coverage(series: Series, band: Band) -> Indicator:
    """sum(max(0, ein - cin)) / sum(max(0, out - cin)) over periods 1-6. needed: the extra
    committed revenue a month that lifts it to the target. Committed revenue is in `ein` too, so
    the pipeline above it stays; what moves is the gap it leaves (to nothing: null, "over")."""
    ahead = min(COVERAGE_PERIODS, series.grid.size)
    pipeline = sum((max(ZERO, series.ein[k] - series.cin[k]) for k in range(ahead)), ZERO)
    gap = _gap(series.cin[:ahead], series.outs[:ahead])
    value = _ratio(pipeline, gap)
    status, target = _rated(band, value, "over")
    if target is None or target <= 0:
        return Indicator(value, status, target)

    def reached(extra: Decimal) -> bool:
        gap = _gap(*series.with_extra(extra, ahead))
        return gap <= 0 or floor2(pipeline / gap) >= target

    guess = (gap - pipeline / target) / ahead / (ONE - series.rate)
    return Indicator(value, status, target, _least_cents(reached, guess))


def _cash_reserve(series: Series, band: Band) -> Indicator:
    """B / (mean out over periods 1-3), in months. Revenue cannot raise it (its fee only adds to
    the outflow), so needed is the extra cash in the bank that reaches the target."""
    near = min(BURN_PERIODS, series.grid.size)
    monthly = sum(series.outs[:near], ZERO) / near
    value = _ratio(series.opening, monthly)
    # Nothing going out: the cash lasts indefinitely, unless there is none to begin with.
    status, target = _rated(band, value, "over" if series.opening >= 0 else "red")
    if target is None:
        return Indicator(value, status, target)
    if monthly <= 0:
        # With no outflow the only way up is out of the red: a balance of zero ("over").
        return Indicator(value, status, target, ceil2(-series.opening))

    def reached(extra: Decimal) -> bool:
        return floor2((series.opening + extra) / monthly) >= target

    return Indicator(value, status, target, _least_cents(reached, target * monthly - series.opening))


def _invoice_collection(series: Series, band: Band) -> Indicator:
    """Of the contract payments due in the 90 days up to A, the share (by amount) marked paid by A;
    null and green when none is due. needed: how much more of them collected reaches the target."""
    first = series.as_of - timedelta(days=COLLECTION_DAYS - 1)
    due = paid = ZERO
    for invoice in series.invoices:
        if first <= invoice.due_on <= series.as_of:
            due += invoice.amount
            if invoice.paid_on is not None and invoice.paid_on <= series.as_of:
                paid += invoice.amount
    value = _ratio(paid, due)
    status, target = _rated(band, value, "green")
    if target is None or floor2(ONE) < target:
        return Indicator(value, status, target)  # a target above 1 is out of reach

    def reached(extra: Decimal) -> bool:
        return floor2((paid + extra) / due) >= target

    return Indicator(value, status, target, _least_cents(reached, target * due - paid))


def _customer_concentration(series: Series, band: Band) -> Indicator:
    """The three communities with the most committed contract inflow in periods 1-12, their share
    of all of it, rounded up (a concentration is never understated); null and green without any.
    needed is null: what lowers it depends on who would pay, not on one amount."""
    amounts = sorted(series.customers.values(), reverse=True)
    total = sum(amounts, ZERO)
    value = ceil2(sum(amounts[:TOP_CUSTOMERS], ZERO) / total) if total > 0 else None
    status, target = _rated(band, value, "green")
    return Indicator(value, status, target)
