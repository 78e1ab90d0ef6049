"""Benchmark of the public API under a real WSGI server, as in production (``make bench``).

On the demo organization (its rollups stored, its impact stories published), served by gunicorn
with the production settings and Redis as the cache, loaded by ``wrk`` on loopback
(``bench/servers.py``), on SQLite or PostgreSQL (whichever ``bench/run.py`` runs on):

- every public route, each through one or more of its answers (:data:`PATHS`): the KPI block
  (latest, and ``?as_of`` a stored month-end), a whole series (the default interval, and monthly),
  a slice of one, a KPI badge and a series badge, the stories, both hub data files, the widget
  script and a widget card. The routes are read from the URL conf: one without a path here fails
  the run, so a new endpoint cannot go unmeasured. Each answer's requests per second are compared
  with ``/bench/trivial/``'s, a Django view answering a constant JSON object through the same
  middleware, served by the same workers in the same run (``bench/urls_bench.py``). Budget: each
  at least 0.8 of the trivial view's throughput.
- ``pull_requests_page``: a 1,000-row page of ``/api/v1/contributions/pull-requests/`` (a
  superuser's token): its latency through gunicorn, and its queries, counted in this process,
  against a 10-row page. Budget: the same number of queries.

Each public answer is measured in ``ROUNDS`` rounds, each paired with a round of the trivial view
just before or after it (the order alternates), so that a machine busy with other work slows both
alike: its ratio is the median of its pairs' ratios, its rate and p95 latency the median of its
rounds. Every request says ``Accept-Encoding: gzip, deflate, br``, as browsers do (the data files
then come gzipped). Every answer must be a 2xx or 3xx, without a socket error, else the run fails. Without
wrk (and no way to install it) the load is skipped, with the reason.

    python bench/api.py        # alone; or through bench/run.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import over_budget, smoke
from bench.servers import (
    CONNECTIONS,
    WORKERS,
    ensure_wrk,
    failures,
    free_port,
    get,
    redis,
    skip_or_fail,
    start_gunicorn,
    stop,
    wrk_round,
)

ROOT = Path(__file__).resolve().parent.parent
ROUND_SECONDS = 1 if smoke() else 2
WARM_SECONDS = 1
ROUNDS = 1 if smoke() else 3
RATIO_BUDGET = 0.8
PAGE_ROWS = 1000
TRIVIAL = "/bench/trivial/"
KPIS = "/api/v1/public/kpis/"
PULL_REQUESTS = "/api/v1/contributions/pull-requests/"
PUBLIC_PREFIXES = ("api/v1/public/", "widgets/")


def wsgi_application():
    """The gunicorn app factory: the project, with ``bench/urls_bench.py`` as its URL conf."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsite.settings.test")
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    application = get_wsgi_application()
    override_settings(ROOT_URLCONF="bench.urls_bench").enable()
    return application


# --- the answers ----------------------------------------------------------------------------------


def paths(as_of: str, month_end: str) -> dict[str, str]:
    """The public answers measured, by name: every public route, the costlier variants apart."""
    year_before = f"{int(as_of[:4]) - 1}{as_of[4:]}"
    series = "/api/v1/public/series"
    return {
        "public_kpis": KPIS,
        "public_kpis_as_of": f"{KPIS}?as_of={month_end}",
        "public_series": f"{series}/monthly-active-users/",
        "public_series_month": f"{series}/merged-pull-requests/?interval=month",
        "public_series_slice": f"{series}/monthly-active-users/?interval=month&start={year_before}&end={as_of}",
        "public_badge": "/api/v1/public/badges/monthly-active-users.json",
        "public_badge_series": "/api/v1/public/badges/funding.json",
        "public_stories": "/api/v1/public/stories/",
        "public_data_maus_by_hub": "/api/v1/public/data/maus-by-hub.csv",
        "public_data_maus_unique_by_cluster": "/api/v1/public/data/maus-unique-by-cluster.csv",
        "widget_script": "/widgets/kpis.js",
        "widget_card": "/widgets/kpi/monthly-active-users/",
    }


def _routes(patterns, prefix: str = "") -> set[str]:
    from django.urls import URLResolver

    found = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= _routes(pattern.url_patterns, route)
        else:
            found.add(route)
    return found


def uncovered(measured: dict[str, str]) -> list[str]:
    """The public routes of the URL conf that no measured path goes through."""
    from django.urls import resolve

    import opsite.urls

    public = {route for route in _routes(opsite.urls.urlpatterns) if route.startswith(PUBLIC_PREFIXES)}
    covered = {resolve(path.split("?")[0]).route for path in measured.values()}
    return sorted(public - covered)


def prepare() -> str:
    """The demo organization with its rollups and published stories; a superuser's API token.

    Built once per run (``bench/public_page.py`` serves it too) and copied afterwards, as the
    synthetic organization is (``bench/databases.py``).
    """
    import logging

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from bench import databases
    from communities.models import Community
    from opsite.kpis.demo_stories import load_demo_stories
    from opsite.kpis.rollups import recompute_rollups

    if databases.has_template("demo"):
        databases.restore_template("demo")
        return Token.objects.get(user__username="bench").key
    logging.getLogger("opsite.kpis.rollups").setLevel(logging.WARNING)
    logging.getLogger("celery").setLevel(logging.WARNING)
    call_command("load_demo", "--today=2026-12-03", verbosity=0)
    recompute_rollups()
    load_demo_stories(Community.objects.all())
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", None)
    key = Token.objects.create(user=user).key
    if databases.in_run():
        databases.save_template("demo")
    return key


def stored_days() -> tuple[str, str]:
    """The latest computed day, and the latest stored month-end before it."""
    from opsite.kpis.models import Rollup

    as_of = Rollup.objects.get(key="kpis:latest").value["as_of"]
    days = sorted(
        key.removeprefix("kpis:")
        for key in Rollup.objects.filter(key__startswith="kpis:2").values_list("key", flat=True)
    )
    return as_of, [day for day in days if day < as_of][-1]


def page_queries(token: str, rows: int) -> int:
    """The queries of one page of ``rows`` pull requests, counted in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{PULL_REQUESTS}?limit={rows}")
    if response.status_code != 200 or len(response.json()["results"]) != rows:
        raise SystemExit(f"pull requests page of {rows}: status {response.status_code}")
    return len(queries)


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def _check_answers(port: int, measured: dict[str, str]) -> None:
    """Each path answers 200 with a body before any load: a fast error page proves nothing."""
    for name, path in measured.items():
        status, body = get(port, path)
        if status != 200 or not body:
            raise SystemExit(f"api: {name} ({path}) answered {status}")
    status, body = get(port, KPIS)
    if "communities" not in json.loads(body):
        raise SystemExit(f"api: {KPIS} answered without the KPI block")


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    token = prepare()
    measured = paths(*stored_days())
    missing = uncovered(measured)
    if missing:
        raise SystemExit(f"api: public routes without a measured path (add them to paths()): {missing}")
    queries_10, queries_1000 = page_queries(token, 10), page_queries(token, PAGE_ROWS)
    wrk, why = ensure_wrk()
    port = free_port()
    with redis() as redis_url:
        server = start_gunicorn(port, redis_url)
        try:
            _check_answers(port, measured)
            if wrk is not None:
                rounds = load_rounds(wrk, server, port, measured)
            page_ms = []
            for _ in range(1 if smoke() else 5):
                started = time.perf_counter()
                status, _ = get(
                    port, f"{PULL_REQUESTS}?limit={PAGE_ROWS}", {"Authorization": f"Token {token}"}
                )
                page_ms.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise SystemExit(f"pull requests page answered {status}")
        finally:
            stop(server)

    over: list[str] = []
    if wrk is None:
        skip_or_fail("public api load", why)
    else:
        print(
            f"# api: gunicorn workers={WORKERS} sync, production settings, Redis cache; wrk threads=1"
            f" connections={CONNECTIONS} round_seconds={ROUND_SECONDS:g} rounds={ROUNDS}",
            flush=True,
        )
        over = report(rounds, measured)
    print(
        f"pull_requests_page rows={PAGE_ROWS} median_ms={statistics.median(page_ms):.0f}"
        f" queries={queries_1000} queries_10_rows={queries_10}"
        f" constant_queries={verdict(queries_1000 == queries_10)}",
        flush=True,
    )
    if queries_1000 != queries_10:
        over.append("pull_requests_page")
    if over:
        over_budget(f"api: over budget: {', '.join(over)}")


def load_rounds(wrk: str, server, port: int, measured: dict[str, str]) -> dict[str, list]:
    """The rounds of each path, and the trivial view's rounds paired with each: by name.

    A smoke run makes one round of each, all compared with one round of the trivial view, and no
    warm-up: it checks that every answer holds up under load, not how fast.
    """
    rounds: dict[str, list] = {name: [] for name in measured}
    if smoke():
        trivial = wrk_round(wrk, port, TRIVIAL, ROUND_SECONDS, server)
        for name, path in measured.items():
            rounds[name].append(wrk_round(wrk, port, path, ROUND_SECONDS, server))
            rounds[f"trivial:{name}"] = [trivial]
        return _checked(rounds)
    for path in [TRIVIAL, *measured.values()]:  # warm every worker on every answer
        wrk_round(wrk, port, path, WARM_SECONDS)
    rounds |= {f"trivial:{name}": [] for name in measured}
    for turn in range(ROUNDS):
        for name, path in measured.items():
            pair = [(f"trivial:{name}", TRIVIAL), (name, path)]
            for key, each in pair if turn % 2 == 0 else reversed(pair):
                rounds[key].append(wrk_round(wrk, port, each, ROUND_SECONDS, server))
    return _checked(rounds)


def _checked(rounds: dict[str, list]) -> dict[str, list]:
    failed = failures(*rounds.values())
    if failed:
        raise SystemExit(f"api: requests failed during the load: {failed}")
    return rounds


def report(rounds: dict[str, list], measured: dict[str, str]) -> list[str]:
    """Print a line for the trivial view and one per public answer; return those over budget."""
    trivial = [round_ for name in measured for round_ in rounds[f"trivial:{name}"]]
    trivial_cpu = statistics.median(round_.server_cpu_ms for round_ in trivial)
    print(
        f"trivial rps={statistics.median(round_.rps for round_ in trivial):.0f}"
        f" p95_ms={statistics.median(round_.p95_ms for round_ in trivial):.1f} server_cpu_ms={trivial_cpu:.3f}",
        flush=True,
    )
    over = []
    for name, path in measured.items():
        mine, theirs = rounds[name], rounds[f"trivial:{name}"]
        ratio = statistics.median(one.rps / other.rps for one, other in zip(mine, theirs, strict=True))
        cpu = statistics.median(round_.server_cpu_ms for round_ in mine)
        if ratio < RATIO_BUDGET:
            over.append(name)
        # For the record, the capacity ratio: what the throughput ratio tends to when the workers
        # alone are the bottleneck, from the CPU each request cost them.
        print(
            f"{name} rps={statistics.median(round_.rps for round_ in mine):.0f}"
            f" p95_ms={statistics.median(round_.p95_ms for round_ in mine):.1f} ratio_vs_trivial={ratio:.2f}"
            f" server_cpu_ms={cpu:.3f} capacity_ratio_vs_trivial={trivial_cpu / cpu if cpu else 0:.2f}"
            f" budget_ratio={RATIO_BUDGET} within_budget={verdict(ratio >= RATIO_BUDGET)} path={path}",
            flush=True,
        )
    return over


if __name__ == "__main__":
    from bench.run import main as run

    raise SystemExit(run(["api"]))
