"""Benchmark of the public figures page, ``/kpis/``, under a real WSGI server (``make bench``).

On the demo organization (with its impact stories), served by gunicorn with the production settings
and Redis, loaded by wrk on loopback, as in ``bench/api.py`` (``bench/servers.py``): requests per second of ``GET /kpis/`` against ``GET /api/v1/public/kpis/``, the
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

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import ROUND_SECONDS, ROUNDS, WARM_SECONDS, prepare, verdict
from bench.run import over_budget
from bench.servers import (
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
    rendered_queries, checked_queries = page_queries()
    wrk, why = ensure_wrk()
    if wrk is None:
        skip_or_fail("public_page", why)
        return
    port = free_port()
    with redis() as redis_url:
        server = start_gunicorn(port, redis_url)
        try:
            status, body = get(port, PAGE)
            if status != 200 or b'id="kpi-users"' not in body:
                raise SystemExit(f"{PAGE} answered {status}")
            page_bytes = len(body)
            wrk_round(wrk, port, PAGE, WARM_SECONDS)  # warm both workers
            wrk_round(wrk, port, KPIS, WARM_SECONDS)
            page_rounds, kpi_rounds = [], []
            for pair in range(ROUNDS):
                if pair % 2:
                    page_rounds.append(wrk_round(wrk, port, PAGE, ROUND_SECONDS, server))
                    kpi_rounds.append(wrk_round(wrk, port, KPIS, ROUND_SECONDS, server))
                else:
                    kpi_rounds.append(wrk_round(wrk, port, KPIS, ROUND_SECONDS, server))
                    page_rounds.append(wrk_round(wrk, port, PAGE, ROUND_SECONDS, server))
        finally:
            stop(server)

    failed = failures(page_rounds, kpi_rounds)
    page_rps = statistics.median(round_.rps for round_ in page_rounds)
    kpi_rps = statistics.median(round_.rps for round_ in kpi_rounds)
    ratio = statistics.median(page.rps / kpi.rps for page, kpi in zip(page_rounds, kpi_rounds, strict=True))
    page_cpu = statistics.median(round_.server_cpu_ms for round_ in page_rounds)
    kpi_cpu = statistics.median(round_.server_cpu_ms for round_ in kpi_rounds)
    print(f"public_kpis rps={kpi_rps:.0f} server_cpu_ms={kpi_cpu:.3f}", flush=True)
    print(
        f"public_page rps={page_rps:.0f} bytes={page_bytes} ratio_vs_public_kpis={ratio:.2f}"
        f" server_cpu_ms={page_cpu:.3f} capacity_ratio_vs_public_kpis={kpi_cpu / page_cpu if page_cpu else 0:.2f}"
        f" budget_ratio={RATIO_BUDGET} within_budget={verdict(ratio >= RATIO_BUDGET)}"
        f" queries_rendered={rendered_queries} queries_checked={checked_queries} errors={failed or 0}",
        flush=True,
    )
    if failed:
        raise SystemExit(f"public_page: requests failed during the load: {failed}")
    if ratio < RATIO_BUDGET:
        over_budget("public_page: over budget")


if __name__ == "__main__":
    from bench.run import main as run

    raise SystemExit(run(["public_page"]))
