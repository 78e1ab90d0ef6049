"""The figures of the KPI block on every month-end, for the rollup recompute to store.

The public API never computes figures on request (docs/api.md "Public KPI API"): ``?as_of`` is
answered from the ``kpis:<YYYY-MM-DD>`` blocks the recompute stores, one for each month-end from
the one before the figures begin to its as-of day (:func:`month_end_figures`). A day between two
month-ends gets the block of the month-end before it (or of the as-of day, when that is later).

Users, hubs and communities (``communities.rollups``) and the headcount (``staff.rollups``) are
read on every month-end by the recompute already: they are the monthly series' figures. What no
series holds is the counted contributions from ``OPSITE_CONTRIBUTIONS_SINCE`` up to each
month-end: distinct repositories do not add up across months. They are counted here, in one pass
over the contributions by day and repository (:func:`contributions_by_month_end`), and kept in
``state:month-ends`` with the contributions' input signature: while it holds, the next recompute
reads only the contributions merged after the last month-end counted. Otherwise every one since
``OPSITE_CONTRIBUTIONS_SINCE`` is read again, in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from communities import rollups as usage_rollups
from contributions import rollups as contribution_rollups
from opsite.core.periods import MONTH, month_end, periods_between
from staff import rollups as staff_rollups

STATE_MONTH_ENDS = "state:month-ends"

# The figures of one KPI block: what ``opsite.kpis.rollups._kpi_block`` is made of.
Figures = tuple[usage_rollups.Usage, contribution_rollups.ContributionTotals, staff_rollups.Staffing]


def last_month_end(day: date) -> date:
    """The last month-end on or before ``day``: ``day`` itself at the end of a month."""
    return day if month_end(day) == day else day.replace(day=1) - timedelta(days=1)


def month_ends_between(start: date, end: date) -> list[date]:
    """The month-ends from ``start`` to ``end``, both included, oldest first."""
    return [period.end for period in periods_between(start, end, MONTH) if start <= period.end <= end]


def no_figures(day: date) -> Figures:
    """The figures on a day before any data: zero everywhere."""
    return (
        usage_rollups.Usage(day, **dict.fromkeys(usage_rollups.USAGE_FIELDS, 0)),
        contribution_rollups.ContributionTotals(
            since=contribution_rollups.contributions_since(),
            as_of=day,
            merged_pull_requests=0,
            repositories=0,
        ),
        staff_rollups.Staffing(day, headcount=0, fte=Decimal("0.00")),
    )


@dataclass(frozen=True)
class MonthEndTotals:
    """Counted contributions from the setting's day to each month-end, and the state to continue
    from. A month-end before the first counted contribution has none, and is not listed."""

    since: date
    totals: dict[date, tuple[int, int]]
    first: date | None
    state: dict[str, Any]

    def on(self, day: date) -> contribution_rollups.ContributionTotals:
        merged, repositories = self.totals.get(day, (0, 0))
        return contribution_rollups.ContributionTotals(
            since=self.since, as_of=day, merged_pull_requests=merged, repositories=repositories
        )


def contributions_by_month_end(
    last: date,
    state: dict[str, Any] | None,
    *,
    watermark: datetime,
    read: contribution_rollups.FactsRead | None = None,
) -> MonthEndTotals:
    """The count and distinct repositories of counted contributions from ``OPSITE_CONTRIBUTIONS_SINCE``
    to every month-end up to ``last`` (a month-end), continuing from ``state`` when it holds.

    It holds while ``last`` has not gone back and what it counted is still so
    (``contributions.rollups.counted_as_before``): then the month-ends it counted keep their
    totals, and only contributions merged after its last month-end are read (an indexed range on
    ``merged_at``). ``watermark`` is recorded for the next run, as the contributions' state's.
    Facts the recompute already read (``read``) are taken from there when they cover the range.
    """
    signature = contribution_rollups.inputs_signature()
    marks = contribution_rollups.pull_request_marks(watermark)
    since = contribution_rollups.contributions_since()
    through = date.fromisoformat(state["through"]) if state else None
    if (
        state
        and through is not None
        and through <= last
        and contribution_rollups.counted_as_before(state, signature=signature, through=through)
    ):
        start = max(through + timedelta(days=1), since)
        facts = contribution_rollups.facts_between(start, last, read=read) if start <= last else []
        first = date.fromisoformat(state["first"]) if state["first"] else None
        merged, repositories = state["merged"], set(state["repositories"])
        totals = {date.fromisoformat(day): (pair[0], pair[1]) for day, pair in state["totals"].items()}
        counted_from = through + timedelta(days=1)
        recent = [*state["recent"], *contribution_rollups.recent_rows(facts, through=last)]
    else:
        facts = contribution_rollups.facts_between(since, last, read=read)
        first, merged, repositories, totals = None, 0, set(), {}
        counted_from = facts[0].day if facts else last + timedelta(days=1)
        recent = contribution_rollups.recent_rows(facts, through=last)
    first = first or (facts[0].day if facts else None)
    if first is not None:
        index = 0
        for end in month_ends_between(max(counted_from, first), last):
            # Facts come oldest first: each is added once, into every month-end from its own on.
            while index < len(facts) and facts[index].day <= end:
                merged += facts[index].merged
                repositories.add(facts[index].repository_id)
                index += 1
            totals[end] = (merged, len(repositories))
    recent_from = (last - timedelta(days=contribution_rollups.RECENT_DAYS - 1)).isoformat()
    new_state = {
        "signature": signature,
        "pull_requests": marks,
        "recent": [row for row in recent if row[0] >= recent_from],
        "through": last.isoformat(),
        "first": first.isoformat() if first else None,
        "merged": merged,
        "repositories": sorted(repositories),
        "totals": {day.isoformat(): list(pair) for day, pair in sorted(totals.items())},
    }
    return MonthEndTotals(since=since, totals=totals, first=first, state=new_state)


@dataclass(frozen=True)
class MonthEnds:
    """The figures of the KPI block on each month-end, and the state to continue from."""

    figures: dict[date, Figures]
    state: dict[str, Any]


def month_end_figures(
    as_of: date,
    *,
    usage: dict[date, usage_rollups.Usage],
    usage_first: date | None,
    staffing: dict[date, staff_rollups.Staffing],
    staff_first: date | None,
    state: dict[str, Any] | None,
    watermark: datetime,
    contributions_read: contribution_rollups.FactsRead | None = None,
) -> MonthEnds:
    """The figures on every month-end from the one before the figures begin to ``as_of``.

    ``usage`` and ``staffing`` are the recompute's figures by day, which hold every month-end from
    the month of ``usage_first`` (``staff_first``) on; before it there is no usage (staff), so
    none is read. The figures begin on the earliest of those days and of the first contribution
    counted; the month-end before it is included, with zero everywhere, so that every day up to
    ``as_of`` has a month-end on or before it with figures, or none at all because it precedes them.
    """
    last = last_month_end(as_of)
    contributions = contributions_by_month_end(last, state, watermark=watermark, read=contributions_read)
    firsts = [day for day in (usage_first, staff_first, contributions.first) if day is not None]
    days = month_ends_between(min(firsts).replace(day=1) - timedelta(days=1), last) if firsts else []
    figures = {}
    for day in days:
        nothing = no_figures(day)
        figures[day] = (
            usage[day] if usage_first is not None and day >= usage_first else nothing[0],
            contributions.on(day),
            staffing[day] if staff_first is not None and day >= staff_first else nothing[2],
        )
    return MonthEnds(figures=figures, state=contributions.state)
