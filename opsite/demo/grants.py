"""The demo's grants as plans: those of the published history (and how its pipeline turned out),
year-end giving, and the applications the organization makes when its runway runs short.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.utils.text import slugify

from . import data, later
from .dates import HISTORY_END, months_later, split
from .plans import GrantPlan, Payment, SubawardPlan

SEED = 2021
FUNDER_SHORT = {
    "open-science-foundation": "osf",
    "national-research-agency": "nra",
    "compute-commons-fund": "ccf",
    "cloud-credits-program": "ccp",
    "european-open-research-trust": "eort",
    "northfield-university": "northfield",
}


def rng(section: str) -> random.Random:
    return random.Random(f"{SEED}-{section}")


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def history_grants() -> list[GrantPlan]:
    """``data.GRANTS`` as they stood at the end of 2024, with what happened to each after."""
    plans = []
    for g in data.GRANTS:
        after = later.HISTORY_GRANT_CHANGES.get(g["reference"], {})
        changes = [
            (date.fromisoformat(day), status, 100 if probability is None else probability)
            for day, status, probability in after.get("changes", ())
        ]
        awarded_on = _d(g.get("awarded_on")) or next(
            (day for day, status, _ in changes if status == "awarded"), None
        )
        received = iter(after.get("received", ()))
        plan = GrantPlan(
            reference=g["reference"],
            funder=g["funder"],
            category=g["category"],
            title=g["title"],
            amount=Decimal(g["amount"]),
            start_on=date.fromisoformat(g["start_on"]),
            end_on=date.fromisoformat(g["end_on"]),
            status=g["status"],
            probability=g.get("probability", 100),
            changes=changes,
            role=g.get("role", "sole"),
            currency=g.get("currency", "USD"),
            restricted=g.get("restricted", False),
            awarded_on=awarded_on,
        )
        for expected, amount, got in g.get("disbursements", ()):
            on = _d(got) or (
                _d(next(received)) if plan.status != "declined" and _becomes_awarded(plan) else None
            )
            plan.disbursements.append(Payment(date.fromisoformat(expected), Decimal(amount), on))
        for sub in g.get("subawards", ()):
            subaward = SubawardPlan(
                reference=sub["reference"],
                recipient=sub["recipient"],
                amount=Decimal(sub["amount"]),
                start_on=date.fromisoformat(sub["start_on"]),
                end_on=date.fromisoformat(sub["end_on"]),
            )
            first, count, step = sub["payments"]
            for i, amount in enumerate(split(subaward.amount, count)):
                due = date.fromisoformat(first) + relativedelta(months=step * i)
                subaward.payments.append(Payment(due, amount, due + timedelta(days=10)))
            plan.subawards.append(subaward)
        plans.append(plan)
    return plans


def _becomes_awarded(plan: GrantPlan) -> bool:
    return plan.status in ("awarded", "closed") or any(status == "awarded" for _, status, _ in plan.changes)


def donations(until: date) -> list[GrantPlan]:
    """Year-end giving after 2024, on the books once it arrives."""
    found = []
    for year in range(HISTORY_END.year + 1, until.year + 1):
        amount = Decimal(round(45000 * (1 + later.DONATIONS_GROWTH) ** (year - 2024), -3))
        given = date(year, 12, 15)
        found.append(
            GrantPlan(
                reference=f"donors-{year}",
                funder="individual-donors",
                category="donation",
                title=f"Year-end giving {year}",
                amount=amount,
                start_on=date(year, 12, 1),
                end_on=date(year, 12, 31),
                status="closed",
                probability=100,
                shown_on=given,
                awarded_on=given,
                disbursements=[Payment(given, amount, given + timedelta(days=5))],
            )
        )
    return found


def long_shots(until: date) -> list[GrantPlan]:
    """The large federal programme, tried for again each year after 2025 (``later.LONG_SHOT``)."""
    funder, title, chance, lowest, highest = later.LONG_SHOT
    found, luck = [], Luck()
    for year in range(HISTORY_END.year + 2, until.year + 1):
        stream = rng(f"long-shot-{year}")
        amount = Decimal(stream.randrange(lowest, highest + 1, 50000))
        awarded = luck.award(chance)
        decided = date(year, 8, stream.randint(5, 25))
        start = date(year, 10, 1)
        end = start + relativedelta(years=3, days=-1)
        plan = GrantPlan(
            reference=f"{FUNDER_SHORT[funder]}-infrastructure-{year}",
            funder=funder,
            category="direct_grant",
            title=title,
            amount=amount,
            start_on=start,
            end_on=end,
            status="prospect",
            probability=15,
            shown_on=date(year, 1, stream.randint(8, 20)),
            changes=[
                (date(year, 3, stream.randint(2, 20)), "submitted", chance),
                (decided, "awarded" if awarded else "declined", 100 if awarded else 0),
            ],
            awarded_on=decided if awarded else None,
        )
        if awarded:
            plan.changes.append((months_later(end, 2), "closed", 100))
        for i, part in enumerate(split(amount, 6)):
            expected = start + relativedelta(months=6 * i, days=14)
            plan.disbursements.append(
                Payment(expected, part, expected + timedelta(days=12) if awarded else None)
            )
        found.append(plan)
    return found


class Luck:
    """Decides applications so that about as many are won as their probabilities say, without
    long streaks either way: each one adds its probability to what is owed, and a win pays one."""

    def __init__(self) -> None:
        self.owed = 0.0

    def award(self, probability: int) -> bool:
        self.owed += probability / 100
        if self.owed >= 0.5:
            self.owed -= 1
            return True
        return False


def application(number: int, opened_on: date, amount: Decimal, references: set[str], luck: Luck) -> GrantPlan:
    """The ``number``-th application the organization makes after 2024, opened on ``opened_on``.

    It is a prospect for a few weeks, submitted, then decided two to four months later. Awarded
    money arrives a year apart in two or three tranches; a prime grant passes a quarter on to two
    partners.
    """
    stream = rng(f"application-{number}")
    funder, category, role, title, currency, restricted = later.APPLICATIONS[number % len(later.APPLICATIONS)]
    title = title.format(topic=stream.choice(later.TOPICS), region=stream.choice(later.REGIONS))
    if currency != "USD":
        amount = (amount / Decimal("1.1") / 1000).quantize(Decimal("1")) * 1000
    shown = opened_on + timedelta(days=stream.randint(3, 12))
    submitted = shown + timedelta(days=stream.randint(20, 45))
    decided = submitted + timedelta(days=stream.randint(60, 120))
    probability = stream.choice((40, 50, 60, 70))
    awarded = luck.award(probability)
    start = (decided + relativedelta(months=1)).replace(day=1)
    years = 3 if amount >= 800000 else 2
    end = start + relativedelta(years=years, days=-1)
    stem = f"{FUNDER_SHORT[funder]}-{slugify(' '.join(title.split()[:2]))}-{start.year}"
    reference, n = stem, 1
    while reference in references:
        n += 1
        reference = f"{stem}-{n}"
    references.add(reference)
    changes = [
        (submitted, "submitted", probability),
        (decided, "awarded" if awarded else "declined", 100 if awarded else 0),
    ]
    if awarded:
        changes.append((months_later(end, 2), "closed", 100))
    plan = GrantPlan(
        reference=reference,
        funder=funder,
        category=category,
        title=title,
        amount=amount,
        start_on=start,
        end_on=end,
        status="prospect",
        probability=max(10, probability - 25),
        shown_on=shown,
        changes=changes,
        role=role,
        currency=currency,
        restricted=restricted,
        awarded_on=decided if awarded else None,
    )
    for i, part in enumerate(split(amount, years if years == 2 else stream.choice((2, 3)))):
        expected = start + relativedelta(years=i, days=14)
        plan.disbursements.append(
            Payment(expected, part, expected + timedelta(days=stream.randint(5, 20)) if awarded else None)
        )
    if role == "prime":
        for recipient, share in zip(later.SUBRECIPIENTS, (Decimal("0.15"), Decimal("0.10")), strict=True):
            subaward = SubawardPlan(
                reference=f"{reference}-{slugify(recipient.split()[-2])}",
                recipient=recipient,
                amount=(amount * share).quantize(Decimal("1")),
                start_on=start + relativedelta(months=2),
                end_on=end,
            )
            for i, part in enumerate(split(subaward.amount, 4)):
                due = subaward.start_on + relativedelta(months=6 * i, days=14)
                subaward.payments.append(Payment(due, part, due + timedelta(days=10) if awarded else None))
            plan.subawards.append(subaward)
    return plan
