"""Benchmark: importing two years of daily cloud costs per hub and component, against ``bulk_create``.

1,000 hubs on eight clusters, 730 days (2023-01-01 to 2024-12-30), two components a hub a day
(``compute`` and ``home_storage``): 1,460,000 ``CloudCost`` rows, amounts deterministic (whole
cents from the hub, the day and the component). They are written in the importers' real inputs:

* the billing CSV finance exports (``date,cluster,hub,component,cost,currency``, by day, then
  cluster, then hub), one file and one batch: the path a backfill of that size takes
  (``import_cloud_costs --csv PATH``);
* the cost-monitoring service's saved answers, one file per cluster (``--cluster C --from-file
  PATH``): what the service path does with its answers, minus the HTTP.

The figures:

* ``cloud_cost_import``: the CSV importer end to end, ``cost_import(csv=...)`` as the command
  calls it (reading and checking every cell, the hubs by name, the duplicate check, the stored rows
  read back, the inserts in its batches, the report), on an empty table; afterwards the table must
  hold exactly the generated rows (their count and the sum of their amounts);
* the baseline, ``CloudCost.objects.bulk_create`` of the same rows, the objects already built and
  the importer's batch size (``UPSERT_BATCH_SIZE``; Django caps it at 124 rows, 999 variables, on
  SQLite): the floor of any implementation;
* ``cloud_cost_reimport``: the same CSV again over the rows it wrote, once: the idempotent path,
  which must write nothing (the run fails if it writes a row);
* ``cloud_cost_import_answers``: the saved answers of every cluster, once, on an empty table,
  checked the same way.

The CSV import and the baseline run in turn, each on the table emptied (``DELETE``), in the same
process, ``RUNS`` rounds; their figures are the medians. Budget: each import within 3x the
baseline (wall clock; the CPU seconds are printed beside, for a machine other processes share).
The rollup recompute the importer requests is stubbed out: a worker runs it, not the import.

At full size a run takes about a quarter of an hour on two cores (the ``# cloud_costs`` lines say
how long each part took); ``make bench`` runs it. Smaller, for a smoke test:
``OPSITE_BENCH_COST_HUBS=100 OPSITE_BENCH_COST_RUNS=1`` (``OPSITE_BENCH_COST_ANSWERS=0`` skips
the saved answers), or ``python bench/cloud_costs.py --hubs 100 --runs 1 --no-answers``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import over_budget, smoke

BUDGET = 3.0
# A smoke run (bench/run.py --smoke): 20 hubs (29,200 rows), one round.
HUBS = int(os.environ.get("OPSITE_BENCH_COST_HUBS", "20" if smoke() else "1000"))
RUNS = int(os.environ.get("OPSITE_BENCH_COST_RUNS", "1" if smoke() else "3"))
ANSWERS = os.environ.get("OPSITE_BENCH_COST_ANSWERS", "1") != "0"
CLUSTERS = 8
DAYS = 730
FIRST_DAY = date(2023, 1, 1)
COMPONENTS = ("compute", "home_storage")
CURRENCY = "USD"
SEED = 20241230


# --- the data -----------------------------------------------------------------------------------


def setup_hubs(hubs: int) -> list[tuple[int, str, str]]:
    """``hubs`` hubs on ``CLUSTERS`` clusters, each with its cost source: ``(id, slug, cluster)``."""
    from communities.models import Community, CostSource, Hub

    Community.objects.bulk_create(
        [
            Community(
                slug=f"community-{n}",
                name=f"Community {n}",
                kind="university",
                country="US",
                region="north_america",
                joined_on=date(2020, 1, 1),
                historically_marginalized=False,
            )
            for n in range(hubs)
        ],
        batch_size=500,
    )
    community_ids = dict(Community.objects.values_list("slug", "pk"))
    Hub.objects.bulk_create(
        [
            Hub(
                slug=f"hub-{n}",
                community_id=community_ids[f"community-{n}"],
                name=f"Hub {n}",
                cluster=f"cluster-{n % CLUSTERS}",
                provider="aws",
                launched_on=date(2020, 1, 1),
            )
            for n in range(hubs)
        ],
        batch_size=500,
    )
    CostSource.objects.bulk_create(
        [
            CostSource(cluster=f"cluster-{c}", url=f"https://cost-monitoring.cluster-{c}.example.org")
            for c in range(CLUSTERS)
        ]
    )
    return list(Hub.objects.order_by("cluster", "slug").values_list("pk", "slug", "cluster"))


def daily_costs(hubs: list[tuple[int, str, str]]) -> list[tuple[int, int, int, int]]:
    """``(day index, hub index, component index, cents)`` of every cost, by day, cluster, hub."""
    rng = random.Random(SEED)
    # Each hub's size: compute of a few dollars to a few hundred a day, storage a tenth of it.
    bases = [(rng.randint(300, 30_000), rng.randint(20, 3_000)) for _ in hubs]
    weekly = (100, 104, 106, 105, 101, 70, 64)  # weekends are quieter
    costs = []
    for d in range(DAYS):
        week = weekly[d % 7]
        for h, (compute, storage) in enumerate(bases):
            jitter = (h * 7919 + d * 104_729) % 97  # deterministic, not periodic in the day
            costs.append((d, h, 0, compute * week // 100 + jitter))
            costs.append((d, h, 1, storage + d * storage // 2_000 + jitter % 7))  # storage only grows
    return costs


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _write_csv(path: Path, hubs: list[tuple[int, str, str]], costs) -> None:
    days = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["date", "cluster", "hub", "component", "cost", "currency"])
        writer.writerows(
            (days[d], hubs[h][2], hubs[h][1], COMPONENTS[c], _money(cents), CURRENCY)
            for d, h, c, cents in costs
        )


def _write_answers(workdir: Path, hubs: list[tuple[int, str, str]], costs) -> dict[str, Path]:
    """The same costs as the cost-monitoring service's saved answers, one file per cluster."""
    from communities.cost_monitoring import SAVED_KEYS

    days = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)]
    spelled = [component.replace("_", " ") for component in COMPONENTS]  # the service's spelling
    per_hub: dict[str, list] = {}
    per_component: dict[str, dict[str, list]] = {}
    totals: dict[tuple[int, int], int] = {}
    for d, h, c, cents in costs:
        _, slug, cluster = hubs[h]
        per_component.setdefault(cluster, {}).setdefault(slug, []).append(
            {"date": days[d], "cost": _money(cents), "component": spelled[c]}
        )
        totals[(d, h)] = totals.get((d, h), 0) + cents
    for (d, h), cents in totals.items():
        per_hub.setdefault(hubs[h][2], []).append(
            {"date": days[d], "cost": _money(cents), "name": hubs[h][1]}
        )
    files = {}
    for cluster in sorted(per_hub):
        files[cluster] = workdir / f"{cluster}.json"
        answers = {SAVED_KEYS[0]: per_hub[cluster], SAVED_KEYS[1]: per_component[cluster]}
        files[cluster].write_text(json.dumps(answers), encoding="utf-8")
    return files


def cost_objects(hubs: list[tuple[int, str, str]], costs) -> list:
    """The same rows as unsaved ``CloudCost`` objects, for the baseline."""
    from communities.models import CloudCost

    days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
    return [
        CloudCost(
            date=days[d],
            cluster=hubs[h][2],
            hub_id=hubs[h][0],
            component=COMPONENTS[c],
            amount=Decimal(cents).scaleb(-2),
            currency=CURRENCY,
        )
        for d, h, c, cents in costs
    ]


# --- the timings --------------------------------------------------------------------------------


def _empty() -> None:
    from django.db import connection

    from communities.models import CloudCost

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CloudCost._meta.db_table}")


def _stored() -> tuple[int, Decimal]:
    """The table's row count and the sum of its amounts, exactly.

    Summed in whole cents: SQLite keeps a decimal column's values as floating point, whose sum over
    a million rows is off by a fraction of a cent.
    """
    from django.db.models import Count, F, IntegerField, Sum
    from django.db.models.functions import Cast, Round

    from communities.models import CloudCost

    totals = CloudCost.objects.aggregate(
        rows=Count("id"), cents=Sum(Cast(Round(F("amount") * 100), IntegerField()))
    )
    return totals["rows"], Decimal(totals["cents"] or 0).scaleb(-2)


def _check(what: str, expected: tuple[int, Decimal]) -> None:
    rows, amount = _stored()
    if (rows, amount) != expected:
        raise SystemExit(
            f"cloud_costs: after {what} the table holds {rows} rows of {amount} in all; "
            f"expected {expected[0]} rows of {expected[1]}"
        )


def _import(path: Path):
    """The importer as ``import_cloud_costs --csv PATH`` runs it; the run's report."""
    from bench.run import recompute_stubbed
    from communities.cost_import import cost_import

    with recompute_stubbed():
        report = cost_import(csv=path)
    if report.failed:
        raise SystemExit(f"cloud_costs: the import failed: {report.lines()}")
    return report


def _import_answers(files: dict[str, Path]) -> list:
    """``import_cloud_costs --cluster C --from-file PATH`` of each cluster's saved answers."""
    from bench.run import recompute_stubbed
    from communities.cost_import import cost_import

    with recompute_stubbed():
        reports = [cost_import(cluster=cluster, from_file=path) for cluster, path in files.items()]
    if any(report.failed for report in reports):
        raise SystemExit(f"cloud_costs: the saved answers' import failed: {[r.lines() for r in reports]}")
    return reports


def _baseline(objects: list) -> None:
    from communities.cost_services import UPSERT_BATCH_SIZE
    from communities.models import CloudCost

    CloudCost.objects.bulk_create(objects, batch_size=UPSERT_BATCH_SIZE)


def _unsaved(objects: list) -> None:
    """Make the baseline's objects new again (``bulk_create`` gave them their ids)."""
    for obj in objects:
        obj.pk = None
        obj._state.adding = True
        obj._state.db = None


@dataclass
class Timings:
    """Wall-clock and CPU seconds of each run of one thing."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, function, *args):
        started, cpu = time.perf_counter(), time.process_time()
        result = function(*args)
        self.wall.append(time.perf_counter() - started)
        self.cpu.append(time.process_time() - cpu)
        return result

    @property
    def last(self) -> str:
        return f"{self.wall[-1]:.1f} s ({self.cpu[-1]:.1f} s CPU)"

    @property
    def seconds(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(self.cpu)


def _verdict(name: str, rows: int, timings: Timings, baseline: Timings, extra: str = "") -> bool:
    """Print the figures of ``timings`` against the baseline's; whether they are within budget.

    The budget is on wall-clock time; the CPU figures say how much of it other processes took on a
    shared machine (none when both agree).
    """
    ratio = timings.seconds / baseline.seconds
    ok = ratio <= BUDGET
    print(
        f"{name} seconds={timings.seconds:.2f} rows={rows} ratio_vs_bulk_create={ratio:.2f} "
        f"baseline_seconds={baseline.seconds:.2f} cpu_seconds={timings.cpu_seconds:.2f} "
        f"cpu_ratio_vs_bulk_create={timings.cpu_seconds / baseline.cpu_seconds:.2f} {extra}"
        f"runs={len(timings.wall)} budget={BUDGET:.0f}x {'ok' if ok else 'OVER BUDGET'}",
        flush=True,
    )
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hubs", type=int, default=HUBS, help=f"hubs (default {HUBS})")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"rounds (default {RUNS})")
    parser.add_argument(
        "--answers",
        action=argparse.BooleanOptionalAction,
        default=ANSWERS,
        help="also time the saved answers' path once (default: yes)",
    )
    args = parser.parse_args(argv or [])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="opsite-bench-cloud-costs-") as tmp:
        workdir = Path(tmp)
        from bench.run import ensure_django

        ensure_django(workdir / "cloud_costs.sqlite3")
        hubs = setup_hubs(args.hubs)
        costs = daily_costs(hubs)
        rows = len(costs)
        expected = (rows, sum(Decimal(cents) for *_, cents in costs).scaleb(-2))
        path = workdir / "cloud_costs.csv"
        _write_csv(path, hubs, costs)
        files = _write_answers(workdir, hubs, costs) if args.answers else {}
        objects = cost_objects(hubs, costs)
        del costs
        print(
            f"# cloud_costs: {len(hubs)} hubs on {CLUSTERS} clusters x {DAYS} days x {len(COMPONENTS)} "
            f"components = {rows} rows, {expected[1]} {CURRENCY}; CSV {path.stat().st_size / 1e6:.0f} MB; "
            f"data ready in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        imports, baselines, reimport, answers = Timings(), Timings(), Timings(), Timings()
        for run in range(args.runs):
            last = run == args.runs - 1
            _empty()
            report = imports.run(_import, path)
            _check("the import", expected)
            if report.parts[0].result.created != rows:
                raise SystemExit(f"cloud_costs: the import reports {report.lines()}, not {rows} added")
            if last:
                # The same file over the rows it wrote: the idempotent path.
                again = reimport.run(_import, path).parts[0].result
                _check("the second import", expected)
            _empty()
            _unsaved(objects)
            baselines.run(_baseline, objects)
            _check("bulk_create", expected)
            line = f"# cloud_costs round {run + 1}: import {imports.last}, bulk_create {baselines.last}"
            if last and files:
                _empty()
                answers.run(_import_answers, files)
                _check("the saved answers' import", expected)
                line += f", saved answers {answers.last}"
            print(line, flush=True)
        _empty()

    ok = _verdict("cloud_cost_import", rows, imports, baselines, extra="path=csv ")
    print(
        f"cloud_cost_reimport seconds={reimport.seconds:.2f} rows={rows} rows_written={again.changed} "
        f"unchanged={again.unchanged} ratio_vs_bulk_create={reimport.seconds / baselines.seconds:.2f} "
        f"cpu_seconds={reimport.cpu_seconds:.2f}",
        flush=True,
    )
    if files:
        ok = (
            _verdict(
                "cloud_cost_import_answers",
                rows,
                answers,
                baselines,
                extra=f"path=from-file files={len(files)} ",
            )
            and ok
        )
    print(f"# cloud_costs: run in {time.perf_counter() - started:.0f} s", flush=True)
    if again.changed:
        raise SystemExit(f"cloud_costs: importing the same file again wrote {again.changed} rows")
    if not ok:
        over_budget(f"cloud_costs: an import took over {BUDGET:.0f}x bulk_create")


if __name__ == "__main__":
    # Run as a script: the repository's root, for ``bench.run`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(sys.argv[1:])
