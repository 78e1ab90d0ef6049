"""The demo's service contracts as plans: yearly hub-service terms of the paying communities (a few
priced on usage after the history), one-off development, support and partnership contracts, and
cloud bills passed through (:mod:`opsite.demo.revenue`).

The terms of the published history are drawn exactly as they always were (so the funding figures
of 2021-2024 never move); later terms, and how the proposals of the end of 2024 turned out, are
drawn per contract from streams of their own.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from . import data, later
from .collecting import slow_customers
from .communities import CommunitySpec, choose_leavers
from .dates import HISTORY_END, months_later, split
from .plans import ContractPlan, Payment
from .revenue import cloud_contracts, platform_fee, price_usage, usage_priced

SEED = 2021
# Funding awarded (grants) plus signed (contracts) with a date in 2021-2023, in USD.
FUNDING_TARGET_2021_2023 = Decimal("5600000")
# The history's hub-service terms run to this start date; later ones go on from there.
HISTORY_TERMS_UNTIL = date(2025, 6, 30)
FIRST_LATER_DAY = HISTORY_END + timedelta(days=1)


def rng(section: str) -> random.Random:
    return random.Random(f"{SEED}-{section}")


def contract_plans(specs: list[CommunitySpec], until: date) -> list[ContractPlan]:
    """Every contract on the books by ``until`` (terms shown up to six months ahead of their start).

    Sets ``leaves_on`` on the specs of the communities that leave: the paying ones that do not
    renew, then a few without a contract (:func:`choose_leavers`). The usage-priced contracts get
    their fees from the usage of the communities that stay.
    """
    history = [spec for spec in specs if spec.community.joined_on <= HISTORY_END]
    terms, factor, payers = history_terms(history)
    plans = history_plans(terms)
    if until > HISTORY_END:
        paying = {community.slug for community, _fee, _billing in payers}
        priced = usage_priced(payers)
        plans += later_terms(specs, payers, factor, until, {plan.reference for plan in plans}, priced)
        plans += later_contracts(plans, until)
        plans += cloud_contracts(specs, paying, until)
        slow_customers(plans, specs)
    shown = [plan for plan in plans if plan.shown_on <= until]
    choose_leavers(specs, {plan.community for plan in shown}, until)
    price_usage(shown, specs, until)
    return shown


def history_terms(specs: list[CommunitySpec]) -> tuple[list[dict], Decimal, list]:
    """Yearly hub-service terms of 40 paying communities, plus a few one-off contracts.

    Hub-service fees are scaled so that grants awarded plus contracts signed over 2021-2023
    come to FUNDING_TARGET_2021_2023. Returns the terms, the scale factor and the payers (each
    with its yearly fee before scaling and its billing plan).
    """
    stream = rng("contracts")
    candidates = sorted(
        (s.community for s in specs if s.community.kind in data.PAYING_KINDS and not s.network),
        key=lambda c: c.slug,
    )
    # The community that left in 2024 paid until then: its last contract was terminated.
    leaving = [c for c in candidates if c.left_on and c.left_on.year == 2024]
    payers = leaving + stream.sample([c for c in candidates if not c.left_on], 40 - len(leaving))
    terms, payer_terms = [], []
    for community in payers:
        base = Decimal(stream.choice(data.HUB_SERVICE_VALUES))
        plan = stream.choices(("quarterly", "annual", "monthly"), (50, 25, 25))[0]
        payer_terms.append((community, base, plan))
        first = (community.joined_on + relativedelta(months=1)).replace(day=1)
        for k in range(5):
            start = first + relativedelta(years=k)
            if start > HISTORY_TERMS_UNTIL or (community.left_on and start > community.left_on):
                break
            end = start + relativedelta(years=1, days=-1)
            status = "signed" if start <= HISTORY_END else "proposed"
            if community.left_on and end > community.left_on:
                status = "terminated"
            terms.append(
                {
                    "reference": f"hs-{community.slug[:60]}-{start.year}",
                    "community": community.slug,
                    "category": "hub_service",
                    "status": status,
                    "plan": plan,
                    "value": base * Decimal("1.04") ** k,
                    "probability": 100 if status != "proposed" else stream.choice((50, 70, 80, 90)),
                    "signed_on": start - timedelta(days=stream.randint(7, 45))
                    if start <= HISTORY_END
                    else None,
                    "start_on": start,
                    "end_on": end,
                    "ends_early": community.left_on,
                }
            )
    fixed = []
    for i, c in enumerate(data.OTHER_CONTRACTS):
        eligible = [p for p in payers if not p.left_on and p.joined_on < date.fromisoformat(c["start_on"])]
        fixed.append(
            {
                **c,
                "community": eligible[i % len(eligible)].slug,
                "value": Decimal(c["value"]),
                "signed_on": date.fromisoformat(c["signed_on"]) if c["signed_on"] else None,
                "start_on": date.fromisoformat(c["start_on"]),
                "end_on": date.fromisoformat(c["end_on"]),
            }
        )

    def in_window(term: dict) -> bool:
        # docs/definitions.md counts contracts whose status is ``signed``, by ``signed_on``.
        return term["status"] == "signed" and date(2021, 1, 1) <= term["signed_on"] <= date(2023, 12, 31)

    grants = sum(
        grant_usd(g)
        for g in data.GRANTS
        if g["status"] in ("awarded", "closed") and "2021-01-01" <= g["awarded_on"] <= "2023-12-31"
    )
    scaled = FUNDING_TARGET_2021_2023 - grants - sum(c["value"] for c in fixed if in_window(c))
    factor = scaled / sum(t["value"] for t in terms if in_window(t))
    for term in terms:
        term["value"] = _fee(term["value"], factor)
    return terms + fixed, factor, payer_terms


def _fee(value: Decimal, factor: Decimal) -> Decimal:
    # Fees are quoted in whole hundreds.
    return ((value * factor) / 100).quantize(Decimal("1")) * 100 + Decimal("0.00")


def _renewal_fee(value: Decimal, factor: Decimal) -> Decimal:
    # After the published history, a renewal is the fee raised by 4% a year, to the dollar: public
    # monthly totals of such fees do not fall on the round figures salaries (sensitive) are.
    return (value * factor).quantize(Decimal("1")) + Decimal("0.00")


def grant_usd(grant: dict) -> Decimal:
    """A demo grant's amount in USD at the rate in effect when it was awarded."""
    amount = Decimal(grant["amount"])
    if grant.get("currency", "USD") == "USD":
        return amount
    awarded = date.fromisoformat(grant["awarded_on"])
    return (amount * Decimal(data.EUR_RATES[awarded.year][awarded.month - 1])).quantize(Decimal("0.01"))


def history_plans(terms: list[dict]) -> list[ContractPlan]:
    """The history's contracts as plans; the proposals of the end of 2024 get their outcome."""
    stream = rng("contract-payments")
    plans = []
    for term in terms:
        plan = ContractPlan(
            reference=term["reference"],
            community=term["community"],
            category=term["category"],
            plan=term["plan"],
            value=term["value"],
            start_on=term["start_on"],
            end_on=term["end_on"],
            probability=term["probability"],
            # Every contract of the history is on the books at its end.
            shown_on=min(term["start_on"] - timedelta(days=90), HISTORY_END),
            signed_on=term["signed_on"],
            ends_early=term.get("ends_early") if term["status"] == "terminated" else None,
        )
        if term["status"] == "declined":
            plan.declined_on = plan.start_on - timedelta(days=14)
            plans.append(plan)
            continue
        count, step = data.BILLING_PLANS[term["plan"]]
        schedule = [
            (term["start_on"] + relativedelta(months=step * i), amount)
            for i, amount in enumerate(split(term["value"], count))
        ]
        # One development contract's last milestone was never entered: "schedule incomplete".
        for due, amount in schedule[: term.get("entered", count)]:
            paid = due + timedelta(days=stream.randint(5, 40))
            if plan.ends_early and due > plan.ends_early:
                paid = None
            plan.payments.append(Payment(due, amount, paid))
        if term["status"] == "proposed":
            _decide(plan, later.HISTORY_PROPOSALS.get(plan.reference, ""))
        plans.append(plan)
    return plans


def _decide(plan: ContractPlan, signed: str | None = "", *, renewal: bool = True) -> None:
    """How a proposal made after the history turns out: signed before it starts, or declined.

    ``signed`` names the day when it is known (None: declined); otherwise a renewal goes ahead
    with the probability ``later.RENEWED``. Nothing is decided on or before the end of the history.
    """
    stream = rng(f"contract-{plan.reference}")
    first_paid = min((p.settled_on for p in plan.payments if p.settled_on), default=plan.start_on)
    if signed == "" and renewal and stream.random() >= later.RENEWED:
        signed = None
    if signed is None:
        plan.declined_on = max(plan.start_on - timedelta(days=stream.randint(5, 30)), FIRST_LATER_DAY)
        for payment in plan.payments:
            payment.settled_on = None
        return
    day = date.fromisoformat(signed) if signed else plan.start_on - timedelta(days=stream.randint(7, 45))
    day = max(day, plan.shown_on, FIRST_LATER_DAY + timedelta(days=stream.randint(1, 10)))
    plan.signed_on = min(day, first_paid - timedelta(days=1))


def later_terms(
    specs: list[CommunitySpec],
    payers: list,
    factor: Decimal,
    until: date,
    history: set[str],
    priced: set[str],
) -> list[ContractPlan]:
    """Hub-service terms after the history's (``history``: their references), and those of the
    new paying communities.

    A renewal is proposed six months before it starts (never before 2025); a community that does
    not renew leaves when its last term ends. The communities of ``priced`` renew on usage pricing
    from ``later.USAGE_PRICED_FROM``: a platform fee, plus their users on the default schedule.
    """
    by_slug = {spec.community.slug: spec for spec in specs}
    horizon = months_later(until, later.PROPOSED_AHEAD_MONTHS + 1)
    plans = []
    for spec in specs:
        if spec.pays and spec.community.joined_on <= until:
            stream = rng(f"payer-{spec.community.slug}")
            base = Decimal(stream.choice(data.HUB_SERVICE_VALUES))
            payers.append(
                (spec.community, base, stream.choices(("quarterly", "annual", "monthly"), (50, 25, 25))[0])
            )
    for community, base, billing in payers:
        spec = by_slug[community.slug]
        if spec.leaves_on:
            continue
        first = (community.joined_on + relativedelta(months=1)).replace(day=1)
        for k in range(100):
            start = first + relativedelta(years=k)
            if start > horizon:
                break
            reference = f"hs-{community.slug[:60]}-{start.year}"
            if start <= HISTORY_END or reference in history:
                continue
            stream = rng(f"contract-{reference}")
            shown_on = months_later(start, -later.PROPOSED_AHEAD_MONTHS).replace(day=1)
            fee = _renewal_fee(base * Decimal("1.04") ** k, factor)
            on_usage = community.slug in priced and start.year >= later.USAGE_PRICED_FROM
            plan = ContractPlan(
                reference=reference,
                community=community.slug,
                category="hub_service",
                plan=billing,
                value=platform_fee(fee) if on_usage else fee,
                start_on=start,
                end_on=start + relativedelta(years=1, days=-1),
                probability=stream.choice((50, 70, 80, 90)) if k else 90,
                # A new community's first contract is discussed from the day it joins.
                shown_on=community.joined_on if k == 0 else max(shown_on, FIRST_LATER_DAY),
                usage_schedule=later.USAGE_SCHEDULE if on_usage else None,
            )
            _schedule(stream, plan)
            _decide(plan, renewal=k > 0)
            plans.append(plan)
            if plan.declined_on:
                spec.leaves_on = start - timedelta(days=1)
                break
    return plans


def _schedule(stream: random.Random, plan: ContractPlan) -> None:
    count, step = data.BILLING_PLANS[plan.plan]
    for i, amount in enumerate(split(plan.value, count)):
        due = plan.start_on + relativedelta(months=step * i)
        plan.payments.append(Payment(due, amount, due + timedelta(days=stream.randint(5, 40))))


def later_contracts(plans: list[ContractPlan], until: date) -> list[ContractPlan]:
    """The helpdesk renewed each February, and development or partnership work each year."""
    references = {plan.reference for plan in plans}
    helpdesk = next(plan for plan in plans if plan.reference == "support-2024-helpdesk")
    found = []
    for year in range(HISTORY_END.year + 1, until.year + 2):
        stream = rng(f"contracts-{year}")
        start = date(year, 2, 1)
        support = ContractPlan(
            reference=f"support-{year}-helpdesk",
            community=helpdesk.community,
            category="support",
            plan="monthly",
            value=_renewal_fee(helpdesk.value * Decimal("1.04") ** (year - 2024), Decimal(1)),
            start_on=start,
            end_on=start + relativedelta(years=1, days=-1),
            probability=90,
            shown_on=date(year, 1, 5),
        )
        _schedule(stream, support)
        _decide(support, f"{year}-01-{stream.randint(15, 25)}")
        found.append(support)
        eligible = sorted(
            plan.community
            for plan in plans
            if plan.status_on(date(year, 1, 1)) == "signed" and plan.category == "hub_service"
        )
        pool = [row for row in later.LATER_CONTRACTS if row[0].format(year=year) not in references]
        for stem, category, billing, low, high, months in stream.sample(pool, 2):
            start = date(year, stream.randint(2, 10), 1)
            signed_on = start - timedelta(days=stream.randint(10, 40))
            plan = ContractPlan(
                reference=stem.format(year=year),
                community=stream.choice(eligible),
                category=category,
                plan=billing,
                # 350 past the round figure: a quote, and never a whole thousand that a salary
                # (sensitive) could equal in the public monthly totals.
                value=Decimal(stream.randrange(low, high + 1, 5000) + 350),
                start_on=start,
                end_on=start + relativedelta(months=months, days=-1),
                probability=stream.choice((50, 60, 70, 80)),
                shown_on=signed_on - timedelta(days=stream.randint(60, 120)),
            )
            _schedule(stream, plan)
            _decide(plan, signed_on.isoformat() if stream.random() < 0.75 else None, renewal=False)
            found.append(plan)
    return found
