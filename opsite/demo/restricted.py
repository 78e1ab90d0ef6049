"""The demo's restricted money: what each grant is for, its budget by category, the staff time and
expenses charged to it, and the reports owed to its funder.

Budget lines, allocations and reports change no figure the demo pins (the runway charges payroll
and expenses whoever pays them); they feed budget vs actual, the unrestricted runway and the
report deadlines. Two grants in effect at the demo's end are budgeted so that one spends faster
than time and one slower, and of the open reports one is late and one due within 35 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from django.contrib.auth import get_user_model

from funding.budget import budget_vs_actual
from funding.models import FunderReport, Grant, GrantBudgetLine, StaffAllocation
from staff.models import StaffMember

from .dates import HISTORY_END
from .writing import Writer

PURPOSES = {
    "osf-core-2021": "Core operations of the community hub service: the engineers who run it and its cloud.",
    "nra-regional-2022": "Regional open science hubs for Latin America and Africa, with two partners.",
    "eort-notebooks-2023": "Reproducible notebooks for European research groups.",
}

# (grant, [(person, share)]): each person's share of their time on the grant while both run. The
# grants and people of the published history; later grants are staffed by `_later_allocations`.
ALLOCATIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "osf-core-2021",
        (("amara-okafor", "0.75"), ("daniel-reyes", "0.75"), ("mei-lin-tan", "0.75"), ("jonas-berg", "0.6")),
    ),
    (
        "nra-regional-2022",
        (("tomas-alvarez", "0.5"), ("grace-mwangi", "0.5"), ("sofia-rossi", "0.4"), ("hana-sato", "0.3")),
    ),
    ("eort-notebooks-2023", (("kwame-asante", "0.5"), ("hana-sato", "0.3"), ("elena-petrova", "0.5"))),
    ("osf-education-2024", (("noah-kim", "0.5"), ("jonas-berg", "0.4"))),
    ("osf-core-2025", (("amara-okafor", "0.4"), ("daniel-reyes", "0.4"), ("mei-lin-tan", "0.3"))),
)
HISTORY_PEOPLE = frozenset(slug for _, shares in ALLOCATIONS for slug, _ in shares)
# A grant won after the history is staffed by the two newest people on the team when it starts,
# half their time each (each person on one such grant).
LATER_STAFF, LATER_SHARE = 2, Decimal("0.5")

# Expenses charged to a grant, by (name, start_on): each lies within its grant's dates.
EXPENSE_GRANTS = {
    ("AWS hosting", date(2023, 7, 1)): "nra-regional-2022",
    ("Team gathering 2023", date(2023, 10, 16)): "nra-regional-2022",
    ("Laptops for new staff", date(2024, 2, 1)): "eort-notebooks-2023",
    ("Team gathering 2024", date(2024, 10, 14)): "eort-notebooks-2023",
    ("Annual audit FY2025", date(2026, 3, 31)): "osf-core-2025",
    ("Equipment for new staff 2026", date(2026, 2, 3)): "osf-core-support-2026",
    ("Team gathering 2026", date(2026, 10, 12)): "nra-regional-hubs-2026",
}

# The pace each budgeted grant shows at its end (or at the demo's end while it runs): the
# personnel line is sized from what was charged, so these paces hold whatever the payroll.
PACES = {
    "osf-core-2021": Decimal("0.97"),
    "nra-regional-2022": Decimal("1.02"),
    "eort-notebooks-2023": Decimal("0.94"),
    "osf-core-2025": Decimal("0.55"),  # slower than time: its engineers went to newer grants
}
# Grants won after the history and in effect at the end: the newest spends faster than time (its
# partners and a team gathering were paid up front), the others on pace.
NEWEST_PACE, LATER_PACE = Decimal("1.35"), Decimal("1.0")
THOUSAND = Decimal("1000")


def purpose_of(reference: str, title: str, restricted: bool) -> str:
    """What a restricted grant's money is for (its title when the demo names nothing more)."""
    return PURPOSES.get(reference) or (f"{title}." if restricted else "")


def expense_grant(name: str, start_on: date, grants: dict[str, Grant]) -> Grant | None:
    reference = EXPENSE_GRANTS.get((name, start_on))
    return grants.get(reference) if reference else None


def _span(grant: Grant, person: StaffMember) -> tuple[date, date] | None:
    start = max(grant.start_on, person.start_on)
    end = min(grant.end_on, person.end_on or grant.end_on)
    return (start, end) if start <= end else None


def later_grants(grants: dict[str, Grant], end: date) -> list[Grant]:
    """Grants won after the history and in effect at ``end``, the newest first."""
    found = [
        grant
        for grant in grants.values()
        if grant.status == "awarded"
        and grant.start_on > HISTORY_END
        and grant.start_on <= end <= grant.end_on
        and grant.reference not in PACES
    ]
    return sorted(found, key=lambda grant: (grant.start_on, grant.reference), reverse=True)


def _later_allocations(later: list[Grant], people: dict[str, StaffMember]) -> list[StaffAllocation]:
    taken = set(HISTORY_PEOPLE)
    rows = []
    for grant in reversed(later):  # the oldest first: it was staffed first
        on_start = [
            person
            for person in people.values()
            if person.slug not in taken and _span(grant, person) and person.start_on <= grant.start_on
        ]
        for person in sorted(on_start, key=lambda p: (p.start_on, p.slug), reverse=True)[:LATER_STAFF]:
            taken.add(person.slug)
            start, finish = _span(grant, person)
            rows.append(
                StaffAllocation(staff=person, grant=grant, share=LATER_SHARE, start_on=start, end_on=finish)
            )
    return rows


def build_restricted(writer: Writer, *, end: date) -> None:
    """Allocations, budget lines and funder reports for the grants on the books at ``end``."""
    grants = writer.by(Grant, "reference")
    people = writer.by(StaffMember, "slug")
    later = later_grants(grants, end)
    paces = {**PACES, **{grant.reference: LATER_PACE for grant in later}}
    if later:
        paces[later[0].reference] = NEWEST_PACE
    allocations = _later_allocations(later, people)
    for reference, shares in ALLOCATIONS:
        grant = grants.get(reference)
        if grant is None:
            continue
        for slug, share in shares:
            span = _span(grant, people[slug])
            if span and span[0] <= end:
                allocations.append(
                    StaffAllocation(
                        staff=people[slug],
                        grant=grant,
                        share=Decimal(share),
                        start_on=span[0],
                        end_on=span[1],
                    )
                )
    writer.ensure(StaffAllocation, allocations, ("staff_id", "grant_id", "start_on"), history=True)
    budgeted = [
        grants[reference] for reference in paces if reference in grants and grants[reference].start_on < end
    ]
    lines = []
    for figures in budget_vs_actual(grants=budgeted, as_of=end):
        lines.extend(_lines(figures.grant, figures, paces[figures.grant.reference]))
    writer.ensure(GrantBudgetLine, lines, ("grant_id", "category"), history=True)
    writer.ensure(
        FunderReport, _reports(grants, paces, end), ("grant_id", "kind", "period_end"), history=True
    )


def _lines(grant: Grant, figures, pace: Decimal) -> list[GrantBudgetLine]:
    """Lines whose total paces at ``pace`` (never past the grant): subawards at what was passed
    on, the rest shared among the categories charged in proportion to what each was charged."""
    if figures.elapsed_share <= 0:
        return []
    spent = {str(line.category): line.spent for line in figures.lines if line.spent > 0}
    total = min(figures.total.spent / (figures.elapsed_share * pace), grant.amount)
    amounts: dict[str, Decimal] = {}
    subawarded = sum((s.amount for s in grant.subawards.all()), Decimal(0))
    if subawarded:
        amounts["subawards"] = subawarded
        spent.pop("subawards", None)
    rest = max(total - subawarded, Decimal(0))
    charged = sum(spent.values(), Decimal(0)) or Decimal(1)
    for category, amount in (spent or {"personnel": Decimal(1)}).items():
        amounts[category] = (rest * amount / charged).quantize(THOUSAND, rounding=ROUND_DOWN)
    return [GrantBudgetLine(grant=grant, category=c, amount=a) for c, a in amounts.items() if a > 0]


@dataclass(frozen=True)
class _Report:
    reference: str
    kind: str
    period_start: date
    period_end: date
    due_on: date
    submitted: bool


def _reports(grants: dict[str, Grant], paces: dict[str, Decimal], end: date) -> list[FunderReport]:
    """Yearly interim reports and a final one 90 days after each budgeted grant ends; those due
    before ``end`` were submitted, but the final report of the education grant is late, and one
    interim report of the core grant is due three weeks after ``end``."""
    plans: list[_Report] = []
    for reference in paces:
        grant = grants.get(reference)
        if grant is None:
            continue
        start = grant.start_on
        while start.replace(year=start.year + 1) <= grant.end_on:
            period_end = start.replace(year=start.year + 1) - timedelta(days=1)
            plans.append(
                _Report(reference, "interim", start, period_end, period_end + timedelta(days=60), True)
            )
            start = period_end + timedelta(days=1)
        plans.append(
            _Report(reference, "final", grant.start_on, grant.end_on, grant.end_on + timedelta(days=90), True)
        )
    if "osf-education-2024" in grants:
        grant = grants["osf-education-2024"]
        plans.append(
            _Report(
                grant.reference,
                "final",
                grant.start_on,
                grant.end_on,
                grant.end_on + timedelta(days=90),
                False,
            )
        )
    if "osf-core-2025" in grants:
        grant = grants["osf-core-2025"]
        plans = [p for p in plans if not (p.reference == grant.reference and p.kind == "interim")]
        plans.append(
            _Report(grant.reference, "interim", grant.start_on, end, end + timedelta(days=21), False)
        )
    owner = get_user_model().objects.filter(username="finance").first()
    rows = []
    for plan in plans:
        if plan.period_start > end:
            continue
        submitted = plan.submitted and plan.due_on <= end
        rows.append(
            FunderReport(
                grant=grants[plan.reference],
                kind=plan.kind,
                period_start=plan.period_start,
                period_end=plan.period_end,
                due_on=plan.due_on,
                owner=owner,
                submitted_on=plan.due_on - timedelta(days=3) if submitted else None,
            )
        )
    return rows
