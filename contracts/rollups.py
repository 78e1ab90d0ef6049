"""New service contracts per period, by category: how many were signed, and for how much.

A contract counts in the period of its ``signed_on`` while its status is ``signed`` (the rule for
funding brought in, docs/definitions.md#funding-brought-in, which reads
:func:`signed_contract_rows` too). Values are converted to the reporting currency at the rate in
effect on the signing date; the conversion is passed in (``funding.currency.RateTable.convert``),
since ``contracts`` sits below ``funding`` and does not import it.

A contract signed outside the plausible range (``opsite.core.dates``; stored before the range was
checked, or by raw SQL) is not counted: :func:`implausible_rows` counts it for the data-quality
report instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from opsite.core.dates import plausible_range
from opsite.core.money import ZERO
from opsite.core.periods import Period, period_start, periods_between

from .choices import ContractCategory, ContractStatus
from .models import ServiceContract

# (amount, currency, date) -> the amount in the reporting currency on that date.
Convert = Callable[[Decimal, str, date], Decimal]


def signed_contracts() -> QuerySet[ServiceContract]:
    """Contracts that count as signed: status ``signed`` (which requires ``signed_on``), signed
    within the plausible range."""
    return ServiceContract.objects.filter(status=ContractStatus.SIGNED, signed_on__range=plausible_range())


def implausible_rows() -> dict[str, int]:
    """How many signed contracts are left out for a signing date outside the plausible range."""
    counts = ServiceContract.objects.filter(status=ContractStatus.SIGNED, signed_on__isnull=False).aggregate(
        rows=Count("pk"), kept=Count("pk", filter=Q(signed_on__range=plausible_range()))
    )
    return {"contracts.ServiceContract": counts["rows"] - counts["kept"]}


@dataclass(frozen=True)
class SignedContract:
    """The facts of one signed contract the rollups need (no community, no schedule)."""

    signed_on: date
    category: str
    total_value: Decimal
    currency: str


def signed_contract_rows(*, start: date, end: date) -> list[SignedContract]:
    """Contracts signed from ``start`` to ``end``, oldest first: one query.

    Rows rather than a database SUM, so the amounts add up as exact decimals (SQLite sums
    decimal columns as floats) after each is converted at its own date.
    """
    rows = (
        signed_contracts()
        .filter(signed_on__gte=start, signed_on__lte=end)
        .order_by("signed_on", "reference")
        .values_list("signed_on", "category", "total_value", "currency")
    )
    return [SignedContract(*row) for row in rows]


@dataclass(frozen=True)
class CategoryContracts:
    count: int = 0
    value: Decimal = ZERO


@dataclass(frozen=True)
class NewContracts:
    """Contracts signed in one period: count and value, in total and by category."""

    period: Period
    count: int
    value: Decimal
    by_category: dict[str, CategoryContracts] = field(default_factory=dict)


def by_period(
    contracts: Iterable[SignedContract], periods: Sequence[Period], *, as_of: date, convert: Convert
) -> list[NewContracts]:
    """The contracts signed in each of ``periods`` (all of one interval, in order) up to ``as_of``,
    every category listed, zero included; contracts outside the periods are left out."""
    if not periods:
        return []
    interval = periods[0].interval
    by_start = {period.start: period for period in periods}
    counts = {period: dict.fromkeys(ContractCategory.values, 0) for period in periods}
    values = {period: dict.fromkeys(ContractCategory.values, ZERO) for period in periods}
    for contract in contracts:
        period = by_start.get(period_start(contract.signed_on, interval))
        if period is None or contract.signed_on > as_of:
            continue
        counts[period][contract.category] += 1
        values[period][contract.category] += convert(
            contract.total_value, contract.currency, contract.signed_on
        )
    return [
        NewContracts(
            period=period,
            count=sum(counts[period].values()),
            value=sum(values[period].values(), ZERO),
            by_category={
                category: CategoryContracts(count=counts[period][category], value=values[period][category])
                for category in ContractCategory.values
            },
        )
        for period in periods
    ]


def new_contracts_series(*, interval: str, start: date, as_of: date, convert: Convert) -> list[NewContracts]:
    """New service contracts of every period from ``start``'s to ``as_of``'s (the current one up to
    ``as_of``)."""
    periods = periods_between(start, as_of, interval)
    if not periods:
        return []
    rows = signed_contract_rows(start=periods[0].start, end=as_of)
    return by_period(rows, periods, as_of=as_of, convert=convert)


def contracts_first_day() -> date | None:
    """The earliest signing date of a signed contract: where the contract series begin."""
    return signed_contracts().order_by("signed_on").values_list("signed_on", flat=True).first()
