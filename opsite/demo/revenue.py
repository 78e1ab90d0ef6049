"""Revenue realism in the demo (docs/definitions.md "Revenue realism"): hub service priced on usage,
and cloud bills passed through at cost.

From ``later.USAGE_PRICED_FROM``, a few large universities renew on usage pricing: a platform fee
(a share of what their fixed fee would have been) plus their monthly active users on the default
schedule. Their fees are worked out here, month by month, from the very samples the loader writes,
so that the runway the demo computed on each past month-end counts them as the loader would.

A few communities on a cluster of their own reimburse its cloud bill at cost: a ``cloud`` contract
a year, billed monthly, exempt from the fiscal sponsor's fee, against the same monthly cost in the
books. They are communities whose hub service is not under contract, so they never leave (see
:func:`opsite.demo.communities.choose_leavers`) and each year's bill is there however far the demo
runs.

Every choice draws from a stream of its own, so nothing here shifts the history or another series.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from contracts.usage_fees import usage_fee

from . import later
from .communities import CommunitySpec, community_users, rng, usage_samples
from .dates import HISTORY_END, month_ends, split
from .plans import ContractPlan, ExpensePlan, Payment

FIRST_LATER_YEAR = HISTORY_END.year + 1


# --- usage pricing ----------------------------------------------------------------------------


def usage_priced(payers: list) -> set[str]:
    """The communities whose renewals from ``later.USAGE_PRICED_FROM`` are priced on usage: a few
    large ones among the history's paying communities (``payers``: (community, fee, billing))."""
    candidates = sorted(
        community.slug
        for community, _fee, _billing in payers
        if community.kind in later.USAGE_PRICED_KINDS and not community.left_on
    )
    return set(rng("usage-priced").sample(candidates, later.USAGE_PRICED))


def platform_fee(fee: Decimal) -> Decimal:
    """The fixed part of a usage-priced term: a share of the fee it replaces, to the dollar."""
    return (fee * Decimal(later.PLATFORM_SHARE)).quantize(Decimal("1")) + Decimal("0.00")


def price_usage(plans: list[ContractPlan], specs: list[CommunitySpec], until: date) -> None:
    """Set the usage fee of every month-end of each usage-priced plan's term up to ``until``.

    The leavers must be chosen first: a hub that retires stops reporting, and the samples of every
    later hub are drawn after it.
    """
    priced = [plan for plan in plans if plan.usage_schedule]
    if not priced:
        return
    users = community_users(specs, usage_samples(specs, until), {plan.community for plan in priced})
    tiers = [(up_to, Decimal(price)) for up_to, price in later.USAGE_TIERS]
    for plan in priced:
        plan.usage_fees = {
            day: usage_fee(users[plan.community].get(day, 0), tiers)
            for day in month_ends(plan.start_on, min(plan.end_on, until))
        }


# --- cloud pass-through -----------------------------------------------------------------------


def cloud_contracts(specs: list[CommunitySpec], paying: set[str], until: date) -> list[ContractPlan]:
    """Each year from February, the cloud bill of a few clusters of their own, passed through.

    ``paying`` are the history's paying communities: the bills are those of others.
    """
    own_cluster = sorted(
        spec.community.slug
        for spec in specs
        if spec.community.joined_on <= HISTORY_END
        and not spec.community.left_on
        and spec.community.slug not in paying
        and any(hub.kind == "daskhub" for hub in spec.hubs)
    )
    communities = rng("cloud-pass-through").sample(own_cluster, later.CLOUD_PASS_THROUGH)
    found = []
    for slug in sorted(communities):
        first = Decimal(str(rng(f"cloud-bill-{slug}").uniform(*later.CLOUD_BILL)))
        for year in range(FIRST_LATER_YEAR, until.year + 1):
            stream = rng(f"cloud-{year}-{slug}")
            # A bill is never a round figure: to the cent, twelve of them in a year's value.
            monthly = (first * Decimal(str(1 + later.CLOUD_GROWTH)) ** (year - FIRST_LATER_YEAR)).quantize(
                Decimal("0.01")
            )
            start = date(year, 2, 1)
            plan = ContractPlan(
                reference=f"cloud-{year}-{slug}"[:80],
                community=slug,
                category="cloud",
                plan="monthly",
                value=monthly * 12,
                start_on=start,
                end_on=start + relativedelta(years=1, days=-1),
                probability=90,
                shown_on=date(year, 1, stream.randint(3, 8)),
                signed_on=date(year, 1, stream.randint(12, 26)),
            )
            for i, amount in enumerate(split(plan.value, 12)):
                due = start + relativedelta(months=i)
                plan.payments.append(Payment(due, amount, due + timedelta(days=stream.randint(5, 40))))
            found.append(plan)
    return found


def pass_through_costs(contracts: list[ContractPlan]) -> list[ExpensePlan]:
    """The cloud bills the ``cloud`` contracts reimburse: the same money, paid out each month of the
    term, on the books from the day the contract is signed."""
    return [
        ExpensePlan(
            name=f"Cloud bill passed through ({plan.reference})",
            category="cloud",
            amount=plan.payments[0].amount,
            recurrence="monthly",
            start_on=plan.start_on,
            end_on=plan.end_on,
            shown_on=plan.signed_on,
            end_known_on=plan.signed_on,
        )
        for plan in contracts
        if plan.category == "cloud" and plan.signed_on
    ]
