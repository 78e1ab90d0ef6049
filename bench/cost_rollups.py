"""Benchmark: the cloud cost rollups over 1.5 million daily costs, against raw SQL ``GROUP BY``.

The data of ``bench/cloud_costs.py`` (1,000 hubs on eight clusters, 730 days, ``compute`` and
``home_storage`` a hub a day: 1,460,000 rows), plus what the rollups also read at that size: each
cluster's hub-less ``core`` cost every day (5,840 rows, shared among its hubs), and each hub's 30d
active users on each month-end (24,000 samples). Written once, with ``bulk_create``.

The figures, each the median of ``RUNS`` interleaved runs:

* ``cost_rollups``: what a recompute computes for the ``costs:*`` keys,
  ``opsite.kpis.costs.cost_values(as_of, RateTable.load())``, as on the first recompute (no
  state: every month-end's 30d users are read): the monthly sums in the database, the shares of
  each cluster's hub-less costs to the cent, the cost per active user, the components and the
  margins (no contract here), ready to store;
* the baseline, one raw SQL statement computing the same hub costs: ``GROUP BY`` month, cluster and
  hub, then each cluster's hub-less costs shared in proportion with window functions over the
  cluster's month, every row fetched: the floor of any implementation in the database; and each
  hub's 30d users on each month-end, one index seek per hub and day (the cost per active user
  needs them).

Then ``cost_rollups_one_more_day``: after a recompute that kept its state (the costs written before
it lie outside its watermark's hour), one more day of costs for every hub, and the cost part of
the next recompute: only the open month is summed again. Its hub costs must equal a computation
from scratch (the shares and points of every month are computed again from the kept sums).
For the record, beside the first run's.

Each hub's monthly cost must agree between the two within a cent (the rollup splits a shared cost
to the cent by the largest remainder, the SQL rounds each share), else the run fails. Budget: the
rollups within 2x the baseline (wall clock; the CPU seconds are printed beside).

At full size the data takes about a minute to write; ``make bench`` runs it. Smaller, for a smoke
test: ``OPSITE_BENCH_COST_HUBS=100 OPSITE_BENCH_COST_RUNS=1``, or ``python bench/cost_rollups.py
--hubs 100 --runs 1``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cloud_costs import (
    CLUSTERS,
    CURRENCY,
    DAYS,
    FIRST_DAY,
    HUBS,
    RUNS,
    Timings,
    cost_objects,
    daily_costs,
    setup_hubs,
)
from bench.run import over_budget

BUDGET = 2.0
AS_OF = FIRST_DAY + timedelta(days=DAYS - 1)
# A cluster's hub-less core cost a day, in cents: shared among its hubs by their own costs.
CORE_CENTS = 4_321
TOLERANCE = Decimal("0.01")


# --- the data -----------------------------------------------------------------------------------


def _write(hub_count: int) -> tuple[int, list[tuple[int, str, str]]]:
    """The costs, the clusters' core costs and the hubs' month-end users; how many costs, and
    the hubs."""
    from communities.models import ActiveUserCount, CloudCost
    from opsite.core.periods import month_end

    hubs = setup_hubs(hub_count)
    costs = daily_costs(hubs)
    objects = cost_objects(hubs, costs)
    objects += [
        CloudCost(
            date=FIRST_DAY + timedelta(days=d),
            cluster=f"cluster-{c}",
            hub=None,
            component="core",
            amount=Decimal(CORE_CENTS + d % 13).scaleb(-2),
            currency=CURRENCY,
        )
        for d in range(DAYS)
        for c in range(CLUSTERS)
    ]
    CloudCost.objects.bulk_create(objects, batch_size=2_000)
    month_ends = sorted({month_end(FIRST_DAY + timedelta(days=d)) for d in range(DAYS)})
    ActiveUserCount.objects.bulk_create(
        [
            ActiveUserCount(hub_id=hub_id, date=day, period="30d", active_users=(hub_id * 37 + m) % 400)
            for hub_id, _slug, _cluster in hubs
            for m, day in enumerate(day for day in month_ends if day <= AS_OF)
        ],
        batch_size=2_000,
    )
    return len(objects), hubs


def _one_more_day(hubs: list[tuple[int, str, str]], day) -> int:
    """Each hub's two components and each cluster's core cost on ``day``, as the importer writes
    them (``bulk_create``, ``updated_at`` stamped now); how many."""
    from communities.models import CloudCost

    objects = [
        CloudCost(
            date=day,
            cluster=cluster,
            hub_id=hub_id,
            component=component,
            amount=Decimal("1.23"),
            currency=CURRENCY,
        )
        for hub_id, _slug, cluster in hubs
        for component in ("compute", "home_storage")
    ] + [
        CloudCost(
            date=day,
            cluster=f"cluster-{c}",
            hub=None,
            component="core",
            amount=Decimal("43.21"),
            currency=CURRENCY,
        )
        for c in range(CLUSTERS)
    ]
    CloudCost.objects.bulk_create(objects, batch_size=2_000)
    return len(objects)


def _incremental(hubs: list[tuple[int, str, str]], runs: int, full_seconds: float) -> None:
    """One more day of costs after a recompute that kept its state: the recompute's cost part then
    (only the open month summed again, and its month-end's users), against the first run's. The
    hub costs must equal a computation from scratch. For the record."""
    from django.utils import timezone

    from communities.models import ActiveUserCount, CloudCost
    from funding.currency import RateTable
    from opsite.kpis.costs import HUB_MONTH, STATE_COSTS, cost_values
    from opsite.kpis.models import Rollup

    # What was written before the recompute lies outside its watermark's margin (an hour).
    earlier = timezone.now() - timedelta(hours=2)
    CloudCost.objects.update(updated_at=earlier)
    ActiveUserCount.objects.update(updated_at=earlier)
    Rollup.objects.filter(key=STATE_COSTS).delete()
    state = cost_values(AS_OF, RateTable.load())[STATE_COSTS]
    Rollup.objects.create(key=STATE_COSTS, value=state, version="bench", computed_at=timezone.now())
    day = AS_OF + timedelta(days=1)
    written = _one_more_day(hubs, day)
    timings = Timings()
    for _ in range(runs):
        incremental = timings.run(lambda: cost_values(day, RateTable.load()))
    Rollup.objects.filter(key=STATE_COSTS).delete()
    if cost_values(day, RateTable.load())[HUB_MONTH] != incremental[HUB_MONTH]:
        raise SystemExit("cost_rollups: one more day, the kept sums and a sum from scratch disagree")
    months_stored = incremental[STATE_COSTS]["sums"]["months"]
    ratio = timings.seconds / full_seconds
    # For the record: only the open month is summed again, but every month's shares and points
    # are computed again from the kept sums.
    print(
        f"cost_rollups_one_more_day seconds={timings.seconds:.3f} costs_a_day={written} "
        f"months_stored={len(months_stored)} ratio_vs_first_run={ratio:.2f} same_figures=yes",
        flush=True,
    )


# --- the two computations -----------------------------------------------------------------------


def _rollups() -> dict[tuple[str, str], Decimal]:
    """``cost_values`` as a first recompute runs it; each hub's cost by (month, slug)."""
    from funding.currency import RateTable
    from opsite.kpis.costs import HUB_MONTH, STATE_COSTS, cost_values
    from opsite.kpis.models import Rollup

    Rollup.objects.filter(key=STATE_COSTS).delete()  # the first recompute's: every month-end read
    return hub_costs(cost_values(AS_OF, RateTable.load())[HUB_MONTH])


def hub_costs(hub_month: dict) -> dict[tuple[str, str], Decimal]:
    """The ``costs:hub-month`` value's costs, by (month, hub slug)."""
    return {
        (point["period"], row["hub"]): Decimal(row["cost"])
        for point in hub_month["points"]
        for row in point["hubs"]
    }


def _month_sql(vendor: str) -> str:
    return "to_char(date, 'YYYY-MM')" if vendor == "postgresql" else "substr(date, 1, 7)"


def hub_cost_floor(as_of: date = AS_OF) -> dict[tuple[str, int], Decimal]:
    """One raw SQL statement: each hub's monthly cost with its share, by (month, hub id)."""
    from django.db import connection

    from communities.models import CloudCost

    month = _month_sql(connection.vendor)
    sql = f"""
        WITH monthly AS (
            SELECT {month} AS month, cluster, hub_id, SUM(amount) AS amount
            FROM {CloudCost._meta.db_table}
            WHERE date <= %s
            GROUP BY {month}, cluster, hub_id
        ), cluster_month AS (
            SELECT month, hub_id, amount,
                   SUM(CASE WHEN hub_id IS NULL THEN amount ELSE 0 END) OVER clusters AS pool,
                   SUM(CASE WHEN hub_id IS NULL THEN 0 ELSE amount END) OVER clusters AS owned
            FROM monthly
            WINDOW clusters AS (PARTITION BY month, cluster)
        )
        SELECT month, hub_id, amount + COALESCE(pool * amount / NULLIF(owned, 0), 0)
        FROM cluster_month
        WHERE hub_id IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of])
        return {(row[0], row[1]): Decimal(str(row[2])) for row in cursor.fetchall()}


def hub_users_floor(days: list[date]) -> dict[tuple[date, int], int]:
    """Each hub's 30d active users on each of ``days``, by (day, hub id): its latest 30d sample in
    the look-back window, one index seek per hub and day, one raw statement per day."""
    from django.db import connection

    from bench.rollups_floor import LOOKBACK
    from communities.models import ActiveUserCount, Hub

    quote = connection.ops.quote_name
    # As in the app: SQLite's planner, without statistics, needs ``period || ''`` to keep off the
    # (period, date) index; PostgreSQL's, with them, needs the bare column.
    period = "s.period" if connection.vendor == "postgresql" else "(s.period || '')"
    sql = (
        f"SELECT h.id, (SELECT s.active_users FROM {quote(ActiveUserCount._meta.db_table)} s"
        f" WHERE s.hub_id = h.id AND {period} = '30d' AND s.date >= %s AND s.date <= %s"
        f" ORDER BY s.hub_id DESC, s.date DESC LIMIT 1) FROM {quote(Hub._meta.db_table)} h"
    )
    adapt = connection.ops.adapt_datefield_value
    users = {}
    with connection.cursor() as cursor:
        for day in days:
            cursor.execute(sql, [adapt(day - timedelta(days=LOOKBACK["30d"] - 1)), adapt(day)])
            users.update({(day, hub_id): count for hub_id, count in cursor.fetchall() if count})
    return users


def cost_floor(as_of: date = AS_OF) -> dict[tuple[str, int], Decimal]:
    """What the cost rollups need at the least, the shortest way: each hub's monthly cost
    (:func:`hub_cost_floor`) and its 30d active users on each month's last day (the as-of day for
    the current month, :func:`hub_users_floor`). The hub costs, by (month, hub id)."""
    from opsite.core.periods import month_end

    costs = hub_cost_floor(as_of)
    months = {date.fromisoformat(f"{month}-01") for month, _ in costs}
    hub_users_floor(sorted(min(month_end(month), as_of) for month in months))
    return costs


def compare_hub_costs(
    rollups: dict[tuple[str, str], Decimal], baseline: dict[tuple[str, int], Decimal]
) -> None:
    """Fail the run unless each hub-month's cost agrees within a cent with the baseline's."""
    from communities.models import Hub

    slugs = dict(Hub.objects.values_list("pk", "slug"))
    floor = {(month, slugs[hub_id]): amount for (month, hub_id), amount in baseline.items()}
    if set(floor) != set(rollups):
        missing = sorted(set(floor) ^ set(rollups))[:5]
        raise SystemExit(
            f"cost_rollups: the rollups and the SQL disagree on which hub-months have costs: {missing}"
        )
    off = [(key, rollups[key], floor[key]) for key in rollups if abs(rollups[key] - floor[key]) > TOLERANCE]
    if off:
        raise SystemExit(f"cost_rollups: {len(off)} hub-months differ by more than a cent, e.g. {off[:3]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hubs", type=int, default=HUBS, help=f"hubs (default {HUBS})")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"rounds (default {RUNS})")
    args = parser.parse_args(argv or [])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="opsite-bench-cost-rollups-") as tmp:
        from bench.run import ensure_django

        ensure_django(Path(tmp) / "cost_rollups.sqlite3")
        rows, hubs = _write(args.hubs)
        print(
            f"# cost_rollups: {args.hubs} hubs on {CLUSTERS} clusters, {rows} costs to {AS_OF}; "
            f"data ready in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        rollups, baselines = Timings(), Timings()
        for run in range(args.runs):
            computed = rollups.run(_rollups)
            floor = baselines.run(cost_floor)
            compare_hub_costs(computed, floor)
            print(
                f"# cost_rollups round {run + 1}: rollups {rollups.last}, raw SQL {baselines.last}",
                flush=True,
            )
        ratio = rollups.seconds / baselines.seconds
        ok = ratio <= BUDGET
        _incremental(hubs, args.runs, rollups.seconds)
    print(
        f"cost_rollups seconds={rollups.seconds:.2f} rows={rows} hub_months={len(computed)} "
        f"ratio_vs_raw_sql={ratio:.2f} baseline_seconds={baselines.seconds:.2f} "
        f"cpu_seconds={rollups.cpu_seconds:.2f} cpu_ratio_vs_raw_sql={rollups.cpu_seconds / baselines.cpu_seconds:.2f} "
        f"runs={len(rollups.wall)} budget={BUDGET:.0f}x {'ok' if ok else 'OVER BUDGET'}",
        flush=True,
    )
    print(f"# cost_rollups: run in {time.perf_counter() - started:.0f} s", flush=True)
    if not ok:
        over_budget(f"cost_rollups: the rollups took over {BUDGET:.0f}x the raw SQL")


if __name__ == "__main__":
    main(sys.argv[1:])
