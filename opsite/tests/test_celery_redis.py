"""Celery for real: a Redis server and worker processes, started and stopped by these tests.

The worker shares the test's database, so the test database must be one another process can open:
a SQLite file (the default of the test settings) or PostgreSQL. The tests skip on a workstation
without ``redis-server`` and fail in CI, which must run them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from funding.models import RunwayAlert, RunwaySnapshot, Scenario
from funding.tasks import recompute_runway, runway_alert
from opsite.core.recompute import recompute_pending, request_recompute
from opsite.core.roles import LEADERSHIP
from opsite.kpis.tasks import recompute_rollups
from opsite.tests.brokers import publishing_to
from opsite.tests.processes import running_redis, shared_database_url, stop, wait_for
from opsite.tests.test_celery_unit import seed_runway_inputs

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]

# Runs a worker on the broker of OPSITE_IT_BROKER. With OPSITE_IT_MARKER set, it wraps the rollup
# recompute: after the real work, each run appends "<pid>" to the marker file, and the first run
# of all (across processes: the file OPSITE_IT_MARKER + ".slept" says it happened) then sleeps, so
# the test can kill it mid-task, before it is acknowledged.
WORKER = r"""
import os, time
import django

django.setup()
from opsite.celery import app

broker = os.environ["OPSITE_IT_BROKER"]
options = dict(app.conf.broker_transport_options)
options.update(
    visibility_timeout=float(os.environ.get("OPSITE_IT_VISIBILITY_TIMEOUT", "3600")),
    unacked_restore_interval=1,
    unacked_restore_throttle=1,
)
app.conf.update(
    broker_url=broker, result_backend=broker, task_always_eager=False, broker_transport_options=options
)

marker = os.environ.get("OPSITE_IT_MARKER")
if marker:
    import opsite.kpis.rollups

    real = opsite.kpis.rollups.recompute_rollups

    def recompute_then_stall(*, as_of=None):
        result = real(as_of=as_of)
        with open(marker, "a") as out:
            out.write(f"{os.getpid()}\n")
        try:
            os.mkdir(marker + ".slept")
        except FileExistsError:
            return result
        time.sleep(60)
        return result

    opsite.kpis.rollups.recompute_rollups = recompute_then_stall

app.worker_main(
    ["worker", "--pool=prefork", "--concurrency", os.environ.get("OPSITE_IT_CONCURRENCY", "1"),
     "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
     "--hostname", f"it-{os.getpid()}@localhost"]
)
"""


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A throw-away ``redis-server`` on a free loopback port, no persistence."""
    with running_redis(tmp_path) as url:
        yield url


class Workers:
    """Starts worker processes against one Redis; stops all of them at the end of the test.

    Until the first worker starts, this process stays in eager mode: the test's own data, saved
    before, is recomputed inline rather than queued for a worker that would run it in the middle of
    the test. From then on, tasks go through Redis.
    """

    def __init__(self, broker: str, tmp_path: Path):
        self.broker = broker
        self.tmp_path = tmp_path
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.publishing = ExitStack()

    def start(self, *, concurrency: int = 1, **env: str) -> subprocess.Popen:
        if not self.processes:
            self.publishing.enter_context(publishing_to(self.broker))
        log_path = self.tmp_path / f"worker-{len(self.processes)}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "opsite.settings.test",
            "DATABASE_URL": shared_database_url(),
            "OPSITE_IT_BROKER": self.broker,
            "OPSITE_IT_CONCURRENCY": str(concurrency),
            "PYTHONPATH": str(ROOT),
            **env,
        }
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed with its pool processes
            )
        self.processes.append((process, log_path))
        wait_for(
            lambda: process.poll() is not None or " ready." in log_path.read_text(),
            timeout=45,
            what="the Celery worker to start",
        )
        assert process.poll() is None, log_path.read_text()
        return process

    def log(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()}" for _, path in self.processes)

    def stop_all(self) -> None:
        for process, _ in self.processes:
            stop(process)
        self.publishing.close()


@pytest.fixture
def workers(redis_url, tmp_path, transactional_db) -> Iterator[Workers]:
    pool = Workers(redis_url, tmp_path)
    try:
        yield pool
    finally:
        # Before the database is flushed: a worker must not write into the next test.
        pool.stop_all()


# --- data -----------------------------------------------------------------------------------


def seed_impact_data() -> None:
    """A little of everything the rollups read, in one transaction (one recompute, done inline)."""
    from communities.tests.factories import ActiveUserCountFactory, HubFactory
    from staff.tests.factories import StaffMemberFactory

    with transaction.atomic():
        StaffMemberFactory(start_on=date(2022, 1, 3))
        for n in range(3):
            hub = HubFactory()
            ActiveUserCountFactory(hub=hub, date=date(2024, 12, 30), period="30d", active_users=10 + n)


def snapshot_rows() -> list[tuple]:
    """The runway snapshots, without ids and times of computation."""
    rows = RunwaySnapshot.objects.order_by("scenario__slug", "computed_at")
    return list(rows.values_list("scenario__slug", "as_of", "months", "cash_out_on", "result"))


def rollup_rows() -> list[tuple]:
    """The published figures, without their times of computation (what a rerun may change), nor
    the store's ``state:*`` bookkeeping (when it last ran, how far it has read)."""
    from opsite.kpis.models import Rollup

    rows = Rollup.objects.exclude(key__startswith="state:").order_by("key")
    return list(rows.values_list("key", "version", "value"))


def clean_run_rows() -> list[tuple]:
    """The rollup store after one recompute in this process, from empty; the store is emptied again."""
    from opsite.kpis.models import Rollup
    from opsite.kpis.rollups import recompute_rollups as recompute

    Rollup.objects.all().delete()
    recompute(as_of=date(2024, 12, 31))
    rows = rollup_rows()
    Rollup.objects.all().delete()
    assert rows, "a clean run stored no rollup"
    return rows


# --- tests ----------------------------------------------------------------------------------


def test_a_change_committed_here_is_recomputed_by_a_real_worker_through_redis(workers):
    seed_impact_data()
    expected = clean_run_rows()
    workers.start()

    # What a web request does: change something, commit, go on. The worker does the rest.
    with transaction.atomic():
        request_recompute("rollups")
    assert recompute_pending()["rollups"] is True

    wait_for(lambda: not recompute_pending()["rollups"], timeout=30, what="the worker's recompute")
    # The rollups pick their own as-of day when none is given; recompute ours the same way.
    result = recompute_rollups.delay(as_of="2024-12-31")
    assert result.get(timeout=30) == {"kind": "rollups", "as_of": "2024-12-31"}
    assert rollup_rows() == expected, workers.log()


def test_killing_the_whole_worker_mid_task_still_converges_once_a_worker_returns(workers, tmp_path):
    seed_impact_data()
    expected = clean_run_rows()
    marker = tmp_path / "runs"
    first = workers.start(OPSITE_IT_MARKER=str(marker))

    result = recompute_rollups.delay(as_of="2024-12-31")
    wait_for(marker.exists, timeout=30, what="the task to start")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool process, mid-task
    first.wait(timeout=10)
    assert result.state != "SUCCESS"

    # Late acknowledgement: the message is still Redis's; a new worker gets it once the visibility
    # timeout (short here, an hour in production) has passed.
    workers.start(OPSITE_IT_MARKER=str(marker), OPSITE_IT_VISIBILITY_TIMEOUT="2")

    assert result.get(timeout=40) == {"kind": "rollups", "as_of": "2024-12-31"}, workers.log()
    killed, *after = marker.read_text().split()
    # At least once more: with so short a visibility timeout the new worker may also take back its
    # own copy while it runs, and run it a third time; the tables do not care.
    assert after and killed not in after, "the killed run was delivered again to the new worker"
    assert rollup_rows() == expected


def test_a_pool_process_killed_mid_task_is_requeued_and_run_again(workers, tmp_path):
    seed_impact_data()
    expected = clean_run_rows()
    marker = tmp_path / "runs"
    workers.start(OPSITE_IT_MARKER=str(marker))

    result = recompute_rollups.delay(as_of="2024-12-31")
    child = int(
        wait_for(lambda: marker.exists() and marker.read_text().split(), timeout=30, what="the task")[0]
    )
    os.kill(child, signal.SIGKILL)  # the pool process only: its worker sees it die

    # reject_on_worker_lost: the worker puts the message back at once, and runs it again.
    assert result.get(timeout=30) == {"kind": "rollups", "as_of": "2024-12-31"}, workers.log()
    runs = marker.read_text().split()
    assert len(runs) == 2 and runs[0] != runs[1], "a new pool process ran it again"
    assert rollup_rows() == expected


def test_two_rollup_recomputes_at_once_leave_the_tables_of_one(workers):
    seed_impact_data()
    expected = clean_run_rows()
    workers.start(concurrency=2)

    results = [recompute_rollups.delay(as_of="2024-12-31") for _ in range(2)]

    for result in results:
        assert result.get(timeout=30) == {"kind": "rollups", "as_of": "2024-12-31"}, workers.log()
    assert rollup_rows() == expected


def test_two_runway_alerts_at_once_send_one(workers, django_user_model):
    leader = django_user_model.objects.create_user(username="lead", email="lead@example.org")
    # get_or_create: a transactional test's flush removes the groups the migrations made.
    leader.groups.add(Group.objects.get_or_create(name=LEADERSHIP)[0])
    scenario = Scenario.objects.filter(is_default=True).first() or Scenario.objects.create(
        slug="base", name="Base", is_default=True
    )
    snapshot = RunwaySnapshot.objects.create(
        scenario=scenario,
        as_of=date(2024, 12, 31),
        computed_at=timezone.now() + timedelta(minutes=1),  # the latest, whatever a migration made
        months=Decimal("9.40"),
    )
    workers.start(concurrency=2)

    results = [runway_alert.delay() for _ in range(4)]
    ids = [result.get(timeout=30) for result in results]

    alert = RunwayAlert.objects.get()
    assert alert.snapshot == snapshot and alert.sent_at is not None
    assert sorted(ids, key=lambda value: value is None) == [alert.pk, None, None, None], workers.log()


def test_the_runway_is_recomputed_by_a_real_worker_and_a_rerun_stores_no_duplicate(workers):
    with transaction.atomic():
        seed_runway_inputs()  # still eager here: computed inline once, after the commit: the clean run
    expected = snapshot_rows()
    assert len(expected) == Scenario.objects.count()
    RunwaySnapshot.objects.all().delete()
    workers.start()

    with transaction.atomic():
        request_recompute("runway")
    wait_for(lambda: not recompute_pending()["runway"], timeout=30, what="the worker's runway recompute")
    assert snapshot_rows() == expected, workers.log()

    ids = recompute_runway.delay().get(timeout=30)
    assert sorted(ids) == sorted(RunwaySnapshot.objects.values_list("pk", flat=True))
    assert snapshot_rows() == expected
