"""Runway snapshots: recompute and keep, read the latest, preview what-ifs without writing."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding.models import RunwaySnapshot, Scenario
from funding.runway import project
from funding.runway.loader import NoCashPosition, load_inputs
from funding.runway.montecarlo import simulate
from funding.runway.snapshots import (
    runway_latest,
    runway_preview,
    runway_recompute,
    runway_recompute_all,
)
from staff.tests.factories import CompensationFactory, StaffMemberFactory

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    ExpenseFactory,
    GrantFactory,
    ScenarioAdjustmentFactory,
    ScenarioFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 10, 31)
NOW = dt.datetime(2024, 11, 5, 9, 30, tzinfo=dt.UTC)
default_scenarios = importlib.import_module("funding.migrations.0003_default_scenarios")


@pytest.fixture
def books():
    """Cash for about eight months of a 12,500 payroll and a 2,500 cloud bill."""
    CashPositionFactory(as_of=A, balance=D("120000.00"))
    person = StaffMemberFactory(slug="ada", start_on=dt.date(2022, 1, 1))
    CompensationFactory(staff=person, effective_on=dt.date(2022, 1, 1), annual_salary=D("120000.00"))
    ExpenseFactory(amount=D("2500.00"), start_on=dt.date(2024, 1, 1))


def base() -> Scenario:
    return Scenario.objects.get(slug="base")


# --- the default scenarios --------------------------------------------------------------------------


def test_the_default_scenarios_exist_after_migrate():
    scenarios = {
        s.slug: (s.pipeline, s.is_default, s.reserve, s.horizon_months) for s in Scenario.objects.all()
    }

    assert scenarios == {
        "base": ("weighted", True, D("0.00"), 60),
        "committed": ("committed", False, D("0.00"), 60),
        "full": ("full", False, D("0.00"), 60),
    }


def test_the_default_scenarios_migration_run_again_changes_nothing():
    Scenario.objects.filter(slug="full").update(name="Everything", reserve=D("1000.00"))

    default_scenarios.create_default_scenarios(django_apps, None)

    assert Scenario.objects.count() == 3
    assert Scenario.objects.get(slug="full").name == "Everything"
    assert list(Scenario.objects.filter(is_default=True).values_list("slug", flat=True)) == ["base"]


def test_the_default_scenarios_migration_does_not_take_over_another_default():
    Scenario.objects.filter(slug="base").delete()
    Scenario.objects.filter(slug="committed").update(is_default=True)

    default_scenarios.create_default_scenarios(django_apps, None)

    assert Scenario.objects.get(slug="base").is_default is False
    assert list(Scenario.objects.filter(is_default=True).values_list("slug", flat=True)) == ["committed"]


# --- recompute ------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_recompute_stores_a_snapshot_holding_the_api_json(books):
    snapshot = runway_recompute(scenario=base())

    inputs = load_inputs(scenario=base())
    expected = project(inputs)
    snapshot.refresh_from_db()
    assert snapshot.scenario.slug == "base"
    assert snapshot.as_of == A
    assert snapshot.computed_at == NOW
    assert snapshot.months == expected.months == D("8.00")
    assert snapshot.cash_out_on == expected.cash_out_on
    drawn = simulate(inputs, draws=settings.OPSITE_MONTE_CARLO_DRAWS, seed=settings.OPSITE_MONTE_CARLO_SEED)
    assert snapshot.result == {
        "scenario": "base",
        **expected.as_dict(),
        "monte_carlo": drawn.as_dict(),
        "unrestricted": expected.unrestricted.as_dict(),
    }


def test_recompute_without_a_cash_position_says_what_is_missing():
    with pytest.raises(NoCashPosition, match="No cash position is recorded"):
        runway_recompute(scenario=base())

    assert not RunwaySnapshot.objects.exists()


def test_recompute_all_keeps_one_snapshot_per_scenario_in_slug_order(books):
    DisbursementFactory(
        grant=GrantFactory(prospect=True, probability=50),
        amount=D("60000.00"),
        expected_on=dt.date(2024, 12, 1),
    )

    snapshots = runway_recompute_all()

    assert [s.scenario.slug for s in snapshots] == ["base", "committed", "full"]
    assert RunwaySnapshot.objects.count() == 3
    months = {s.scenario.slug: s.months for s in snapshots}
    assert months["committed"] < months["base"] < months["full"]
    assert all(s.result["scenario"] == s.scenario.slug for s in snapshots)


def test_recompute_all_can_start_from_an_earlier_cash_position(books):
    CashPositionFactory(as_of=dt.date(2024, 9, 30), balance=D("50000.00"))

    snapshots = runway_recompute_all(as_of=dt.date(2024, 10, 1))

    assert {s.as_of for s in snapshots} == {dt.date(2024, 9, 30)}
    assert {s.result["opening_balance"] for s in snapshots} == {"50000.00"}


def test_recompute_all_before_any_cash_position_stores_nothing_and_is_not_an_error():
    assert runway_recompute_all() == []
    assert not RunwaySnapshot.objects.exists()


def test_an_unchanged_recompute_within_a_minute_stores_nothing_new_but_a_minute_later_does(books):
    with time_machine.travel(NOW, tick=False):
        first = runway_recompute(scenario=base())
    with time_machine.travel(NOW + dt.timedelta(seconds=59), tick=False):
        again = runway_recompute_all()
    with time_machine.travel(NOW + dt.timedelta(seconds=60), tick=False):
        later = runway_recompute(scenario=base())

    assert again[0].pk == first.pk
    assert later.pk != first.pk
    assert RunwaySnapshot.objects.filter(scenario__slug="base").count() == 2
    assert later.result == first.result


def test_a_changed_forecast_within_the_minute_is_stored(books):
    with time_machine.travel(NOW, tick=False):
        first = runway_recompute(scenario=base())
    ExpenseFactory(amount=D("1000.00"), start_on=dt.date(2024, 1, 1))
    with time_machine.travel(NOW + dt.timedelta(seconds=10), tick=False):
        second = runway_recompute(scenario=base())

    assert second.pk != first.pk
    assert second.months < first.months


# --- latest ---------------------------------------------------------------------------------------


def test_latest_is_the_newest_snapshot_of_the_default_or_the_named_scenario(books, django_assert_num_queries):
    with time_machine.travel(NOW, tick=False):
        runway_recompute_all()
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        newest_base = runway_recompute(scenario=base())

    with django_assert_num_queries(1):
        latest = runway_latest()
        assert latest.scenario.slug == "base"  # select_related: no second query
    assert latest.pk == newest_base.pk
    assert runway_latest(scenario_slug="full").scenario.slug == "full"


def test_latest_is_none_for_an_unknown_scenario_or_one_never_computed():
    ScenarioFactory(slug="fresh")

    assert runway_latest(scenario_slug="nope") is None
    assert runway_latest(scenario_slug="fresh") is None
    assert runway_latest() is None


# --- preview --------------------------------------------------------------------------------------


def _fingerprint() -> dict[str, str]:
    """A digest of every row of every table: any insert, update or delete changes it."""
    digests = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            digests[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def test_a_preview_with_a_hire_shortens_the_runway(books):
    scenario = base()
    before = project(load_inputs(scenario=scenario))

    preview = runway_preview(
        scenario=scenario,
        adjustments=[{"kind": "hire", "label": "SRE", "amount": "96000.00", "start_on": "2024-11-01"}],
    ).result

    assert preview.months < before.months
    # 96,000 a year, no benefits: 8,000 a month.
    assert preview.periods[0].out_by_source["adjustments"] == D("8000.00")


def test_a_preview_can_remove_a_saved_adjustment(books):
    scenario = base()
    windfall = ScenarioAdjustmentFactory(
        scenario=scenario, kind="inflow", amount=D("1000000.00"), start_on=dt.date(2024, 12, 1)
    )
    with_it = project(load_inputs(scenario=scenario))

    without = runway_preview(scenario=scenario, adjustments=[{"remove": windfall.pk}]).result

    assert with_it.months is None
    assert without.months == D("8.00")


def test_a_preview_writes_nothing(books):
    scenario = base()
    grant = GrantFactory(reference="late-grant")
    DisbursementFactory(grant=grant, amount=D("30000.00"), expected_on=dt.date(2024, 12, 1))
    saved = ScenarioAdjustmentFactory(scenario=scenario, start_on=dt.date(2025, 1, 1))
    before = _fingerprint()

    with CaptureQueriesContext(connection) as queries:
        runway_preview(
            scenario=scenario,
            adjustments=[
                {"kind": "hire", "amount": "120000.00", "benefits_rate": "0.25", "start_on": "2025-01-01"},
                {"kind": "outflow", "amount": "1000.00", "recurrence": "monthly", "start_on": "2024-11-01"},
                {"kind": "delay", "grant": "late-grant", "months": 3, "start_on": "2024-11-01"},
                {"remove": saved.pk},
            ],
        )

    assert _fingerprint() == before
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]
    assert writes == []


def test_a_preview_refuses_bad_what_ifs_naming_which_one_and_why(books):
    other = ScenarioAdjustmentFactory(label="elsewhere")

    with pytest.raises(ValidationError) as raised:
        runway_preview(
            scenario=base(),
            adjustments=[
                {"kind": "hire", "amount": "1000.005", "start_on": "2025-01-01"},
                {"kind": "delay", "months": 2, "start_on": "2025-01-01"},
                {"kind": "outflow", "amount": 12.5, "start_on": "2025-01-01"},
                {"kind": "inflow", "amount": "1.00", "start_on": "2025-01-01", "salary": "1"},
                {"remove": other.pk},
                {"kind": "delay", "grant": "no-such-grant", "months": 2, "start_on": "2025-01-01"},
            ],
        )

    errors = raised.value.message_dict
    assert any(m.startswith("What-if 1:") and "2 decimal places" in m for m in errors["amount"])
    assert any(m.startswith("What-if 2:") for m in errors["grant"])
    assert any(m.startswith("What-if 3:") and "not a float" in m for m in errors["amount"])
    assert errors["adjustments"] == ["What-if 4: unknown field(s) salary."]
    assert errors["remove"] == [f"What-if 5: scenario base has no adjustment {other.pk} to remove."]
    assert any(m.startswith("What-if 6:") and "no-such-grant" in m for m in errors["grant"])
