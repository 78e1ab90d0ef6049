"""Funding brought in per period, by category, gross and net of subawards.

**Funding brought in** (docs/definitions.md), implemented once here: grants ``awarded``/``closed``, in the
period of their ``awarded_on``, by ``category``, gross (the grant's amount) and net (the amount
minus its subawards when our ``role`` is ``prime``: that money passes through us to partners), plus
service contracts ``signed``, in the period of their ``signed_on``, under the category
``service_contract`` (gross = net = the contract's total value).

Amounts in another currency convert at the ``ExchangeRate`` in effect on the flow's date (the
award or signing date) through ``funding.currency.RateTable``; a missing rate raises
``MissingExchangeRate``, naming the currency and date.

A grant awarded outside the plausible range (``opsite.core.dates``; stored before the range was
checked, or by raw SQL) is not counted (nor is such a contract, ``contracts.rollups``):
:func:`implausible_rows` counts it for the data-quality report instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from contracts.rollups import SignedContract, contracts_first_day, signed_contract_rows
from opsite.core.dates import plausible_range
from opsite.core.money import ZERO
from opsite.core.periods import Period, period_start, periods_between

from .choices import AWARDED_STATUSES, GrantCategory, GrantRole
from .currency import RateTable
from .models import Grant, Subaward

SERVICE_CONTRACT = "service_contract"
FUNDING_CATEGORIES: tuple[str, ...] = (*GrantCategory.values, SERVICE_CONTRACT)


def awarded_grants() -> QuerySet[Grant]:
    """Grants that count as brought in: ``awarded`` or ``closed`` (both require ``awarded_on``),
    awarded within the plausible range."""
    return Grant.objects.filter(status__in=AWARDED_STATUSES, awarded_on__range=plausible_range())


def implausible_rows() -> dict[str, int]:
    """How many awarded grants are left out for an award date outside the plausible range."""
    counts = Grant.objects.filter(status__in=AWARDED_STATUSES, awarded_on__isnull=False).aggregate(
        rows=Count("pk"), kept=Count("pk", filter=Q(awarded_on__range=plausible_range()))
    )
    return {"funding.Grant": counts["rows"] - counts["kept"]}


@dataclass(frozen=True)
class FundingFlow:
    """Money brought in on one day, in the reporting currency."""

    day: date
    category: str
    gross: Decimal
    net: Decimal


def funding_flows(
    *,
    start: date,
    end: date,
    rates: RateTable | None = None,
    contracts: Sequence[SignedContract] | None = None,
) -> list[FundingFlow]:
    """Every grant awarded and contract signed from ``start`` to ``end``, converted: three queries
    (grants, their subawards, contracts) plus one for the rates when none are given. A caller that
    has read the contracts signed in the same range (``signed_contract_rows``) passes them in.

    Amounts are read as rows and added here as exact decimals (SQLite sums decimals as floats).
    """
    rates = rates if rates is not None else RateTable.load()
    grants = list(
        awarded_grants()
        .filter(awarded_on__gte=start, awarded_on__lte=end)
        .order_by("awarded_on", "reference")
        .values_list("pk", "awarded_on", "category", "role", "amount", "currency")
    )
    passed_on: dict[int, Decimal] = defaultdict(lambda: ZERO)
    prime_ids = [pk for pk, _, _, role, _, _ in grants if role == GrantRole.PRIME]
    if prime_ids:
        for grant_id, amount in Subaward.objects.filter(grant_id__in=prime_ids).values_list(
            "grant_id", "amount"
        ):
            passed_on[grant_id] += amount
    flows = [
        FundingFlow(
            day=awarded_on,
            category=category,
            gross=rates.convert(amount, currency, awarded_on),
            net=rates.convert(amount - passed_on[pk], currency, awarded_on),
        )
        for pk, awarded_on, category, role, amount, currency in grants
    ]
    for contract in signed_contract_rows(start=start, end=end) if contracts is None else contracts:
        value = rates.convert(contract.total_value, contract.currency, contract.signed_on)
        flows.append(FundingFlow(day=contract.signed_on, category=SERVICE_CONTRACT, gross=value, net=value))
    return flows


@dataclass(frozen=True)
class Funding:
    """Funding brought in during one period, gross and net, in total and by category."""

    period: Period
    gross: Decimal
    net: Decimal
    gross_by_category: dict[str, Decimal] = field(default_factory=dict)
    net_by_category: dict[str, Decimal] = field(default_factory=dict)


def by_period(flows: Iterable[FundingFlow], periods: Sequence[Period], *, as_of: date) -> list[Funding]:
    """The flows of each of ``periods`` (all of one interval, in order) up to ``as_of``, every
    category listed, zero included; flows outside the periods are left out (a pure function)."""
    if not periods:
        return []
    interval = periods[0].interval
    by_start = {period.start: period for period in periods}
    gross = {period: dict.fromkeys(FUNDING_CATEGORIES, ZERO) for period in periods}
    net = {period: dict.fromkeys(FUNDING_CATEGORIES, ZERO) for period in periods}
    for flow in flows:
        period = by_start.get(period_start(flow.day, interval))
        if period is None or flow.day > as_of:
            continue
        gross[period][flow.category] += flow.gross
        net[period][flow.category] += flow.net
    return [
        Funding(
            period=period,
            gross=sum(gross[period].values(), ZERO),
            net=sum(net[period].values(), ZERO),
            gross_by_category=gross[period],
            net_by_category=net[period],
        )
        for period in periods
    ]


def funding_series(
    *, interval: str, start: date, as_of: date, rates: RateTable | None = None
) -> list[Funding]:
    """Funding brought in during every period from ``start``'s to ``as_of``'s (the current one up
    to ``as_of``)."""
    periods = periods_between(start, as_of, interval)
    if not periods:
        return []
    return by_period(funding_flows(start=periods[0].start, end=as_of, rates=rates), periods, as_of=as_of)


def funding_first_day() -> date | None:
    """The earliest award or signing date: where the funding series begin."""
    first_award = awarded_grants().order_by("awarded_on").values_list("awarded_on", flat=True).first()
    first_contract = contracts_first_day()
    return min((day for day in (first_award, first_contract) if day is not None), default=None)
