"""Counted upstream contributions: merged pull requests by our staff in key communities.

**Counted upstream contribution** (docs/definitions.md), implemented once in
:func:`counted_pull_requests`: a ``PullRequest`` with ``merged_at`` set, in a repository whose
upstream community ``is_key``, whose author is a staff member employed on the merge date
(``staff.rollups.employed_on``: ``start_on <= merged_at.date() <= end_on``, open end allowed),
and not ``is_bot``.

The merge date is the UTC date of ``merged_at``: Django runs every database session in UTC when
``USE_TZ`` is on, so casting the instant to a date gives the UTC date on SQLite and PostgreSQL
alike, whatever time zone a request has activated. Periods come from ``opsite.core.periods``.

A pull request merged outside the plausible range (``opsite.core.dates``; stored before the range
was checked, or by raw SQL), or authored by a person whose employment dates are outside it
(``staff.rollups.plausible_staff``), is not counted: a merge in year 1 would start the series
there. :func:`implausible_rows` counts the pull requests left out for the data-quality report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connections
from django.db.models import Count, DateField, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Cast

from opsite.core.dates import plausible_range
from opsite.core.deletions import deleted_since
from opsite.core.periods import INTERVALS, Period, period_of, period_start, periods_between
from staff.models import StaffMember
from staff.rollups import employed_on, plausible_staff

from .models import PullRequest, Repository, UpstreamCommunity


def contributions_since() -> date:
    """Where the public contribution totals start (setting ``OPSITE_CONTRIBUTIONS_SINCE``)."""
    since = settings.OPSITE_CONTRIBUTIONS_SINCE
    return since if isinstance(since, date) else date.fromisoformat(str(since))


def counted_pull_requests() -> QuerySet[PullRequest]:
    """Every counted upstream contribution, with its UTC merge date as ``merged_on``."""
    return (
        PullRequest.objects.filter(
            merged_at__isnull=False,
            repository__upstream_community__is_key=True,
            is_bot=False,
            author__isnull=False,
        )
        .alias(merged_on=Cast("merged_at", DateField()))
        .filter(merged_on__range=plausible_range())
        .filter(plausible_staff(prefix="author__"))
        .filter(employed_on(F("merged_on"), prefix="author__"))
    )


def implausible_rows() -> dict[str, int]:
    """How many merged pull requests are left out for a merge instant outside the plausible range
    (one query, two short ranges of the ``merged_at`` index, never the whole table; those left
    out for their author's dates are counted on ``staff.StaffMember``). The merge date is the UTC
    date of the instant, so the range is from the first day's midnight UTC to the day after the
    last's."""
    first, last = plausible_range()
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    left_out = PullRequest.objects.filter(Q(merged_at__lt=start) | Q(merged_at__gte=end)).count()
    return {"contributions.PullRequest": left_out}


class ContributionFact(NamedTuple):
    """Counted contributions merged on one day in one repository.

    A named tuple: a recompute handles tens of thousands, and tuples are cheap to build.
    """

    day: date
    repository_id: int
    community: str
    merged: int


def contribution_facts(*, start: date | None = None, end: date | None = None) -> list[ContributionFact]:
    """Counted contributions grouped by (merge date, repository), oldest first: one query.

    Everything the totals and series need, at the grain that keeps distinct repositories
    countable over any span: the database cannot add distinct counts across days, one pass
    over these rows can.
    """
    rows = counted_pull_requests()
    if start is not None:
        rows = rows.filter(merged_at__gte=datetime.combine(start, time.min, tzinfo=UTC))
    if end is not None:
        rows = rows.filter(merged_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))
    grouped = (
        rows.order_by()
        .annotate(day=F("merged_on"))
        .values_list("day", "repository_id", "repository__upstream_community__slug")
        .annotate(merged=Count("pk"))
        .order_by("day", "repository_id")
    )
    # Run on the cursor rather than iterated: the ORM's per-value converters cost a third of the
    # query again at a hundred thousand rows, where a few thousand distinct days need parsing.
    sql, params = grouped.query.get_compiler(using=grouped.db).as_sql()
    with connections[grouped.db].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    days: dict[Any, date] = {}
    facts = []
    for day, repository_id, community, merged in found:
        if day not in days:
            days[day] = _as_date(day)
        facts.append(ContributionFact(days[day], repository_id, community, merged))
    return facts


def _as_date(value: date | str) -> date:
    """A date the database answered: a date, or (SQLite) its ISO string."""
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True)
class FactsRead:
    """Contribution facts a recompute already read: every one merged from ``start`` (None: from
    the first) to ``end``, for another part of the recompute to reuse rather than read again."""

    start: date | None
    end: date
    facts: list[ContributionFact]

    def between(self, start: date, end: date) -> list[ContributionFact] | None:
        """The facts from ``start`` to ``end`` when this read covers them, else None."""
        if (self.start is not None and start < self.start) or end > self.end:
            return None
        return [fact for fact in self.facts if start <= fact.day <= end]


def facts_between(start: date, end: date, *, read: FactsRead | None = None) -> list[ContributionFact]:
    """:func:`contribution_facts` from ``start`` to ``end``, taken from ``read`` when it covers them."""
    facts = read.between(start, end) if read is not None else None
    return contribution_facts(start=start, end=end) if facts is None else facts


@dataclass(frozen=True)
class ContributionTotals:
    """Counted contributions from ``since`` to ``as_of``."""

    since: date
    as_of: date
    merged_pull_requests: int
    repositories: int


@dataclass(frozen=True)
class Contributions:
    """Counted contributions merged in one period, by upstream community slug."""

    period: Period
    merged_pull_requests: int
    repositories: int
    by_community: dict[str, int] = field(default_factory=dict)


def extend_totals(
    merged: int, repositories: Iterable[int], facts: Iterable[ContributionFact], *, since: date, as_of: date
) -> tuple[int, set[int]]:
    """Add the facts from ``since`` to ``as_of`` to a running total (merged count and the set of
    repositories): a pure function. From zero and an empty set, it is the total of the facts."""
    repositories = set(repositories)
    for day, repository_id, _, count in facts:
        if since <= day <= as_of:
            merged += count
            repositories.add(repository_id)
    return merged, repositories


def totals_from(facts: Iterable[ContributionFact], *, since: date, as_of: date) -> ContributionTotals:
    """The totals from ``since`` to ``as_of`` of the given facts (a pure function)."""
    merged, repositories = extend_totals(0, (), facts, since=since, as_of=as_of)
    return ContributionTotals(
        since=since, as_of=as_of, merged_pull_requests=merged, repositories=len(repositories)
    )


def extend_series(
    series: Sequence[Contributions],
    open_repositories: Iterable[int],
    facts: Iterable[ContributionFact],
    *,
    periods: Sequence[Period],
    as_of: date,
) -> tuple[list[Contributions], set[int]]:
    """Bring a series up to ``as_of``: a pure function.

    ``series`` holds the periods computed before (possibly none) and ``open_repositories`` the
    repositories of its last period, the one that was still open; ``facts`` are the contributions
    merged since. Periods closed before keep their figures, the open one continues, later ones
    start from zero. Returns the points of ``periods`` (all of one interval, in order) and the
    repositories of the last one, to continue from next time. A fact in a period that was
    already closed is an error: the caller's facts overlap what the series already counted.
    """
    if not periods:
        return [], set()
    interval = periods[0].interval
    index_of_start = {period.start: index for index, period in enumerate(periods)}
    kept = {point.period: point for point in series}
    merged = [0] * len(periods)
    repositories: list[set[int]] = [set() for _ in periods]
    communities: list[dict[str, int]] = [{} for _ in periods]
    counting = [False] * len(periods)
    if series and series[-1].period.start in index_of_start:
        index = index_of_start[series[-1].period.start]
        merged[index] = series[-1].merged_pull_requests
        repositories[index] = set(open_repositories)
        communities[index] = dict(series[-1].by_community)
        counting[index] = True
    index_of_day: dict[date, int | None] = {}
    for day, repository_id, community, count in facts:
        if day > as_of:
            continue
        # Facts come many per day: find each day's period once.
        if day not in index_of_day:
            index_of_day[day] = index_of_start.get(period_start(day, interval))
        index = index_of_day[day]
        if index is None:
            continue
        if not counting[index]:
            if periods[index] in kept:
                raise ValueError(
                    f"A contribution merged on {day.isoformat()} falls in a period already closed."
                )
            counting[index] = True
        merged[index] += count
        repositories[index].add(repository_id)
        communities[index][community] = communities[index].get(community, 0) + count
    points = [
        kept[period]
        if period in kept and not counting[index]
        else Contributions(
            period=period,
            merged_pull_requests=merged[index],
            repositories=len(repositories[index]),
            by_community=dict(sorted(communities[index].items())),
        )
        for index, period in enumerate(periods)
    ]
    return points, repositories[-1]


def by_period(
    facts: Iterable[ContributionFact], periods: Sequence[Period], *, as_of: date
) -> list[Contributions]:
    """The facts of each of ``periods`` (all of one interval, in order) up to ``as_of``: a pure
    function; facts outside the periods are left out."""
    return extend_series([], (), facts, periods=periods, as_of=as_of)[0]


def contributions_total(*, as_of: date, since: date | None = None) -> ContributionTotals:
    """The count and distinct repositories of counted contributions from ``since`` (default: the
    setting ``OPSITE_CONTRIBUTIONS_SINCE``) to ``as_of``."""
    since = since or contributions_since()
    return totals_from(contribution_facts(start=since, end=as_of), since=since, as_of=as_of)


def contributions_series(*, interval: str, start: date, as_of: date) -> list[Contributions]:
    """Counted contributions of every period from ``start``'s to ``as_of``'s (the current one up to
    ``as_of``), by upstream community, with the number of distinct repositories."""
    periods = periods_between(start, as_of, interval)
    if not periods:
        return []
    return by_period(contribution_facts(start=periods[0].start, end=as_of), periods, as_of=as_of)


def contributions_first_day() -> date | None:
    """The UTC date of the earliest counted contribution: where the series begin."""
    first = counted_pull_requests().order_by("merged_at").values_list("merged_at", flat=True).first()
    return first.astimezone(UTC).date() if first else None


def contributions_last_day() -> date | None:
    """The UTC date of the latest counted contribution."""
    last = counted_pull_requests().order_by("-merged_at").values_list("merged_at", flat=True).first()
    return last.astimezone(UTC).date() if last else None


def inputs_signature() -> str:
    """A digest of the small inputs of the counted contributions: ``since``, the repositories (by
    count, highest id, latest write and their upstream communities), the key communities and the
    staff's employment dates. A few cheap queries over tables of a few hundred rows.

    The pull requests, by far the biggest input, are not in it: they are followed by watermark
    (:func:`pull_request_marks`, :func:`pull_requests_changed_from`), never aggregated whole.
    """
    repositories = Repository.objects.aggregate(
        count=Count("pk"),
        last_id=Max("pk"),
        last_write=Max("updated_at"),
        communities=Sum("upstream_community_id"),
    )
    upstream = list(UpstreamCommunity.objects.order_by("pk").values_list("pk", "slug", "is_key"))
    staff = list(StaffMember.objects.order_by("pk").values_list("pk", "start_on", "end_on"))
    inputs = repr((contributions_since(), sorted(repositories.items()), upstream, staff))
    return hashlib.sha256(inputs.encode()).hexdigest()


# --- following the pull requests by watermark ----------------------------------------------------

PULL_REQUESTS = "contributions.PullRequest"
# The counted facts of this many days up to a state's day are kept in it verbatim (``recent``):
# the importer writes the last few days' pull requests again at every sync, and those are
# checked against them instead of counting everything again.
RECENT_DAYS = 31
# Where the counted contributions may have changed from, when where is unknown.
EVERYWHERE = date.min


def pull_request_marks(watermark: datetime) -> dict[str, Any]:
    """What a later run compares with: ``watermark`` (a moment safely before this run started
    reading) and the highest pull request id. One read of a B-tree edge."""
    max_id = PullRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return {"watermark": watermark.isoformat(), "max_id": max_id}


def pull_requests_changed_from(marks: dict[str, Any] | None) -> date | None:
    """The earliest UTC merge day whose counted contributions may have changed since ``marks``
    were taken; None when none may have; :data:`EVERYWHERE` when where is unknown: a pull request
    was deleted since (``opsite.core.deletions``), or one that existed then was written since
    with no merge instant (it may have been counted before).

    Two indexed reads: the deletion stamp by key, and the pull requests written since the
    watermark (``updated_at``, which every Django write path stamps; a bare ``QuerySet.update()``
    does not and must not be used on pull requests). A pull request's merge instant is GitHub's
    and never moves: one written again keeps it, or is read again where it is.
    """
    if not marks:
        return EVERYWHERE
    watermark = datetime.fromisoformat(marks["watermark"])
    if deleted_since(PULL_REQUESTS, watermark):
        return EVERYWHERE
    written = PullRequest.objects.filter(updated_at__gte=watermark).aggregate(
        first=Min("merged_at"),
        unmerged=Count("pk", filter=Q(merged_at__isnull=True, pk__lte=marks["max_id"])),
    )
    if written["unmerged"]:
        return EVERYWHERE
    return written["first"].astimezone(UTC).date() if written["first"] else None


def recent_rows(facts: Iterable[ContributionFact], *, through: date) -> list[list[Any]]:
    """The facts of the :data:`RECENT_DAYS` days up to ``through``, JSON-ready, in order."""
    start = through - timedelta(days=RECENT_DAYS - 1)
    return [[fact.day.isoformat(), *fact[1:]] for fact in facts if start <= fact.day <= through]


def counted_as_before(state: dict[str, Any], *, signature: str, through: date) -> bool:
    """Whether the counted contributions up to ``through`` (the day ``state`` counted to) are those
    it counted: its signature holds, and the pull requests written since were merged after
    ``through``, or within its recent days with the same facts there as it kept (the importer's
    re-reads). A few queries; the recent days' facts read again only in the second case.
    """
    if state.get("signature") != signature or "pull_requests" not in state:
        return False
    changed = pull_requests_changed_from(state["pull_requests"])
    if changed is None or changed > through:
        return True
    if changed < through - timedelta(days=RECENT_DAYS - 1):
        return False
    again = recent_rows(contribution_facts(start=changed, end=through), through=through)
    return again == [row for row in state["recent"] if row[0] >= changed.isoformat()]


# --- the incremental form, for the rollup store ----------------------------------------------


@dataclass(frozen=True)
class ContributionRun:
    """Totals and the three series up to an as-of day, and the state to continue from."""

    totals: ContributionTotals
    series: dict[str, list[Contributions]]
    state: dict[str, Any]
    reused: bool
    read: FactsRead


def contributions_incremental(
    state: dict[str, Any] | None, *, as_of: date, watermark: datetime
) -> ContributionRun:
    """Counted contributions up to ``as_of``: the totals since the setting and the series by month,
    quarter and year, continuing from ``state`` (what a previous run returned) when it holds.

    It holds while ``as_of`` has not gone back and what it counted is still so
    (:func:`counted_as_before`): then only the contributions merged after its as-of day are read
    (an indexed range on ``merged_at``) and added. Otherwise every one is read again.
    ``watermark`` is recorded for the next run: a moment safely before this one started reading.
    """
    signature = inputs_signature()
    marks = pull_request_marks(watermark)
    since = contributions_since()
    previous = date.fromisoformat(state["as_of"]) if state else None
    reused = bool(
        state and previous <= as_of and counted_as_before(state, signature=signature, through=previous)
    )
    if reused:
        start = previous + timedelta(days=1)
        facts = contribution_facts(start=start, end=as_of) if as_of > previous else []
        first = date.fromisoformat(state["first"]) if state["first"] else None
        merged, repositories = state["merged"], state["repositories"]
        earlier = state["series"]
        recent = [*state["recent"], *recent_rows(facts, through=as_of)]
    else:
        start = None
        facts = contribution_facts(end=as_of)
        first, merged, repositories, earlier = None, 0, [], {}
        recent = recent_rows(facts, through=as_of)
    first = first or (facts[0].day if facts else None)
    merged, repositories = extend_totals(merged, repositories, facts, since=since, as_of=as_of)
    series: dict[str, list[Contributions]] = {}
    series_state: dict[str, Any] = {}
    for interval in INTERVALS:
        periods = periods_between(first, as_of, interval) if first else []
        before = earlier.get(interval, {"points": [], "open": []})
        kept = [
            Contributions(period_of(date.fromisoformat(start), interval), count, repos, communities)
            for start, count, repos, communities in before["points"]
        ]
        series[interval], open_repositories = extend_series(
            kept, before["open"], facts, periods=periods, as_of=as_of
        )
        series_state[interval] = {
            "points": [
                [row.period.start.isoformat(), row.merged_pull_requests, row.repositories, row.by_community]
                for row in series[interval]
            ],
            "open": sorted(open_repositories),
        }
    new_state = {
        "signature": signature,
        "pull_requests": marks,
        "recent": [row for row in recent if row[0] >= (as_of - timedelta(days=RECENT_DAYS - 1)).isoformat()],
        "as_of": as_of.isoformat(),
        "first": first.isoformat() if first else None,
        "merged": merged,
        "repositories": sorted(repositories),
        "series": series_state,
    }
    totals = ContributionTotals(
        since=since, as_of=as_of, merged_pull_requests=merged, repositories=len(repositories)
    )
    read = FactsRead(start=start, end=as_of, facts=facts)
    return ContributionRun(totals=totals, series=series, state=new_state, reused=reused, read=read)
