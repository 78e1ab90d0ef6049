"""Benchmark: the importers reading files, against ``bulk_create`` of the same rows.

* ``import_prs``: 100,000 merged pull requests from a saved GitHub search answer
  (``pull_requests_sync(from_file=...)``: JSON decoding, checking every item, the upsert, the run
  record), against ``bulk_create`` of the same repositories and pull requests;
* ``import_usage_csv``: a year of daily 30-day active users for 1,000 hubs from the per-hub CSV
  (365,000 rows), against ``bulk_create`` of the same ``ActiveUserCount`` rows;
* ``import_usage_prometheus``: the same year and hubs as saved ``query_range`` answers of ten
  clusters (``--from-file``, one file per cluster; the 30d period, 365,000 samples: the other two
  periods cost the same per sample), against ``bulk_create`` of the same rows.

Budget: each import within 3x its baseline, timed in the same run on the same (empty) tables. The
rollup recompute the importers request is stubbed out: in production it is queued for a worker,
not part of the import. Run alone with ``python bench/importers.py``, or through ``make bench``.
"""

from __future__ import annotations

import csv
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import over_budget, smoke

BUDGET = 3.0
# A smoke run (bench/run.py --smoke): 2,000 pull requests, and a month of 20 hubs.
PULL_REQUESTS = 2_000 if smoke() else 100_000
HUBS = 20 if smoke() else 1_000
CLUSTERS = 10
DAYS = 30 if smoke() else 365
FIRST_DAY = date(2024, 1, 1)
SEED = 20240101
ORGS = ["jupyter", "jupyterlab", "jupyterhub", "executablebooks", "pangeo-data", "dask"]
STAFF = 40


def _empty(*models) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _compare(name: str, rows: int, *, run_import, verify, run_baseline, tables) -> bool:
    """Time the import on empty tables, then the baseline on the same tables emptied again.

    The import goes first, so any warm-up (the file grown, pages cached) favours the baseline:
    the ratio errs on the side of the importer looking slower.
    """
    from bench.run import recompute_stubbed

    with recompute_stubbed():
        seconds = _timed(run_import)
    verify()
    _empty(*tables)
    baseline = _timed(run_baseline)
    _empty(*tables)
    return _report(name, rows, seconds, baseline)


def _report(name: str, rows: int, seconds: float, baseline: float) -> bool:
    ratio = seconds / baseline
    ok = ratio <= BUDGET
    print(
        f"{name} ratio_vs_bulk_create={ratio:.2f} seconds={seconds:.2f} baseline_seconds={baseline:.2f} "
        f"rows={rows} budget={BUDGET:.1f} {'ok' if ok else 'OVER BUDGET'}",
        flush=True,
    )
    return ok


# --- pull requests ----------------------------------------------------------------------------


def _setup_contributions(rng: random.Random) -> list[str]:
    from contributions.models import UpstreamCommunity
    from staff.models import StaffMember

    UpstreamCommunity.objects.bulk_create(
        [UpstreamCommunity(slug=org, name=org.title(), github_orgs=[org], is_key=True) for org in ORGS]
    )
    logins = [f"staffer-{n}" for n in range(STAFF)]
    StaffMember.objects.bulk_create(
        [
            StaffMember(
                slug=login, name=login.title(), github=login, team="engineering", start_on=date(2020, 1, 6)
            )
            for login in logins
        ]
    )
    return logins


def _search_items(rng: random.Random, logins: list[str]) -> list[dict]:
    """Search items in the documented shape, trimmed of the fields the importer does not read."""
    repositories = [f"{org}/repo-{n}" for org in ORGS for n in range(300)]
    authors = [*logins, "dependabot[bot]", "pre-commit-ci[bot]", "outside-contributor"]
    numbers: dict[str, int] = {}
    items = []
    start = datetime(2021, 1, 1, tzinfo=UTC)
    for n in range(PULL_REQUESTS):
        repository = rng.choice(repositories)
        numbers[repository] = number = numbers.get(repository, 0) + 1
        login = rng.choice(authors)
        created = start + timedelta(minutes=17 * n)
        merged = created + timedelta(hours=rng.randint(1, 240))
        api = f"https://api.github.com/repos/{repository}"
        items.append(
            {
                "url": f"{api}/issues/{number}",
                "repository_url": api,
                "html_url": f"https://github.com/{repository}/pull/{number}",
                "id": 2_000_000_000 + n,
                "number": number,
                "title": f"Improve the thing, part {n}",
                "user": {
                    "login": login,
                    "id": 1000 + authors.index(login),
                    "type": "Bot" if "[bot]" in login else "User",
                },
                "state": "closed",
                "created_at": created.isoformat().replace("+00:00", "Z"),
                "closed_at": merged.isoformat().replace("+00:00", "Z"),
                "pull_request": {
                    "url": f"{api}/pulls/{number}",
                    "html_url": f"https://github.com/{repository}/pull/{number}",
                    "merged_at": merged.isoformat().replace("+00:00", "Z"),
                },
            }
        )
    return items


def _pull_request_baseline(rows: list[dict]) -> None:
    """``bulk_create`` of the same repositories and pull requests, authors already known."""
    from contributions.models import PullRequest, Repository, UpstreamCommunity
    from staff.models import StaffMember

    owners = dict(UpstreamCommunity.objects.values_list("slug", "pk"))
    names = sorted({row["repository"] for row in rows})
    Repository.objects.bulk_create(
        [Repository(full_name=name, upstream_community_id=owners.get(name.split("/")[0])) for name in names],
        batch_size=1000,
    )
    repository_ids = dict(Repository.objects.values_list("full_name", "pk"))
    staff_ids = dict(StaffMember.objects.values_list("github", "pk"))
    PullRequest.objects.bulk_create(
        [
            PullRequest(
                repository_id=repository_ids[row["repository"]],
                number=row["number"],
                title=row["title"],
                url=row["url"],
                author_login=row["author_login"],
                author_id=staff_ids.get(row["author_login"]),
                created_at=row["created_at"],
                merged_at=row["merged_at"],
                is_bot=row["is_bot"],
            )
            for row in rows
        ],
        batch_size=1000,
    )


def bench_pull_requests(workdir: Path, rng: random.Random) -> bool:
    from contributions.github import pull_request_row, pull_requests_sync
    from contributions.models import PullRequest, Repository, SyncRun

    logins = _setup_contributions(rng)
    items = _search_items(rng, logins)
    saved = workdir / "pull_requests.json"
    saved.write_text(json.dumps({"total_count": len(items), "incomplete_results": False, "items": items}))
    rows = [pull_request_row(item, where="bench") for item in items]
    del items

    runs: list[SyncRun] = []

    def verify() -> None:
        if runs[0].status != SyncRun.Status.SUCCEEDED or PullRequest.objects.count() != PULL_REQUESTS:
            raise SystemExit(f"import_prs did not import everything: {runs[0].status} {runs[0].error[:200]}")

    return _compare(
        "import_prs",
        PULL_REQUESTS,
        run_import=lambda: runs.append(pull_requests_sync(from_file=saved)),
        verify=verify,
        run_baseline=lambda: _pull_request_baseline(rows),
        tables=(PullRequest, Repository),
    )


# --- usage ------------------------------------------------------------------------------------


def _setup_hubs() -> list[tuple[int, str, str]]:
    """1,000 hubs on ten clusters: ``(id, slug, cluster)``."""
    from communities.models import Community, Hub

    Community.objects.bulk_create(
        [
            Community(
                slug=f"community-{n}",
                name=f"Community {n}",
                kind="university",
                country="US",
                region="north_america",
                joined_on=date(2020, 1, 1),
                historically_marginalized=True,
            )
            for n in range(HUBS)
        ]
    )
    community_ids = dict(Community.objects.values_list("slug", "pk"))
    Hub.objects.bulk_create(
        [
            Hub(
                slug=f"hub-{n}",
                community_id=community_ids[f"community-{n}"],
                name=f"Hub {n}",
                cluster=f"cluster-{n % CLUSTERS}",
                provider="gcp",
                launched_on=date(2020, 1, 1),
            )
            for n in range(HUBS)
        ]
    )
    return list(Hub.objects.order_by("pk").values_list("pk", "slug", "cluster"))


def _users(rng: random.Random, base: int, day: int) -> int:
    return max(0, base + (day % 7) * 3 + rng.randint(-5, 5))


def bench_usage_csv(workdir: Path, rng: random.Random, hubs: list[tuple[int, str, str]]) -> bool:
    from communities.models import ActiveUserCount
    from communities.usage import hub_usage_csv_import

    days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
    values = {(slug, d): _users(rng, 40 + pk % 300, d) for pk, slug, _ in hubs for d in range(DAYS)}
    path = workdir / "hubs.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["date", "hub", "users", "cluster"])
        for _, slug, cluster in hubs:
            for d, day in enumerate(days):
                writer.writerow([day.isoformat(), slug, values[(slug, d)], cluster])
    rows = len(values)

    def baseline_rows():
        ActiveUserCount.objects.bulk_create(
            [
                ActiveUserCount(hub_id=pk, date=day, period="30d", active_users=values[(slug, d)])
                for pk, slug, _ in hubs
                for d, day in enumerate(days)
            ],
            batch_size=500,
        )

    reports: list = []

    def verify() -> None:
        if reports[0].failed or ActiveUserCount.objects.count() != rows:
            raise SystemExit(f"import_usage_csv did not import everything: {reports[0]}")

    return _compare(
        "import_usage_csv",
        rows,
        run_import=lambda: reports.append(hub_usage_csv_import(path=path)),
        verify=verify,
        run_baseline=baseline_rows,
        tables=(ActiveUserCount,),
    )


def bench_usage_prometheus(workdir: Path, rng: random.Random, hubs: list[tuple[int, str, str]]) -> bool:
    from communities.models import ActiveUserCount, PrometheusSource
    from communities.prometheus import usage_import

    periods = ("30d",)
    # A day's sample is taken at 00:00 UTC of the next day.
    stamps = [int(datetime(2024, 1, 2, tzinfo=UTC).timestamp()) + 86400 * d for d in range(DAYS)]
    values = {
        (pk, period, d): _users(rng, 60 + pk % 200, d)
        for pk, _, _ in hubs
        for period in periods
        for d in range(DAYS)
    }
    files = {}
    for c in range(CLUSTERS):
        cluster = f"cluster-{c}"
        PrometheusSource.objects.create(cluster=cluster, url=f"https://prometheus.{cluster}.example.org")
        answers = {
            period: {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {
                            "metric": {"namespace": slug},
                            "values": [[stamps[d], str(values[(pk, period, d)])] for d in range(DAYS)],
                        }
                        for pk, slug, hub_cluster in hubs
                        if hub_cluster == cluster
                    ],
                },
            }
            for period in periods
        }
        files[cluster] = workdir / f"{cluster}.json"
        files[cluster].write_text(json.dumps(answers))

    def baseline_rows():
        ActiveUserCount.objects.bulk_create(
            [
                ActiveUserCount(
                    hub_id=pk, date=FIRST_DAY + timedelta(days=d), period=period, active_users=users
                )
                for (pk, period, d), users in values.items()
            ],
            batch_size=500,
        )

    def run_import() -> None:
        for cluster, path in files.items():
            report = usage_import(cluster=cluster, from_file=path)
            if report.failed:
                raise SystemExit(f"import_usage_prometheus failed: {report.lines()}")

    def verify() -> None:
        if ActiveUserCount.objects.count() != len(values):
            raise SystemExit("import_usage_prometheus did not import every sample")

    return _compare(
        "import_usage_prometheus",
        len(values),
        run_import=run_import,
        verify=verify,
        run_baseline=baseline_rows,
        tables=(ActiveUserCount,),
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="opsite-bench-importers-") as tmp:
        workdir = Path(tmp)
        from bench.run import ensure_django

        ensure_django(workdir / "importers.sqlite3")
        rng = random.Random(SEED)
        results = [bench_pull_requests(workdir, rng)]
        hubs = _setup_hubs()
        results.append(bench_usage_csv(workdir, rng, hubs))
        results.append(bench_usage_prometheus(workdir, rng, hubs))
    if not all(results):
        over_budget(f"importers: over the {BUDGET:.0f}x budget")


if __name__ == "__main__":
    # Run as a script: the repository's root, for ``bench.run`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
