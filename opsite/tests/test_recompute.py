"""Scheduling recomputes after changes: collapse per transaction, signals, a dead broker, pending."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from communities.tests.factories import CommunityFactory, HubFactory, NetworkFactory
from funding.models import (
    CashPosition,
    Expense,
    Funder,
    RunwayAlert,
    RunwaySnapshot,
    Scenario,
)
from funding.runway import snapshots as runway_snapshots
from opsite.celery import app, reset_connections
from opsite.core import recompute, signals
from opsite.core.models import RecomputeState
from opsite.core.recompute import (
    RUNWAY,
    enqueue_recompute,
    recompute_pending,
    recompute_succeeded,
    request_recompute,
)
from opsite.core.resources import OpsiteResource, import_file
from opsite.kpis import rollups as kpi_rollups
from opsite.kpis.tasks import retry_pending_recomputes
from staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

OPSITE_APPS = ("staff", "communities", "contributions", "contracts", "funding")


class _FakeResult:
    def __init__(self, task_name: str, number: int):
        self.id = f"{task_name}-{number}"


@pytest.fixture
def enqueued(monkeypatch) -> Counter:
    """Counts the tasks published (``apply_async``), by kind; nothing runs.

    A worker takes each task at once (it is marked started), so a later request is not coalesced
    with it: these counts measure the collapse within a transaction. The coalescing across
    transactions, while a recompute waits in the queue, has tests of its own (``queued_only``).
    """
    counts: Counter = Counter()
    # The task objects recompute itself resolves now (not this module's imports, which another
    # test module may have made stale by re-importing the task modules).
    for kind, task in (
        ("rollups", recompute._task_for("rollups")),
        ("runway", recompute._task_for("runway")),
    ):

        def publish(*args, _kind=kind, _task=task, **kwargs):
            counts[_kind] += 1
            recompute.recompute_started(_kind)
            return _FakeResult(_task.name, counts[_kind])

        monkeypatch.setattr(task, "apply_async", publish)
    return counts


def _stand_in_module(monkeypatch, module, **functions):
    """Replace functions of ``module`` (each must exist there) for the test."""
    for attribute, function in functions.items():
        monkeypatch.setattr(module, attribute, function)


@pytest.fixture
def stand_ins(monkeypatch) -> Counter:
    """Stand-ins for the rollups and the runway: eager tasks run them, counting the calls."""
    calls: Counter = Counter()

    def rollups(*, as_of=None):
        calls["rollups"] += 1
        return {}

    def runway_all(*, as_of=None):
        calls["runway"] += 1
        return []

    def runway_one(*, scenario):
        calls[f"runway:{scenario.slug}"] += 1
        return RunwaySnapshot(pk=1, scenario=scenario)

    _stand_in_module(monkeypatch, kpi_rollups, recompute_rollups=rollups)
    _stand_in_module(
        monkeypatch, runway_snapshots, runway_recompute_all=runway_all, runway_recompute=runway_one
    )
    return calls


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def broker_at(url: str):
    """Point the Celery app at ``url`` for real publishing (not eager), then restore it."""
    keys = ("broker_url", "result_backend", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    reset_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset_connections()


def expense(n: int = 0) -> Expense:
    return Expense.objects.create(
        name=f"Cloud {n}", category="cloud", amount=Decimal("100.00"), start_on=date(2024, 1, 1)
    )


# --- collapse -------------------------------------------------------------------------------


def saves_in_one_transaction(rows: int) -> None:
    with transaction.atomic():
        for n in range(rows):
            Funder.objects.create(slug=f"funder-{n}", name=f"Funder {n}", kind="foundation")
            expense(n)


def test_ten_thousand_saves_in_one_transaction_enqueue_each_recompute_once(
    enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        saves_in_one_transaction(5_000)

    assert Funder.objects.count() == 5_000 and Expense.objects.count() == 5_000
    assert len(callbacks) == 1
    assert enqueued == {"rollups": 1, "runway": 1}


class FunderRows(OpsiteResource):
    class Meta(OpsiteResource.Meta):
        model = Funder
        fields = ("slug", "name", "kind")
        import_id_fields = ("slug",)


def import_funders(rows: int) -> None:
    lines = "\n".join(f"imported-{n},Imported funder {n},foundation" for n in range(rows))
    import_file(FunderRows(), "slug,name,kind\n" + lines, "csv")


def test_a_thousand_row_import_enqueues_one_recompute(enqueued, django_capture_on_commit_callbacks):
    # A thousand rows keep the test quick (an import validates row by row); the collapse does not
    # depend on the size, and the test above saves ten thousand rows.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_funders(1_000)

    assert Funder.objects.filter(slug__startswith="imported-").count() == 1_000
    assert len(callbacks) == 1
    assert enqueued == {"rollups": 1}


def a_rolled_back_change() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        expense()
        raise RuntimeError("abandon the change")


def test_a_rolled_back_transaction_enqueues_nothing(enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        a_rolled_back_change()

    assert callbacks == []
    assert enqueued == {}


def test_a_change_after_a_rolled_back_savepoint_is_still_enqueued(
    enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            expense(1)
            raise RuntimeError("abandon the first change")
        Funder.objects.create(slug="kept", name="Kept", kind="foundation")
        expense(2)

    assert len(callbacks) == 1
    assert enqueued == {"rollups": 1, "runway": 1}


def test_each_transaction_enqueues_its_own_recompute(enqueued, django_capture_on_commit_callbacks):
    for n in range(2):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            expense(n)

    assert enqueued == {"runway": 2}


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_each_change_enqueues_at_once(enqueued):
    expense(1)
    assert enqueued == {"runway": 1}
    expense(2)
    assert enqueued == {"runway": 2}


def test_request_recompute_refuses_unknown_kinds():
    with pytest.raises(ValueError, match="Unknown recompute kind"):
        request_recompute("rollup")


# --- signals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda: NetworkFactory(), {"rollups": 1}),
        # A hub's users price usage-priced contracts, so the runway's too.
        (lambda: HubFactory(), {"rollups": 1, "runway": 1}),
        (lambda: StaffMemberFactory(), {"rollups": 1, "runway": 1}),
        (
            lambda: CashPosition.objects.create(as_of=date(2024, 12, 31), balance=Decimal("1850000.00")),
            {"runway": 1},
        ),
        (lambda: Scenario.objects.create(slug="what-if", name="What if"), {"runway": 1}),
    ],
    ids=["network", "hub", "staff-member", "cash-position", "scenario"],
)
def test_saving_an_input_enqueues_the_recomputes_it_feeds(
    change, expected, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        change()

    assert enqueued == expected


def test_deleting_an_input_enqueues_its_recompute(enqueued, django_capture_on_commit_callbacks):
    # Each block stands for one committed transaction (the test's own never commits).
    with django_capture_on_commit_callbacks(execute=True):
        row = expense()
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        row.delete()

    assert enqueued == {"runway": 1}


def test_changing_a_communitys_networks_enqueues_the_rollups(enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        community = CommunityFactory()
        network = NetworkFactory()
    enqueued.clear()

    for change in (lambda: community.networks.add(network), lambda: community.networks.clear()):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            change()
        assert len(callbacks) == 1
    assert enqueued == {"rollups": 2}


def write_the_outputs(scenario: Scenario) -> None:
    snapshot = RunwaySnapshot.objects.create(
        scenario=scenario, as_of=date(2024, 12, 31), computed_at=timezone.now()
    )
    RunwayAlert.objects.create(scenario=scenario, snapshot=snapshot, reason="moved")
    recompute_succeeded("runway", started_at=timezone.now())


def a_committed_scenario(enqueued, capture) -> Scenario:
    # In a block of its own, which stands for its own committed transaction: a scenario is an
    # input, and a request left waiting on the test's transaction would swallow the ones after it.
    with capture(execute=True):
        scenario = Scenario.objects.create(slug="quiet", name="Quiet")
    enqueued.clear()
    return scenario


def test_writing_the_outputs_enqueues_nothing(enqueued, django_capture_on_commit_callbacks):
    scenario = a_committed_scenario(enqueued, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        write_the_outputs(scenario)

    assert callbacks == []
    assert enqueued == {}


def test_every_model_of_the_apps_is_an_input_or_declared_not_one():
    declared = set(signals.RECOMPUTE_INPUTS) | set(signals.NOT_INPUTS)
    undeclared = sorted(
        f"{model._meta.app_label}.{model.__name__}"
        for app_label in OPSITE_APPS
        for model in apps.get_app_config(app_label).get_models()
        # History rows copy their model's changes; they feed nothing themselves.
        if not model.__name__.startswith("Historical")
        and f"{model._meta.app_label}.{model.__name__}" not in declared
    )

    assert undeclared == [], "add these to RECOMPUTE_INPUTS or NOT_INPUTS in opsite/core/signals.py"


# --- the tests above that expect nothing, or one, can fail -----------------------------------
# A test that expects no enqueue, or one, also passes when the capture sees nothing: as it did when
# a request left waiting on the test's transaction (by a fixture) swallowed the test's own. Each
# one is run here again with the mechanism it relies on broken, and the capture must see more.


@pytest.fixture
def collapse_broken(monkeypatch) -> None:
    """Every request registers a callback of its own, as if none were waiting."""
    monkeypatch.setattr(recompute._Batch, "is_waiting_on", lambda self, connection: False)


@pytest.fixture
def requests_run_at_once(monkeypatch) -> None:
    """The model signals enqueue at once instead of after the commit."""

    def at_once(*kinds: str, using: str | None = None) -> None:
        for kind in kinds:
            enqueue_recompute(kind)

    monkeypatch.setattr(signals, "request_recompute", at_once)


@pytest.fixture
def outputs_watched():
    """The runway's outputs fed the runway, as if they were listed in RECOMPUTE_INPUTS."""
    receiver = signals._row_receiver((RUNWAY,))
    outputs = (RunwaySnapshot, RunwayAlert)
    for model in outputs:
        post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"control.{model.__name__}")
    yield
    for model in outputs:
        post_save.disconnect(sender=model, dispatch_uid=f"control.{model.__name__}")


@pytest.fixture
def running_not_noticed(monkeypatch) -> None:
    """The scheduler does not notice that a recompute is running inline."""

    class NeverActive:
        active = property(lambda self: False, lambda self, value: None)

    monkeypatch.setattr(recompute, "_running", NeverActive())


def test_without_the_collapse_saves_in_one_transaction_enqueue_once_per_row(
    collapse_broken, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        saves_in_one_transaction(3)

    assert len(callbacks) == 6
    assert enqueued == {"rollups": 3, "runway": 3}


def test_without_the_collapse_an_import_enqueues_once_per_row(
    collapse_broken, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_funders(3)

    assert len(callbacks) == 3
    assert enqueued == {"rollups": 3}


def test_without_waiting_for_the_commit_a_rolled_back_transaction_enqueues(
    requests_run_at_once, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        a_rolled_back_change()

    assert enqueued == {"runway": 1}


def test_writing_the_outputs_enqueues_if_they_are_watched(
    outputs_watched, enqueued, django_capture_on_commit_callbacks
):
    scenario = a_committed_scenario(enqueued, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        write_the_outputs(scenario)

    assert len(callbacks) == 1
    assert enqueued == {"runway": 1}


def test_an_eager_recompute_schedules_itself_again_if_its_run_goes_unnoticed(
    running_not_noticed, rollups_that_write_an_input, django_capture_on_commit_callbacks
):
    stand_ins = rollups_that_write_an_input
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        NetworkFactory()

    assert stand_ins == {"rollups": 2}
    assert len(callbacks) == 2


# --- eager mode and the pending flag --------------------------------------------------------


def test_in_eager_mode_the_recomputes_run_inline_after_the_commit(
    stand_ins, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        StaffMemberFactory()
        assert stand_ins == {}

    callbacks[0]()

    assert stand_ins == {"rollups": 1, "runway": 1}
    assert recompute_pending() == {"rollups": False, "runway": False}
    assert RecomputeState.objects.filter(succeeded_at__isnull=False).count() == 2


def test_an_eager_recompute_that_fails_stays_pending_without_failing_the_caller(
    stand_ins, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*, as_of=None):
        raise RuntimeError("the rollups are broken")

    _stand_in_module(monkeypatch, kpi_rollups, recompute_rollups=broken)

    with django_capture_on_commit_callbacks(execute=True):
        StaffMemberFactory()

    assert recompute_pending() == {"rollups": True, "runway": False}


@pytest.fixture
def rollups_that_write_an_input(stand_ins, monkeypatch) -> Counter:
    """Rollups that save a watched row, on their first run only (so nothing can loop for ever)."""

    def rollups(*, as_of=None):
        stand_ins["rollups"] += 1
        if stand_ins["rollups"] == 1:
            Funder.objects.create(slug="side-effect", name="Side effect", kind="other")

    _stand_in_module(monkeypatch, kpi_rollups, recompute_rollups=rollups)
    return stand_ins


def test_an_eager_recompute_that_saves_a_watched_row_does_not_schedule_itself_again(
    rollups_that_write_an_input, django_capture_on_commit_callbacks
):
    stand_ins = rollups_that_write_an_input

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        NetworkFactory()

    assert stand_ins == {"rollups": 1}
    assert len(callbacks) == 1


def test_enqueue_recompute_answers_queued_with_the_task_id(stand_ins):
    outcome = enqueue_recompute("runway")

    assert outcome.status == "queued"
    assert outcome.task_id
    assert stand_ins == {"runway": 1}


def test_with_the_broker_down_the_request_returns_quickly_and_the_recompute_stays_pending(
    django_capture_on_commit_callbacks,
):
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            StaffMemberFactory()
        elapsed = time.monotonic() - started

        outcome = enqueue_recompute("runway")

    assert elapsed < 5
    assert outcome.status == "pending" and outcome.task_id is None
    assert recompute_pending() == {"rollups": True, "runway": True}


def test_a_broker_that_accepts_connections_but_never_answers_does_not_hang_the_request():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        with broker_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0"):
            started = time.monotonic()
            outcome = enqueue_recompute("rollups")
            elapsed = time.monotonic() - started

    # Bounded by the broker's socket timeout (5 s), once.
    assert elapsed < 8
    assert outcome.status == "pending"
    assert recompute_pending()["rollups"] is True


def test_a_recompute_clears_pending_only_if_it_started_after_the_request(stand_ins):
    start = timezone.now()
    enqueue_recompute("rollups")  # runs inline: requested, then succeeded
    assert recompute_pending()["rollups"] is False

    RecomputeState.objects.filter(kind="rollups").update(
        pending=True, requested_at=start + timedelta(seconds=5)
    )
    recompute_succeeded("rollups", started_at=start)
    assert recompute_pending()["rollups"] is True, "a change came in while it ran"

    recompute_succeeded("rollups", started_at=start + timedelta(seconds=6))
    assert recompute_pending()["rollups"] is False


def test_recompute_pending_is_one_query_and_false_when_never_requested(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert recompute_pending() == {"rollups": False, "runway": False}


def test_the_beat_reenqueues_recomputes_left_pending_by_a_dead_broker(enqueued):
    long_ago = timezone.now() - timedelta(hours=1)
    RecomputeState.objects.create(kind="rollups", pending=True, requested_at=long_ago)
    RecomputeState.objects.create(kind="runway", pending=True, requested_at=timezone.now())

    assert retry_pending_recomputes.apply().get() == ["rollups"]
    assert enqueued == {"rollups": 1}


@pytest.mark.django_db(transaction=True)
def test_requests_from_many_threads_at_once_all_record_pending(enqueued):
    def request():
        request_recompute("rollups", "runway")
        from django.db import connection

        connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Each request records itself; requests that meet a recompute queued and not yet started
    # publish nothing, so between one and four are published per kind.
    assert set(enqueued) == {"rollups", "runway"}
    assert all(1 <= count <= 4 for count in enqueued.values())
    assert RecomputeState.objects.count() == 2
    assert set(RecomputeState.objects.values_list("pending", flat=True)) == {True}


# --- coalescing across transactions, lost and failed recomputes -------------------------------


@pytest.fixture
def queued_only(monkeypatch) -> Counter:
    """Counts the tasks published, by kind; no worker ever takes them (they stay queued)."""
    counts: Counter = Counter()
    for kind in ("rollups", "runway"):
        task = recompute._task_for(kind)

        def publish(*args, _kind=kind, _task=task, **kwargs):
            counts[_kind] += 1
            return _FakeResult(_task.name, counts[_kind])

        monkeypatch.setattr(task, "apply_async", publish)
    return counts


def _state(kind: str) -> RecomputeState:
    return RecomputeState.objects.get(kind=kind)


def committed_expenses(capture, numbers) -> None:
    """One transaction per expense, each committed (its on_commit callbacks run)."""
    for n in numbers:
        with capture(execute=True), transaction.atomic():
            expense(n)


def test_a_burst_of_transactions_queues_one_recompute_while_it_waits(
    queued_only, django_capture_on_commit_callbacks
):
    committed_expenses(django_capture_on_commit_callbacks, range(300))
    assert queued_only == {"runway": 1}
    assert _state("runway").pending is True


def test_without_the_claim_each_transaction_of_a_burst_queues_its_own(
    queued_only, monkeypatch, django_capture_on_commit_callbacks
):
    # The control: the count above is the claim's doing, not the fixture's.
    monkeypatch.setattr(recompute, "_claim_queue", lambda kind: True)
    committed_expenses(django_capture_on_commit_callbacks, range(5))
    assert queued_only == {"runway": 5}


def test_a_request_after_the_recompute_started_queues_another(
    queued_only, django_capture_on_commit_callbacks
):
    committed_expenses(django_capture_on_commit_callbacks, [1])
    recompute.recompute_started("runway")
    committed_expenses(django_capture_on_commit_callbacks, [2])
    assert queued_only == {"runway": 2}


def test_a_queued_recompute_lost_past_the_limit_is_queued_again(
    queued_only, settings, django_capture_on_commit_callbacks
):
    settings.OPSITE_RECOMPUTE_LOST_AFTER_SECONDS = 240
    committed_expenses(django_capture_on_commit_callbacks, [1])
    RecomputeState.objects.filter(kind="runway").update(queued_at=timezone.now() - timedelta(seconds=241))
    committed_expenses(django_capture_on_commit_callbacks, [2])
    assert queued_only == {"runway": 2}


def test_a_broker_that_refuses_the_task_leaves_nothing_claimed():
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        outcome = enqueue_recompute("runway")
    assert outcome.status == "pending"
    state = _state("runway")
    assert state.pending is True
    assert state.queued_at is None


@pytest.mark.parametrize(
    ("queued_ago", "started_ago", "requeued"),
    [
        (30, None, False),  # queued a moment ago: a worker will take it
        (300, None, True),  # queued and never taken (message lost, worker killed): lost
        (None, 30, False),  # started after the request a moment ago: running
        (None, 300, True),  # started and never finished (worker killed mid-task): lost
    ],
)
def test_the_beat_queues_again_only_a_recompute_that_is_lost(
    queued_only, settings, queued_ago, started_ago, requeued
):
    settings.OPSITE_RECOMPUTE_LOST_AFTER_SECONDS = 240
    now = timezone.now()
    RecomputeState.objects.create(
        kind="runway",
        pending=True,
        requested_at=now - timedelta(seconds=600),
        queued_at=None if queued_ago is None else now - timedelta(seconds=queued_ago),
        started_at=None if started_ago is None else now - timedelta(seconds=started_ago),
    )
    assert retry_pending_recomputes() == (["runway"] if requeued else [])
    assert queued_only == ({"runway": 1} if requeued else {})


def test_a_failed_recompute_stays_pending_and_says_why_until_one_succeeds(settings, stand_ins, monkeypatch):
    def broken(*, as_of=None):
        raise LookupError("No EUR rate on 2024-03-31")

    monkeypatch.setattr(runway_snapshots, "runway_recompute_all", broken)
    outcome = enqueue_recompute("runway")
    assert outcome.ran_inline and outcome.status == "pending"
    status = recompute.recompute_statuses()["runway"]
    assert status.pending is True
    assert status.failed_at is not None
    assert status.last_error == "LookupError: No EUR rate on 2024-03-31"

    monkeypatch.setattr(runway_snapshots, "runway_recompute_all", lambda *, as_of=None: [])
    assert enqueue_recompute("runway").status == "queued"
    status = recompute.recompute_statuses()["runway"]
    assert (status.pending, status.failed_at, status.last_error) == (False, None, "")
