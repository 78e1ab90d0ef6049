"""The rollup store: every figure the public API and the leadership dashboard read, computed ahead.

Each app computes its own figures (``communities.rollups``, ``contributions.rollups``,
``staff.rollups``, ``funding.rollups``, ``contracts.rollups``); this module decides which are
published, keeps them in :class:`~opsite.kpis.models.Rollup` rows, and serves them back:

``kpis:<YYYY-MM-DD>``
    the KPI block of docs/api.md "Public KPI API" as of that day: the as-of day, and every
    month-end from the one before the figures begin to the as-of day (:mod:`opsite.kpis.month_ends`),
    which is what ``?as_of`` serves (:func:`kpis`);
``kpis:latest``
    the same block for the default as-of day (see :func:`default_as_of`);
``series:<metric>:<interval>``
    the points of a public metric (:data:`METRICS`) for ``month``, ``quarter`` or ``year``, from
    the metric's earliest data to the as-of day. Stock figures (users, hubs, communities,
    headcount) are read on each period's last day, or on the as-of day for the current period;
    flows (pull requests, funding, contracts) add up over the period, up to the as-of day;
``hubs-by-users:latest``
    the active hubs by their 30d active users, in bins (:mod:`opsite.kpis.histogram`);
``data-quality``
    the rows the last recompute left out because a date lies outside the plausible range
    (``opsite.core.dates``), counted by table; read by :func:`data_quality_issues`
    (:mod:`opsite.kpis.data_quality`);
``costs:*``
    cloud costs by component, hub and community (:mod:`opsite.kpis.costs`): never served publicly;
``state:*``
    bookkeeping for the incremental recompute; never served.

A row's ``version`` is the SHA-256 of the canonical JSON of its value, so it changes exactly when
the value does. A recompute writes only the rows whose version changed; an unchanged row keeps its
``computed_at`` (the start of the recompute that produced that value).

**Incremental recompute.** Reading the usage samples is the expensive part (~150 index seeks per
hub for four years of months). A recompute keeps each day's usage figures in ``state:usage`` with
a watermark; the next one reads again only the days whose look-back window contains a sample
written since (``updated_at`` at or after the watermark, an indexed range), and starts over when
hubs or communities changed or a sample was deleted (``opsite.core.deletions``: a stamp read by
key, never a count of the table). Counted contributions are kept in ``state:contributions`` as the
series so far plus the repositories of the periods still open and the last days' counted facts;
while a cheap signature of the small inputs (repositories, key communities, staff) holds and the
pull requests written since its watermark were merged after its as-of day, or re-written with the
same facts within its last days (the importer's re-reads), only the contributions merged after its
as-of day are read and added; their month-end totals likewise (``state:month-ends``). Headcount
per day is kept in ``state:staff`` while the roster's signature holds. Funding and contracts are
small and always recomputed.

**Concurrency.** Computing reads outside any transaction (on SQLite a write transaction would
block every other writer for the whole computation); the results are written in short
transactions that first claim ``state:run``: a recompute that started before the one that last
wrote discards its results instead of overwriting newer figures with older ones. Rows are upserted
by key (``INSERT .. ON CONFLICT DO UPDATE``), so two recomputes at once never duplicate a row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from communities import rollups as usage_rollups
from contracts import rollups as contract_rollups
from contributions import rollups as contribution_rollups
from funding import rollups as funding_rollups
from funding.currency import RateTable
from opsite.core.money import quantize
from opsite.core.periods import INTERVALS, Period, check_interval, periods_between, reading_days
from staff import rollups as staff_rollups

from .costs import cost_values
from .data_quality import DATA_QUALITY, data_quality_value, implausible_rows
from .data_quality import data_quality_issues as data_quality_issues  # read from here too
from .data_quality import data_quality_sentences as data_quality_sentences  # by the dashboard
from .histogram import HUBS_BY_USERS, hubs_by_users_of_run
from .models import Rollup
from .month_ends import STATE_MONTH_ENDS, last_month_end, month_end_figures, no_figures

logger = logging.getLogger(__name__)

KPIS_PREFIX = "kpis:"
KPIS_LATEST = "kpis:latest"
STATE_RUN = "state:run"
STATE_USAGE = "state:usage"
STATE_CONTRIBUTIONS = "state:contributions"
STATE_STAFF = "state:staff"
# Samples written up to this long before a recompute started are looked at again by the next one:
# it covers the clocks of different servers and write transactions still open when it read.
WATERMARK_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class Metric:
    """A public series: its name in the API, the app whose figures it shows, a badge label."""

    name: str
    source: str
    label: str
    # Funding and contract aggregates are public only when OPSITE_PUBLIC_FUNDING is on.
    funding: bool = False


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("active-communities", "usage", "active communities"),
        Metric("active-hubs", "usage", "active hubs"),
        Metric("monthly-active-users", "usage", "monthly active users"),
        Metric("weekly-active-users", "usage", "weekly active users"),
        Metric("merged-pull-requests", "contributions", "merged pull requests"),
        Metric("headcount", "staff", "headcount"),
        Metric("funding", "funding", "funding", funding=True),
        Metric("contracts", "contracts", "new contracts", funding=True),
    )
}


def public_metrics() -> list[str]:
    """The metrics the public API may serve: funding and contracts only with OPSITE_PUBLIC_FUNDING.

    The store keeps every metric (the dashboard reads them all); serving is where this applies.
    """
    return [name for name, metric in METRICS.items() if settings.OPSITE_PUBLIC_FUNDING or not metric.funding]


@dataclass(frozen=True)
class StoredRollup:
    """A stored value as readers get it; ``version`` is the content hash (the ETag's basis)."""

    key: str
    value: Any
    version: str
    computed_at: datetime


def kpis_key(as_of: date) -> str:
    return f"{KPIS_PREFIX}{as_of.isoformat()}"


def series_key(metric: str, interval: str) -> str:
    return f"series:{metric}:{interval}"


def canonical_json(value: Any) -> str:
    """The one serialization versions are computed from: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def version_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def _money(amount) -> str:
    return str(quantize(amount))


def today() -> date:
    """Today in UTC, whatever time zone a request activated."""
    return timezone.localdate(timezone=UTC)


def default_as_of() -> date:
    """The day figures are computed for when none is named: the latest usage sample's date (or,
    without usage data, the latest counted contribution's), never after today.

    Usage first because users are sampled periodically and the look-back windows are anchored on
    the samples: an as-of day past the latest sample would show weekly and daily users falling
    to zero until the next sample arrives, while pull requests sync continuously.
    """
    latest = usage_rollups.usage_last_day() or contribution_rollups.contributions_last_day()
    return min(latest, today()) if latest else today()


# --- the KPI block and the series points ------------------------------------------------------


def _kpi_block(
    as_of: date,
    usage: usage_rollups.Usage,
    totals: contribution_rollups.ContributionTotals,
    staffing: staff_rollups.Staffing,
) -> dict[str, Any]:
    return {
        "as_of": as_of.isoformat(),
        "communities": {
            "active": usage.active_communities,
            "historically_marginalized": usage.historically_marginalized,
            "countries": usage.countries,
        },
        "hubs": {"active": usage.active_hubs},
        "users": {
            "monthly_active": usage.monthly_active,
            "weekly_active": usage.weekly_active,
            "daily_active": usage.daily_active,
        },
        "contributions": {
            "merged_pull_requests": totals.merged_pull_requests,
            "repositories": totals.repositories,
            "since": totals.since.isoformat(),
        },
        "staff": {"headcount": staffing.headcount, "fte": _money(staffing.fte)},
    }


def _point(period: Period, value: Any, groups: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**period.as_dict(), "value": value, "groups": groups, **extra}


def _series(metric: str, interval: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    # No as-of day in the value: a series whose points did not change keeps its version (and
    # its ETag) from one day to the next. The KPI block says which day the figures are for.
    return {"metric": metric, "interval": interval, "points": points}


# How each usage metric reads a day's figures: (value, groups).
_USAGE_POINTS: dict[str, Callable[[usage_rollups.Usage], tuple[int, dict[str, int]]]] = {
    "active-communities": lambda usage: (
        usage.active_communities,
        {"historically_marginalized": usage.historically_marginalized, "other": usage.other},
    ),
    "active-hubs": lambda usage: (usage.active_hubs, {}),
    "monthly-active-users": lambda usage: (usage.monthly_active, {}),
    "weekly-active-users": lambda usage: (usage.weekly_active, {}),
}


def _usage_series(
    first: date | None, as_of: date, figures: dict[date, usage_rollups.Usage]
) -> dict[str, dict[str, Any]]:
    values = {}
    for interval in INTERVALS:
        periods = periods_between(first, as_of, interval) if first else []
        for metric, read in _USAGE_POINTS.items():
            points = [_point(period, *read(figures[period.reading_day(as_of)])) for period in periods]
            values[series_key(metric, interval)] = _series(metric, interval, points)
    return values


def _contribution_series(
    computed: dict[str, list[contribution_rollups.Contributions]],
) -> dict[str, dict[str, Any]]:
    metric = "merged-pull-requests"
    values = {}
    for interval, rows in computed.items():
        # Every community appearing anywhere in the series is listed in every point, so charts
        # stack the same groups from period to period.
        communities = sorted({slug for row in rows for slug in row.by_community})
        points = [
            _point(
                row.period,
                row.merged_pull_requests,
                {slug: row.by_community.get(slug, 0) for slug in communities},
                repositories=row.repositories,
            )
            for row in rows
        ]
        values[series_key(metric, interval)] = _series(metric, interval, points)
    return values


def _staff_series(
    first: date | None, as_of: date, figures: dict[date, staff_rollups.Staffing]
) -> dict[str, dict[str, Any]]:
    values = {}
    for interval in INTERVALS:
        periods = periods_between(first, as_of, interval) if first else []
        points = []
        for period in periods:
            staffing = figures[period.reading_day(as_of)]
            groups = {team: members.headcount for team, members in staffing.by_team.items()}
            points.append(_point(period, staffing.headcount, groups, fte=_money(staffing.fte)))
        values[series_key("headcount", interval)] = _series("headcount", interval, points)
    return values


def _funding_series(as_of: date, rates: RateTable) -> dict[str, dict[str, Any]]:
    first = funding_rollups.funding_first_day()
    flows = funding_rollups.funding_flows(start=first, end=as_of, rates=rates) if first else []
    values = {}
    for interval in INTERVALS:
        periods = periods_between(first, as_of, interval) if first else []
        points = [
            _point(
                row.period,
                _money(row.gross),
                {category: _money(amount) for category, amount in row.gross_by_category.items()},
                net=_money(row.net),
                net_groups={category: _money(amount) for category, amount in row.net_by_category.items()},
            )
            for row in funding_rollups.by_period(flows, periods, as_of=as_of)
        ]
        values[series_key("funding", interval)] = _series("funding", interval, points)
    return values


def _contract_series(as_of: date, rates: RateTable) -> dict[str, dict[str, Any]]:
    first = contract_rollups.contracts_first_day()
    contracts = contract_rollups.signed_contract_rows(start=first, end=as_of) if first else []
    values = {}
    for interval in INTERVALS:
        periods = periods_between(first, as_of, interval) if first else []
        points = [
            _point(
                row.period,
                row.count,
                {category: figures.count for category, figures in row.by_category.items()},
                total_value=_money(row.value),
                total_value_groups={
                    category: _money(figures.value) for category, figures in row.by_category.items()
                },
            )
            for row in contract_rollups.by_period(contracts, periods, as_of=as_of, convert=rates.convert)
        ]
        values[series_key("contracts", interval)] = _series("contracts", interval, points)
    return values


# --- incremental state ------------------------------------------------------------------------


def _load_states() -> dict[str, Any]:
    keys = [STATE_USAGE, STATE_CONTRIBUTIONS, STATE_STAFF, STATE_MONTH_ENDS, HUBS_BY_USERS]
    return dict(Rollup.objects.filter(key__in=keys).values_list("key", "value"))


# --- writing ----------------------------------------------------------------------------------


def _claim_run(started_at: datetime) -> bool:
    """Record this recompute as the latest to write, unless a later-started one already wrote.

    Inside the writing transaction: the row lock (PostgreSQL) or the write lock SQLite takes at
    BEGIN makes the check and the claim one step.
    """
    Rollup.objects.bulk_create(
        [Rollup(key=STATE_RUN, value={}, version=version_of({}), computed_at=started_at)],
        ignore_conflicts=True,
    )
    run = Rollup.objects.select_for_update().get(key=STATE_RUN)
    last = run.value.get("started_at")
    if last and datetime.fromisoformat(last) > started_at:
        return False
    run.value = {"started_at": started_at.isoformat()}
    run.version = version_of(run.value)
    run.computed_at = started_at
    run.save(update_fields=["value", "version", "computed_at", "updated_at"])
    return True


def _upsert(values: dict[str, Any], computed_at: datetime) -> list[str]:
    """Write the values whose version changed, by key; return the keys written."""
    versions = {key: version_of(value) for key, value in values.items()}
    stored = dict(Rollup.objects.filter(key__in=list(values)).values_list("key", "version"))
    changed = [
        Rollup(key=key, value=values[key], version=versions[key], computed_at=computed_at)
        for key in sorted(values)
        if stored.get(key) != versions[key]
    ]
    if changed:
        Rollup.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["value", "version", "computed_at", "updated_at"],
        )
    return [row.key for row in changed]


# --- recompute --------------------------------------------------------------------------------


def recompute_rollups(*, as_of: date | None = None, costs: bool = True) -> dict[str, Any]:
    """Recompute and store the KPI block for ``as_of`` (default: :func:`default_as_of`) and for
    every month-end up to it, and every public series from its earliest data to ``as_of``; write
    only what changed.

    Idempotent, and safe to run twice at once (see the module docstring). A month-end's block is
    rewritten only when its figures changed, and kept otherwise; only the blocks of other days (an
    earlier as-of day, which no recompute keeps current) are dropped. When funding or contract
    figures cannot be computed (a missing exchange rate), everything else is still stored, then the
    error is raised: it names the currency and the date.

    The public figures are written first, then (``costs``) :func:`recompute_cost_rollups`.
    """
    started_at = timezone.now()
    as_of = as_of or default_as_of()
    states = _load_states()
    errors: list[ValidationError] = []
    # Each app's rollups skip rows dated outside the plausible range; say how many, by table only.
    skipped = implausible_rows()
    if skipped:
        logger.warning(
            "rollups leave out rows dated outside the plausible range: %s",
            ", ".join(f"{label} {count}" for label, count in skipped.items()),
        )

    usage_first = usage_rollups.usage_first_day()
    staff_first = staff_rollups.staffing_first_day()
    usage_days = {as_of, *(reading_days(usage_first, as_of) if usage_first else [])}
    usage = usage_rollups.usage_incremental(
        usage_days, states.get(STATE_USAGE), watermark=started_at - WATERMARK_MARGIN
    )
    contributions = contribution_rollups.contributions_incremental(
        states.get(STATE_CONTRIBUTIONS), as_of=as_of, watermark=started_at - WATERMARK_MARGIN
    )
    staffing = staff_rollups.staffing_incremental(
        {as_of, *(reading_days(staff_first, as_of) if staff_first else [])}, states.get(STATE_STAFF)
    )

    block = _kpi_block(as_of, usage.figures[as_of], contributions.totals, staffing.figures[as_of])
    values: dict[str, Any] = {kpis_key(as_of): block, KPIS_LATEST: block}
    values.update(_usage_series(usage_first, as_of, usage.figures))
    values.update(_contribution_series(contributions.series))
    values.update(_staff_series(staff_first, as_of, staffing.figures))
    values[HUBS_BY_USERS] = hubs_by_users_of_run(as_of, usage, states.get(HUBS_BY_USERS))
    rates = RateTable.load()
    for compute in (_funding_series, _contract_series):
        try:
            values.update(compute(as_of, rates))
        except ValidationError as error:
            errors.append(error)
    month_ends = month_end_figures(
        as_of,
        usage=usage.figures,
        usage_first=usage_first,
        staffing=staffing.figures,
        staff_first=staff_first,
        state=states.get(STATE_MONTH_ENDS),
        watermark=started_at - WATERMARK_MARGIN,
        contributions_read=contributions.read,
    )
    for day, figures in month_ends.figures.items():
        values.setdefault(kpis_key(day), _kpi_block(day, *figures))
    values[DATA_QUALITY] = data_quality_value(skipped)
    values[STATE_USAGE] = usage.state
    values[STATE_CONTRIBUTIONS] = contributions.state
    values[STATE_STAFF] = staffing.state
    values[STATE_MONTH_ENDS] = month_ends.state

    summary: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "usage_days_read": usage.days_read,
        "staff_days_read": staffing.days_read,
        "contributions_reused": contributions.reused,
        "skipped_rows": skipped,
    }
    with transaction.atomic():
        if not _claim_run(started_at):
            logger.info("rollups as of %s discarded: a later recompute already wrote", as_of)
            return {**summary, "skipped": True, "written": [], "unchanged": 0, "removed": 0}
        written = _upsert(values, started_at)
        removed, _ = (
            Rollup.objects.filter(key__startswith=KPIS_PREFIX)
            .exclude(key__in=[key for key in values if key.startswith(KPIS_PREFIX)])
            .delete()
        )
    published = [key for key in written if not key.startswith("state:")]
    unchanged = sum(1 for key in values if not key.startswith("state:")) - len(published)
    try:
        cost_run = recompute_cost_rollups(as_of=as_of, rates=rates, started_at=started_at) if costs else {}
        published, unchanged = (
            published + cost_run.get("written", []),
            unchanged + cost_run.get("unchanged", 0),
        )
    except ValidationError as error:
        errors.append(error)
    logger.info(
        "rollups as of %s: %d written, %d unchanged, %d usage days read",
        as_of,
        len(published),
        unchanged,
        usage.days_read,
    )
    if errors:
        raise errors[0]
    return {
        **summary,
        "skipped": False,
        "written": published,
        "unchanged": unchanged,
        "removed": removed,
    }


def recompute_cost_rollups(
    *, as_of: date, rates: RateTable | None = None, started_at: datetime | None = None
) -> dict[str, Any]:
    """Store the cloud cost rollups (``costs:*``) as of ``as_of``, as run ``started_at`` (discarded
    if a later-started one wrote): after the public figures, which a new day never makes wait."""
    started_at = started_at or timezone.now()
    values = cost_values(as_of, rates or RateTable.load())
    with transaction.atomic():
        if not _claim_run(started_at):
            logger.info("cost rollups as of %s discarded: a later recompute already wrote", as_of)
            return {"skipped": True, "written": [], "unchanged": 0}
        written = [key for key in _upsert(values, started_at) if not key.startswith("state:")]
    return {
        "skipped": False,
        "written": written,
        "unchanged": sum(1 for key in values if not key.startswith("state:")) - len(written),
    }


# --- readers ----------------------------------------------------------------------------------


def get_rollup(key: str) -> StoredRollup | None:
    """The stored row of ``key``, or None: one query, never a computation."""
    row = Rollup.objects.filter(key=key).values_list("key", "value", "version", "computed_at").first()
    return StoredRollup(*row) if row else None


def _ensure_recomputed(key: str) -> StoredRollup | None:
    """Read ``key``; on an empty store (before the first recompute ever) compute everything once."""
    stored = get_rollup(key)
    if stored is None and not Rollup.objects.filter(key=STATE_RUN).exists():
        try:
            recompute_rollups()
        except ValidationError:
            # The figures that could be computed are stored; the error is for the recompute job.
            logger.exception("rollup recompute failed while serving %s", key)
        stored = get_rollup(key)
    return stored


class NotStoredYet(LookupError):
    """No KPI block is stored for a day yet: no recompute has stored the month-end blocks."""


def kpis(as_of: date | None = None) -> StoredRollup:
    """The KPI block as of ``as_of`` (default: the latest recompute's as-of day), as stored.

    A day without a block of its own gets the stored block of the latest day before it: the
    month-end before it, or the latest as-of day if that is later (the block's ``as_of`` says
    which day its figures are for). A day before the figures begin gets zeros. Never a
    computation for a given day (for the default one, see :func:`_ensure_recomputed`): ValueError
    for a day after today, :class:`NotStoredYet` while no recompute has stored month-end blocks.
    """
    if as_of is None:
        stored = _ensure_recomputed(KPIS_LATEST)
        if stored is None:
            raise NotStoredYet("No KPI figures are stored yet.")
        return stored
    if as_of > today():
        raise ValueError(
            f"as_of {as_of.isoformat()} is in the future; the latest possible is {today().isoformat()}."
        )
    stored = _kpis_on_or_before(as_of)
    if stored is not None:
        return stored
    if not Rollup.objects.filter(key=STATE_MONTH_ENDS).exists():
        raise NotStoredYet(f"The figures as of {as_of.isoformat()} are not stored yet.")
    # Every month-end from the one before the figures begin is stored: this day precedes them.
    block = _kpi_block(as_of, *no_figures(as_of))
    return StoredRollup(kpis_key(as_of), block, version_of(block), timezone.now())


def _kpis_on_or_before(as_of: date) -> StoredRollup | None:
    """The stored block of the latest day on or before ``as_of`` among that day's own, its
    month-end's and the latest as-of day's: one query by key."""
    keys = {kpis_key(as_of), kpis_key(last_month_end(as_of)), KPIS_LATEST}
    rows = Rollup.objects.filter(key__in=keys).values_list("key", "value", "version", "computed_at")
    found = [StoredRollup(*row) for row in rows if row[1]["as_of"] <= as_of.isoformat()]
    # The latest block is also stored under its day's key: either serves, the dated one first.
    return max(found, key=lambda stored: (stored.value["as_of"], stored.key != KPIS_LATEST), default=None)


def series(metric: str, interval: str, start: date | None = None, end: date | None = None) -> StoredRollup:
    """The stored series of ``metric`` at ``interval``, with the points overlapping ``start``..``end``.

    The version is the content hash of what is returned, so it changes exactly when the answer
    does. Unknown metric or interval: ValueError. Whether a metric may be served publicly is the
    caller's question (:func:`public_metrics`).
    """
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}: use one of {', '.join(METRICS)}.")
    check_interval(interval)
    key = series_key(metric, interval)
    stored = _ensure_recomputed(key)
    if stored is None:
        empty = _series(metric, interval, [])
        return StoredRollup(key, empty, version_of(empty), timezone.now())
    points = [
        point
        for point in stored.value["points"]
        if (start is None or point["end"] >= start.isoformat())
        and (end is None or point["start"] <= end.isoformat())
    ]
    if len(points) == len(stored.value["points"]):
        return stored
    value = {**stored.value, "points": points}
    return StoredRollup(key, value, version_of(value), stored.computed_at)
