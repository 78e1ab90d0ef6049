"""Benchmark of the impact rollups at ten times the demo's size (``make bench``), on SQLite or
PostgreSQL (whichever ``bench/run.py`` runs on).

Measures, on the synthetic organization of ``bench/synthetic.py``:

- ``rollups_full``: ``recompute_rollups(costs=False)`` on an empty store (every figure, every series),
  against the floor of ``bench/rollups_floor.py`` timed in the same run: every KPI block (the
  as-of day's and each month-end's) and every series the recompute stores, computed from scratch
  the shortest way (per hub and reading day the latest sample by the app's own index seek, the
  sums and distinct counts in the database; the contributions grouped by day and repository;
  headcount, funding and contracts from their rows). The floor's values must equal what the
  recompute stored, key by key (``same_figures``), else the run fails. Budget: within 1.5x the
  floor.
- ``cost_rollups_full``: then the same run's cost rollups (``recompute_cost_rollups``, the first:
  every month summed, every month-end's users read), against each hub's monthly cost with its
  share of its cluster's costs no hub owns in raw SQL and its 30d users on each month-end by index
  seeks (``bench/cost_rollups.py``; the costs checked within a cent). Budget: within 2x, as that
  bench's.
- ``rollups_unchanged``: a recompute with nothing new, for the record.
- ``rollups_one_more_day``: the recompute after one more day came in the way the importers write
  it: 30d/7d/24h samples for every live hub (``bulk_create``, as the usage importers' upsert), and
  every live hub's cloud costs of the day and each cluster's core cost (``bulk_create``, as the
  cost import), and a typical day's merged pull requests by staff in a handful of key repositories, through the
  GitHub importer's own upsert (``pull_requests_upsert``: ``updated_at`` stamped, a recompute
  requested, stubbed out here). The store must then hold the floor's figures for the new day.
  Budget: under 1 s until the public figures are written; the cost rollups, which the same task
  then recomputes for the dashboard, are timed apart (``cost_rollups_seconds``, not budgeted
  here: ``bench/cost_rollups.py`` judges them).

Each figure is the median of ``RUNS`` runs; the full recompute and the floor take turns
(recompute, floor, recompute, floor...), so that a machine busy with other work slows both alike.
A smoke run (``bench/run.py --smoke``) builds the organization at scale 1 and runs each once.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import over_budget, recompute_stubbed, scale, smoke

FULL_RATIO_BUDGET = 1.5
# As bench/cost_rollups.py's: the cost rollups against the raw SQL of the hub costs alone.
COST_RATIO_BUDGET = 2.0
ONE_MORE_DAY_BUDGET = 1.0
SCALE = scale(10)
RUNS = 1 if smoke() else 3
# Pull requests merged on a typical day: the synthetic organization's, four years' worth, per day.
DAYS_OF_PULL_REQUESTS = 1461
REPOSITORIES_A_DAY = 8


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def timed(run) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


# --- one more day -----------------------------------------------------------------------------


def _import_usage_day(day: date) -> int:
    """One more day of 30d/7d/24h samples for every live hub, written the way the importer's
    upsert writes them (``bulk_create``, ``updated_at`` stamped now)."""
    from communities.models import ActiveUserCount, Hub

    rows = []
    for hub_id, launched_on, retired_on in Hub.objects.values_list("pk", "launched_on", "retired_on"):
        if launched_on <= day and (retired_on is None or retired_on > day):
            users = 10 + hub_id % 90
            rows += [
                ActiveUserCount(hub_id=hub_id, date=day, period="30d", active_users=users),
                ActiveUserCount(hub_id=hub_id, date=day, period="7d", active_users=users // 2),
                ActiveUserCount(hub_id=hub_id, date=day, period="24h", active_users=users // 7),
            ]
    ActiveUserCount.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _import_costs_day(day: date) -> int:
    """One more day of cloud costs: each live hub's compute and home storage, each cluster's
    core cost, written as the cost import's upsert writes new rows (``bulk_create``)."""
    from decimal import Decimal

    from communities.models import CloudCost, Hub

    rows, clusters = [], set()
    for hub_id, cluster, launched_on, retired_on in Hub.objects.values_list(
        "pk", "cluster", "launched_on", "retired_on"
    ):
        clusters.add(cluster)
        if launched_on <= day and (retired_on is None or retired_on > day):
            rows += [
                CloudCost(
                    date=day,
                    cluster=cluster,
                    hub_id=hub_id,
                    component=component,
                    amount=Decimal("3.21"),
                    currency="USD",
                )
                for component in ("compute", "home_storage")
            ]
    rows += [
        CloudCost(date=day, cluster=cluster, component="core", amount=Decimal("40.00"), currency="USD")
        for cluster in sorted(clusters)
    ]
    CloudCost.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _import_pull_requests_day(day: date, count: int) -> int:
    """``count`` pull requests merged on ``day`` by staff employed then, in a few repositories of
    key communities, through the GitHub importer's upsert; how many it created."""
    from django.db import transaction
    from django.db.models import Max, Q

    from contributions.models import PullRequest, Repository
    from contributions.services import pull_requests_upsert
    from staff.models import StaffMember

    repositories = list(
        Repository.objects.filter(upstream_community__is_key=True)
        .order_by("pk")
        .values_list("pk", "full_name")[:REPOSITORIES_A_DAY]
    )
    numbers = dict(
        PullRequest.objects.filter(repository_id__in=[pk for pk, _ in repositories])
        .values("repository_id")
        .annotate(last=Max("number"))
        .values_list("repository_id", "last")
    )
    handles = list(
        StaffMember.objects.filter(Q(end_on__isnull=True) | Q(end_on__gte=day), start_on__lte=day)
        .order_by("pk")
        .values_list("github", flat=True)
    )
    merged = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    rows = []
    for n in range(count):
        pk, name = repositories[n % len(repositories)]
        numbers[pk] = number = numbers.get(pk, 0) + 1
        rows.append(
            {
                "repository": name,
                "number": number,
                "title": f"One more day, change {n}",
                "url": f"https://github.com/{name}/pull/{number}",
                "author_login": handles[n % len(handles)],
                "created_at": merged - timedelta(hours=20),
                "merged_at": merged + timedelta(minutes=5 * n),
                "is_bot": False,
            }
        )
    with recompute_stubbed(), transaction.atomic():
        return pull_requests_upsert(rows=rows).created


# --- the benchmark ----------------------------------------------------------------------------


def _check(as_of: date, what: str) -> bool:
    """Whether the store holds the floor's figures as of ``as_of``; the differences printed."""
    from bench.cost_rollups import compare_hub_costs, hub_cost_floor, hub_costs
    from bench.rollups_floor import differences, floor, stored
    from opsite.kpis.costs import HUB_MONTH
    from opsite.kpis.models import Rollup

    off = differences(floor(as_of), stored())
    for line in off:
        print(f"# {what}: the store and the floor differ: {line}", flush=True)
    # Exits the run, naming the hub-months, when the costs differ by more than a cent.
    compare_hub_costs(hub_costs(Rollup.objects.get(key=HUB_MONTH).value), hub_cost_floor(as_of))
    return not off


def main() -> None:
    from bench.cost_rollups import cost_floor
    from bench.rollups_floor import floor
    from bench.synthetic import END, build, size_for
    from communities.models import ActiveUserCount
    from opsite.kpis.models import Rollup
    from opsite.kpis.rollups import recompute_cost_rollups, recompute_rollups

    # One line per figure: the store's own log lines would drown them.
    logging.getLogger("opsite.kpis.rollups").setLevel(logging.WARNING)
    build(scale=SCALE)
    as_of = END
    # Read the samples once, so that neither contender pays for the first read from disk.
    ActiveUserCount.objects.filter(period="24h").count()

    full, floors, cost_full, cost_floors = [], [], [], []
    for _ in range(RUNS):
        Rollup.objects.all().delete()
        # The run as the task makes it, its two parts timed apart: the public figures, then the
        # cost rollups; each against its own floor.
        full.append(timed(lambda: recompute_rollups(as_of=as_of, costs=False))[0])
        cost_full.append(timed(lambda: recompute_cost_rollups(as_of=as_of))[0])
        floors.append(timed(lambda: floor(as_of))[0])
        cost_floors.append(timed(lambda: cost_floor(as_of))[0])
    same = _check(as_of, "rollups_full")
    full_seconds, floor_seconds = statistics.median(full), statistics.median(floors)
    ratio = full_seconds / floor_seconds
    full_ok = ratio <= FULL_RATIO_BUDGET
    cost_seconds, cost_floor_seconds = statistics.median(cost_full), statistics.median(cost_floors)
    cost_ratio = cost_seconds / cost_floor_seconds
    cost_ok = cost_ratio <= COST_RATIO_BUDGET
    print(
        f"rollups_full ratio_vs_floor={ratio:.2f} seconds={full_seconds:.2f} floor_seconds={floor_seconds:.2f}"
        f" runs={RUNS} scale={SCALE} budget_ratio={FULL_RATIO_BUDGET} within_budget={verdict(full_ok)}"
        f" same_figures={verdict(same)}",
        flush=True,
    )
    print(
        f"cost_rollups_full ratio_vs_floor={cost_ratio:.2f} seconds={cost_seconds:.2f}"
        f" floor_seconds={cost_floor_seconds:.2f} runs={RUNS} budget_ratio={COST_RATIO_BUDGET}"
        f" within_budget={verdict(cost_ok)} same_figures={verdict(same)}",
        flush=True,
    )

    unchanged, unchanged_costs = [], []
    for _ in range(RUNS):
        unchanged.append(timed(lambda: recompute_rollups(as_of=as_of, costs=False))[0])
        unchanged_costs.append(timed(lambda: recompute_cost_rollups(as_of=as_of))[0])
    print(
        f"rollups_unchanged seconds={statistics.median(unchanged):.2f}"
        f" cost_rollups_seconds={statistics.median(unchanged_costs):.2f} runs={RUNS}",
        flush=True,
    )

    per_day = max(1, size_for(SCALE).pull_requests // DAYS_OF_PULL_REQUESTS)
    day, timings, cost_timings, samples, costs, pulls = as_of, [], [], 0, 0, 0
    for _ in range(RUNS):
        day += timedelta(days=1)
        samples += _import_usage_day(day)
        costs += _import_costs_day(day)
        pulls += _import_pull_requests_day(day, per_day)
        # The run as the task makes it: the public figures, then the cost rollups; timed apart.
        seconds, result = timed(lambda: recompute_rollups(costs=False))
        timings.append(seconds)
        cost_timings.append(timed(lambda day=day: recompute_cost_rollups(as_of=day))[0])
    day_seconds = statistics.median(timings)
    cost_seconds = statistics.median(cost_timings)
    day_ok = day_seconds < ONE_MORE_DAY_BUDGET
    day_same = result["as_of"] == day.isoformat() and _check(day, "rollups_one_more_day")
    print(
        f"rollups_one_more_day seconds={day_seconds:.2f} cost_rollups_seconds={cost_seconds:.2f}"
        f" runs={RUNS} budget_seconds={ONE_MORE_DAY_BUDGET:.0f}"
        f" within_budget={verdict(day_ok)} as_of={result['as_of']} usage_days_read={result['usage_days_read']}"
        f" samples_a_day={samples // RUNS} costs_a_day={costs // RUNS} pull_requests_a_day={pulls // RUNS} same_figures={verdict(day_same)}",
        flush=True,
    )
    if not (same and day_same):
        raise SystemExit("rollups: the store does not hold the floor's figures")
    if not (full_ok and cost_ok and day_ok):
        over_budget(
            f"rollups: over budget (full {ratio:.2f}x the floor, budget {FULL_RATIO_BUDGET}x; cost rollups"
            f" {cost_ratio:.2f}x theirs, budget {COST_RATIO_BUDGET}x; one more day {day_seconds:.2f} s,"
            f" budget {ONE_MORE_DAY_BUDGET:.0f} s)"
        )


if __name__ == "__main__":
    from bench.run import main as run

    raise SystemExit(run(["rollups"]))
