"""The runway API (docs/api.md "Runway API"): its JSON to the letter, and who may see it."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import path, reverse
from drf_spectacular.generators import SchemaGenerator

from funding.api.runway import RunwayRecomputeView, RunwayView
from funding.models import RunwaySnapshot, Scenario
from funding.runway.snapshots import runway_recompute_all
from opsite.core.models import RecomputeState
from opsite.tests.brokers import closed_port, publishing_to
from staff.tests.factories import CompensationFactory, StaffMemberFactory

from .factories import CashPositionFactory, DisbursementFactory, ExpenseFactory, GrantFactory

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 10, 31)
RUNWAY_URL = "/api/v1/funding/runway/"
RECOMPUTE_URL = "/api/v1/funding/runway/recompute/"

MONEY = re.compile(r"^-?\d+\.\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The keys of docs/api.md "Runway API", in its order.
TOP_KEYS = [
    "scenario",
    "as_of",
    "opening_balance",
    "months",
    "cash_out_on",
    "horizon_months",
    "forward_burn",
    "indicators",
    "periods",
    "monte_carlo",
    "unrestricted",
]
MONTE_CARLO_KEYS = ["draws", "seed", "items", "runway", "chance_out_within", "periods"]
FAN_KEYS = ["end", "p10", "p50", "p90", "mean", "committed", "weighted", "full"]
SHARE = re.compile(r"^(0\.\d{3}|1\.000)$")
INDICATOR_KEYS = [
    "committed_runway",
    "cost_coverage",
    "pipeline_coverage",
    "cash_reserve",
    "invoice_collection",
    "customer_concentration",
]
PERIOD_KEYS = [
    "start",
    "end",
    "opening",
    "in",
    "out",
    "closing",
    "in_by_source",
    "out_by_source",
    "committed_in",
    "weighted_in",
]
IN_KEYS = ["contracts", "grants", "adjustments", "usage_fees"]
OUT_KEYS = ["payroll", "expenses", "subawards", "adjustments", "fiscal_sponsor_fee"]
STATUSES = {"red", "yellow", "green", "over"}


@pytest.fixture
def books():
    """A runway that ends inside the horizon, with a pipeline grant: every figure is non-trivial."""
    CashPositionFactory(as_of=A, balance=D("1850000.00"))
    person = StaffMemberFactory(start_on=dt.date(2022, 1, 1))
    CompensationFactory(staff=person, effective_on=dt.date(2022, 1, 1), annual_salary=D("1200000.00"))
    ExpenseFactory(amount=D("30000.00"), start_on=dt.date(2024, 1, 1))
    DisbursementFactory(grant=GrantFactory(), amount=D("40000.00"), expected_on=dt.date(2024, 11, 20))
    DisbursementFactory(
        grant=GrantFactory(prospect=True, probability=50),
        amount=D("300000.00"),
        expected_on=dt.date(2025, 1, 10),
    )


@pytest.fixture
def computed(books) -> list[RunwaySnapshot]:
    return runway_recompute_all()


def assert_money(value) -> None:
    assert isinstance(value, str) and MONEY.match(value), value


def assert_runway_shape(data: dict) -> None:
    """Every key, in DESIGN's order, with DESIGN's types (money as strings with two places)."""
    assert list(data) == TOP_KEYS
    assert isinstance(data["scenario"], str)
    assert DAY.match(data["as_of"])
    assert_money(data["opening_balance"])
    assert data["months"] is None or MONEY.match(data["months"])
    assert data["cash_out_on"] is None or DAY.match(data["cash_out_on"])
    assert type(data["horizon_months"]) is int
    assert_money(data["forward_burn"])
    assert list(data["indicators"]) == INDICATOR_KEYS
    for indicator in data["indicators"].values():
        assert list(indicator) == ["value", "status", "target", "needed"]
        for key in ("value", "target", "needed"):
            assert indicator[key] is None or MONEY.match(indicator[key])
        assert indicator["status"] in STATUSES
    assert len(data["periods"]) == data["horizon_months"]
    for period in data["periods"]:
        assert list(period) == PERIOD_KEYS
        assert DAY.match(period["start"]) and DAY.match(period["end"])
        for key in ("opening", "in", "out", "closing", "committed_in", "weighted_in"):
            assert_money(period[key])
        assert list(period["in_by_source"]) == IN_KEYS
        assert list(period["out_by_source"]) == OUT_KEYS
        for value in (*period["in_by_source"].values(), *period["out_by_source"].values()):
            assert_money(value)
    monte_carlo = data["monte_carlo"]
    assert list(monte_carlo) == MONTE_CARLO_KEYS
    assert list(monte_carlo["runway"]) == ["p10", "p50", "p90"]
    assert list(monte_carlo["chance_out_within"]) == ["6", "12", "18", "24"]
    assert all(SHARE.match(share) for share in monte_carlo["chance_out_within"].values())
    assert len(monte_carlo["periods"]) == data["horizon_months"]
    for period in monte_carlo["periods"]:
        assert list(period) == FAN_KEYS
        for key in FAN_KEYS[1:]:
            assert_money(period[key])


# --- GET ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["finance_client", "leadership_client", "super_client"])
def test_finance_leadership_and_superusers_get_the_default_scenarios_runway(request, client_name, computed):
    response = request.getfixturevalue(client_name).get(RUNWAY_URL)

    assert response.status_code == 200
    data = response.json()
    assert_runway_shape(data)
    assert data["scenario"] == "base"


def test_the_answer_is_the_latest_snapshot_exactly_as_stored(finance_client, computed):
    response = finance_client.get(RUNWAY_URL, {"scenario": "committed"})

    stored = RunwaySnapshot.objects.get(scenario__slug="committed").result
    assert response.json() == stored
    assert response.json()["scenario"] == "committed"
    # The figures of this organization, read the way docs/api.md shows them.
    assert stored["as_of"] == "2024-10-31"
    assert stored["opening_balance"] == "1850000.00"
    assert stored["periods"][0]["start"] == "2024-11-01" and stored["periods"][0]["end"] == "2024-11-30"
    assert stored["periods"][0]["in_by_source"]["grants"] == "40000.00"
    assert stored["periods"][0]["out_by_source"]["payroll"] == "125000.00"
    assert stored["months"] is not None and stored["cash_out_on"] is not None


def test_each_scenario_answers_its_own_figures(finance_client, computed):
    months = {
        slug: finance_client.get(RUNWAY_URL, {"scenario": slug}).json()["months"]
        for slug in ("committed", "base", "full")
    }

    assert D(months["committed"]) < D(months["base"]) < D(months["full"])


def test_a_newer_snapshot_replaces_the_older_in_the_answer(finance_client, computed):
    ExpenseFactory(amount=D("50000.00"), start_on=dt.date(2024, 1, 1))
    newer = runway_recompute_all()[0]

    data = finance_client.get(RUNWAY_URL).json()

    assert data["months"] == newer.result["months"]
    assert D(data["months"]) < D(computed[0].result["months"])


def test_the_answer_costs_the_same_queries_however_long_the_history(
    finance_client, computed, django_assert_max_num_queries
):
    for _ in range(5):
        ExpenseFactory(amount=D("1.00"), start_on=dt.date(2024, 1, 1))
        runway_recompute_all()

    # session, user, permissions (user and group), scenario, snapshot
    with django_assert_max_num_queries(6):
        response = finance_client.get(RUNWAY_URL)
    assert response.status_code == 200


def test_an_unknown_scenario_is_404_naming_it(finance_client, computed):
    response = finance_client.get(RUNWAY_URL, {"scenario": "moonshot"})

    assert response.status_code == 404
    assert response.json() == {"detail": "no scenario 'moonshot'"}


def test_a_scenario_never_computed_is_404_saying_how_to_compute_it(finance_client):
    response = finance_client.get(RUNWAY_URL, {"scenario": "full"})

    assert response.status_code == 404
    assert response.json() == {"detail": f"no runway computed yet for full; POST {RECOMPUTE_URL}"}


def test_without_a_default_scenario_the_answer_asks_for_one(finance_client):
    Scenario.objects.all().delete()

    response = finance_client.get(RUNWAY_URL)

    assert response.status_code == 404
    assert "no default scenario" in response.json()["detail"]


# --- who may see it -------------------------------------------------------------------------------


def assert_no_figures(response) -> None:
    body = response.content.decode()
    assert set(response.json()) == {"detail"}
    for secret in ("1850000", "opening_balance", "months", "forward_burn", "base"):
        assert secret not in body


def test_operations_gets_403_without_a_figure(operations_client, computed):
    response = operations_client.get(RUNWAY_URL)

    assert response.status_code == 403
    assert_no_figures(response)


def test_an_unknown_scenario_is_403_for_operations_too_so_scenarios_cannot_be_probed(
    operations_client, computed
):
    assert operations_client.get(RUNWAY_URL, {"scenario": "moonshot"}).status_code == 403


def test_anonymous_gets_401_without_a_figure(computed):
    response = Client().get(RUNWAY_URL)

    assert response.status_code == 401
    assert_no_figures(response)


def test_an_inactive_user_is_not_let_in(inactive_user, computed):
    client = Client()
    client.force_login(inactive_user)

    assert client.get(RUNWAY_URL).status_code in (401, 403)


def test_a_user_with_no_role_gets_403(django_user_model, computed):
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="nobody", password="pw-nobody"))

    assert client.get(RUNWAY_URL).status_code == 403


# --- recompute ------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["finance_client", "leadership_client", "super_client"])
def test_recompute_answers_202_with_the_task_id(request, client_name, books):
    response = request.getfixturevalue(client_name).post(RECOMPUTE_URL)

    assert response.status_code == 202
    data = response.json()
    assert list(data) == ["task_id", "status"]
    assert data["status"] == "queued" and isinstance(data["task_id"], str) and data["task_id"]
    # Celery runs eagerly in the tests: the task has recomputed every scenario.
    assert sorted(RunwaySnapshot.objects.values_list("scenario__slug", flat=True)) == [
        "base",
        "committed",
        "full",
    ]


def test_after_a_recompute_the_runway_is_there_to_read(finance_client, books):
    assert finance_client.get(RUNWAY_URL).status_code == 404

    finance_client.post(RECOMPUTE_URL)

    assert finance_client.get(RUNWAY_URL).status_code == 200


def test_operations_and_anonymous_cannot_ask_for_a_recompute(operations_client, books):
    assert operations_client.post(RECOMPUTE_URL).status_code == 403
    assert Client().post(RECOMPUTE_URL).status_code == 401
    assert not RunwaySnapshot.objects.exists()


def test_recompute_only_accepts_post(finance_client):
    assert finance_client.get(RECOMPUTE_URL).status_code == 405


def broker_down():
    """Point Celery at a closed port on this machine, publishing for real (not eagerly)."""
    return publishing_to(f"redis://127.0.0.1:{closed_port()}/0")


def test_with_the_broker_down_recompute_answers_pending_within_seconds(finance_client, books):
    with broker_down():
        started = time.monotonic()
        response = finance_client.post(RECOMPUTE_URL)
        elapsed = time.monotonic() - started

    assert elapsed < 5
    assert response.status_code == 202
    assert response.json() == {"task_id": None, "status": "pending"}
    assert RecomputeState.objects.get(kind="runway").pending is True
    assert not RunwaySnapshot.objects.exists()


# --- the schema -----------------------------------------------------------------------------------


def test_the_openapi_schema_describes_both_endpoints_and_the_runway_shape():
    # Only these two routes: the schema of the whole API is checked where the API is assembled.
    patterns = [
        path(RUNWAY_URL.lstrip("/"), RunwayView.as_view()),
        path(RECOMPUTE_URL.lstrip("/"), RunwayRecomputeView.as_view()),
    ]
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)

    get = schema["paths"][RUNWAY_URL]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Runway"
    }
    assert [p["name"] for p in get["parameters"]] == ["scenario"]
    post = schema["paths"][RECOMPUTE_URL]["post"]
    assert "202" in post["responses"]
    components = schema["components"]["schemas"]
    assert list(components["Runway"]["properties"]) == TOP_KEYS
    assert list(components["RunwayPeriod"]["properties"]) == PERIOD_KEYS
    assert json.dumps(components["RunwayIndicators"]["properties"]).count("RunwayIndicator") == 6


def test_the_routes_are_named_in_the_funding_api_namespace():
    assert reverse("funding-api:runway") == RUNWAY_URL
    assert reverse("funding-api:runway-recompute") == RECOMPUTE_URL
