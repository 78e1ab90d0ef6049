"""Headcount and FTE: who is on staff on a day, by team.

**Employed on day d**: ``start_on <= d`` and (``end_on`` is null or ``end_on >= d``): the last day
counts. :func:`employed_on` is that definition, once, as a ``Q``; the headcount below and the
counted upstream contributions (``contributions.rollups``) both filter with it.

A person whose ``start_on`` or ``end_on`` lies outside the plausible range (``opsite.core.dates``;
stored before the range was checked, or by raw SQL) is left out of both (:func:`plausible_staff`):
a start in year 300 would start the headcount series there, a month at a time.
:func:`implausible_rows` counts them for the data-quality report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.db.models.expressions import Combinable

from opsite.core.dates import plausible_range
from opsite.core.periods import Period, periods_between

from .choices import Team
from .models import StaffMember

# Days per query: one Count column per day, well inside SQLite's limits.
DAYS_PER_QUERY = 100


def employed_on(day: date | Combinable, *, prefix: str = "") -> Q:
    """Staff employed on ``day`` (a date, or an expression such as a merge date).

    ``prefix`` reaches the staff member through a relation, e.g. ``"author__"``.
    """
    return Q(**{f"{prefix}start_on__lte": day}) & (
        Q(**{f"{prefix}end_on__isnull": True}) | Q(**{f"{prefix}end_on__gte": day})
    )


def plausible_staff(*, prefix: str = "") -> Q:
    """Staff whose employment dates lie in the plausible range (``prefix`` as for ``employed_on``)."""
    span = plausible_range()
    return Q(**{f"{prefix}start_on__range": span}) & (
        Q(**{f"{prefix}end_on__isnull": True}) | Q(**{f"{prefix}end_on__range": span})
    )


def implausible_rows() -> dict[str, int]:
    """How many people the rollups leave out for a date outside the plausible range (one query)."""
    counts = StaffMember.objects.aggregate(rows=Count("pk"), kept=Count("pk", filter=plausible_staff()))
    return {"staff.StaffMember": counts["rows"] - counts["kept"]}


@dataclass(frozen=True)
class TeamStaff:
    headcount: int = 0
    fte: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Staffing:
    """Headcount and FTE on one day, in total and by team (every team, zero included)."""

    day: date
    headcount: int
    fte: Decimal
    by_team: dict[str, TeamStaff] = field(default_factory=dict)


def staffing_on(days: Iterable[date]) -> dict[date, Staffing]:
    """Headcount and FTE on each of ``days``, aggregated in the database.

    Grouped by (team, fte) with one conditional count per day, so the FTE sums are exact
    decimals computed here rather than a database SUM (a float on SQLite).
    """
    days = sorted(set(days))
    counts: dict[date, dict[str, dict[Decimal, int]]] = {day: {} for day in days}
    for offset in range(0, len(days), DAYS_PER_QUERY):
        chunk = days[offset : offset + DAYS_PER_QUERY]
        aggregates = {f"d{i}": Count("pk", filter=employed_on(day)) for i, day in enumerate(chunk)}
        rows = (
            StaffMember.objects.filter(plausible_staff())
            .order_by()
            .values("team", "fte")
            .annotate(**aggregates)
            .values_list("team", "fte", *aggregates.keys())
        )
        for team, fte, *per_day in rows:
            for day, number in zip(chunk, per_day, strict=True):
                if number:
                    by_fte = counts[day].setdefault(team, {})
                    by_fte[fte] = by_fte.get(fte, 0) + number
    result = {}
    for day in days:
        by_team = {
            team: TeamStaff(
                headcount=sum(counts[day].get(team, {}).values()),
                fte=sum((fte * n for fte, n in counts[day].get(team, {}).items()), Decimal("0.00")),
            )
            for team in Team.values
        }
        result[day] = Staffing(
            day=day,
            headcount=sum(team.headcount for team in by_team.values()),
            fte=sum((team.fte for team in by_team.values()), Decimal("0.00")),
            by_team=by_team,
        )
    return result


def staffing_as_of(day: date) -> Staffing:
    """Headcount and FTE on one day."""
    return staffing_on([day])[day]


def staffing_series(*, interval: str, start: date, as_of: date) -> list[tuple[Period, Staffing]]:
    """Headcount and FTE of every period, read on its last day (or ``as_of`` for the current one)."""
    periods = periods_between(start, as_of, interval)
    figures = staffing_on(period.reading_day(as_of) for period in periods)
    return [(period, figures[period.reading_day(as_of)]) for period in periods]


def staffing_first_day() -> date | None:
    """The earliest start date: where the headcount series begin."""
    return (
        StaffMember.objects.filter(plausible_staff())
        .order_by("start_on")
        .values_list("start_on", flat=True)
        .first()
    )


def inputs_signature() -> str:
    """A digest of everything headcount and FTE depend on: one query over the (small) roster."""
    rows = list(StaffMember.objects.order_by("pk").values_list("pk", "team", "fte", "start_on", "end_on"))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@dataclass(frozen=True)
class StaffingRun:
    """Staffing by day, the state to continue from next time, and how many days were counted."""

    figures: dict[date, Staffing]
    state: dict[str, Any]
    days_read: int


def staffing_incremental(days: set[date], state: dict[str, Any] | None) -> StaffingRun:
    """Headcount and FTE on ``days``, reusing the days of ``state`` (what a previous run returned)
    while the roster's signature is unchanged: what that saves is a hundred-odd conditional counts."""
    signature = inputs_signature()
    figures: dict[date, Staffing] = {}
    if state and state.get("signature") == signature:
        for iso, (headcount, fte, by_team) in state["days"].items():
            day = date.fromisoformat(iso)
            if day in days:
                teams = {
                    team: TeamStaff(headcount=count, fte=Decimal(team_fte))
                    for team, (count, team_fte) in by_team.items()
                }
                figures[day] = Staffing(day=day, headcount=headcount, fte=Decimal(fte), by_team=teams)
    todo = days - figures.keys()
    figures.update(staffing_on(todo))
    new_state = {
        "signature": signature,
        "days": {
            day.isoformat(): [
                staffing.headcount,
                str(staffing.fte),
                {team: [members.headcount, str(members.fte)] for team, members in staffing.by_team.items()},
            ]
            for day, staffing in sorted(figures.items())
        },
    }
    return StaffingRun(figures=figures, state=new_state, days_read=len(todo))
