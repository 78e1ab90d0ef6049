"""Benchmark: the leadership dashboard's server time and query count, at the demo's size and at 10x.

Two organizations, each with its rollups and runway snapshots computed first (as the nightly jobs
and the recompute after every change keep them): the demo (``opsite.demo``), and the synthetic
organization of ``bench/synthetic.py`` at ``scale=10`` (a thousand hubs with four years of daily
usage, 200,000 pull requests, 100 staff, 1,200 contracts, 300 grants). For each, a Leadership user
asks for ``/leadership/`` through the Django test client: the best time of several requests (the
whole request: session, permissions, queries, template) and the number of queries of one. At 10x,
also a what-if preview (a hire on the default scenario: the records loaded, the projection and the
Monte Carlo draws of the pipeline), with the time of its draws alone, for the record.

Budget: the same number of queries at both sizes, and under 0.3 s at 10x. The page reads stored
figures and never recomputes them, which is what keeps it flat. Run alone with
``python bench/dashboard.py``, or through ``make bench``.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import over_budget, scale, smoke

BUDGET_SECONDS = 0.3
# A smoke run (bench/run.py --smoke): the synthetic organization at scale 1, one request each.
RUNS = 1 if smoke() else 7
SCALE = scale(10)
URL = "/leadership/"
WHAT_IF_URL = "/leadership/what-if/"


def _setup() -> Path:
    """Django on a fresh database (``bench/run.py`` has done it already when it runs us)."""
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from bench.run import WORKDIR_ENV

    workdir = Path(os.environ.get(WORKDIR_ENV) or tempfile.mkdtemp(prefix="opsite-bench-dashboard-"))
    from django.apps import apps

    if not apps.ready:
        from bench.run import setup_django

        setup_django(workdir / "dashboard.sqlite3")
    return workdir


def _compute_stored_figures() -> None:
    from funding.runway.snapshots import runway_recompute_all
    from opsite.kpis.models import Rollup
    from opsite.kpis.rollups import recompute_rollups

    if not Rollup.objects.filter(key="kpis:latest").exists():
        recompute_rollups()
    runway_recompute_all()


def _leadership_client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from opsite.core.roles import LEADERSHIP

    user, _ = get_user_model().objects.get_or_create(username="bench-leadership", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=LEADERSHIP))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def measure(label: str) -> tuple[float, int]:
    """(best seconds, queries) of the dashboard on the current database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from communities.models import CloudCost
    from opsite.dashboard.charts import CHART_SLUGS, COST_CHARTS

    client = _leadership_client()
    response = client.get(URL)  # warm up: imports, templates, SQLite's page cache
    content = response.content.decode()
    if response.status_code != 200:
        raise SystemExit(f"dashboard ({label}) answered {response.status_code}")
    # A fast empty page proves nothing: every chart must be there with its figures. The synthetic
    # organization has no cloud costs (bench/synthetic.py): its three cost charts say so instead.
    expected = CHART_SLUGS if CloudCost.objects.exists() else CHART_SLUGS[:-COST_CHARTS]
    drawn = sum(f'data-chart="{slug}"' in content for slug in expected)
    if drawn != len(expected) or "Not computed yet" in content:
        raise SystemExit(f"dashboard ({label}) shows {drawn} of {len(expected)} charts, or no runway")
    if len(expected) < len(CHART_SLUGS):
        print(f"# dashboard ({label}): no cloud costs, so {COST_CHARTS} charts are empty", flush=True)
    with CaptureQueriesContext(connection) as captured:
        client.get(URL)
    # Counted now: the next request clears the connection's query log.
    queries = len(captured.captured_queries)
    best = math.inf
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(URL)
        best = min(best, time.perf_counter() - started)
    return best, queries


def measure_what_if(label: str) -> tuple[float, float]:
    """(best seconds of a what-if preview of a hire on the default scenario, the best seconds of
    its Monte Carlo draws alone), on the current database."""
    import json

    from dateutil.relativedelta import relativedelta
    from django.conf import settings

    from funding.models import CashPosition, Scenario
    from funding.runway.loader import load_inputs
    from funding.runway.montecarlo import simulate

    client = _leadership_client()
    scenario = Scenario.objects.get(is_default=True)
    as_of = CashPosition.objects.order_by("-as_of").values_list("as_of", flat=True).first()
    start = (as_of + relativedelta(months=1)).replace(day=1)
    body = json.dumps(
        {
            "scenario": scenario.slug,
            "adjustments": [
                {"kind": "hire", "label": "Bench", "amount": "120000.00", "start_on": start.isoformat()}
            ],
        }
    )

    def preview():
        return client.post(WHAT_IF_URL, body, content_type="application/json")

    response = preview()  # warm up
    if response.status_code != 200 or "odds_display" not in response.json()["card"]:
        raise SystemExit(f"what-if preview ({label}) answered {response.status_code} without the odds")
    inputs = load_inputs(scenario=scenario)
    best = draws = math.inf
    for _ in range(RUNS):  # interleaved: both see the same minutes of the machine
        started = time.perf_counter()
        preview()
        best = min(best, time.perf_counter() - started)
        started = time.perf_counter()
        simulate(inputs, draws=settings.OPSITE_MONTE_CARLO_DRAWS, seed=settings.OPSITE_MONTE_CARLO_SEED)
        draws = min(draws, time.perf_counter() - started)
    return best, draws


def main() -> None:
    workdir = _setup()
    # One line per figure: the recomputes' own log lines would drown them.
    logging.getLogger("opsite.kpis.rollups").setLevel(logging.WARNING)
    logging.getLogger("celery").setLevel(logging.WARNING)
    from opsite.demo.loader import DEMO_TODAY, demo_load

    demo_load(today=DEMO_TODAY)
    _compute_stored_figures()
    demo_seconds, demo_queries = measure("demo")
    print(f"dashboard_demo seconds={demo_seconds:.3f} queries={demo_queries}", flush=True)

    from bench.synthetic import build

    # Its own database ("dashboard.sqlite3-10x", or on PostgreSQL a database named after it):
    # bench/run.py drops it with the rest afterwards.
    build(scale=SCALE, path=workdir / "dashboard.sqlite3-10x")
    started = time.perf_counter()
    _compute_stored_figures()
    print(
        f"# stored figures of the {SCALE}x organization computed in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    seconds, queries = measure(f"{SCALE}x")
    ok = seconds < BUDGET_SECONDS and queries == demo_queries
    print(
        f"dashboard_{SCALE}x seconds={seconds:.3f} queries={queries} ratio_vs_demo={seconds / demo_seconds:.2f} "
        f"same_queries={'yes' if queries == demo_queries else 'NO'} budget={BUDGET_SECONDS}s "
        f"{'ok' if ok else 'OVER BUDGET'}",
        flush=True,
    )
    preview, draws = measure_what_if(f"{SCALE}x")
    print(
        f"what_if_preview_{SCALE}x seconds={preview:.3f} ratio_vs_dashboard={preview / seconds:.2f} "
        f"monte_carlo_seconds={draws:.3f} monte_carlo_share={draws / preview:.2f}",
        flush=True,
    )
    if not ok:
        over_budget(
            f"dashboard: {seconds:.3f} s and {queries} queries at {SCALE}x "
            f"(budget {BUDGET_SECONDS} s, {demo_queries} queries as at the demo's size)"
        )


if __name__ == "__main__":
    main()
