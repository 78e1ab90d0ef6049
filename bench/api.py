"""Benchmark of the API under a real WSGI server (``make bench``).

On the demo organization, served by gunicorn on loopback:

- ``public_kpis``: requests per second and p95 latency of ``GET /api/v1/public/kpis/`` (throttle
  on, at a rate the run cannot reach), against ``/bench/trivial/``, a Django view answering a
  constant JSON object, served by the same workers in the same run (``bench/urls_bench.py``).
  The rounds come in pairs, one of each, in alternating order, so that a machine busy with other
  work slows both alike: the ratio is the median of the pairs' ratios, each rate the median of its
  rounds. Budget: the KPI endpoint at least 0.8 of the trivial view's throughput.
- ``pull_requests_page``: a 1,000-row page of ``/api/v1/contributions/pull-requests/`` (a
  superuser's token): its latency through gunicorn, and its queries, counted in this process,
  against a 10-row page. Budget: the same number of queries.

The load comes from threads of this process, each sending one request at a time over a new
connection (gunicorn's sync workers close each after answering), for a fixed time per round.
The database connection is kept between requests (``CONN_MAX_AGE``), as production settings do.

    python bench/api.py        # alone; or through bench/run.py
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
CLIENT_THREADS = 8
ROUND_SECONDS = 2.0
ROUNDS = 6
RATIO_BUDGET = 0.8
PAGE_ROWS = 1000
KPIS = "/api/v1/public/kpis/"
TRIVIAL = "/bench/trivial/"
PULL_REQUESTS = "/api/v1/contributions/pull-requests/"


def wsgi_application():
    """The gunicorn app factory: the project, with ``bench/urls_bench.py`` as its URL conf."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsite.settings.test")
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    application = get_wsgi_application()
    override_settings(ROOT_URLCONF="bench.urls_bench").enable()
    return application


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Load:
    """What one round of requests to one path measured."""

    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    # CPU the gunicorn workers spent in the round: what serving cost, whatever else ran meanwhile.
    server_cpu_seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU per request, in milliseconds."""
        return self.server_cpu_seconds / self.requests * 1000


def request(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """User and system CPU of the gunicorn master and its workers so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    total = 0
    for pid in pids:
        try:
            # Fields 14 and 15 (utime, stime), counted after the command name's closing parenthesis.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def measured(server: subprocess.Popen, port: int, path: str) -> Load:
    """One round of :func:`load`, with the server CPU it cost."""
    before = server_cpu_seconds(server)
    result = load(port, path)
    result.server_cpu_seconds = server_cpu_seconds(server) - before
    return result


def load(port: int, path: str, seconds: float = ROUND_SECONDS) -> Load:
    """``CLIENT_THREADS`` threads requesting ``path`` back to back for ``seconds``."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        mine, codes = [], {}
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = request(port, path)
            mine.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for status, count in codes.items():
                statuses[status] = statuses.get(status, 0) + count

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(len(latencies), time.perf_counter() - started, latencies, statuses)


# --- the server ---------------------------------------------------------------------------------


def failed_statuses(*rounds: list[Load]) -> dict[int, int]:
    """The statuses other than 200 that the rounds of a load met, with a count."""
    return {
        status: count
        for each in rounds
        for round_ in each
        for status, count in round_.statuses.items()
        if status != 200
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "opsite.settings.test"
    # Keep the database connection between requests, as the production settings do.
    env["DATABASE_URL"] = f"{env['DATABASE_URL'].split('?')[0]}?conn_max_age=600"
    # Static files are not collected for a benchmark: whitenoise's warning about it is noise.
    env["PYTHONWARNINGS"] = "ignore:No directory at:UserWarning"
    # The throttle stays in the path, at a rate this run cannot reach.
    env["OPSITE_PUBLIC_THROTTLE"] = "100000000/min"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
            "bench.api:wsgi_application()",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}")
        try:
            if request(port, TRIVIAL)[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- the figures --------------------------------------------------------------------------------


def prepare() -> str:
    """The demo organization with its rollups; a superuser's API token."""
    import logging

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from opsite.kpis.rollups import recompute_rollups

    logging.getLogger("opsite.kpis.rollups").setLevel(logging.WARNING)
    call_command("load_demo", "--today=2026-12-03", verbosity=0)
    recompute_rollups()
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", None)
    return Token.objects.create(user=user).key


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


def _p95_ms(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=20)[-1] * 1000


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def main() -> None:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    token = prepare()
    queries_10, queries_1000 = page_queries(token, 10), page_queries(token, PAGE_ROWS)
    port = free_port()
    server = start_gunicorn(port)
    try:
        status, body = request(port, KPIS)
        if status != 200 or "communities" not in json.loads(body):
            raise SystemExit(f"{KPIS} answered {status}")
        load(port, KPIS, seconds=1.0)  # warm both workers
        load(port, TRIVIAL, seconds=1.0)
        trivial_rounds, kpi_rounds = [], []
        for pair in range(ROUNDS):
            if pair % 2:
                kpi_rounds.append(measured(server, port, KPIS))
                trivial_rounds.append(measured(server, port, TRIVIAL))
            else:
                trivial_rounds.append(measured(server, port, TRIVIAL))
                kpi_rounds.append(measured(server, port, KPIS))
        page_ms = []
        for _ in range(5):
            started = time.perf_counter()
            status, body = request(
                port, f"{PULL_REQUESTS}?limit={PAGE_ROWS}", {"Authorization": f"Token {token}"}
            )
            page_ms.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"pull requests page answered {status}")
    finally:
        stop(server)

    failed = failed_statuses(trivial_rounds, kpi_rounds)
    trivial_rps = statistics.median(round_.rps for round_ in trivial_rounds)
    kpi_rps = statistics.median(round_.rps for round_ in kpi_rounds)
    pairs = list(zip(kpi_rounds, trivial_rounds, strict=True))
    ratio = statistics.median(kpi.rps / trivial.rps for kpi, trivial in pairs)
    # For the record, the capacity ratio: what the throughput ratio tends to when the workers alone
    # are the bottleneck (the client's own work left out), from the CPU each request cost them.
    trivial_cpu = statistics.median(round_.server_cpu_ms for round_ in trivial_rounds)
    kpi_cpu = statistics.median(round_.server_cpu_ms for round_ in kpi_rounds)
    capacity_ratio = trivial_cpu / kpi_cpu
    kpi_p95 = _p95_ms([latency for round_ in kpi_rounds for latency in round_.latencies])
    trivial_p95 = _p95_ms([latency for round_ in trivial_rounds for latency in round_.latencies])
    print(
        f"trivial rps={trivial_rps:.0f} p95_ms={trivial_p95:.1f} server_cpu_ms={trivial_cpu:.3f}", flush=True
    )
    print(
        f"public_kpis rps={kpi_rps:.0f} p95_ms={kpi_p95:.1f} ratio_vs_trivial={ratio:.2f}"
        f" server_cpu_ms={kpi_cpu:.3f} capacity_ratio_vs_trivial={capacity_ratio:.2f}"
        f" budget_ratio={RATIO_BUDGET} within_budget={verdict(ratio >= RATIO_BUDGET)}"
        f" workers={WORKERS} client_threads={CLIENT_THREADS} non_200={failed or 0}",
        flush=True,
    )
    print(
        f"pull_requests_page rows={PAGE_ROWS} median_ms={statistics.median(page_ms):.0f}"
        f" queries={queries_1000} queries_10_rows={queries_10}"
        f" constant_queries={verdict(queries_1000 == queries_10)}",
        flush=True,
    )
    if failed:
        raise SystemExit(f"api: requests failed during the load: {failed}")
    if ratio < RATIO_BUDGET or queries_1000 != queries_10:
        raise SystemExit("api: over budget")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.run import main as run

    raise SystemExit(run(["api"]))
