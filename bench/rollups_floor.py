"""The floor of the rollup recompute, for ``bench/rollups.py``: every KPI block and every series the
recompute stores (``kpis:*`` and ``series:*``, docs/api.md), computed the shortest way we know,
from scratch, on SQLite and PostgreSQL alike.

A floor, not a strawman: each figure is read the way the app's own definitions
(docs/definitions.md) are cheapest to read, so that the recompute's ratio to it says what its
bookkeeping costs, not how slow a careless query can be.

- Usage: one statement for every reading day at once. Per live hub and day, its latest sample of
  each period in the look-back window is one seek on the unique (hub, date, period) index: the
  seek the app makes (``communities/rollups.py``), written the same way for each database's
  planner. The database then adds the users up and counts the distinct active communities,
  marginalized communities and countries per day: only one row per day comes back.
- Contributions: one ``GROUP BY`` (merge day, repository, upstream community) over the counted pull
  requests, then one pass in Python for the totals, the month-end totals and the three series
  (distinct repositories do not add up across days, so the database cannot finish them).
- Headcount and FTE: the roster, a hundred rows, counted per day in Python.
- Funding and contracts: their rows (a few thousand), converted at the rate in effect on each day.

The synthetic organization holds no row dated outside the plausible range, so the floor does not
filter for them. Left out, as none of them is a KPI block or a series: the hubs-by-users histogram,
the data-quality counts and the cost rollups (empty here), which the recompute also stores.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Look-back windows in days, ending on the day asked about (docs/definitions.md "Active users").
LOOKBACK = {"30d": 35, "7d": 10, "24h": 2}
USAGE_FIELDS = ("hubs", "communities", "marginalized", "countries", "monthly", "weekly", "daily")


def _money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))


def _tables() -> dict[str, str]:
    from django.db import connection

    from communities.models import ActiveUserCount, Community, Hub
    from contributions.models import PullRequest, Repository, UpstreamCommunity
    from staff.models import StaffMember

    models = {
        "samples": ActiveUserCount,
        "hubs": Hub,
        "communities": Community,
        "pulls": PullRequest,
        "repositories": Repository,
        "upstream": UpstreamCommunity,
        "staff": StaffMember,
    }
    return {name: connection.ops.quote_name(model._meta.db_table) for name, model in models.items()}


# --- usage ----------------------------------------------------------------------------------------


def _usage_sql(count: int) -> str:
    """Per day of a ``days`` list of ``count`` (day, 30d, 7d and 24h window starts): the figures."""
    from django.db import connection

    t = _tables()
    postgres = connection.vendor == "postgresql"
    day = "CAST(%s AS date)" if postgres else "%s"
    values = ", ".join([f"({day}, {day}, {day}, {day})"] * count)
    # As in the app: SQLite's planner, without statistics, needs ``period || ''`` to keep off the
    # (period, date) index; PostgreSQL's, with them, needs the bare column.
    period = "s.period" if postgres else "(s.period || '')"

    def seek(label: str, low: str) -> str:
        return (
            f"COALESCE((SELECT s.active_users FROM {t['samples']} s WHERE s.hub_id = h.id"
            f" AND {period} = '{label}' AND s.date >= days.{low} AND s.date <= days.d"
            " ORDER BY s.hub_id DESC, s.date DESC LIMIT 1), 0)"
        )

    return f"""
        WITH days(d, lo30, lo7, lo24) AS (VALUES {values}),
        users AS MATERIALIZED (
            SELECT days.d AS d, h.kind AS kind, h.community_id AS community,
                   c.historically_marginalized AS marginalized, c.country AS country,
                   {seek("30d", "lo30")} AS monthly, {seek("7d", "lo7")} AS weekly,
                   {seek("24h", "lo24")} AS daily
            FROM days
            JOIN {t["hubs"]} h ON h.launched_on <= days.d AND (h.retired_on IS NULL OR h.retired_on > days.d)
            JOIN {t["communities"]} c ON c.id = h.community_id
        )
        SELECT d,
            SUM(CASE WHEN monthly >= 1 THEN 1 ELSE 0 END),
            COUNT(DISTINCT CASE WHEN monthly >= 1 THEN community END),
            COUNT(DISTINCT CASE WHEN monthly >= 1 AND marginalized THEN community END),
            COUNT(DISTINCT CASE WHEN monthly >= 1 THEN country END),
            SUM(CASE WHEN kind <> 'binderhub' THEN monthly ELSE 0 END),
            SUM(CASE WHEN kind <> 'binderhub' THEN weekly ELSE 0 END),
            SUM(CASE WHEN kind <> 'binderhub' THEN daily ELSE 0 END)
        FROM users GROUP BY d
    """


def usage_on(days: list[date]) -> dict[date, tuple[int, ...]]:
    """The usage figures of each day (:data:`USAGE_FIELDS`), zero for a day without a live hub."""
    from django.db import connection

    adapt = connection.ops.adapt_datefield_value
    params = []
    for day in days:
        params.append(adapt(day))
        params += [adapt(day - timedelta(days=LOOKBACK[label] - 1)) for label in ("30d", "7d", "24h")]
    figures = {day: (0,) * len(USAGE_FIELDS) for day in days}
    with connection.cursor() as cursor:
        cursor.execute(_usage_sql(len(days)), params)
        for row in cursor.fetchall():
            day = row[0] if isinstance(row[0], date) else date.fromisoformat(row[0])
            figures[day] = tuple(int(value or 0) for value in row[1:])
    return figures


# --- contributions --------------------------------------------------------------------------------


def contribution_facts(as_of: date) -> list[tuple[date, int, str, int]]:
    """Counted contributions merged up to ``as_of``, by (merge day, repository, community)."""
    from django.db import connection

    t = _tables()
    merged_on = "CAST(p.merged_at AS date)" if connection.vendor == "postgresql" else "date(p.merged_at)"
    until = connection.ops.adapt_datetimefield_value(
        datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    )
    sql = f"""
        SELECT {merged_on}, p.repository_id, u.slug, COUNT(*)
        FROM {t["pulls"]} p
        JOIN {t["staff"]} m ON m.id = p.author_id
        JOIN {t["repositories"]} r ON r.id = p.repository_id
        JOIN {t["upstream"]} u ON u.id = r.upstream_community_id
        WHERE p.merged_at IS NOT NULL AND p.merged_at < %s AND NOT p.is_bot AND u.is_key
          AND m.start_on <= {merged_on} AND (m.end_on IS NULL OR m.end_on >= {merged_on})
        GROUP BY 1, 2, 3
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [until])
        rows = cursor.fetchall()
    facts = [
        (day if isinstance(day, date) else date.fromisoformat(day), repo, slug, n)
        for day, repo, slug, n in rows
    ]
    facts.sort()
    return facts


def _contributions_since() -> date:
    from django.conf import settings

    since = settings.OPSITE_CONTRIBUTIONS_SINCE
    return since if isinstance(since, date) else date.fromisoformat(str(since))


def _totals_on(facts: list, since: date, days: list[date]) -> dict[date, tuple[int, int]]:
    """The count and distinct repositories of the facts from ``since`` to each of ``days``."""
    totals, merged, repositories, index = {}, 0, set(), 0
    counted = [fact for fact in facts if fact[0] >= since]
    for day in sorted(days):
        while index < len(counted) and counted[index][0] <= day:
            merged += counted[index][3]
            repositories.add(counted[index][1])
            index += 1
        totals[day] = (merged, len(repositories))
    return totals


def _contribution_series(facts: list, as_of: date) -> dict[str, Any]:
    from opsite.core.periods import INTERVALS, period_start, periods_between

    values = {}
    for interval in INTERVALS:
        periods = periods_between(facts[0][0], as_of, interval) if facts else []
        at = {period.start: index for index, period in enumerate(periods)}
        merged = [0] * len(periods)
        repositories: list[set[int]] = [set() for _ in periods]
        communities: list[dict[str, int]] = [defaultdict(int) for _ in periods]
        for day, repository, slug, count in facts:
            index = at[period_start(day, interval)]
            merged[index] += count
            repositories[index].add(repository)
            communities[index][slug] += count
        slugs = sorted({slug for counts in communities for slug in counts})
        points = [
            {
                **period.as_dict(),
                "value": merged[index],
                "groups": {slug: communities[index].get(slug, 0) for slug in slugs},
                "repositories": len(repositories[index]),
            }
            for index, period in enumerate(periods)
        ]
        values[f"series:merged-pull-requests:{interval}"] = _series("merged-pull-requests", interval, points)
    return values


# --- headcount, funding, contracts ------------------------------------------------------------------


def staffing_on(days: list[date]) -> dict[date, tuple[int, Decimal, dict[str, tuple[int, Decimal]]]]:
    """Headcount, FTE and both by team (every team) on each day, from the roster."""
    from staff.choices import Team
    from staff.models import StaffMember

    roster = list(StaffMember.objects.values_list("team", "fte", "start_on", "end_on"))
    figures = {}
    for day in days:
        teams = {team: [0, ZERO] for team in Team.values}
        for team, fte, start, end in roster:
            if start <= day and (end is None or end >= day):
                teams[team][0] += 1
                teams[team][1] += fte
        figures[day] = (
            sum(count for count, _ in teams.values()),
            sum((fte for _, fte in teams.values()), ZERO),
            {team: (count, fte) for team, (count, fte) in teams.items()},
        )
    return figures


class Rates:
    """The exchange rate in effect on a day: the latest effective on or before it."""

    def __init__(self) -> None:
        from django.conf import settings

        from funding.models import ExchangeRate

        self.currency = settings.OPSITE_CURRENCY
        self.dates: dict[str, list[date]] = defaultdict(list)
        self.rates: dict[str, list[Decimal]] = defaultdict(list)
        for currency, day, rate in ExchangeRate.objects.order_by("currency", "effective_on").values_list(
            "currency", "effective_on", "rate"
        ):
            self.dates[currency].append(day)
            self.rates[currency].append(rate)

    def convert(self, amount: Decimal, currency: str, day: date) -> Decimal:
        if currency == self.currency:
            return amount
        rate = self.rates[currency][bisect_right(self.dates[currency], day) - 1]
        return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _money_series(
    metric: str, first: date | None, as_of: date, rows: list[tuple], categories: list[str], *, counted: bool
) -> dict[str, Any]:
    """A funding (``counted`` False: gross and net sums) or contracts (counts and values) series
    from ``rows`` of (day, category, first amount, second amount)."""
    from opsite.core.periods import INTERVALS, period_start, periods_between

    values = {}
    for interval in INTERVALS:
        periods = periods_between(first, as_of, interval) if first else []
        at = {period.start: index for index, period in enumerate(periods)}
        one = [dict.fromkeys(categories, 0 if counted else ZERO) for _ in periods]
        two = [dict.fromkeys(categories, ZERO) for _ in periods]
        for day, category, first_amount, second_amount in rows:
            index = at.get(period_start(day, interval))
            if index is not None and day <= as_of:
                one[index][category] += first_amount
                two[index][category] += second_amount
        points = []
        for index, period in enumerate(periods):
            if counted:
                extra = {
                    "value": sum(one[index].values()),
                    "groups": one[index],
                    "total_value": _money(sum(two[index].values(), ZERO)),
                    "total_value_groups": {key: _money(value) for key, value in two[index].items()},
                }
            else:
                extra = {
                    "value": _money(sum(one[index].values(), ZERO)),
                    "groups": {key: _money(value) for key, value in one[index].items()},
                    "net": _money(sum(two[index].values(), ZERO)),
                    "net_groups": {key: _money(value) for key, value in two[index].items()},
                }
            points.append({**period.as_dict(), **extra})
        values[f"series:{metric}:{interval}"] = _series(metric, interval, points)
    return values


def _funding_and_contracts(as_of: date) -> dict[str, Any]:
    from contracts.choices import ContractCategory
    from contracts.models import ServiceContract
    from funding.choices import GrantCategory
    from funding.models import Grant, Subaward

    rates = Rates()
    grants = list(
        Grant.objects.filter(status__in=["awarded", "closed"], awarded_on__isnull=False).values_list(
            "pk", "awarded_on", "category", "role", "amount", "currency"
        )
    )
    # Added here, as exact decimals: SQLite sums a decimal column as floats.
    passed_on: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for grant, amount in Subaward.objects.filter(grant__role="prime").values_list("grant", "amount"):
        passed_on[grant] += amount
    contracts = list(
        ServiceContract.objects.filter(status="signed", signed_on__isnull=False).values_list(
            "signed_on", "category", "total_value", "currency"
        )
    )
    flows = [
        (
            day,
            category,
            rates.convert(amount, currency, day),
            rates.convert(amount - (passed_on[pk] if role == "prime" else ZERO), currency, day),
        )
        for pk, day, category, role, amount, currency in grants
    ]
    signed = [
        (day, category, 1, rates.convert(value, currency, day))
        for day, category, value, currency in contracts
    ]
    flows += [(day, "service_contract", value, value) for day, _, _, value in signed]
    firsts = [row[0] for row in flows]
    values = _money_series(
        "funding",
        min(firsts, default=None),
        as_of,
        flows,
        [*GrantCategory.values, "service_contract"],
        counted=False,
    )
    values.update(
        _money_series(
            "contracts",
            min((row[0] for row in signed), default=None),
            as_of,
            signed,
            ContractCategory.values,
            counted=True,
        )
    )
    return values


# --- the values -----------------------------------------------------------------------------------


def _series(metric: str, interval: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metric": metric, "interval": interval, "points": points}


def _block(day: date, usage: tuple, totals: tuple[int, int], staffing: tuple, since: date) -> dict[str, Any]:
    hubs, communities, marginalized, countries, monthly, weekly, daily = usage
    return {
        "as_of": day.isoformat(),
        "communities": {
            "active": communities,
            "historically_marginalized": marginalized,
            "countries": countries,
        },
        "hubs": {"active": hubs},
        "users": {"monthly_active": monthly, "weekly_active": weekly, "daily_active": daily},
        "contributions": {
            "merged_pull_requests": totals[0],
            "repositories": totals[1],
            "since": since.isoformat(),
        },
        "staff": {"headcount": staffing[0], "fte": _money(staffing[1])},
    }


def _reading_days(first: date | None, as_of: date) -> list[date]:
    """Each month's last day from ``first``'s month on, ``as_of`` for its own month."""
    from opsite.core.periods import MONTH, periods_between

    return (
        sorted({min(period.end, as_of) for period in periods_between(first, as_of, MONTH)} | {as_of})
        if first
        else [as_of]
    )


def _month_ends(start: date, end: date) -> list[date]:
    from opsite.core.periods import MONTH, periods_between

    return [period.end for period in periods_between(start, end, MONTH) if start <= period.end <= end]


def floor(as_of: date) -> dict[str, Any]:
    """Every KPI block and series the recompute stores for ``as_of``, by key."""
    from communities.models import ActiveUserCount
    from opsite.core.periods import INTERVALS, periods_between
    from staff.models import StaffMember

    usage_first = (
        ActiveUserCount.objects.filter(period="30d").order_by("date").values_list("date", flat=True).first()
    )
    staff_first = StaffMember.objects.order_by("start_on").values_list("start_on", flat=True).first()
    since = _contributions_since()
    usage = usage_on(_reading_days(usage_first, as_of))
    staffing = staffing_on(_reading_days(staff_first, as_of))
    facts = contribution_facts(as_of)
    counted_first = next((fact[0] for fact in facts if fact[0] >= since), None)

    # The month-ends from the one before the figures begin, each with its block; and the as-of day.
    last = as_of if _month_ends(as_of, as_of) else as_of.replace(day=1) - timedelta(days=1)
    firsts = [day for day in (usage_first, staff_first, counted_first) if day is not None]
    month_ends = _month_ends(min(firsts).replace(day=1) - timedelta(days=1), last) if firsts else []
    totals = _totals_on(facts, since, [*month_ends, as_of])
    no_usage, no_staff = (0,) * len(USAGE_FIELDS), (0, ZERO, {})
    values: dict[str, Any] = {}
    for day in month_ends:
        values[f"kpis:{day.isoformat()}"] = _block(
            day,
            usage[day] if usage_first is not None and day >= usage_first else no_usage,
            totals[day],
            staffing[day] if staff_first is not None and day >= staff_first else no_staff,
            since,
        )
    block = _block(as_of, usage[as_of], totals[as_of], staffing[as_of], since)
    values[f"kpis:{as_of.isoformat()}"] = values["kpis:latest"] = block

    for interval in INTERVALS:
        usage_periods = periods_between(usage_first, as_of, interval) if usage_first else []
        read = [(period.as_dict(), usage[period.reading_day(as_of)]) for period in usage_periods]
        points = {
            "active-communities": [
                {**period, "value": u[1], "groups": {"historically_marginalized": u[2], "other": u[1] - u[2]}}
                for period, u in read
            ],
            "active-hubs": [{**period, "value": u[0], "groups": {}} for period, u in read],
            "monthly-active-users": [{**period, "value": u[4], "groups": {}} for period, u in read],
            "weekly-active-users": [{**period, "value": u[5], "groups": {}} for period, u in read],
        }
        for metric, metric_points in points.items():
            values[f"series:{metric}:{interval}"] = _series(metric, interval, metric_points)
        staff_periods = periods_between(staff_first, as_of, interval) if staff_first else []
        headcount = []
        for period in staff_periods:
            count, fte, teams = staffing[period.reading_day(as_of)]
            groups = {team: members for team, (members, _) in teams.items()}
            headcount.append({**period.as_dict(), "value": count, "groups": groups, "fte": _money(fte)})
        values[f"series:headcount:{interval}"] = _series("headcount", interval, headcount)
    values.update(_contribution_series(facts, as_of))
    values.update(_funding_and_contracts(as_of))
    return values


def stored() -> dict[str, Any]:
    """What the store holds under ``kpis:*`` and ``series:*``, by key."""
    from django.db.models import Q

    from opsite.kpis.models import Rollup

    rows = Rollup.objects.filter(Q(key__startswith="kpis:") | Q(key__startswith="series:"))
    return dict(rows.values_list("key", "value"))


def differences(expected: dict[str, Any], actual: dict[str, Any], limit: int = 3) -> list[str]:
    """Where ``actual`` differs from ``expected``, key by key (at most ``limit``), for a message."""
    found = []
    for key in sorted(expected.keys() | actual.keys()):
        if expected.get(key) == actual.get(key):
            continue
        if key not in actual or key not in expected:
            found.append(f"{key}: {'missing from the store' if key not in actual else 'not in the floor'}")
        else:
            found.append(f"{key}: {_first_difference(expected[key], actual[key])}")
        if len(found) == limit:
            break
    return found


def _first_difference(expected: Any, actual: Any, where: str = "") -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys(), key=str):
            if expected.get(key) != actual.get(key):
                return _first_difference(expected.get(key), actual.get(key), f"{where}.{key}")
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (one, other) in enumerate(zip(expected, actual, strict=True)):
            if one != other:
                return _first_difference(one, other, f"{where}[{index}]")
    return f"{where or 'value'} floor={expected!r} stored={actual!r}"
