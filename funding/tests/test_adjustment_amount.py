"""An inflow or an outflow adjustment carries its amount, whichever door it comes in by.

The column defaults to 0.00 (a delay has no amount of its own), so without this rule an inflow
left without its amount was saved as 0.00 and changed nothing. The API, the admin's form and
inline, an import and the dashboard's what-if planner all refuse it with the funding services'
message, on the amount.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from funding import services
from funding.models import Scenario, ScenarioAdjustment
from funding.tests.test_doors import create_through, update_through

from .factories import ScenarioAdjustmentFactory, ScenarioFactory

pytestmark = pytest.mark.django_db

DOORS = ("api", "admin", "inline", "import")


def message(kind: str, got: str) -> str:
    return f"An {kind} needs its amount as a positive figure (each month when monthly); got {got}."


def values(kind: str, amount: str | None) -> dict:
    row = {
        "scenario": ScenarioFactory(slug="doors"),
        "kind": kind,
        "label": "Gift",
        "benefits_rate": "0",
        "recurrence": "once",
        "start_on": "2025-01-01",
    }
    if amount is not None:
        row["amount"] = amount
    return row


@pytest.mark.parametrize("kind", ["inflow", "outflow"])
@pytest.mark.parametrize("amount", ["0.00", "0"])
@pytest.mark.parametrize("door", DOORS)
def test_each_door_refuses_an_inflow_or_outflow_of_nothing_on_its_amount(finance_client, door, kind, amount):
    before = ScenarioAdjustment.objects.count()

    errors = create_through(door, finance_client, ScenarioAdjustment, values(kind, amount))

    assert errors == {"amount": [message(kind, "0.00")]}
    assert ScenarioAdjustment.objects.count() == before


def test_the_api_refuses_an_inflow_with_no_amount_at_all(finance_client):
    # Left out, the amount would be the column's default 0.00.
    errors = create_through("api", finance_client, ScenarioAdjustment, values("inflow", None))
    assert errors == {"amount": [message("inflow", "0.00")]}
    assert not ScenarioAdjustment.objects.filter(label="Gift").exists()


@pytest.mark.parametrize("door", DOORS)
def test_each_door_takes_a_positive_amount(finance_client, door):
    assert create_through(door, finance_client, ScenarioAdjustment, values("inflow", "2500.00")) == {}
    assert ScenarioAdjustment.objects.get(label="Gift").amount == Decimal("2500.00")


@pytest.mark.parametrize("door", ["api", "admin", "import"])
def test_each_door_refuses_changing_an_outflow_to_nothing(finance_client, door):
    row = ScenarioAdjustmentFactory(kind="outflow", amount=Decimal("700.00"))

    assert update_through(door, finance_client, row, {"amount": "0.00"}) == {
        "amount": [message("outflow", "0.00")]
    }

    row.refresh_from_db()
    assert row.amount == Decimal("700.00")


def test_the_dashboard_planner_refuses_it_with_the_same_message(finance_client):
    scenario = Scenario.objects.get(slug="base")
    before = ScenarioAdjustment.objects.count()
    for url in ("/leadership/what-if/", "/leadership/what-if/save/"):
        body = {"scenario": scenario.slug, "adjustments": [{"kind": "inflow", "start_on": "2025-01-01"}]}
        response = finance_client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, url
        assert response.json()["errors"] == {"amount": [f"What-if 1: {message('inflow', 'nothing')}"]}
    assert ScenarioAdjustment.objects.count() == before


@pytest.mark.parametrize(
    ("kind", "amount", "problem"),
    [
        ("inflow", None, message("inflow", "nothing")),
        ("inflow", "", message("inflow", "nothing")),
        ("outflow", Decimal("-1.00"), message("outflow", "-1.00")),
        ("inflow", Decimal("0.01"), None),
        ("hire", Decimal(0), None),  # the model's own rule says what a hire needs
        ("delay", Decimal(0), None),  # a delay moves a grant's money and has none of its own
        ("inflow", "not a number", None),  # the field's own check says so
    ],
)
def test_the_amount_rule(kind, amount, problem):
    assert services.scenario_adjustment_amount_problem(kind=kind, amount=amount) == problem


def test_the_service_refuses_it_before_writing_and_says_it_once():
    scenario = ScenarioFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_adjustment_create(
            scenario=scenario, kind="inflow", label="Gift", start_on="2025-01-01"
        )
    assert excinfo.value.message_dict == {"amount": [message("inflow", "0.00")]}
    assert not ScenarioAdjustment.objects.exists()
