"""The runway's calendar and arithmetic: periods as date ordinals, money to the cent, payroll
spread over days, and the months until cash falls below the reserve (docs/definitions.md "Runway").

Pure, like `engine.py` and `indicators.py`, which share these helpers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal

from dateutil.relativedelta import relativedelta

from .inputs import ZERO, PayLine

CENT = Decimal("0.01")
# A fixed context, so a caller that changed the thread's decimal context cannot change the numbers.
CONTEXT = Context(prec=28)


def quantize(value: Decimal, rounding: str) -> Decimal:
    result = value.quantize(CENT, rounding=rounding)
    return result.copy_abs() if result.is_zero() else result  # never show "-0.00"


def cents(value: Decimal) -> Decimal:
    """Money to the cent, half up."""
    return quantize(value, ROUND_HALF_UP)


def floor2(value: Decimal) -> Decimal:
    """Two places, rounded down: a runway or a coverage is never overstated."""
    return quantize(value, ROUND_FLOOR)


def ceil2(value: Decimal) -> Decimal:
    """Two places, rounded up: a concentration or an amount needed is never understated."""
    return quantize(value, ROUND_CEILING)


class Grid:
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
        self._month_ends: list[tuple[int, int]] | None = None

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

    def month_ends(self) -> list[tuple[int, int]]:
        """The last days of the calendar months after A up to the horizon, as (ordinal, 0-based
        period), in order."""
        if self._month_ends is None:
            ends = []
            day = self.bounds[0] + relativedelta(day=31)  # A's own month end (A itself if it is one)
            if day == self.bounds[0]:
                day = day + relativedelta(months=1, day=31)
            while day.toordinal() <= self.ords[-1]:
                ordinal = day.toordinal()
                ends.append((ordinal, bisect_left(self.ords, ordinal) - 1))
                day = day + relativedelta(months=1, day=31)
            self._month_ends = ends
        return self._month_ends

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


def merge_spans(spans: Iterable[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
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


def earlier_end(a: int | None, b: int | None) -> int | None:
    """The earlier of two inclusive ends, None meaning open-ended."""
    if a is None:
        return b
    return a if b is None else min(a, b)


def add_payroll(
    grid: Grid, into: list[Decimal], spans: Iterable[tuple[int, int | None]], lines: Iterable[PayLine]
) -> None:
    """One person's payroll: each compensation runs until the next one, cut to their employment."""
    merged = merge_spans(spans)
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
            grid.spread(into, monthly, max(seg_first, start), earlier_end(seg_last, end))


def runway(
    grid: Grid, opening: Decimal, ins: Sequence[Decimal], outs: Sequence[Decimal], reserve: Decimal
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
            return floor2(k + fraction), grid.bounds[k] + timedelta(days=offset)
        balance = closing
    return None, None
