"""The Celery app's configuration and the thin recompute tasks, in eager mode."""

from __future__ import annotations

import importlib
import inspect
from datetime import date
from decimal import Decimal
from typing import get_type_hints

import pytest
from django.conf import settings
from django.utils import timezone

from funding.models import RunwaySnapshot, Scenario
from funding.runway import snapshots as runway_snapshots
from funding.tasks import funder_report_reminders, recompute_runway, runway_alert
from opsite.celery import IDEMPOTENT_TASK_OPTIONS, app, visibility_timeout
from opsite.core.models import RecomputeState
from opsite.core.recompute import recompute_pending
from opsite.kpis import rollups as kpi_rollups
from opsite.kpis.tasks import recompute_rollups, retry_pending_recomputes
from opsite.tests.test_recompute import _stand_in_module

OUR_TASKS = (
    recompute_rollups,
    recompute_runway,
    runway_alert,
    funder_report_reminders,
    retry_pending_recomputes,
)
IDEMPOTENT_TASKS = (recompute_rollups, recompute_runway, runway_alert, funder_report_reminders)


@pytest.fixture
def calls(monkeypatch) -> list:
    """Stand-ins for the rollups and the runway snapshots, recording their arguments."""
    seen: list = []

    def rollups(*, as_of=None):
        seen.append(("rollups", as_of))
        return {"kpis:2024-12-31": {}}

    def runway_all(*, as_of=None):
        seen.append(("runway_all", as_of))
        return [RunwaySnapshot(pk=11), RunwaySnapshot(pk=12)]

    def runway_one(*, scenario):
        seen.append(("runway_one", scenario.slug))
        return RunwaySnapshot(pk=21, scenario=scenario)

    _stand_in_module(monkeypatch, kpi_rollups, recompute_rollups=rollups)
    _stand_in_module(
        monkeypatch, runway_snapshots, runway_recompute_all=runway_all, runway_recompute=runway_one
    )
    return seen


# --- configuration --------------------------------------------------------------------------


def test_the_app_speaks_json_only_in_utc():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.timezone == "UTC"
    assert app.conf.enable_utc is True


def test_tests_run_tasks_eagerly_and_let_their_errors_through():
    assert app.conf.task_always_eager is True
    assert app.conf.task_eager_propagates is True


def test_publishing_is_bounded_so_a_dead_broker_cannot_hang_a_request():
    assert app.conf.broker_connection_timeout <= 2
    assert app.conf.broker_transport_options["socket_connect_timeout"] <= 2
    assert app.conf.broker_transport_options["socket_timeout"] <= 5
    assert app.conf.task_publish_retry_policy["max_retries"] <= 1
    assert app.conf.redis_socket_connect_timeout <= 2


@pytest.mark.parametrize("task", OUR_TASKS, ids=lambda task: task.name)
def test_every_time_limit_is_below_the_brokers_visibility_timeout(task):
    # Otherwise Redis hands a task still running to a second worker.
    assert task.soft_time_limit < task.time_limit < visibility_timeout()
    assert app.conf.task_time_limit < visibility_timeout()


@pytest.mark.parametrize("task", IDEMPOTENT_TASKS, ids=lambda task: task.name)
def test_idempotent_tasks_are_acknowledged_late_and_requeued_when_their_worker_dies(task):
    assert IDEMPOTENT_TASK_OPTIONS == {"acks_late": True, "reject_on_worker_lost": True}
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True


@pytest.mark.parametrize("task", OUR_TASKS, ids=lambda task: task.name)
def test_tasks_take_ids_and_dates_never_money(task):
    hints = get_type_hints(task.run)
    hints.pop("return", None)
    for name in inspect.signature(task.run).parameters:
        assert hints[name] in (str | None, int | None), f"{task.name}({name}: {hints[name]})"


def test_the_beat_schedule_holds_every_periodic_job_in_one_place():
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert set(schedule) == {
        "opsite.kpis.tasks.recompute_rollups",
        "funding.tasks.recompute_runway",
        "funding.tasks.runway_alert",
        "funding.tasks.prune_runway_snapshots",
        "funding.tasks.funder_report_reminders",
        "opsite.kpis.tasks.retry_pending_recomputes",
        "contributions.tasks.sync_github",
        "communities.tasks.import_usage",
        "communities.tasks.import_cloud_costs",
    }
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE


def test_the_daily_alert_runs_after_the_runway_it_reads_and_the_rollups_after_the_imports():
    def minutes(task: str) -> int:
        entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task)
        (hour,), (minute,) = entry["schedule"].hour, entry["schedule"].minute
        return hour * 60 + minute

    assert minutes("funding.tasks.recompute_runway") < minutes("funding.tasks.runway_alert")
    assert minutes("contributions.tasks.sync_github") < minutes("opsite.kpis.tasks.recompute_rollups")
    assert minutes("communities.tasks.import_usage") < minutes("opsite.kpis.tasks.recompute_rollups")
    assert minutes("communities.tasks.import_cloud_costs") < minutes("opsite.kpis.tasks.recompute_rollups")


def test_every_scheduled_task_is_registered_under_its_scheduled_name():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        importlib.import_module(entry["task"].rpartition(".")[0])
        assert entry["task"] in app.tasks, entry["task"]


# --- the tasks ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recompute_rollups_passes_its_iso_date_on_as_a_date(calls):
    result = recompute_rollups.apply(kwargs={"as_of": "2024-12-31"}).get()

    assert calls == [("rollups", date(2024, 12, 31))]
    assert result == {"kind": "rollups", "as_of": "2024-12-31"}


@pytest.mark.django_db
def test_recompute_rollups_without_a_date_lets_the_rollups_choose(calls):
    recompute_rollups.apply().get()

    assert calls == [("rollups", None)]


@pytest.mark.django_db
def test_recompute_rollups_refuses_a_malformed_date_naming_it(calls):
    with pytest.raises(ValueError, match="not '31/12/2024'"):
        recompute_rollups.apply(kwargs={"as_of": "31/12/2024"}).get()
    assert calls == []


@pytest.mark.django_db
def test_a_successful_rollup_recompute_clears_its_pending_flag_and_no_other(calls):
    RecomputeState.objects.create(kind="rollups", pending=True, requested_at=timezone.now())
    RecomputeState.objects.create(kind="runway", pending=True, requested_at=timezone.now())

    recompute_rollups.apply().get()

    assert recompute_pending() == {"rollups": False, "runway": True}


@pytest.mark.django_db
def test_recompute_runway_recomputes_every_scenario_and_clears_pending(calls):
    RecomputeState.objects.create(kind="runway", pending=True, requested_at=timezone.now())

    assert recompute_runway.apply().get() == [11, 12]

    assert calls == [("runway_all", None)]
    assert recompute_pending()["runway"] is False


@pytest.mark.django_db
def test_recompute_runway_of_one_scenario_leaves_the_pending_flag_for_the_full_recompute(calls):
    scenario = Scenario.objects.create(slug="what-if", name="What if")
    RecomputeState.objects.create(kind="runway", pending=True, requested_at=timezone.now())

    assert recompute_runway.apply(kwargs={"scenario_id": scenario.pk}).get() == [21]

    assert calls == [("runway_one", "what-if")]
    assert recompute_pending()["runway"] is True


@pytest.mark.django_db
def test_recompute_runway_of_a_deleted_scenario_does_nothing(calls):
    assert recompute_runway.apply(kwargs={"scenario_id": 999_999}).get() == []
    assert calls == []


@pytest.mark.django_db
def test_a_failed_recompute_leaves_the_recompute_pending(calls, monkeypatch):
    RecomputeState.objects.create(kind="rollups", pending=True, requested_at=timezone.now())

    def broken(*, as_of=None):
        raise RuntimeError("no data")

    _stand_in_module(monkeypatch, kpi_rollups, recompute_rollups=broken)

    with pytest.raises(RuntimeError):
        recompute_rollups.apply().get()
    assert recompute_pending()["rollups"] is True


# --- idempotency, with the real computations once they exist ---------------------------------


def _rollup_rows() -> list[tuple]:
    """The published figures; ``state:*`` rows are the store's bookkeeping (when it last ran)."""
    from opsite.kpis.models import Rollup

    rows = Rollup.objects.exclude(key__startswith="state:").order_by("key")
    return list(rows.values_list("key", "version", "value"))


@pytest.mark.django_db
def test_recomputing_the_rollups_twice_leaves_the_same_tables():
    from communities.tests.factories import ActiveUserCountFactory
    from staff.tests.factories import StaffMemberFactory

    StaffMemberFactory()
    ActiveUserCountFactory(date=date(2024, 12, 30), active_users=17)

    recompute_rollups.apply(kwargs={"as_of": "2024-12-31"}).get()
    first = _rollup_rows()
    recompute_rollups.apply(kwargs={"as_of": "2024-12-31"}).get()

    assert first, "the recompute stored nothing"
    assert _rollup_rows() == first


def seed_runway_inputs() -> None:
    """A cash position and a monthly cost: enough for a finite runway in every scenario."""
    from funding.models import CashPosition, Expense

    if not Scenario.objects.exists():  # the default scenarios come from a data migration
        Scenario.objects.create(slug="base", name="Base", is_default=True)
    CashPosition.objects.create(as_of=date(2024, 12, 31), balance=Decimal("600000.00"))
    Expense.objects.create(
        name="Payroll and cloud", category="other", amount=Decimal("50000.00"), start_on=date(2024, 1, 1)
    )


def _snapshot_rows() -> list[tuple]:
    rows = RunwaySnapshot.objects.order_by("scenario__slug", "computed_at", "id")
    return list(rows.values_list("scenario__slug", "as_of", "months", "cash_out_on", "result"))


@pytest.mark.django_db
def test_recomputing_the_runway_twice_leaves_the_same_tables():
    seed_runway_inputs()

    first_ids = recompute_runway.apply().get()
    first = _snapshot_rows()
    second_ids = recompute_runway.apply().get()

    assert len(first) == Scenario.objects.count() and first[0][2] is not None
    assert second_ids == first_ids
    assert _snapshot_rows() == first
