"""Signed contracts' value recognized evenly over their days, per community and month.

The revenue side of a community's margin (docs/definitions.md "Cloud costs"): a signed contract's
``total_value`` is recognized evenly over its days, ``start_on`` through ``end_on``, both
included, so a month gets ``total_value / days x its days in the month``. The value is converted
to the reporting currency as the other contract figures are (``contracts.rollups``): at the rate
in effect on the signing date, by a conversion passed in, since ``contracts`` does not import
``funding``.

A contract counts while its status is ``signed`` (:func:`contracts.rollups.signed_contracts`,
signed within the plausible range); one whose start or end lies outside the plausible range
cannot be placed on a calendar and is left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from opsite.core.dates import plausible_range
from opsite.core.money import quantize
from opsite.core.periods import Period

from .rollups import Convert, signed_contracts


@dataclass(frozen=True)
class ContractTerm:
    """What recognizing one signed contract needs."""

    community_id: int
    signed_on: date
    start_on: date
    end_on: date
    total_value: Decimal
    currency: str

    @property
    def days(self) -> int:
        return (self.end_on - self.start_on).days + 1


def signed_terms(*, start: date, end: date) -> list[ContractTerm]:
    """The signed contracts whose term overlaps ``start``..``end``: one query."""
    span = plausible_range()
    rows = (
        signed_contracts()
        .filter(start_on__lte=end, end_on__gte=start, start_on__range=span, end_on__range=span)
        .order_by("community_id", "start_on", "reference")
        .values_list("community_id", "signed_on", "start_on", "end_on", "total_value", "currency")
    )
    return [ContractTerm(*row) for row in rows]


def _days_within(term: ContractTerm, first: date, last: date) -> int:
    return max(0, (min(term.end_on, last) - max(term.start_on, first)).days + 1)


def recognized_by_month(
    terms: Iterable[ContractTerm], months: Sequence[Period], *, convert: Convert, until: date | None = None
) -> dict[int, dict[date, Decimal]]:
    """The value each community's contracts recognize in each of ``months`` (a pure function).

    By community id, then by the month's first day, rounded to the cent once per community and
    month; a community or month with nothing recognized is left out. ``until`` stops the count on
    that day (the as-of day, for the current month). Each contract is converted once, at its
    signing date, then spread.
    """
    exact: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for term in terms:
        value = convert(term.total_value, term.currency, term.signed_on)
        for month in months:
            last = min(month.end, until) if until else month.end
            days = _days_within(term, month.start, last)
            if days:
                exact[term.community_id][month.start] += value * days / term.days
    return {
        community: {month: quantize(amount) for month, amount in sorted(by_month.items())}
        for community, by_month in exact.items()
    }


def recognized_revenue(
    months: Sequence[Period], *, convert: Convert, until: date | None = None
) -> dict[int, dict[date, Decimal]]:
    """:func:`recognized_by_month` of the signed contracts overlapping ``months`` (in order):
    one query, whatever the number of contracts or communities."""
    if not months:
        return {}
    last = min(months[-1].end, until) if until else months[-1].end
    if last < months[0].start:
        return {}
    terms = signed_terms(start=months[0].start, end=last)
    return recognized_by_month(terms, months, convert=convert, until=until)
