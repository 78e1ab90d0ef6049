"""Benchmark of the impact rollups at ten times the demo's size (``make bench``).

Measures, on the synthetic organization of ``bench/synthetic.py``:

- ``rollups_full``: ``recompute_rollups()`` on an empty store (every figure, every series), against
  a baseline timed in the same run: the same figures from hand-written SQL ``GROUP BY``
  statements (usage per reading day, pull requests per period and community, headcount per day,
  funding and contracts per period). Budget: within 2x of the baseline and under 60 s.
- ``rollups_one_more_day``: the recompute after importing one more day of usage for every hub.
  Budget: under 1 s.
- ``rollups_unchanged``: a recompute with nothing new, for reference.

Each figure is the best of two runs. The baseline's figures are checked against the stored ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

FULL_RATIO_BUDGET = 2.0
FULL_SECONDS_BUDGET = 60.0
ONE_MORE_DAY_BUDGET = 1.0
REPEATS = 2


def best_of(run: Callable[[], Any], *, before: Callable[[], None] | None = None) -> float:
    """The fastest of ``REPEATS`` timed runs of ``run``, each after an untimed ``before``."""
    timings = []
    for _ in range(REPEATS):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


# --- the raw SQL baseline ---------------------------------------------------------------------


def _usage_sql(days: list[date]) -> tuple[str, list[Any]]:
    """Per reading day: MAU/WAU/DAU, active hubs and communities, marginalized, countries."""
    from communities.rollups import LOOKBACK_DAYS

    values = ", ".join(["(%s, %s, %s, %s)"] * len(days))
    params: list[Any] = []
    for day in days:
        params += [day.isoformat()] + [
            (day - timedelta(days=LOOKBACK_DAYS[period] - 1)).isoformat() for period in ("30d", "7d", "24h")
        ]
    latest = " UNION ALL ".join(
        f"SELECT days.d AS d, s.hub_id AS hub_id, '{period}' AS period, MAX(s.date) AS date"
        f" FROM days JOIN communities_activeusercount s"
        f" ON s.period = '{period}' AND s.date >= days.{low} AND s.date <= days.d"
        " GROUP BY days.d, s.hub_id"
        for period, low in (("30d", "lo30"), ("7d", "lo7"), ("24h", "lo24"))
    )
    sql = f"""
        WITH days(d, lo30, lo7, lo24) AS (VALUES {values}),
        latest AS ({latest}),
        users AS (
            SELECT latest.d AS d, latest.period AS period, s.active_users AS active_users,
                   h.kind AS kind, h.community_id AS community_id,
                   c.historically_marginalized AS marginalized, c.country AS country
            FROM latest
            JOIN communities_activeusercount s
              ON s.hub_id = latest.hub_id AND s.date = latest.date AND s.period = latest.period
            JOIN communities_hub h ON h.id = latest.hub_id
            JOIN communities_community c ON c.id = h.community_id
            WHERE h.launched_on <= latest.d AND (h.retired_on IS NULL OR h.retired_on > latest.d)
        )
        SELECT d,
            SUM(CASE WHEN period = '30d' AND kind <> 'binderhub' THEN active_users ELSE 0 END),
            SUM(CASE WHEN period = '7d' AND kind <> 'binderhub' THEN active_users ELSE 0 END),
            SUM(CASE WHEN period = '24h' AND kind <> 'binderhub' THEN active_users ELSE 0 END),
            SUM(CASE WHEN period = '30d' AND active_users >= 1 THEN 1 ELSE 0 END),
            COUNT(DISTINCT CASE WHEN period = '30d' AND active_users >= 1 THEN community_id END),
            COUNT(DISTINCT CASE WHEN period = '30d' AND active_users >= 1 AND marginalized
                  THEN community_id END),
            COUNT(DISTINCT CASE WHEN period = '30d' AND active_users >= 1 THEN country END)
        FROM users GROUP BY d ORDER BY d
    """
    return sql, params


COUNTED_PULL_REQUESTS = """
    FROM contributions_pullrequest p
    JOIN staff_staffmember s ON s.id = p.author_id
    JOIN contributions_repository r ON r.id = p.repository_id
    JOIN contributions_upstreamcommunity u ON u.id = r.upstream_community_id
    WHERE p.merged_at IS NOT NULL AND NOT p.is_bot AND u.is_key
      AND s.start_on <= date(p.merged_at) AND (s.end_on IS NULL OR s.end_on >= date(p.merged_at))
      AND date(p.merged_at) <= %s
"""
PERIOD_SQL = {
    "month": "strftime('%%Y-%%m', {column})",
    "quarter": "strftime('%%Y', {column}) || '-Q' || ((CAST(strftime('%%m', {column}) AS INTEGER) + 2) / 3)",
    "year": "strftime('%%Y', {column})",
}
RATE_SQL = """
    CASE WHEN {table}.currency = %s THEN 1 ELSE (
        SELECT e.rate FROM funding_exchangerate e
        WHERE e.currency = {table}.currency AND e.effective_on <= {table}.{day}
        ORDER BY e.effective_on DESC LIMIT 1) END
"""


def raw_sql_baseline(as_of: date, usage_days: list[date], staff_days: list[date]) -> dict[str, Any]:
    """The published figures, computed by SQL ``GROUP BY`` alone (SQLite dialect)."""
    from django.conf import settings
    from django.db import connection

    from contributions.rollups import contributions_since

    results: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute(*_usage_sql(usage_days))
        results["usage"] = {row[0]: row[1:] for row in cursor.fetchall()}
        for interval, period_sql in PERIOD_SQL.items():
            period = period_sql.format(column="p.merged_at")
            cursor.execute(
                f"SELECT {period}, u.slug, COUNT(*) {COUNTED_PULL_REQUESTS} GROUP BY 1, 2",
                [as_of.isoformat()],
            )
            results[f"pulls:{interval}"] = cursor.fetchall()
            cursor.execute(
                f"SELECT {period}, COUNT(DISTINCT p.repository_id) {COUNTED_PULL_REQUESTS} GROUP BY 1",
                [as_of.isoformat()],
            )
            results[f"repositories:{interval}"] = cursor.fetchall()
        cursor.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT p.repository_id) {COUNTED_PULL_REQUESTS} AND date(p.merged_at) >= %s",
            [as_of.isoformat(), contributions_since().isoformat()],
        )
        results["pulls:total"] = cursor.fetchone()
        days = ", ".join(["(%s)"] * len(staff_days))
        cursor.execute(
            f"WITH days(d) AS (VALUES {days}) SELECT days.d, m.team, COUNT(*), SUM(m.fte)"
            " FROM days JOIN staff_staffmember m ON m.start_on <= days.d"
            " AND (m.end_on IS NULL OR m.end_on >= days.d) GROUP BY 1, 2",
            [day.isoformat() for day in staff_days],
        )
        results["staff"] = cursor.fetchall()
        currency = settings.OPSITE_CURRENCY
        for interval, period_sql in PERIOD_SQL.items():
            grant_rate = RATE_SQL.format(table="g", day="awarded_on")
            cursor.execute(
                f"SELECT {period_sql.format(column='g.awarded_on')}, g.category,"
                f" SUM(g.amount * {grant_rate}),"
                " SUM((g.amount - CASE WHEN g.role = 'prime' THEN COALESCE((SELECT SUM(a.amount)"
                f" FROM funding_subaward a WHERE a.grant_id = g.id), 0) ELSE 0 END) * {grant_rate})"
                " FROM funding_grant g WHERE g.status IN ('awarded', 'closed') AND g.awarded_on <= %s"
                " GROUP BY 1, 2",
                [currency, currency, as_of.isoformat()],
            )
            results[f"grants:{interval}"] = cursor.fetchall()
            contract_rate = RATE_SQL.format(table="k", day="signed_on")
            cursor.execute(
                f"SELECT {period_sql.format(column='k.signed_on')}, k.category, COUNT(*),"
                f" SUM(k.total_value * {contract_rate})"
                " FROM contracts_servicecontract k WHERE k.status = 'signed' AND k.signed_on <= %s"
                " GROUP BY 1, 2",
                [currency, as_of.isoformat()],
            )
            results[f"contracts:{interval}"] = cursor.fetchall()
    return results


# --- the benchmark ----------------------------------------------------------------------------


def _reading_days(as_of: date) -> tuple[list[date], list[date]]:
    from communities.rollups import usage_first_day
    from opsite.core.periods import reading_days
    from staff.rollups import staffing_first_day

    usage_first, staff_first = usage_first_day(), staffing_first_day()
    return reading_days(usage_first, as_of), reading_days(staff_first, as_of)


def _import_usage_day(day: date) -> int:
    """One more day of 30d/7d/24h samples for every live hub, written the way the importer's
    upsert writes them (``bulk_create``, ``updated_at`` stamped now)."""
    from communities.models import ActiveUserCount, Hub
    from communities.rollups import is_live

    rows = []
    for hub_id, launched_on, retired_on in Hub.objects.values_list("pk", "launched_on", "retired_on"):
        if is_live(launched_on=launched_on, retired_on=retired_on, day=day):
            users = 10 + hub_id % 90
            rows += [
                ActiveUserCount(hub_id=hub_id, date=day, period="30d", active_users=users),
                ActiveUserCount(hub_id=hub_id, date=day, period="7d", active_users=users // 2),
                ActiveUserCount(hub_id=hub_id, date=day, period="24h", active_users=users // 7),
            ]
    ActiveUserCount.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _check(baseline: dict[str, Any], as_of: date) -> bool:
    """Whether the stored KPIs agree with the baseline's figures for the as-of day."""
    from opsite.kpis.rollups import kpis

    block = kpis(as_of=as_of).value
    mau, wau, dau, hubs, communities, marginalized, countries = baseline["usage"][as_of.isoformat()]
    merged, repositories = baseline["pulls:total"]
    return (
        block["users"] == {"monthly_active": mau, "weekly_active": wau, "daily_active": dau}
        and block["hubs"]["active"] == hubs
        and block["communities"]
        == {"active": communities, "historically_marginalized": marginalized, "countries": countries}
        and (block["contributions"]["merged_pull_requests"], block["contributions"]["repositories"])
        == (merged, repositories)
    )


def _has_updated_at_index() -> bool:
    from django.db import connection

    from communities.models import ActiveUserCount

    table = ActiveUserCount._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return any(info["index"] and info["columns"][:1] == ["updated_at"] for info in constraints.values())


def main() -> None:
    from django.db import connection

    from bench.synthetic import END, build
    from communities.models import ActiveUserCount
    from opsite.kpis.models import Rollup
    from opsite.kpis.rollups import recompute_rollups

    # One line per figure: the store's own log lines would drown them.
    logging.getLogger("opsite.kpis.rollups").setLevel(logging.WARNING)
    build(scale=10)
    if connection.vendor != "sqlite":
        print("rollups skipped: the raw SQL baseline is written for SQLite")
        return
    as_of = END
    usage_days, staff_days = _reading_days(as_of)
    # Warm the page cache once, so neither contender pays for the first read of the file.
    ActiveUserCount.objects.filter(period="24h").count()

    baseline: dict[str, Any] = {}

    def run_baseline():
        baseline.update(raw_sql_baseline(as_of, usage_days, staff_days))

    def empty_store():
        Rollup.objects.all().delete()

    sql_seconds = best_of(run_baseline)
    full_seconds = best_of(lambda: recompute_rollups(as_of=as_of), before=empty_store)
    ratio = full_seconds / sql_seconds
    ok = ratio <= FULL_RATIO_BUDGET and full_seconds < FULL_SECONDS_BUDGET
    print(
        f"rollups_full ratio_vs_sql={ratio:.2f} seconds={full_seconds:.2f} sql_seconds={sql_seconds:.2f}"
        f" budget_ratio={FULL_RATIO_BUDGET} budget_seconds={FULL_SECONDS_BUDGET:.0f} within_budget={verdict(ok)}"
        f" same_figures={verdict(_check(baseline, as_of))}",
        flush=True,
    )

    unchanged_seconds = best_of(lambda: recompute_rollups(as_of=as_of))
    print(f"rollups_unchanged seconds={unchanged_seconds:.2f}", flush=True)

    day = as_of
    timings = []
    for _ in range(REPEATS):
        day += timedelta(days=1)
        _import_usage_day(day)
        started = time.perf_counter()
        result = recompute_rollups()
        timings.append(time.perf_counter() - started)
    seconds = min(timings)
    print(
        f"rollups_one_more_day seconds={seconds:.2f} budget_seconds={ONE_MORE_DAY_BUDGET:.0f}"
        f" within_budget={verdict(seconds < ONE_MORE_DAY_BUDGET)} as_of={result['as_of']}"
        f" usage_days_read={result['usage_days_read']} updated_at_index={verdict(_has_updated_at_index())}",
        flush=True,
    )
    if not _has_updated_at_index():
        # How the one-more-day recompute does with the index on ActiveUserCount.updated_at that
        # finding changed samples wants (requested of the communities app).
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE INDEX bench_auc_updated_at ON {ActiveUserCount._meta.db_table} (updated_at)"
            )
        timings = []
        for _ in range(REPEATS):
            day += timedelta(days=1)
            _import_usage_day(day)
            started = time.perf_counter()
            recompute_rollups()
            timings.append(time.perf_counter() - started)
        seconds = min(timings)
        print(
            f"rollups_one_more_day_with_updated_at_index seconds={seconds:.2f}"
            f" budget_seconds={ONE_MORE_DAY_BUDGET:.0f} within_budget={verdict(seconds < ONE_MORE_DAY_BUDGET)}",
            flush=True,
        )


if __name__ == "__main__":
    from bench.run import main as run

    raise SystemExit(run(["rollups"]))
