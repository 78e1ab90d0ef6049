"""The funding CRUD API at /api/v1/funding/: through the test client and the router's URLs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.urls import Resolver404, resolve, reverse

from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Funder,
    Grant,
    RunwayAlert,
    Scenario,
    ScenarioAdjustment,
    Subaward,
)

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    ExchangeRateFactory,
    ExpenseFactory,
    FunderFactory,
    GrantFactory,
    RunwaySnapshotFactory,
    ScenarioAdjustmentFactory,
    ScenarioFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

pytestmark = pytest.mark.django_db


# Scenarios the migrations create (base, committed, full): present in every test.
MIGRATED_SCENARIOS = 3


def url(name: str, *args: Any) -> str:
    return reverse(f"funding-api:{name}", args=args)


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def make_alert(**kwargs: Any) -> RunwayAlert:
    snapshot = RunwaySnapshotFactory()
    return RunwayAlert.objects.create(
        scenario=snapshot.scenario, snapshot=snapshot, months=snapshot.months, reason="moved", **kwargs
    )


# --- one table of resources drives the CRUD, query-count and ordering tests -------------------


@dataclass
class Resource:
    basename: str
    factory: Callable[..., Any]
    key: Callable[[Any], Any]
    create: Callable[[], dict[str, Any]] | None = None
    update: dict[str, Any] = field(default_factory=dict)
    # The row after the update, read back from the database: {attribute: expected}.
    updated: dict[str, Any] = field(default_factory=dict)
    # Only when the factory is a plain function rather than a factory_boy factory.
    model_class: type | None = None

    @property
    def model(self) -> type:
        return self.model_class or self.factory._meta.model


def _grant_payload() -> dict[str, Any]:
    FunderFactory(slug="sloan")
    return {
        "reference": "g-2025-sloan",
        "funder": "sloan",
        "title": "Open science infrastructure",
        "category": "direct_grant",
        "role": "prime",
        "status": "awarded",
        "probability": 100,
        "amount": "250000.00",
        "awarded_on": "2024-11-15",
        "start_on": "2025-01-01",
        "end_on": "2026-12-31",
    }


def _subaward_payload() -> dict[str, Any]:
    GrantFactory(reference="g-prime", prime=True)
    return {
        "reference": "sa-partner",
        "grant": "g-prime",
        "recipient": "Partner University",
        "amount": "30000.00",
        "start_on": "2024-01-01",
        "end_on": "2024-12-31",
    }


def _disbursement_payload() -> dict[str, Any]:
    GrantFactory(reference="g-in")
    return {"grant": "g-in", "expected_on": "2024-03-01", "amount": "25000.00"}


def _subaward_payment_payload() -> dict[str, Any]:
    SubawardFactory(reference="sa-out")
    return {"subaward": "sa-out", "due_on": "2024-04-15", "amount": "5000.00"}


def _adjustment_payload() -> dict[str, Any]:
    ScenarioFactory(slug="what-if")
    GrantFactory(reference="g-late")
    return {
        "scenario": "what-if",
        "kind": "delay",
        "label": "NSF is late",
        "start_on": "2024-06-01",
        "grant": "g-late",
        "months": 3,
    }


RESOURCES = [
    Resource(
        "funder",
        FunderFactory,
        key=lambda o: o.slug,
        create=lambda: {"slug": "moore", "name": "Moore Foundation", "kind": "foundation"},
        update={"name": "Gordon and Betty Moore Foundation"},
        updated={"name": "Gordon and Betty Moore Foundation"},
    ),
    Resource(
        "grant",
        GrantFactory,
        key=lambda o: o.reference,
        create=_grant_payload,
        update={"status": "closed", "amount": "90000.00"},
        updated={"status": "closed", "amount": Decimal("90000.00")},
    ),
    Resource(
        "subaward",
        SubawardFactory,
        key=lambda o: o.reference,
        create=_subaward_payload,
        update={"recipient": "Another University"},
        updated={"recipient": "Another University"},
    ),
    Resource(
        "disbursement",
        DisbursementFactory,
        key=lambda o: o.pk,
        create=_disbursement_payload,
        update={"received_on": "2024-03-05"},
        updated={"received_on": dt.date(2024, 3, 5)},
    ),
    Resource(
        "subaward-payment",
        SubawardPaymentFactory,
        key=lambda o: o.pk,
        create=_subaward_payment_payload,
        update={"paid_on": "2024-04-20"},
        updated={"paid_on": dt.date(2024, 4, 20)},
    ),
    Resource(
        "cash-position",
        CashPositionFactory,
        key=lambda o: o.as_of.isoformat(),
        create=lambda: {"as_of": "2024-10-31", "balance": "1850000.00", "note": "October close"},
        update={"balance": "-1200.50"},
        updated={"balance": Decimal("-1200.50")},
    ),
    Resource(
        "expense",
        ExpenseFactory,
        key=lambda o: o.pk,
        create=lambda: {"name": "GCP", "category": "cloud", "amount": "4200.00", "start_on": "2024-01-01"},
        update={"end_on": "2024-12-31"},
        updated={"end_on": dt.date(2024, 12, 31)},
    ),
    Resource(
        "exchange-rate",
        ExchangeRateFactory,
        key=lambda o: o.pk,
        create=lambda: {"currency": "GBP", "effective_on": "2024-01-01", "rate": "1.27000000"},
        update={"rate": "1.26500000"},
        updated={"rate": Decimal("1.26500000")},
    ),
    Resource(
        "scenario",
        ScenarioFactory,
        key=lambda o: o.slug,
        create=lambda: {"slug": "lean", "name": "Lean year", "pipeline": "committed", "reserve": "100000.00"},
        update={"horizon_months": 24},
        updated={"horizon_months": 24},
    ),
    Resource(
        "scenario-adjustment",
        ScenarioAdjustmentFactory,
        key=lambda o: o.pk,
        create=_adjustment_payload,
        update={"label": "Renamed what-if"},
        updated={"label": "Renamed what-if"},
    ),
    Resource("runway-snapshot", RunwaySnapshotFactory, key=lambda o: o.pk),
    Resource("runway-alert", make_alert, key=lambda o: o.pk, model_class=RunwayAlert),
]
WRITABLE = [r for r in RESOURCES if r.create is not None]
BY_NAME = {r.basename: r for r in RESOURCES}


def ids(resources: list[Resource]) -> list[str]:
    return [r.basename for r in resources]


# --- CRUD as a permitted user -----------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES, ids=ids(RESOURCES))
def test_a_superuser_lists_and_retrieves_every_resource(super_client, resource):
    row = resource.factory()

    listed = results(super_client.get(url(f"{resource.basename}-list")))
    detail = super_client.get(url(f"{resource.basename}-detail", resource.key(row)))

    assert detail.status_code == 200
    # A snapshot's projection document is in its detail only.
    assert {k: v for k, v in detail.json().items() if k != "result"} in listed


@pytest.mark.parametrize("resource", WRITABLE, ids=ids(WRITABLE))
def test_finance_creates_updates_and_deletes_every_writable_resource(finance_client, resource):
    model = resource.model
    before = model.objects.count()

    created = finance_client.post(
        url(f"{resource.basename}-list"), resource.create(), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    row = model.objects.order_by("-pk").first()
    assert model.objects.count() == before + 1
    assert created.json() == finance_client.get(url(f"{resource.basename}-detail", resource.key(row))).json()

    updated = finance_client.patch(
        url(f"{resource.basename}-detail", resource.key(row)),
        resource.update,
        content_type="application/json",
    )
    assert updated.status_code == 200, updated.content
    row.refresh_from_db()
    assert {name: getattr(row, name) for name in resource.updated} == resource.updated

    deleted = finance_client.delete(url(f"{resource.basename}-detail", resource.key(row)))
    assert deleted.status_code == 204
    assert model.objects.count() == before


def test_a_put_replaces_every_field_of_a_grant(finance_client):
    GrantFactory(reference="g-1", funder=FunderFactory(slug="first"))
    FunderFactory(slug="second")
    payload = {
        **_grant_payload(),
        "reference": "g-1",
        "funder": "second",
        "role": "sole",
        "amount": "1000.00",
    }

    response = finance_client.put(url("grant-detail", "g-1"), payload, content_type="application/json")

    assert response.status_code == 200, response.content
    grant = Grant.objects.get(reference="g-1")
    assert (grant.funder.slug, grant.amount, grant.start_on) == (
        "second",
        Decimal("1000.00"),
        dt.date(2025, 1, 1),
    )


@pytest.mark.parametrize("basename", ["runway-snapshot", "runway-alert"])
def test_runway_records_are_read_only_even_for_a_superuser(super_client, basename):
    row = BY_NAME[basename].factory()

    assert super_client.post(url(f"{basename}-list"), {}, content_type="application/json").status_code == 405
    assert super_client.delete(url(f"{basename}-detail", row.pk)).status_code == 405


def test_a_runway_snapshot_carries_its_projection_when_retrieved_not_when_listed(finance_client):
    snapshot = RunwaySnapshotFactory(result={"months": "11.40", "periods": []})

    listed = results(finance_client.get(url("runway-snapshot-list")))
    detail = finance_client.get(url("runway-snapshot-detail", snapshot.pk)).json()

    assert "result" not in listed[0]
    assert detail["result"] == {"months": "11.40", "periods": []}
    assert detail["scenario"] == snapshot.scenario.slug


def test_a_created_grant_answers_with_its_computed_columns(finance_client):
    response = finance_client.post(url("grant-list"), _grant_payload(), content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["subawarded"], body["net_amount"]) == ("250000.00", "0.00", "250000.00")


# --- natural keys -----------------------------------------------------------------------------


def test_relations_are_written_and_read_by_natural_key(finance_client):
    payload = _adjustment_payload()

    response = finance_client.post(url("scenario-adjustment-list"), payload, content_type="application/json")

    assert response.status_code == 201, response.content
    assert (response.json()["scenario"], response.json()["grant"]) == ("what-if", "g-late")
    adjustment = ScenarioAdjustment.objects.get(label="NSF is late")
    assert (adjustment.scenario.slug, adjustment.grant.reference) == ("what-if", "g-late")


def test_a_grant_moves_to_another_funder_by_slug(finance_client):
    GrantFactory(reference="g-1")
    FunderFactory(slug="nsf")

    response = finance_client.patch(
        url("grant-detail", "g-1"), {"funder": "nsf"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["funder"] == "nsf"
    assert Grant.objects.get(reference="g-1").funder.slug == "nsf"


def test_an_unknown_natural_key_is_a_400_on_that_field(finance_client):
    payload = {**_grant_payload(), "funder": "nobody"}

    response = finance_client.post(url("grant-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert "nobody" in response.json()["funder"][0]


def test_a_subaward_payment_names_its_subaward_and_grant(finance_client):
    payment = SubawardPaymentFactory(
        subaward=SubawardFactory(reference="sa-1", grant=GrantFactory(reference="g-9", prime=True))
    )

    body = finance_client.get(url("subaward-payment-detail", payment.pk)).json()

    assert (body["subaward"], body["grant"]) == ("sa-1", "g-9")


def test_a_cash_position_is_addressed_by_its_date(finance_client):
    CashPositionFactory(as_of=dt.date(2024, 10, 31))

    assert finance_client.get(url("cash-position-detail", "2024-10-31")).status_code == 200
    assert finance_client.get(url("cash-position-detail", "2024-10-30")).status_code == 404
    assert finance_client.get(url("cash-position-detail", "2024-02-30")).status_code == 404


# --- broken rules answer 400 with the field and the service's message -------------------------


def test_a_subaward_under_a_non_prime_grant_is_refused(finance_client):
    GrantFactory(reference="g-sole")
    payload = {**_subaward_payload(), "grant": "g-sole"}

    response = finance_client.post(url("subaward-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "grant": ["Subawards go only under a prime grant; grant g-sole has role 'sole'."]
    }
    assert not Subaward.objects.exists()


def test_subawards_summing_past_the_grant_amount_are_refused(finance_client):
    SubawardFactory(grant=GrantFactory(reference="g-prime", prime=True), amount=Decimal("90000.00"))
    payload = {**_subaward_payload(), "amount": "20000.00"}

    response = finance_client.post(url("subaward-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["amount"] == [
        "The subawards of grant g-prime would sum to 110,000.00 USD, past its amount 100,000.00 USD "
        "by 10,000.00 USD."
    ]


def test_disbursements_summing_past_the_grant_amount_are_refused(finance_client):
    DisbursementFactory(grant=GrantFactory(reference="g-in"), amount=Decimal("95000.00"))
    payload = {**_disbursement_payload(), "amount": "6000.00"}

    response = finance_client.post(url("disbursement-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert "past its amount 100,000.00 USD by 1,000.00 USD" in response.json()["amount"][0]
    assert Disbursement.objects.count() == 1


def test_a_subaward_payment_past_the_subaward_is_refused_on_update_too(finance_client):
    subaward = SubawardFactory(reference="sa-out")
    payment = SubawardPaymentFactory(subaward=subaward, amount=Decimal("1000.00"))

    response = finance_client.patch(
        url("subaward-payment-detail", payment.pk), {"amount": "20000.01"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "subaward sa-out would sum to 20,000.01 USD" in response.json()["amount"][0]
    payment.refresh_from_db()
    assert payment.amount == Decimal("1000.00")


def test_lowering_a_grant_below_its_subawards_is_refused(finance_client):
    SubawardFactory(grant=GrantFactory(reference="g-prime", prime=True), amount=Decimal("40000.00"))

    response = finance_client.patch(
        url("grant-detail", "g-prime"), {"amount": "30000.00"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "below the 40,000.00 USD of subawards of grant g-prime" in response.json()["amount"][0]


@pytest.mark.parametrize(
    ("basename", "payload_field"),
    [("grant", "amount"), ("subaward", "amount"), ("disbursement", "amount"), ("cash-position", "balance")],
)
def test_money_with_three_decimal_places_is_refused_not_rounded(finance_client, basename, payload_field):
    resource = BY_NAME[basename]
    model = resource.model
    payload = {**resource.create(), payload_field: "100.005"}

    response = finance_client.post(url(f"{basename}-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {payload_field: ["Ensure that there are no more than 2 decimal places."]}
    assert not model.objects.filter(**{payload_field: Decimal("100.01")}).exists()


def test_an_awarded_grant_needs_its_award_date(finance_client):
    payload = {**_grant_payload(), "awarded_on": None}

    response = finance_client.post(url("grant-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"awarded_on": ["A grant with status 'awarded' needs the date it was awarded."]}


def test_a_cash_position_in_another_currency_is_refused(finance_client):
    payload = {"as_of": "2024-10-31", "balance": "1000.00", "currency": "EUR"}

    response = finance_client.post(url("cash-position-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "currency": ["Cash positions are kept in the reporting currency USD; got EUR."]
    }
    assert not CashPosition.objects.exists()


def test_an_exchange_rate_for_the_reporting_currency_is_refused(finance_client):
    payload = {"currency": "USD", "effective_on": "2024-01-01", "rate": "1.00000000"}

    response = finance_client.post(url("exchange-rate-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"currency": ["USD is the reporting currency: its rate is always 1."]}


def test_an_exchange_rate_without_a_currency_is_a_400_not_a_500(finance_client):
    response = finance_client.post(
        url("exchange-rate-list"),
        {"effective_on": "2024-01-01", "rate": "1.1"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "currency" in response.json()


def test_a_hire_must_recur_as_an_annual_salary(finance_client):
    ScenarioFactory(slug="grow")
    payload = {
        "scenario": "grow",
        "kind": "hire",
        "label": "Engineer",
        "amount": "120000.00",
        "recurrence": "monthly",
        "start_on": "2025-01-01",
    }

    response = finance_client.post(url("scenario-adjustment-list"), payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["recurrence"] == [
        "A hire recurs as 'annual_salary' (its amount is the annual salary); got 'monthly'."
    ]


def test_a_hire_without_recurrence_gets_the_annual_salary_one(finance_client):
    ScenarioFactory(slug="grow")
    payload = {
        "scenario": "grow",
        "kind": "hire",
        "label": "Engineer",
        "amount": "120000.00",
        "start_on": "2025-01-01",
    }

    response = finance_client.post(url("scenario-adjustment-list"), payload, content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["recurrence"] == "annual_salary"


def test_deleting_a_funder_with_grants_is_a_conflict(finance_client):
    GrantFactory(funder=FunderFactory(slug="nsf"))

    response = finance_client.delete(url("funder-detail", "nsf"))

    assert response.status_code == 409
    assert Funder.objects.filter(slug="nsf").exists()


def test_a_duplicate_reference_is_a_400(finance_client):
    GrantFactory(reference="g-2025-sloan")

    response = finance_client.post(url("grant-list"), _grant_payload(), content_type="application/json")

    assert response.status_code == 400
    assert "reference" in response.json()


# --- scenarios: the one default ---------------------------------------------------------------


def test_make_default_moves_the_default_to_the_named_scenario(leadership_client):
    ScenarioFactory(slug="lean")

    response = leadership_client.post(url("scenario-make-default", "lean"))

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert list(Scenario.objects.filter(is_default=True).values_list("slug", flat=True)) == ["lean"]


def test_make_default_answers_through_the_json_format_suffix_too(leadership_client):
    ScenarioFactory(slug="lean")
    suffixed = url("scenario-make-default", "lean", "json")
    assert suffixed.endswith("/lean/make-default.json")

    response = leadership_client.post(suffixed)

    assert response.status_code == 200, response.content
    assert response.json()["slug"] == "lean"
    assert list(Scenario.objects.filter(is_default=True).values_list("slug", flat=True)) == ["lean"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/funding/funders/f\x00/",
        "/api/v1/funding/grants/g\x001/",
        "/api/v1/funding/subawards/s\x001/",
        "/api/v1/funding/scenarios/b\x00ase/",
        "/api/v1/funding/scenarios/b\x00ase/make-default/",
        "/api/v1/funding/scenarios/caf\u00e9/",
        "/api/v1/funding/disbursements/1\x00/",
        "/api/v1/funding/subaward-payments/x/",
        "/api/v1/funding/expenses/1\x00/",
        "/api/v1/funding/exchange-rates/1\x00/",
        "/api/v1/funding/scenario-adjustments/1\x00/",
        "/api/v1/funding/runway-snapshots/1\x00/",
        "/api/v1/funding/runway-alerts/x/",
        "/api/v1/funding/cash-positions/2024-10-31\x00/",
        "/api/v1/funding/cash-positions/\u0662024-10-31/",
    ],
)
def test_a_lookup_no_row_could_have_is_not_routed_so_never_reaches_the_database(finance_client, path):
    # On PostgreSQL a NUL byte reaching a query is a database error (a 500): the URL pattern
    # refuses it before any query runs.
    with pytest.raises(Resolver404):
        resolve(path)
    assert finance_client.get(path).status_code == 404


def test_a_new_scenario_asking_to_be_the_default_takes_over(finance_client):
    payload = {"slug": "lean", "name": "Lean", "is_default": True}

    response = finance_client.post(url("scenario-list"), payload, content_type="application/json")

    assert response.status_code == 201, response.content
    assert list(Scenario.objects.filter(is_default=True).values_list("slug", flat=True)) == ["lean"]


def test_the_default_scenario_cannot_be_unticked(finance_client):
    response = finance_client.patch(
        url("scenario-detail", "base"), {"is_default": False}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "is the default" in response.json()["is_default"][0]
    assert Scenario.objects.get(slug="base").is_default


def test_deleting_the_default_scenario_hands_the_default_on(finance_client):
    response = finance_client.delete(url("scenario-detail", "base"))

    assert response.status_code == 204
    assert Scenario.objects.filter(is_default=True).count() == 1
    assert not Scenario.objects.filter(slug="base").exists()


# --- filters ----------------------------------------------------------------------------------


def test_grants_filter_by_funder_slug_status_and_start_date_range(finance_client):
    nsf = FunderFactory(slug="nsf")
    GrantFactory(
        reference="g-in-range", funder=nsf, start_on=dt.date(2024, 3, 1), end_on=dt.date(2024, 12, 31)
    )
    GrantFactory(
        reference="g-too-early", funder=nsf, start_on=dt.date(2023, 3, 1), end_on=dt.date(2024, 12, 31)
    )
    GrantFactory(reference="g-other-funder", start_on=dt.date(2024, 3, 1), end_on=dt.date(2024, 12, 31))
    GrantFactory(reference="g-prospect", funder=nsf, prospect=True, start_on=dt.date(2024, 3, 1))

    rows = results(
        finance_client.get(
            url("grant-list"),
            {
                "funder": "nsf",
                "status": "awarded",
                "start_on_after": "2024-01-01",
                "start_on_before": "2024-06-30",
            },
        )
    )

    assert [row["reference"] for row in rows] == ["g-in-range"]


def test_disbursements_filter_by_grant_reference_and_received(finance_client):
    grant = GrantFactory(reference="g-1")
    DisbursementFactory(grant=grant, received_on=dt.date(2024, 2, 1))
    open_one = DisbursementFactory(grant=grant)
    DisbursementFactory(grant=GrantFactory(reference="g-2"))

    rows = results(finance_client.get(url("disbursement-list"), {"grant": "g-1", "received": "false"}))

    assert [row["id"] for row in rows] == [open_one.pk]


def test_subaward_payments_filter_by_grant_and_due_date_range(finance_client):
    subaward = SubawardFactory(grant=GrantFactory(reference="g-prime", prime=True))
    inside = SubawardPaymentFactory(subaward=subaward, due_on=dt.date(2024, 5, 1))
    SubawardPaymentFactory(subaward=subaward, due_on=dt.date(2024, 9, 1))
    SubawardPaymentFactory(due_on=dt.date(2024, 5, 1))

    rows = results(
        finance_client.get(url("subaward-payment-list"), {"grant": "g-prime", "due_on_before": "2024-06-30"})
    )

    assert [row["id"] for row in rows] == [inside.pk]


def test_adjustments_filter_by_scenario_slug_and_kind(finance_client):
    lean = ScenarioFactory(slug="lean")
    hire = ScenarioAdjustmentFactory(scenario=lean, hire=True)
    ScenarioAdjustmentFactory(scenario=lean)
    ScenarioAdjustmentFactory(hire=True)

    rows = results(finance_client.get(url("scenario-adjustment-list"), {"scenario": "lean", "kind": "hire"}))

    assert [row["id"] for row in rows] == [hire.pk]


def test_cash_positions_filter_by_date_range(finance_client):
    for day in (dt.date(2024, 8, 31), dt.date(2024, 9, 30), dt.date(2024, 10, 31)):
        CashPositionFactory(as_of=day)

    rows = results(finance_client.get(url("cash-position-list"), {"as_of_after": "2024-09-01"}))

    assert [row["as_of"] for row in rows] == ["2024-10-31", "2024-09-30"]


def test_runway_snapshots_filter_by_scenario(finance_client):
    mine = RunwaySnapshotFactory(scenario=ScenarioFactory(slug="lean"))
    RunwaySnapshotFactory()

    rows = results(finance_client.get(url("runway-snapshot-list"), {"scenario": "lean"}))

    assert [row["id"] for row in rows] == [mine.pk]


@pytest.mark.parametrize(
    ("basename", "params", "field_name"),
    [
        ("grant", {"start_on_after": "2024-13-01"}, "start_on"),
        ("grant", {"status": "maybe"}, "status"),
        ("expense", {"category": "snacks"}, "category"),
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(finance_client, basename, params, field_name):
    response = finance_client.get(url(f"{basename}-list"), params)

    assert response.status_code == 400
    assert field_name in response.json()


# --- ordering and pagination ------------------------------------------------------------------


def test_grants_order_by_an_allowed_field(finance_client):
    for reference, amount in (("g-a", "300.00"), ("g-b", "100.00"), ("g-c", "200.00")):
        GrantFactory(reference=reference, amount=Decimal(amount))

    rows = results(finance_client.get(url("grant-list"), {"ordering": "-amount"}))

    assert [row["reference"] for row in rows] == ["g-a", "g-c", "g-b"]


@pytest.mark.parametrize("resource", RESOURCES, ids=ids(RESOURCES))
def test_an_unknown_ordering_is_ignored_not_a_500(super_client, resource):
    resource.factory()
    default = results(super_client.get(url(f"{resource.basename}-list")))

    response = super_client.get(url(f"{resource.basename}-list"), {"ordering": "-no_such_field,password"})

    assert results(response) == default


def test_grants_cannot_be_ordered_by_what_operations_may_not_see(finance_client):
    # By subawarded, g-big would come first; the ordering is ignored and the default applies.
    GrantFactory(reference="g-a", prime=True, start_on=dt.date(2024, 2, 1))
    SubawardFactory(grant=GrantFactory(reference="g-big", prime=True), amount=Decimal("90000.00"))

    rows = results(finance_client.get(url("grant-list"), {"ordering": "-subawarded"}))

    assert [row["reference"] for row in rows] == ["g-a", "g-big"]


def test_a_page_never_holds_more_than_the_maximum(finance_client):
    ExchangeRate.objects.bulk_create(
        ExchangeRate(
            currency="EUR", effective_on=dt.date(2020, 1, 1) + dt.timedelta(days=n), rate=Decimal("1.1")
        )
        for n in range(1001)
    )

    body = finance_client.get(url("exchange-rate-list"), {"limit": 5000}).json()

    assert (body["count"], len(body["results"])) == (1001, 1000)
    assert body["next"] is not None


def test_pages_follow_each_other_without_repeating_rows(finance_client):
    # Equal amounts: only the primary-key tie-breaker keeps the pages apart.
    expenses = ExpenseFactory.create_batch(5, amount=Decimal("10.00"))

    first = results(finance_client.get(url("expense-list"), {"ordering": "amount", "limit": 3}))
    second = results(finance_client.get(url("expense-list"), {"ordering": "amount", "limit": 3, "offset": 3}))

    assert sorted(row["id"] for row in first + second) == sorted(e.pk for e in expenses)


# --- query counts -----------------------------------------------------------------------------

# A logged-in list: 1 session, 2 user, 3 the user's permissions, 4 its groups' permissions,
# 5 the page count, 6 the page. Related rows and computed totals come in the page's query.
LIST_QUERIES = 6


@pytest.mark.parametrize("resource", RESOURCES, ids=ids(RESOURCES))
def test_a_list_costs_the_same_queries_for_3_rows_as_for_20(
    leadership_client, django_assert_num_queries, resource
):
    # Leadership reads every resource of the app, runway alerts included.
    already = MIGRATED_SCENARIOS if resource.basename == "scenario" else 0
    for size in (3, 20):
        while resource.model.objects.count() < already + size:
            resource.factory()
        with django_assert_num_queries(LIST_QUERIES):
            response = leadership_client.get(url(f"{resource.basename}-list"))
        assert len(results(response)) == already + size


# --- roles (docs/roles.md) ----------------------------------------------------------------

RESTRICTED_FROM_OPERATIONS = [
    "subaward",
    "disbursement",
    "subaward-payment",
    "cash-position",
    "expense",
    "exchange-rate",
    "scenario",
    "scenario-adjustment",
    "runway-snapshot",
    "runway-alert",
]


@pytest.mark.parametrize("basename", RESTRICTED_FROM_OPERATIONS)
def test_operations_may_not_read_money_records_beyond_grants(operations_client, basename):
    row = BY_NAME[basename].factory()

    for response in (
        operations_client.get(url(f"{basename}-list")),
        operations_client.options(url(f"{basename}-list")),
        operations_client.get(url(f"{basename}-detail", BY_NAME[basename].key(row))),
    ):
        assert response.status_code == 403
        assert response.json() == {"detail": "You do not have permission to perform this action."}


def test_operations_may_not_add_a_cash_position_or_learn_why_not(operations_client):
    payload = {"as_of": "2024-10-31", "balance": "1850000.00"}

    response = operations_client.post(url("cash-position-list"), payload, content_type="application/json")

    assert response.status_code == 403
    assert "1850000" not in response.content.decode()
    assert not CashPosition.objects.exists()


def test_operations_reads_funders_and_grants_but_writes_neither(operations_client):
    GrantFactory(reference="g-1", funder=FunderFactory(slug="nsf"))

    assert operations_client.get(url("funder-detail", "nsf")).status_code == 200
    assert operations_client.get(url("grant-detail", "g-1")).status_code == 200
    assert (
        operations_client.patch(
            url("grant-detail", "g-1"), {"title": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert operations_client.delete(url("funder-detail", "nsf")).status_code == 403
    assert (
        operations_client.post(url("funder-list"), {"slug": "x", "name": "x", "kind": "other"}).status_code
        == 403
    )


def test_operations_sees_no_subaward_or_disbursement_totals_on_grants(operations_client, finance_client):
    SubawardFactory(grant=GrantFactory(reference="g-prime", prime=True), amount=Decimal("12345.00"))
    hidden = {"subawarded", "net_amount", "scheduled", "received"}

    as_operations = operations_client.get(url("grant-detail", "g-prime"))
    listed = results(operations_client.get(url("grant-list")))
    metadata = operations_client.options(url("grant-list")).json()
    as_finance = finance_client.get(url("grant-detail", "g-prime")).json()

    assert hidden.isdisjoint(as_operations.json()) and hidden.isdisjoint(listed[0])
    assert "12345" not in as_operations.content.decode()
    assert hidden.isdisjoint(metadata.get("actions", {}).get("POST", {}))
    assert as_finance["subawarded"] == "12345.00"


def test_leadership_reads_everything_but_edits_only_scenarios(leadership_client):
    GrantFactory(reference="g-1")
    CashPositionFactory(as_of=dt.date(2024, 10, 31))

    assert leadership_client.get(url("cash-position-detail", "2024-10-31")).status_code == 200
    assert leadership_client.get(url("grant-detail", "g-1")).status_code == 200
    assert (
        leadership_client.patch(
            url("grant-detail", "g-1"), {"title": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert (
        leadership_client.post(
            url("cash-position-list"),
            {"as_of": "2024-11-30", "balance": "1.00"},
            content_type="application/json",
        ).status_code
        == 403
    )
    assert (
        leadership_client.patch(
            url("scenario-detail", "full"), {"reserve": "50000.00"}, content_type="application/json"
        ).status_code
        == 200
    )
    created = leadership_client.post(
        url("scenario-adjustment-list"),
        {
            "scenario": "full",
            "kind": "outflow",
            "label": "Conference",
            "amount": "8000.00",
            "start_on": "2025-05-01",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert Scenario.objects.get(slug="full").reserve == Decimal("50000.00")


def test_leadership_sees_the_latest_runway_of_a_scenario(leadership_client):
    RunwaySnapshotFactory(scenario=Scenario.objects.get(slug="base"), months=Decimal("11.40"))

    body = leadership_client.get(url("scenario-detail", "base")).json()

    assert body["latest_months"] == "11.40"


def test_leadership_reads_the_runway_alerts(leadership_client):
    alert = make_alert()

    rows = results(leadership_client.get(url("runway-alert-list")))

    assert [(row["id"], row["scenario"], row["months"]) for row in rows] == [
        (alert.pk, alert.scenario.slug, "11.40")
    ]


def test_operations_may_not_choose_the_default_scenario(operations_client):
    ScenarioFactory(slug="lean")

    response = operations_client.post(url("scenario-make-default", "lean"))

    assert response.status_code == 403
    assert Scenario.objects.get(slug="base").is_default


@pytest.mark.parametrize("resource", RESOURCES, ids=ids(RESOURCES))
def test_anonymous_requests_are_refused(client, resource):
    response = client.get(url(f"{resource.basename}-list"))

    assert response.status_code in (401, 403)
    assert "results" not in response.json()
