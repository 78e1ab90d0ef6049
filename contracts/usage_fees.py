"""Usage fees: a graduated schedule applied to a number of users, and each usage-priced
contract's billable users and fee month by month.

A schedule's tiers are brackets, as in income tax: with tiers up to 10 at 10.00 and up to 100 at
5.00, 100 users cost 10 x 10.00 + 90 x 5.00 = 550.00. The tier without an upper bound prices every
user above the highest bound; a schedule without one charges nothing for users past its last
bound, so the fee never exceeds the schedule's cap (docs/definitions.md "Usage fees").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from communities.rollups import community_monthly_active
from opsite.core.money import ZERO, quantize
from opsite.core.periods import month_end

from .models import ServiceContract

# (up_to, unit_price): up_to None is the open tier.
Tier = tuple[int | None, Decimal]


def ordered(tiers: Iterable[Tier]) -> list[Tier]:
    """The tiers from the lowest bound up, the open tier last."""
    return sorted(tiers, key=lambda tier: (tier[0] is None, tier[0] or 0))


def usage_fee(users: int, tiers: Iterable[Tier]) -> Decimal:
    """The fee for ``users`` on a schedule of ``tiers``, to the cent."""
    if users < 0:
        raise ValueError(f"A number of users cannot be negative, not {users}.")
    fee, priced = ZERO, 0
    for up_to, unit_price in ordered(tiers):
        if users <= priced:
            break
        upper = users if up_to is None else min(users, up_to)
        fee += (upper - priced) * unit_price
        if up_to is None:
            break
        priced = up_to
    return quantize(fee)


def cap(tiers: Iterable[Tier]) -> Decimal | None:
    """The most the schedule can charge; None when its open tier has a price above zero."""
    tiers = ordered(tiers)
    if tiers and tiers[-1][0] is None and tiers[-1][1] > 0:
        return None
    bounded = [up_to for up_to, _ in tiers if up_to is not None]
    return usage_fee(max(bounded, default=0), tiers)


@dataclass(frozen=True)
class MonthlyUsageFee:
    """One month of a usage-priced contract: its billable users and its fee (docs/definitions.md
    "Usage fees"), in the schedule's currency."""

    contract_id: int
    reference: str
    month_end: date
    billable_users: int
    fee: Decimal
    currency: str


def usage_priced_contracts(contract_ids: Iterable[int] | None = None) -> list[ServiceContract]:
    """Contracts priced on a schedule, with their schedule and its tiers: two queries."""
    contracts = ServiceContract.objects.filter(usage_fee_schedule__isnull=False).select_related(
        "usage_fee_schedule"
    )
    if contract_ids is not None:
        contracts = contracts.filter(pk__in=list(contract_ids))
    return list(contracts.prefetch_related("usage_fee_schedule__tiers").order_by("reference", "pk"))


def months_active(contract: ServiceContract, *, through: date) -> list[date]:
    """The last days of the months, up to ``through``, on which the contract is active."""
    ends = []
    day = month_end(contract.start_on)
    last = min(contract.end_on, through)
    while day <= last:
        ends.append(day)
        day = month_end(day + timedelta(days=1))
    return ends


def monthly_usage_fees(
    *, through: date, since: date | None = None, contract_ids: Iterable[int] | None = None
) -> list[MonthlyUsageFee]:
    """Billable users and the usage fee of every usage-priced contract (or of ``contract_ids``),
    for each month ending from ``since`` to ``through`` in which the contract is active on the
    month's last day. Oldest first, by contract.

    The queries are constant in the number of contracts: the contracts and their tiers (two), their
    communities' hubs (one), and those hubs' 30d active users, a query for every six month ends.
    """
    contracts = usage_priced_contracts(contract_ids)
    months = {
        contract.pk: [
            end for end in months_active(contract, through=through) if since is None or end >= since
        ]
        for contract in contracts
    }
    days = {end for ends in months.values() for end in ends}
    users_by_day = community_monthly_active(days, {contract.community_id for contract in contracts})
    rows = []
    for contract in contracts:
        schedule = contract.usage_fee_schedule
        tiers = [(tier.up_to, tier.unit_price) for tier in schedule.tiers.all()]
        for end in months[contract.pk]:
            users = users_by_day[end][contract.community_id]
            rows.append(
                MonthlyUsageFee(
                    contract_id=contract.pk,
                    reference=contract.reference,
                    month_end=end,
                    billable_users=users,
                    fee=usage_fee(users, tiers),
                    currency=schedule.currency,
                )
            )
    return rows
