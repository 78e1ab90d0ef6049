"""The API as production serves it: gunicorn, the production settings, PostgreSQL and Redis.

``test_schemathesis`` calls the WSGI application in this process, inside the test's transaction.
Here the same probe goes over HTTP to a gunicorn started with ``opsite.settings.production``
(sync workers, gunicorn's default 30 s timeout), on the committed PostgreSQL test database, with
a real Redis as the cache and the broker (the recomputes the writes ask for are queued there; no
worker runs them). For each persona every operation is called with generated requests, valid and
not. Asserted: no server error and no answer off its documented shape, for every persona; no
gunicorn worker timed out or died; the requests reached the server (the access log has them).

It runs in the PostgreSQL pass of CI; on SQLite it skips (the SQLite pass has no server to run it
on). The statuses each persona got are written to ``schemathesis-live.json`` in the artifacts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests
import schemathesis
from django.db import connection

from opsite.tests.browser import artifacts
from opsite.tests.processes import free_port, running_redis, shared_database_url, stop, wait_for
from opsite.tests.schema_probe import PERSONAS, Probe, headers_for
from opsite.tests.test_api_matrix import build_api_world

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(1200),
]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
# gunicorn's own default: what a deployment that sets nothing gets.
WORKER_TIMEOUT_SECONDS = 30
# Longer than the worker timeout, so a request gunicorn kills shows as a dropped connection.
CLIENT_TIMEOUT_SECONDS = WORKER_TIMEOUT_SECONDS + 15
# What gunicorn logs when a worker is killed for its timeout, or dies (before the test stops it).
WORKER_TROUBLE = re.compile(r"WORKER TIMEOUT|was sent SIGKILL|Worker exiting|Worker \(pid:\d+\) exited", re.I)


@contextmanager
def running_gunicorn(folder: Path, *, database_url: str, redis_url: str) -> Iterator[tuple[str, Path, Path]]:
    """gunicorn serving ``opsite.wsgi`` with the production settings: its URL and two logs."""
    port = free_port()
    error_log, access_log = folder / "gunicorn-error.log", folder / "gunicorn-access.log"
    # What the application logs (to stderr, as in production), tracebacks included.
    app_log = open(folder / "application.log", "w")  # noqa: SIM115 (closed below)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opsite.settings.production",
        "DJANGO_SECRET_KEY": "live-api-test-" + os.urandom(24).hex(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback: no proxy in front to end TLS.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # The anonymous probe makes more requests a minute than the public throttle allows; with
        # it in place most answers would be 429 and the routes behind it never reached.
        "OPSITE_PUBLIC_THROTTLE": "1000000/min",
        "PYTHONPATH": str(ROOT),
    }
    environment.pop("CELERY_TASK_ALWAYS_EAGER", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "opsite.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--worker-class", "sync",
         "--timeout", str(WORKER_TIMEOUT_SECONDS), "--error-logfile", str(error_log),
         "--access-logfile", str(access_log), "--log-level", "info", "--no-control-socket"],
        cwd=ROOT, env=environment, stdout=app_log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with status {process.returncode}:\n{error_log.read_text()[-3000:]}")
        try:
            return requests.get(f"{base_url}/api/schema/?format=json", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(answers, timeout=60, what="gunicorn to serve the schema")
        yield base_url, error_log, access_log
    finally:
        stop(process)
        app_log.close()


def test_gunicorn_on_postgresql_answers_every_role_with_no_server_error_and_no_worker_timeout(tmp_path):
    if connection.vendor != "postgresql":
        # Not require(): CI runs the suite on SQLite too, where this has no server to run on, and
        # again on PostgreSQL, where it runs (and a missing redis-server fails it in CI).
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://user:password@host:port/name")
    build_api_world()  # committed: the server's processes see it
    headers = {persona: headers_for(persona) for persona in PERSONAS}
    probes = {persona: Probe() for persona in PERSONAS}

    with ExitStack() as servers:
        redis_url = servers.enter_context(running_redis(tmp_path))
        server = running_gunicorn(tmp_path, database_url=shared_database_url(), redis_url=redis_url)
        base_url, error_log, access_log = servers.enter_context(server)
        schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/?format=json")
        operations = 0
        for persona in PERSONAS:
            operations = probes[persona].run_all(
                schema, headers[persona], base_url=base_url, timeout=CLIENT_TIMEOUT_SECONDS
            )
        # Read while gunicorn still runs: stopping it logs its workers exiting.
        errors, served = error_log.read_text(), access_log.read_text().count("\n")

    report = {
        persona: {"requests": probe.requests, "statuses": dict(probe.statuses)}
        for persona, probe in probes.items()
    }
    (artifacts().parent / "schemathesis-live.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    failures = [failure for probe in probes.values() for failure in probe.failures.values()]
    assert operations > 50
    assert not failures, f"{len(failures)} operation failures:\n\n" + "\n\n".join(failures)
    assert not any(status >= 500 for probe in probes.values() for status in probe.statuses)
    trouble = [line for line in errors.splitlines() if WORKER_TROUBLE.search(line)]
    assert not trouble, "gunicorn workers timed out or died:\n" + "\n".join(trouble)
    assert errors.count("Booting worker") == WORKERS, errors  # none replaced a dead one
    # Every request reached gunicorn (and the probe really ran: a few per operation and persona).
    sent = sum(probe.requests for probe in probes.values())
    assert sent >= operations * len(PERSONAS)
    assert served >= sent
    # Every persona got past the doors somewhere, and was refused somewhere (anonymous and the
    # roles without a grant): the probe exercised the permissions, not only a login wall.
    for persona, probe in probes.items():
        assert any(200 <= status < 300 for status in probe.statuses), (persona, probe.summary())
    assert any(status in (401, 403) for status in probes["anonymous"].statuses)
