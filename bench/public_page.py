"""Benchmark of the public figures page, ``/kpis/``, under a real WSGI server (``make bench``).

On the demo organization (with its impact stories), served by gunicorn on loopback as in
``bench/api.py``: requests per second of ``GET /kpis/`` against ``GET /api/v1/public/kpis/``, the
public KPI API's busiest answer, served by the same workers in the same run. The rounds come in
pairs, one of each, in alternating order, so that a machine busy with other work slows both
alike: the ratio is the median of the pairs' ratios. Budget: the page at least 0.8 of the API's
throughput. The page's queries, counted in this process, are printed too: rendering it once its
figures changed, and checking them (the page is kept while they hold).

    python bench/public_page.py        # alone; or through bench/run.py
"""

from __future__ import annotations

import statistics
import sys
import warnings
from pathlib import Path

from bench.api import (
    ROUNDS,
    failed_statuses,
    free_port,
    load,
    measured,
    prepare,
    request,
    start_gunicorn,
    stop,
    verdict,
)

ROOT = Path(__file__).resolve().parent.parent
RATIO_BUDGET = 0.8
PAGE = "/kpis/"
KPIS = "/api/v1/public/kpis/"


def page_queries() -> tuple[int, int]:
    """The queries of the page, counted in this process: rendered afresh, then only checked."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from opsite.kpis import page, views

    client = Client(HTTP_HOST="127.0.0.1")
    views._forget()
    with CaptureQueriesContext(connection) as rendered:
        response = client.get(PAGE)
    if response.status_code != 200:
        raise SystemExit(f"{PAGE} answered {response.status_code}")
    page.forget()
    with CaptureQueriesContext(connection) as checked:
        client.get(PAGE)
    return len(rendered), len(checked)


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    prepare()
    from communities.models import Community
    from opsite.kpis.demo_stories import load_demo_stories

    load_demo_stories(Community.objects.all())
    rendered_queries, checked_queries = page_queries()
    port = free_port()
    server = start_gunicorn(port)
    try:
        status, body = request(port, PAGE)
        if status != 200 or b'id="kpi-users"' not in body:
            raise SystemExit(f"{PAGE} answered {status}")
        page_bytes = len(body)
        load(port, PAGE, seconds=1.0)  # warm both workers
        load(port, KPIS, seconds=1.0)
        page_rounds, kpi_rounds = [], []
        for pair in range(ROUNDS):
            if pair % 2:
                page_rounds.append(measured(server, port, PAGE))
                kpi_rounds.append(measured(server, port, KPIS))
            else:
                kpi_rounds.append(measured(server, port, KPIS))
                page_rounds.append(measured(server, port, PAGE))
    finally:
        stop(server)

    failed = failed_statuses(page_rounds, kpi_rounds)
    page_rps = statistics.median(round_.rps for round_ in page_rounds)
    kpi_rps = statistics.median(round_.rps for round_ in kpi_rounds)
    ratio = statistics.median(page.rps / kpi.rps for page, kpi in zip(page_rounds, kpi_rounds, strict=True))
    page_cpu = statistics.median(round_.server_cpu_ms for round_ in page_rounds)
    kpi_cpu = statistics.median(round_.server_cpu_ms for round_ in kpi_rounds)
    print(f"public_kpis rps={kpi_rps:.0f} server_cpu_ms={kpi_cpu:.3f}", flush=True)
    print(
        f"public_page rps={page_rps:.0f} bytes={page_bytes} ratio_vs_public_kpis={ratio:.2f}"
        f" server_cpu_ms={page_cpu:.3f} capacity_ratio_vs_public_kpis={kpi_cpu / page_cpu:.2f}"
        f" budget_ratio={RATIO_BUDGET} within_budget={verdict(ratio >= RATIO_BUDGET)}"
        f" queries_rendered={rendered_queries} queries_checked={checked_queries} non_200={failed or 0}",
        flush=True,
    )
    if failed:
        raise SystemExit(f"public_page: requests failed during the load: {failed}")
    if ratio < RATIO_BUDGET:
        raise SystemExit("public_page: over budget")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.run import main as run

    raise SystemExit(run(["public_page"]))
