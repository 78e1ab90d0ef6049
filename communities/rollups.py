"""Who we serve: live and active hubs, active communities, countries, and MAU/WAU/DAU.

The definitions of docs/definitions.md ("Impact"), each implemented once here:

- a hub is **live** on day d when ``launched_on <= d`` and (``retired_on`` is null or
  ``retired_on > d``): a hub retired on d is no longer live on d;
- a hub's **active users** on d for a period is its ``ActiveUserCount`` of that period on the latest
  date ``<= d`` within the look-back window (30d: 35 days, 7d: 10 days, 24h: 2 days); none -> 0.
  A window of N days is the N calendar days ending on d, ``d - (N - 1)`` through ``d``: for 24h,
  a sample from today or yesterday;
- a hub is **active** on d when it is live with 30d active users >= 1; a community is active when it
  has an active hub; countries served are the distinct countries of active communities;
- **MAU / WAU / DAU** on d are the sums over live hubs of their 30d / 7d / 24h active users,
  leaving out ``binderhub`` hubs, whose counts are sessions rather than users.

Historically-marginalized is derived and stored on ``Community`` by ``community_derive``; the split
here reads that column.

Rows dated outside the plausible range (``opsite.core.dates``; stored before the range was
checked, or by raw SQL) are left out: a sample by its ``date``, a hub by its ``launched_on`` or
``retired_on``. They cannot be placed on a calendar, and a sample dated 9999-12-31 would overflow
the look-back arithmetic. :func:`implausible_rows` counts them for the data-quality report.

The samples come from the hubs table, each hub row carrying the latest in-window sample for every
(day, period) asked for: a correlated subquery that the unique (hub, date, period) index answers
with one seek. The cost grows with hubs x days read, never with the number of samples stored;
a query reads every hub for a couple of days, never one hub or one sample.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, models
from django.db.models import Count, Max, Min, Q, QuerySet

from opsite.core.dates import plausible_range
from opsite.core.deletions import deleted_since
from opsite.core.periods import Period, periods_between

from .choices import HubKind, UsagePeriod
from .models import ActiveUserCount, Hub

# Look-back windows, in days ending on (and including) the day asked about.
LOOKBACK_DAYS: dict[str, int] = {UsagePeriod.MONTH: 35, UsagePeriod.WEEK: 10, UsagePeriod.DAY: 2}
# In the order of HubActiveUsers' fields.
USAGE_PERIODS: tuple[str, ...] = (UsagePeriod.MONTH, UsagePeriod.WEEK, UsagePeriod.DAY)
# Days read per query. SQLite answers several narrow statements faster than one with a hundred
# correlated subqueries per row (measured at 1,000 hubs), and they stay far from its limits.
DAYS_PER_QUERY = 2


def window_start(day: date, period: str) -> date:
    """The first day whose sample still counts for ``day`` (the window ends on ``day``)."""
    return day - timedelta(days=LOOKBACK_DAYS[period] - 1)


def is_live(*, launched_on: date, retired_on: date | None, day: date) -> bool:
    """A hub is live on ``day`` from its launch, up to but not including its retirement day."""
    return launched_on <= day and (retired_on is None or retired_on > day)


@dataclass(frozen=True)
class HubFacts:
    """What the usage definitions need to know about one hub and its community."""

    id: int
    kind: str
    launched_on: date
    retired_on: date | None
    community_id: int
    historically_marginalized: bool
    country: str

    def is_live(self, day: date) -> bool:
        return is_live(launched_on=self.launched_on, retired_on=self.retired_on, day=day)


class HubActiveUsers(NamedTuple):
    """A hub's 30d / 7d / 24h active users on one day (0 when no sample is in the window).

    A named tuple: a full recompute builds one per hub and day read, tens of thousands.
    """

    monthly: int
    weekly: int
    daily: int


NO_USERS = HubActiveUsers(monthly=0, weekly=0, daily=0)


@dataclass(frozen=True)
class Usage:
    """The usage figures on one day."""

    day: date
    active_hubs: int
    active_communities: int
    historically_marginalized: int
    other: int
    countries: int
    monthly_active: int
    weekly_active: int
    daily_active: int


def _latest_samples_sql(count: int, *, communities: int = 0, live: bool = False) -> str:
    """SELECT every hub's id and ``count`` latest-sample subqueries (params: period, from, to),
    or only the hubs of ``communities`` communities (params after the subqueries': their ids).
    With ``live``, each subquery runs only for a hub live on its day, else answers NULL (params:
    the day twice, then period, from, to): a hub not live that day counts for nothing, and at
    four years of history half the hubs of a month-end are not live yet or any more.

    Written out rather than built with ``Subquery``: the ORM spends milliseconds compiling each
    of the ~150 subqueries a full recompute needs, more than the database spends answering them.
    Two details keep each subquery one index seek. Without table statistics, SQLite's planner
    prefers the (period, date) index, which reads every hub's samples in the window; comparing
    ``period || ''`` instead of the bare column leaves it only the unique (hub, date, period)
    index. PostgreSQL's planner, which has statistics, does the opposite: given the expression it
    gives up the (hub, date, period) index's period column, filters thousands of samples per hub
    and sorts them, so there the bare column is compared. And ordering by (hub, date) descending,
    that index's order, lets it stop at the first entry in the window instead of sorting the window.
    """
    quote = connection.ops.quote_name
    samples = ActiveUserCount._meta
    column = {
        name: quote(samples.get_field(name).column) for name in ("hub", "date", "period", "active_users")
    }
    hub_id = quote(Hub._meta.pk.column)
    period = f"(s.{column['period']} || '')" if connection.vendor == "sqlite" else f"s.{column['period']}"
    subquery = (
        f"(SELECT s.{column['active_users']} FROM {quote(samples.db_table)} s"
        f" WHERE s.{column['hub']} = h.{hub_id} AND {period} = %s"
        f" AND s.{column['date']} >= %s AND s.{column['date']} <= %s"
        f" ORDER BY s.{column['hub']} DESC, s.{column['date']} DESC LIMIT 1)"
    )
    if live:
        launched, retired = (
            quote(Hub._meta.get_field(name).column) for name in ("launched_on", "retired_on")
        )
        subquery = (
            f"(CASE WHEN h.{launched} <= %s AND (h.{retired} IS NULL OR h.{retired} > %s)"
            f" THEN {subquery} END)"
        )
    where = ""
    if communities:
        community = quote(Hub._meta.get_field("community").column)
        where = f" WHERE h.{community} IN ({', '.join(['%s'] * communities)})"
    return (
        f"SELECT h.{hub_id}, {', '.join([subquery] * count)} FROM {quote(Hub._meta.db_table)} h"
        f"{where} ORDER BY h.{hub_id}"
    )


def _plausible_sample_q() -> Q:
    return Q(date__range=plausible_range())


def _plausible_hub_q() -> Q:
    span = plausible_range()
    return Q(launched_on__range=span) & (Q(retired_on__isnull=True) | Q(retired_on__range=span))


def plausible_samples() -> QuerySet[ActiveUserCount]:
    """The samples whose date lies in the plausible range: the only ones a rollup reads."""
    return ActiveUserCount.objects.filter(_plausible_sample_q())


def plausible_hubs() -> QuerySet[Hub]:
    """The hubs whose launch and retirement dates lie in the plausible range."""
    return Hub.objects.filter(_plausible_hub_q())


def _left_out(model: type[models.Model], plausible: Q) -> int:
    counts = model.objects.aggregate(rows=Count("pk"), kept=Count("pk", filter=plausible))
    return counts["rows"] - counts["kept"]


def implausible_rows() -> dict[str, int]:
    """How many samples and hubs the rollups leave out for a date outside the plausible range,
    by model label, zero included: one query per table."""
    first, last = plausible_range()
    # Counted where they are, two short ranges of the (period, date) index per period: the table
    # is the biggest there is, and counting all of it on every recompute would read it whole.
    # Spelled as one range per branch of a UNION ALL: given ``period IN (..) AND (date < .. OR
    # date > ..)``, SQLite seeks the period alone and reads every sample of it.
    ranges = [
        ActiveUserCount.objects.filter(period=period, **{lookup: bound}).order_by().values("pk")
        for period in UsagePeriod.values
        for lookup, bound in (("date__lt", first), ("date__gt", last))
    ]
    samples = ranges[0].union(*ranges[1:], all=True)
    return {
        "communities.ActiveUserCount": samples.count(),
        "communities.Hub": _left_out(Hub, _plausible_hub_q()),
    }


def hub_facts() -> list[HubFacts]:
    """Every hub (dated within the plausible range) with the community facts the definitions
    need, in id order: one query."""
    return _facts(plausible_hubs())


def hub_facts_of(community_ids: Iterable[int]) -> list[HubFacts]:
    """The hubs of ``community_ids``, as :func:`hub_facts`: one query."""
    return _facts(plausible_hubs().filter(community_id__in=list(community_ids)))


def _facts(hubs: QuerySet[Hub]) -> list[HubFacts]:
    return [
        HubFacts(*row)
        for row in hubs.order_by("pk").values_list(
            "pk",
            "kind",
            "launched_on",
            "retired_on",
            "community_id",
            "community__historically_marginalized",
            "community__country",
        )
    ]


def hub_active_users(days: Iterable[date], *, live: bool = False) -> dict[date, dict[int, HubActiveUsers]]:
    """For each day, every hub's active users per period, by hub id; with ``live``, zero for a hub
    not live that day (:func:`is_live`), whose samples are then not read.

    One query per ``DAYS_PER_QUERY`` days, whatever the number of hubs or samples.
    """
    days = sorted(set(days))
    by_day: dict[date, dict[int, HubActiveUsers]] = {}
    width = len(USAGE_PERIODS)
    adapt = connection.ops.adapt_datefield_value
    for offset in range(0, len(days), DAYS_PER_QUERY):
        chunk = days[offset : offset + DAYS_PER_QUERY]
        params = [
            value
            for day in chunk
            for period in USAGE_PERIODS
            for value in (
                *((adapt(day), adapt(day)) if live else ()),
                period,
                adapt(window_start(day, period)),
                adapt(day),
            )
        ]
        with connection.cursor() as cursor:
            cursor.execute(_latest_samples_sql(len(chunk) * width, live=live), params)
            rows = cursor.fetchall()
        for i, day in enumerate(chunk):
            first = 1 + i * width
            by_day[day] = {
                row[0]: HubActiveUsers(row[first] or 0, row[first + 1] or 0, row[first + 2] or 0)
                for row in rows
            }
    return by_day


def summarize(day: date, hubs: Sequence[HubFacts], counts: Mapping[int, HubActiveUsers]) -> Usage:
    """Apply the definitions to one day's active users by hub id (a pure function)."""
    active_hubs = 0
    communities: dict[int, HubFacts] = {}
    monthly = weekly = daily = 0
    for hub in hubs:
        users = counts.get(hub.id, NO_USERS)
        if not hub.is_live(day):
            continue
        if users.monthly >= 1:
            active_hubs += 1
            communities.setdefault(hub.community_id, hub)
        if hub.kind != HubKind.BINDERHUB:
            monthly += users.monthly
            weekly += users.weekly
            daily += users.daily
    marginalized = sum(1 for hub in communities.values() if hub.historically_marginalized)
    return Usage(
        day=day,
        active_hubs=active_hubs,
        active_communities=len(communities),
        historically_marginalized=marginalized,
        other=len(communities) - marginalized,
        countries=len({hub.country for hub in communities.values()}),
        monthly_active=monthly,
        weekly_active=weekly,
        daily_active=daily,
    )


def usage_on(days: Iterable[date]) -> dict[date, Usage]:
    """The usage figures on each of ``days``."""
    hubs = hub_facts()
    return {day: summarize(day, hubs, counts) for day, counts in hub_active_users(days, live=True).items()}


def community_monthly_active(
    days: Iterable[date], community_ids: Iterable[int]
) -> dict[date, dict[int, int]]:
    """The MAU of each of ``community_ids`` on each of ``days``: the MAU definition restricted to
    its own hubs (live, not BinderHub), by community id (0 for a community without such a hub).

    Reads only those communities' hubs and only their 30d samples: one query for the hubs, and one
    for every ``DAYS_PER_QUERY x 3`` days, whatever the number of communities.
    """
    wanted = sorted(set(community_ids))
    days = sorted(set(days))
    by_day: dict[date, dict[int, int]] = {day: dict.fromkeys(wanted, 0) for day in days}
    if not wanted or not days:
        return by_day
    hubs = [hub for hub in hub_facts_of(wanted) if hub.kind != HubKind.BINDERHUB]
    adapt = connection.ops.adapt_datefield_value
    per_query = DAYS_PER_QUERY * len(USAGE_PERIODS)
    for offset in range(0, len(days), per_query):
        chunk = days[offset : offset + per_query]
        params = [
            value
            for day in chunk
            for value in (UsagePeriod.MONTH, adapt(window_start(day, UsagePeriod.MONTH)), adapt(day))
        ]
        with connection.cursor() as cursor:
            cursor.execute(_latest_samples_sql(len(chunk), communities=len(wanted)), [*params, *wanted])
            monthly = {row[0]: row[1:] for row in cursor.fetchall()}
        for i, day in enumerate(chunk):
            totals = by_day[day]
            for hub in hubs:
                if hub.is_live(day):
                    totals[hub.community_id] += (monthly.get(hub.id) or [0] * len(chunk))[i] or 0
    return by_day


def usage_as_of(day: date) -> Usage:
    """The usage figures on one day."""
    return usage_on([day])[day]


def usage_series(*, interval: str, start: date, as_of: date) -> list[tuple[Period, Usage]]:
    """The usage figures of every period from ``start``'s to ``as_of``'s, each read on its last day
    (or on ``as_of`` for the current period)."""
    periods = periods_between(start, as_of, interval)
    figures = usage_on(period.reading_day(as_of) for period in periods)
    return [(period, figures[period.reading_day(as_of)]) for period in periods]


def usage_first_day() -> date | None:
    """The date of the earliest 30d sample: where the usage series start.

    Filtered on the period so the (period, date) index answers it without a scan.
    """
    return (
        plausible_samples()
        .filter(period=UsagePeriod.MONTH)
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )


def usage_last_day() -> date | None:
    """The date of the latest sample of any period (one index seek per period)."""
    latest = [
        plausible_samples().filter(period=period).order_by("-date").values_list("date", flat=True).first()
        for period in USAGE_PERIODS
    ]
    return max((day for day in latest if day is not None), default=None)


# --- change detection, for the incremental recompute (opsite.kpis.rollups) ------------------------


SAMPLES = "communities.ActiveUserCount"


def samples_deleted_since(since: datetime) -> bool:
    """Whether a sample was deleted (its hub's deletion included) at or after ``since``: one read
    by key of the kernel's deletion stamps, never a count of the table."""
    return deleted_since(SAMPLES, since)


def changed_sample_dates(since: datetime) -> tuple[date, date] | None:
    """The first and last ``date`` of samples written (inserted or updated) at or after ``since``.

    Every write path through Django stamps ``updated_at`` (``save()``, ``bulk_create`` including
    its upsert); a bare ``QuerySet.update()`` does not and must not be used on samples.
    """
    span = plausible_samples().filter(updated_at__gte=since).aggregate(first=Min("date"), last=Max("date"))
    return (span["first"], span["last"]) if span["first"] is not None else None


def days_affected_by(first: date, last: date) -> tuple[date, date]:
    """The days whose figures can change when samples dated ``first``..``last`` change."""
    return first, last + timedelta(days=max(LOOKBACK_DAYS.values()) - 1)


def facts_signature(hubs: Sequence[HubFacts]) -> str:
    """A digest of the hub and community facts the figures depend on (anything else is samples)."""
    return hashlib.sha256(repr(list(hubs)).encode()).hexdigest()


# --- the incremental form, for the rollup store ----------------------------------------------

USAGE_FIELDS = (
    "active_hubs",
    "active_communities",
    "historically_marginalized",
    "other",
    "countries",
    "monthly_active",
    "weekly_active",
    "daily_active",
)


@dataclass(frozen=True)
class UsageRun:
    """Usage figures by day, the state to continue from next time, and how many days were read;
    the hubs and, for the days read, each hub's active users (others may summarize them too)."""

    figures: dict[date, Usage]
    state: dict[str, Any]
    days_read: int
    hubs: list[HubFacts] = field(default_factory=list)
    read: dict[date, dict[int, HubActiveUsers]] = field(default_factory=dict)


def _still_valid(state: dict[str, Any] | None, facts: str, days: set[date]) -> dict[date, Usage]:
    """The days of ``state`` whose figures cannot have changed since it was taken."""
    if not state or state.get("facts") != facts or "watermark" not in state:
        return {}
    watermark = datetime.fromisoformat(state["watermark"])
    if samples_deleted_since(watermark):
        # Samples were deleted: where is unknown, so every day is read again.
        return {}
    changed = changed_sample_dates(watermark)
    affected = days_affected_by(*changed) if changed else None
    valid = {}
    for iso, figures in state["days"].items():
        day = date.fromisoformat(iso)
        if day in days and not (affected and affected[0] <= day <= affected[1]):
            valid[day] = Usage(day, *figures)
    return valid


def usage_incremental(days: set[date], state: dict[str, Any] | None, *, watermark: datetime) -> UsageRun:
    """The usage figures on ``days``, reading again only what may have changed since ``state``.

    ``state`` is what a previous run returned (JSON-ready), or None. A day is read again when a
    sample in its look-back window was written at or after that run's watermark; every day is when
    hubs or communities changed or a sample was deleted. ``watermark`` is recorded for the next
    run: a moment safely before this one started reading.
    """
    hubs = hub_facts()
    facts = facts_signature(hubs)
    figures = _still_valid(state, facts, days)
    todo = days - figures.keys()
    read = hub_active_users(todo, live=True)
    for day, counts in read.items():
        figures[day] = summarize(day, hubs, counts)
    new_state = {
        "facts": facts,
        "watermark": watermark.isoformat(),
        "days": {
            day.isoformat(): [getattr(figures[day], name) for name in USAGE_FIELDS] for day in sorted(figures)
        },
    }
    return UsageRun(figures=figures, state=new_state, days_read=len(todo), hubs=hubs, read=read)
