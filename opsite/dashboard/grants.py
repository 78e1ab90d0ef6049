"""The "Grant budgets and reports" panel: grants spending faster or slower than time, and the reports owed
to funders that are due soon or late (docs/definitions.md "Restricted money and funder reports").

Spent figures reveal pay (allocations are a share of a person's payroll): the pace list is built
only for a user who may view allocations (Finance, Leadership). The reports list needs
``funding.view_funderreport``. Costs the budget selector's constant queries and one for the
reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse

from funding.budget import pace_outliers
from funding.models import FunderReport
from opsite.core.formatting import format_percent

VIEW_SPENT = "funding.view_staffallocation"
VIEW_REPORTS = "funding.view_funderreport"
# The reminders go out 35 days ahead: from then on a report is "due" on the dashboard too.
DUE_WITHIN = timedelta(days=35)
PACE_LOW, PACE_HIGH = Decimal("0.8"), Decimal("1.2")


@dataclass(frozen=True)
class PaceItem:
    reference: str
    title: str
    pace: Decimal
    spent_share: str  # spent / budget, "64.2%"
    elapsed_share: str  # elapsed days / grant days
    faster: bool
    url: str


@dataclass(frozen=True)
class ReportItem:
    reference: str
    kind: str
    period_start: date
    period_end: date
    due_on: date
    days: int  # days left, or days late when ``late``
    late: bool
    owner: str
    url: str


def _share(value: Decimal) -> str:
    return format_percent(value.quantize(Decimal("0.001")), fraction=True)


def pace_items(user, as_of: date | None) -> list[PaceItem]:
    """Grants in effect on ``as_of`` whose spend pace is outside 0.8-1.2, the farthest off first."""
    if as_of is None or not user.has_perm(VIEW_SPENT):
        return []
    items = []
    for figures in pace_outliers(as_of=as_of, low=PACE_LOW, high=PACE_HIGH):
        total = figures.total
        items.append(
            PaceItem(
                reference=figures.grant.reference,
                title=figures.grant.title,
                pace=figures.pace,
                spent_share=_share(total.spent / total.budget if total.budget else Decimal(0)),
                elapsed_share=_share(figures.elapsed_share),
                faster=figures.pace > PACE_HIGH,
                url=reverse("admin:funding_grant_change", args=[figures.grant.pk]),
            )
        )
    return items


def report_items(user, today: date) -> list[ReportItem]:
    """Reports not submitted whose due day is past or within 35 days, the soonest first."""
    if not user.has_perm(VIEW_REPORTS):
        return []
    rows = (
        FunderReport.objects.filter(submitted_on__isnull=True, due_on__lte=today + DUE_WITHIN)
        .select_related("grant", "owner")
        .order_by("due_on", "grant__reference", "pk")
    )
    return [
        ReportItem(
            reference=row.grant.reference,
            kind=row.get_kind_display(),
            period_start=row.period_start,
            period_end=row.period_end,
            due_on=row.due_on,
            days=abs((row.due_on - today).days),
            late=row.due_on < today,
            owner=row.owner_name,
            url=reverse("admin:funding_funderreport_change", args=[row.pk]),
        )
        for row in rows
    ]
