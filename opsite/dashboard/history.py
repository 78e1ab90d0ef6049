"""The runway history the dashboard draws: a bounded sample of the stored snapshots.

A snapshot is stored at every recompute, several a day, and the older ones are thinned only by the
retention policy (``funding.runway.retention``), which keeps one a week for good after a year. The
chart "How the runway forecast moved" and its table would grow with every day of history; instead
they show at most :data:`MOST_POINTS` points per scenario, whatever the number of stored snapshots:

- the last :data:`DAILY_HISTORY_DAYS` days and today, a point a day;
- before them, at most :data:`OLDER_HISTORY_POINTS` points: a point a week, a month, a quarter or a
  year, the finest of these that reaches back to the oldest snapshot stored in that many points. A
  history older than 24 years is cut at the 24th year.

Each point is the *last* snapshot of its scenario in its day, week, month or quarter (weeks run
Monday to Sunday, as ISO weeks do; the week, month... holding the first daily day is cut there).
The periods are computed in Python (as ``opsite.core.periods`` computes every calendar period) and
handed to the database as bounds, so the query picks the points itself: it returns the sampled
rows only, five small columns each, never a ``result``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Case, F, IntegerField, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from funding.models import RunwaySnapshot
from opsite.core.periods import period_start

DAILY_HISTORY_DAYS = 30
OLDER_HISTORY_POINTS = 24
MOST_POINTS = DAILY_HISTORY_DAYS + 1 + OLDER_HISTORY_POINTS
# From the finest to the coarsest: the older history takes the first that fits.
OLDER_RESOLUTIONS = ("week", "month", "quarter", "year")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class HistoryPoint:
    """One stored snapshot, without its periods: when it was computed and what it said."""

    scenario_slug: str
    computed_at: datetime
    as_of: date
    months: Decimal | None
    cash_out_on: date | None


@dataclass(frozen=True)
class HistorySampling:
    """Where the points of the history are taken: the start of each period, the newest first.

    ``daily_from`` is the first day drawn a point a day; ``older`` the resolution before it
    (``None`` when every snapshot is more recent than that day).
    """

    daily_from: date
    older: str | None
    starts: tuple[date, ...]


@dataclass(frozen=True)
class RunwayHistory:
    """The sampled points, oldest first, and how they were sampled (for the chart's note)."""

    points: list[HistoryPoint]
    sampling: HistorySampling


def _period_start(day: date, resolution: str) -> date:
    if resolution == "week":
        return day - timedelta(days=day.weekday())
    return period_start(day, resolution)


def _previous_start(start: date, resolution: str) -> date:
    if resolution == "week":
        return start - timedelta(days=7)
    return start - relativedelta(months=_MONTHS[resolution])


def history_sampling(*, today: date, oldest: date | None) -> HistorySampling:
    """The periods of the history as of ``today``, when the oldest snapshot was computed on ``oldest``.

    Pure: the days from ``today`` back to ``today - DAILY_HISTORY_DAYS``, then the starts of the
    :data:`OLDER_HISTORY_POINTS` weeks (months, quarters, years) before, the finest resolution
    whose earliest period holds ``oldest``.
    """
    daily_from = today - timedelta(days=DAILY_HISTORY_DAYS)
    days = tuple(today - timedelta(days=n) for n in range(DAILY_HISTORY_DAYS + 1))
    if oldest is None or oldest >= daily_from:
        return HistorySampling(daily_from=daily_from, older=None, starts=days)
    last_older = daily_from - timedelta(days=1)
    for resolution in OLDER_RESOLUTIONS:
        starts = [_period_start(last_older, resolution)]
        while len(starts) < OLDER_HISTORY_POINTS:
            starts.append(_previous_start(starts[-1], resolution))
        if oldest >= starts[-1]:
            break
    return HistorySampling(daily_from=daily_from, older=resolution, starts=days + tuple(starts))


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _period_index(bounds: Sequence[datetime], first: int, last: int) -> Case | Value:
    """The index of the period a snapshot falls in, among ``bounds[first:last + 1]`` (newest first).

    A balanced tree of ``CASE``: each snapshot is compared with about six bounds, not with every
    bound down to its own, which on years of snapshots is most of the query's time.
    """
    if first == last:
        return Value(first)
    middle = (first + last) // 2
    return Case(
        When(computed_at__gte=bounds[middle], then=_period_index(bounds, first, middle)),
        default=_period_index(bounds, middle + 1, last),
        output_field=IntegerField(),
    )


def runway_history(*, today: date, oldest: date | None) -> RunwayHistory:
    """The last snapshot of each scenario in each period of :func:`history_sampling`, oldest first.

    One query, returning at most :data:`MOST_POINTS` rows per scenario: each snapshot gets the
    index of the latest period start it is not before, and only the latest of each scenario and
    period is read (``ROW_NUMBER() ... = 1``).
    """
    sampling = history_sampling(today=today, oldest=oldest)
    bounds = [_midnight(start) for start in sampling.starts]
    period = _period_index(bounds, 0, len(bounds) - 1)
    rows = (
        RunwaySnapshot.objects.filter(computed_at__gte=bounds[-1])
        .annotate(
            period=period,
            rank=Window(
                RowNumber(),
                partition_by=[F("scenario_id"), F("period")],
                order_by=[F("computed_at").desc(), F("pk").desc()],
            ),
        )
        .filter(rank=1)
        .order_by("computed_at", "pk")
        .values_list("scenario__slug", "computed_at", "as_of", "months", "cash_out_on")
    )
    return RunwayHistory(points=[HistoryPoint(*row) for row in rows], sampling=sampling)


def oldest_snapshot_day(first_computed: Sequence[datetime | None]) -> date | None:
    """The day of the oldest of the scenarios' first snapshots (``None`` when there is none)."""
    moments = [moment for moment in first_computed if moment is not None]
    return timezone.localtime(min(moments)).date() if moments else None
