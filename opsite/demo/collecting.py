"""The money the organization has to chase: customers and funders who pay, sign or decide late.

Real books always hold a few records that the collection flags (docs/definitions.md "Collection
flags") are there to catch, so the demo has them too, each with an ordinary cause:

- the helpdesk's community pays every invoice two to three months late (``overdue``);
- each year's first new paying community waits ten months or so for its purchase order, so its
  first term has nothing paid half a year in and most of it open near its end (``stale``,
  ``overdue``, ``ending_soon_uncollected``);
- each year one renewal due in October or November is signed only months into its term, and stays
  proposed meanwhile (``past_close``);
- a community foundation funds a school year from September, but decides only in January (the
  application is still pending after its start: ``past_close``) and pays the half due after the
  final report months late (``overdue``, then ``ended_uncollected``);
- Northfield University's yearly subaward for a teaching-lab pilot waits on its agreement for ten
  months (``stale``, ``overdue``, ``ending_soon_uncollected``) and holds 10% back until the final
  report is accepted, with no date on the schedule until then (``schedule_incomplete``).

The history's own flags (a development contract whose last milestone was never entered) are in
:mod:`opsite.demo.data`. Everything here is after the history, and each choice and date draws from
a stream of its own, so no other series moves.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from opsite.core.money import CENT

from . import later
from .communities import CommunitySpec, rng
from .dates import HISTORY_END, split
from .plans import ContractPlan, GrantPlan, Payment

FIRST_LATER_YEAR = HISTORY_END.year + 1


# --- customers --------------------------------------------------------------------------------


def slow_customers(plans: list[ContractPlan], specs: list[CommunitySpec]) -> None:
    """Make the late payer, the slow purchase orders and the late signatures (module docstring)."""
    _late_payer(plans)
    _purchase_orders(plans, specs)
    _late_signatures(plans)


def _late_payer(plans: list[ContractPlan]) -> None:
    community = next(plan.community for plan in plans if plan.reference == "support-2024-helpdesk")
    for plan in plans:
        if plan.community != community:
            continue
        stream = rng(f"late-payer-{plan.reference}")
        for payment in plan.payments:
            if payment.due_on > HISTORY_END and payment.settled_on:
                payment.settled_on = payment.due_on + timedelta(days=stream.randint(*later.LATE_PAYER_DAYS))


def _purchase_orders(plans: list[ContractPlan], specs: list[CommunitySpec]) -> None:
    # The new paying communities by the year they joined; the first of each year is the slow one.
    joined = sorted(
        (spec.community.joined_on, spec.community.slug)
        for spec in specs
        if spec.pays and spec.community.joined_on > HISTORY_END
    )
    firsts = {}
    for day, slug in joined:
        firsts.setdefault(day.year, slug)
    for slug in firsts.values():
        terms = [plan for plan in plans if plan.community == slug and plan.category == "hub_service"]
        if not terms:
            continue  # not joined yet
        first = min(terms, key=lambda plan: plan.start_on)
        stream = rng(f"purchase-order-{first.reference}")
        arrives = first.start_on + timedelta(days=stream.randint(*later.PURCHASE_ORDER_DAYS))
        for payment in first.payments:
            if payment.due_on <= arrives and payment.settled_on:
                payment.settled_on = arrives


def _late_signatures(plans: list[ContractPlan]) -> None:
    hub_service = [plan for plan in plans if plan.category == "hub_service"]
    first_start: dict[str, date] = {}
    for plan in hub_service:
        first_start[plan.community] = min(first_start.get(plan.community, plan.start_on), plan.start_on)
    for year in sorted({plan.start_on.year for plan in hub_service if plan.start_on > HISTORY_END}):
        renewals = sorted(
            (
                plan
                for plan in hub_service
                if plan.start_on.year == year
                and plan.start_on.month in later.LATE_SIGNATURE_MONTHS
                and plan.start_on > first_start[plan.community]
                and not plan.declined_on
            ),
            key=lambda plan: plan.reference,
        )
        if not renewals:
            continue
        stream = rng(f"late-signature-{year}")
        plan = stream.choice(renewals)
        plan.signed_on = plan.start_on + timedelta(days=stream.randint(*later.LATE_SIGNATURE_DAYS))
        for payment in plan.payments:
            if payment.settled_on and payment.settled_on <= plan.signed_on:
                payment.settled_on = plan.signed_on + timedelta(days=stream.randint(5, 20))


# --- funders ----------------------------------------------------------------------------------


def slow_funders(until: date) -> list[GrantPlan]:
    """The community foundation's grants and Northfield University's pilot subawards to ``until``'s
    year (on the books from when each was first discussed)."""
    found = []
    for year in range(FIRST_LATER_YEAR, until.year + 1):
        found += [_foundation_grant(year), _subaward_pilot(year)]
    return found


def _foundation_grant(year: int) -> GrantPlan:
    stream = rng(f"foundation-{year}")
    low, high = later.FOUNDATION_GRANT
    # 350 past the round figure, like a budget: never a whole thousand a salary could equal.
    amount = Decimal(stream.randrange(low, high + 1, 5000) + 350)
    submitted = date(year, 4, stream.randint(1, 25))
    decided = date(year + 1, 1, stream.randint(12, 30))
    start, end = date(year, 9, 1), date(year + 1, 8, 31)
    on_award = decided + timedelta(days=stream.randint(20, 35))
    after_report = end + timedelta(days=45)
    final_received = after_report + timedelta(days=stream.randint(*later.FOUNDATION_FINAL_DAYS))
    first, final = split(amount, 2)
    return GrantPlan(
        reference=f"lakeshore-school-hubs-{year}",
        funder=later.LATER_FUNDERS[0][0],
        category="direct_grant",
        title=f"Hubs for the region's school computing clubs, {year}-{year + 1}",
        amount=amount,
        start_on=start,
        end_on=end,
        status="prospect",
        probability=30,
        shown_on=date(year, 3, stream.randint(2, 20)),
        changes=[(submitted, "submitted", 60), (decided, "awarded", 100), (final_received, "closed", 100)],
        restricted=True,
        awarded_on=decided,
        disbursements=[
            Payment(on_award, first, on_award + timedelta(days=stream.randint(5, 20))),
            Payment(after_report, final, final_received),
        ],
    )


def _subaward_pilot(year: int) -> GrantPlan:
    stream = rng(f"subaward-pilot-{year}")
    low, high = later.SUBAWARD_PILOT
    # 275 past the round figure: with the foundation's award of the same month, never a round sum.
    amount = Decimal(stream.randrange(low, high + 1, 5000) + 275)
    awarded = date(year, 1, stream.randint(19, 28))
    start, end = date(year, 2, 1), date(year + 1, 1, 31)
    agreement = start + timedelta(days=stream.randint(*later.SUBAWARD_AGREEMENT_DAYS))
    held = (amount / 10).quantize(CENT)
    plan = GrantPlan(
        reference=f"northfield-lab-pilot-{year}",
        funder="northfield-university",
        category="collaboration",
        title=f"Teaching-lab hub pilot {year}",
        amount=amount,
        start_on=start,
        end_on=end,
        status="submitted",
        probability=80,
        shown_on=date(year, 1, stream.randint(5, 12)),
        role="subrecipient",
        awarded_on=awarded,
    )
    for i, part in enumerate(split(amount - held, 3)):
        expected = start + relativedelta(months=1 + 4 * i)
        paid = max(expected, agreement) + timedelta(days=stream.randint(5, 25))
        plan.disbursements.append(Payment(expected, part, paid))
    accepted = end + timedelta(days=stream.randint(60, 90))
    expected = accepted + timedelta(days=30)
    received = expected + timedelta(days=stream.randint(5, 20))
    plan.disbursements.append(Payment(expected, held, received, shown_on=accepted))
    plan.changes = [(awarded, "awarded", 100), (received, "closed", 100)]
    return plan
