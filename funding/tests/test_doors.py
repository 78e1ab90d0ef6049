"""Every door writes through the funding services: the same rule, message and field, the same effects.

The doors are the API (create, update, delete), the admin's change form (add and change), the
admin inline where a model is edited inline, the admin's delete and its bulk "delete selected"
action, a CSV import through the model's resource, and, for what-ifs, the dashboard. (Funding has
no batch endpoint.) Each case breaks one rule of a model: every door must refuse it with the same
message on the same field, and write nothing; with the row made valid, every door must write it
and ask for the same recomputes (docs/architecture.md "One write path").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.urls import reverse

from funding import resources
from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Grant,
    RunwayAlert,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    Subaward,
    SubawardPayment,
)
from funding.services import alerts as alert_services
from opsite.core import recompute, signals, testing
from opsite.core import services as core_services
from opsite.core.recompute import RUNWAY
from opsite.core.testing import admin_url, exported_row, form_data

from .factories import (
    CashPositionFactory,
    DisbursementFactory,
    FunderFactory,
    GrantFactory,
    RunwaySnapshotFactory,
    ScenarioAdjustmentFactory,
    ScenarioFactory,
    SubawardFactory,
    SubawardPaymentFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
Errors = dict[str, list[str]]


@dataclass(frozen=True)
class Route:
    api: str  # the API's basename
    lookup: str  # the attribute the API's URLs name a row by
    resource: type
    inline: str | None = None  # the prefix of the admin inline that edits it on its parent's page
    parent: str | None = None  # the attribute naming that parent


ROUTES: dict[type[models.Model], Route] = {
    Grant: Route("grant", "reference", resources.GrantResource),
    Subaward: Route("subaward", "reference", resources.SubawardResource, "subawards", "grant"),
    Disbursement: Route("disbursement", "pk", resources.DisbursementResource, "disbursements", "grant"),
    SubawardPayment: Route(
        "subaward-payment", "pk", resources.SubawardPaymentResource, "payments", "subaward"
    ),
    CashPosition: Route("cash-position", "as_of", resources.CashPositionResource),
    Expense: Route("expense", "pk", resources.ExpenseResource),
    ExchangeRate: Route("exchange-rate", "pk", resources.ExchangeRateResource),
    Scenario: Route("scenario", "slug", resources.ScenarioResource),
    ScenarioAdjustment: Route(
        "scenario-adjustment", "pk", resources.ScenarioAdjustmentResource, "adjustments", "scenario"
    ),
}


@pytest.fixture
def asked(monkeypatch) -> set[str]:
    """The recompute kinds asked for (by the model signals or by a service), recorded only."""
    kinds: set[str] = set()

    def record(*requested: str, using: str | None = None) -> None:
        kinds.update(requested)

    monkeypatch.setattr(signals, "request_recompute", record)
    monkeypatch.setattr(recompute, "request_recompute", record)
    return kinds


def kinds_of(*rows_models: type[models.Model]) -> set[str]:
    return {kind for model in rows_models for kind in signals.RECOMPUTE_INPUTS[model._meta.label]}


# --- how each door is given a value -------------------------------------------------------------


def natural_key(row: models.Model) -> str:
    return row.reference if hasattr(row, "reference") else row.slug


def as_api(value: Any) -> Any:
    return natural_key(value) if isinstance(value, models.Model) else value


def as_file(value: Any) -> str:
    if isinstance(value, models.Model):
        return natural_key(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def put_admin(data: dict[str, Any], name: str, value: Any) -> None:
    """Set a form field as a browser posts it: a relation by id; an unticked box or nothing, absent."""
    if value is None or value is False:
        data.pop(name, None)
    elif value is True:
        data[name] = "on"
    else:
        data[name] = str(value.pk) if isinstance(value, models.Model) else str(value)


def api_url(row: models.Model) -> str:
    route = ROUTES[type(row)]
    return reverse(f"funding-api:{route.api}-detail", args=[getattr(row, route.lookup)])


# --- what each door answers, as {field: [message]}: empty when the write was taken --------------


def api_errors(response) -> Errors:
    return testing.api_errors(response) or {}


def admin_errors(response, inline: str | None = None) -> Errors:
    """The change form's errors, and those of the ``inline`` formset (its rows' and the set's).

    The rows of the other inlines are left out: on a grant's page, say, a lowered amount is
    refused on the grant's field, and each disbursement row shown may say it no longer fits too.
    """
    return testing.admin_errors(response, inlines=() if inline is None else (inline,)) or {}


def import_errors(resource: type, rows: list[dict[str, str]]) -> Errors:
    content = testing.csv_text(list(rows[0]), [list(row.values()) for row in rows])
    return testing.import_errors(resource(), content) or {}


# --- the doors ----------------------------------------------------------------------------------


def create_through(door: str, client, model: type[models.Model], values: dict[str, Any]) -> Errors:
    route = ROUTES[model]
    if door == "api":
        payload = {name: as_api(value) for name, value in values.items() if value is not None}
        url = reverse(f"funding-api:{route.api}-list")
        return api_errors(client.post(url, payload, content_type="application/json"))
    if door == "admin":
        url = admin_url(model, "add")
        data = form_data(client.get(url))
        for name, value in values.items():
            put_admin(data, name, value)
        return admin_errors(client.post(url, data))
    if door == "inline":
        parent = values[route.parent]
        url = admin_url(type(parent), "change", parent.pk)
        data = form_data(client.get(url))
        number = int(data[f"{route.inline}-TOTAL_FORMS"])
        data[f"{route.inline}-TOTAL_FORMS"] = str(number + 1)
        for name, value in values.items():
            if name != route.parent:
                put_admin(data, f"{route.inline}-{number}-{name}", value)
        return admin_errors(client.post(url, data), route.inline)
    if door == "import":
        row = {name: as_file(value) for name, value in values.items()}
        if "id" in route.resource._meta.import_id_fields:
            row = {"id": "", **row}
        return import_errors(route.resource, [row])
    raise AssertionError(door)


def _inline_row(data: dict[str, Any], prefix: str, row: models.Model) -> str:
    number = next(
        n for n in range(int(data[f"{prefix}-TOTAL_FORMS"])) if data.get(f"{prefix}-{n}-id") == str(row.pk)
    )
    return f"{prefix}-{number}"


def update_through(door: str, client, row: models.Model, changes: dict[str, Any]) -> Errors:
    route = ROUTES[type(row)]
    if door == "api":
        payload = {name: as_api(value) for name, value in changes.items()}
        return api_errors(client.patch(api_url(row), payload, content_type="application/json"))
    if door == "admin":
        url = admin_url(type(row), "change", row.pk)
        data = form_data(client.get(url))
        for name, value in changes.items():
            put_admin(data, name, value)
        return admin_errors(client.post(url, data))
    if door == "inline":
        parent = getattr(row, route.parent)
        url = admin_url(type(parent), "change", parent.pk)
        data = form_data(client.get(url))
        prefix = _inline_row(data, route.inline, row)
        for name, value in changes.items():
            put_admin(data, f"{prefix}-{name}", value)
        return admin_errors(client.post(url, data), route.inline)
    if door == "import":
        exported = exported_row(route.resource(), type(row).objects.filter(pk=row.pk))
        rows = [{**exported, **{name: as_file(value) for name, value in changes.items()}}]
        return import_errors(route.resource, rows)
    raise AssertionError(door)


def delete_through(door: str, client, row: models.Model) -> None:
    model = type(row)
    if door == "api":
        response = client.delete(api_url(row))
        assert response.status_code == 204, response.content
    elif door == "admin delete":
        assert testing.admin_delete(client, row).status_code == 302
    elif door == "admin bulk delete":
        assert testing.admin_delete_selected(client, row).status_code == 302
    elif door == "inline":
        route = ROUTES[model]
        parent = getattr(row, route.parent)
        url = admin_url(type(parent), "change", parent.pk)
        data = form_data(client.get(url))
        data[f"{_inline_row(data, route.inline, row)}-DELETE"] = "on"
        assert admin_errors(client.post(url, data), route.inline) == {}
    elif door == "dashboard":
        body = {"scenario": row.scenario.slug, "adjustments": [{"remove": row.pk}]}
        response = client.post("/leadership/what-if/save/", json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content
    else:
        raise AssertionError(door)


# --- rules broken by a new row ------------------------------------------------------------------


@dataclass(frozen=True)
class NewRow:
    """A row that breaks a rule: ``make()`` writes what it needs and returns its values, and the
    values that make it valid."""

    id: str
    model: type[models.Model]
    make: Callable[[], tuple[dict[str, Any], dict[str, Any]]]
    field: str
    message: str
    doors: tuple[str, ...] = ("api", "admin", "import")


def _grant_dates():
    values = {
        "reference": "g-door",
        "funder": FunderFactory(slug="sloan"),
        "title": "Door grant",
        "category": "direct_grant",
        "role": "sole",
        "status": "prospect",
        "probability": "100",
        "amount": "1000.00",
        "currency": "USD",
        "start_on": "2024-06-01",
        "end_on": "2024-01-01",
    }
    return values, {"end_on": "2024-12-31"}


def _subaward(grant: Grant, amount: str) -> dict[str, Any]:
    values = {"reference": "sa-door", "grant": grant, "recipient": "Partner College", "amount": amount}
    return {**values, "start_on": "2024-01-01", "end_on": "2024-06-30"}


def _subaward_under_a_sole_grant():
    prime = GrantFactory(reference="g-prime", prime=True)
    return _subaward(GrantFactory(reference="g-sole"), "100.00"), {"grant": prime}


def _subaward_past_the_grant():
    grant = GrantFactory(reference="g-cap", prime=True, amount=D("1000.00"))
    SubawardFactory(grant=grant, amount=D("900.00"))
    return _subaward(grant, "100.01"), {"amount": "100.00"}


def _disbursement_past_the_grant():
    grant = GrantFactory(reference="g-cap", amount=D("1000.00"))
    DisbursementFactory(grant=grant, amount=D("900.00"))
    return {"grant": grant, "expected_on": "2024-05-01", "amount": "100.01"}, {"amount": "100.00"}


def _payment_past_the_subaward():
    subaward = SubawardFactory(reference="sa-cap", amount=D("1000.00"))
    SubawardPaymentFactory(subaward=subaward, amount=D("900.00"))
    return {"subaward": subaward, "due_on": "2024-05-01", "amount": "100.01"}, {"amount": "100.00"}


def _hire_without_a_salary():
    values = {
        "scenario": ScenarioFactory(slug="door"),
        "kind": "hire",
        "label": "Engineer",
        "amount": "0.00",
        "benefits_rate": "0.25",
        "recurrence": "annual_salary",
        "start_on": "2025-01-01",
    }
    return values, {"amount": "120000.00"}


NEW_ROWS = [
    NewRow(
        "grant ends before it starts",
        Grant,
        _grant_dates,
        "end_on",
        "The end date 2024-01-01 is before the start date 2024-06-01.",
    ),
    NewRow(
        "subaward under a sole grant",
        Subaward,
        _subaward_under_a_sole_grant,
        "grant",
        "Subawards go only under a prime grant; grant g-sole has role 'sole'.",
    ),
    NewRow(
        "subawards past the grant",
        Subaward,
        _subaward_past_the_grant,
        "amount",
        "The subawards of grant g-cap would sum to 1,000.01 USD, past its amount 1,000.00 USD by 0.01 USD.",
        ("api", "admin", "inline", "import"),
    ),
    NewRow(
        "disbursements past the grant",
        Disbursement,
        _disbursement_past_the_grant,
        "amount",
        "The disbursements of grant g-cap would sum to 1,000.01 USD, past its amount 1,000.00 USD by 0.01 USD.",
        ("api", "admin", "inline", "import"),
    ),
    NewRow(
        "payments past the subaward",
        SubawardPayment,
        _payment_past_the_subaward,
        "amount",
        "The payments of subaward sa-cap would sum to 1,000.01 USD, past its amount 1,000.00 USD by 0.01 USD.",
        ("api", "admin", "inline", "import"),
    ),
    NewRow(
        "cash in another currency",
        CashPosition,
        lambda: ({"as_of": "2024-10-31", "balance": "1000.00", "currency": "EUR"}, {"currency": "USD"}),
        "currency",
        "Cash positions are kept in the reporting currency USD; got EUR.",
    ),
    NewRow(
        "expense ends before it starts",
        Expense,
        lambda: (
            {
                "name": "Storage",
                "category": "cloud",
                "amount": "99.99",
                "currency": "USD",
                "recurrence": "monthly",
                "start_on": "2024-02-01",
                "end_on": "2024-01-31",
            },
            {"end_on": "2024-12-31"},
        ),
        "end_on",
        "The end date 2024-01-31 is before the start date 2024-02-01.",
    ),
    NewRow(
        "rate of the reporting currency",
        ExchangeRate,
        lambda: (
            {"currency": "USD", "effective_on": "2024-01-01", "rate": "1.00000000"},
            {"currency": "CHF"},
        ),
        "currency",
        "USD is the reporting currency: its rate is always 1.",
    ),
    NewRow(
        "hire without a salary",
        ScenarioAdjustment,
        _hire_without_a_salary,
        "amount",
        "A hire needs its annual salary as a positive amount; got 0.00.",
        ("api", "admin", "inline", "import"),
    ),
]
NEW_ROW_DOORS = [pytest.param(case, door, id=f"{case.id}-{door}") for case in NEW_ROWS for door in case.doors]


def field_at(door: str, case) -> str:
    """Where ``door`` shows ``case``'s message: an inline checks a cap on the whole set of rows
    it saves together, and says so above them, not on one row's amount."""
    if door == "inline" and "would sum to" in case.message:
        return "__all__"
    return case.field


@pytest.mark.parametrize(("case", "door"), NEW_ROW_DOORS)
def test_each_door_refuses_a_new_row_with_the_same_message_on_the_same_field(
    finance_client, asked, case, door
):
    values, _ = case.make()
    before = case.model.objects.count()
    asked.clear()

    assert create_through(door, finance_client, case.model, values) == {field_at(door, case): [case.message]}

    assert case.model.objects.count() == before
    assert asked == set()


@pytest.mark.parametrize(("case", "door"), NEW_ROW_DOORS)
def test_each_door_writes_the_valid_row_and_asks_for_the_same_recomputes(finance_client, asked, case, door):
    values, valid = case.make()
    before = case.model.objects.count()
    asked.clear()

    assert create_through(door, finance_client, case.model, {**values, **valid}) == {}

    assert case.model.objects.count() == before + 1
    # Through an inline too: the parent's page leaves the parent unwritten when it is unchanged.
    assert asked == kinds_of(case.model)


# --- rules broken by a change -------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    id: str
    make: Callable[[], models.Model]  # the row to change, with what it needs
    changes: dict[str, Any]
    field: str
    message: str
    doors: tuple[str, ...] = ("api", "admin", "import")


def _grant_with_disbursements() -> Grant:
    grant = GrantFactory(reference="g-low", amount=D("1000.00"))
    DisbursementFactory(grant=grant, amount=D("900.00"))
    return grant


def _second_disbursement() -> Disbursement:
    grant = GrantFactory(reference="g-raise", amount=D("1000.00"))
    DisbursementFactory(grant=grant, amount=D("600.00"))
    return DisbursementFactory(grant=grant, amount=D("300.00"))


CHANGES = [
    Change(
        "grant lowered below its disbursements",
        _grant_with_disbursements,
        {"amount": "800.00"},
        "amount",
        "Amount 800.00 USD is below the 900.00 USD of disbursements of grant g-low (by 100.00 USD); "
        "lower the disbursements first.",
    ),
    Change(
        "disbursement raised past the grant",
        _second_disbursement,
        {"amount": "500.00"},
        "amount",
        "The disbursements of grant g-raise would sum to 1,100.00 USD, past its amount 1,000.00 USD by 100.00 USD.",
        ("api", "admin", "inline", "import"),
    ),
    Change(
        "default scenario unticked",
        lambda: Scenario.objects.get(is_default=True),
        {"is_default": False},
        "is_default",
        "Scenario base is the default; make another scenario the default instead, and this one stops being it.",
    ),
]


@pytest.mark.parametrize(
    ("case", "door"), [pytest.param(c, d, id=f"{c.id}-{d}") for c in CHANGES for d in c.doors]
)
def test_each_door_refuses_a_change_with_the_same_message_on_the_same_field(
    finance_client, asked, case, door
):
    row = case.make()
    stored = {name: getattr(row, name) for name in case.changes}
    asked.clear()

    assert update_through(door, finance_client, row, case.changes) == {field_at(door, case): [case.message]}

    row.refresh_from_db()
    assert {name: getattr(row, name) for name in case.changes} == stored
    assert asked == set()


# --- side effects -------------------------------------------------------------------------------


def _switch_through(door: str, client, scenario: Scenario) -> None:
    if door == "api make-default":
        response = client.post(reverse("funding-api:scenario-make-default", args=[scenario.slug]))
        assert response.status_code == 200, response.content
    elif door == "admin action":
        body = {"action": "make_default", "_selected_action": [scenario.pk]}
        assert client.post(admin_url(Scenario, "changelist"), body).status_code == 302
    else:
        assert update_through(door, client, scenario, {"is_default": True}) == {}


@pytest.mark.parametrize("door", ["api", "admin", "import", "api make-default", "admin action"])
def test_each_door_switches_the_default_scenario(finance_client, asked, door):
    lean = ScenarioFactory(slug="lean")
    asked.clear()

    _switch_through(door, finance_client, lean)

    assert list(Scenario.objects.filter(is_default=True)) == [lean]
    assert asked == {RUNWAY}


@pytest.mark.parametrize("door", ["api", "admin delete", "admin bulk delete"])
def test_each_door_that_deletes_the_default_scenario_hands_the_default_over(finance_client, asked, door):
    base = Scenario.objects.get(is_default=True)
    asked.clear()

    delete_through(door, finance_client, base)

    assert not Scenario.objects.filter(pk=base.pk).exists()
    assert Scenario.objects.filter(is_default=True).count() == 1
    assert asked == {RUNWAY}


@pytest.mark.parametrize("door", ["api", "admin delete", "admin bulk delete", "inline", "dashboard"])
def test_each_door_that_removes_a_what_if_asks_for_the_runway(finance_client, asked, door):
    CashPositionFactory()  # the dashboard previews the runway before it saves
    adjustment = ScenarioAdjustmentFactory(scenario=Scenario.objects.get(slug="base"))
    asked.clear()

    delete_through(door, finance_client, adjustment)

    assert not ScenarioAdjustment.objects.filter(pk=adjustment.pk).exists()
    assert asked == {RUNWAY}


@pytest.mark.parametrize("door", ["admin delete", "admin bulk delete"])
def test_a_grant_deleted_in_the_admin_takes_its_disbursements_and_asks_for_both_recomputes(
    finance_client, asked, door
):
    grant = DisbursementFactory().grant
    asked.clear()

    delete_through(door, finance_client, grant)

    assert not Grant.objects.exists() and not Disbursement.objects.exists()
    assert asked == kinds_of(Grant, Disbursement)


def test_an_inline_save_moves_the_money_in_an_order_that_never_passes_the_grant(finance_client):
    # Each row's own check passes, and so does the set; saved in the form's order, the first two
    # rows would pass the grant's amount before the third one is lowered.
    grant = GrantFactory(reference="g-move", amount=D("1000.00"))
    first, second, third = (DisbursementFactory(grant=grant, amount=D(a)) for a in ("300", "300", "390"))
    url = admin_url(Grant, "change", grant.pk)
    data = form_data(finance_client.get(url))
    for row, amount in ((first, "308.00"), (second, "308.00"), (third, "380.00")):
        data[f"{_inline_row(data, 'disbursements', row)}-amount"] = amount

    assert admin_errors(finance_client.post(url, data), "disbursements") == {}

    assert sorted(grant.disbursements.values_list("amount", flat=True)) == [D("308"), D("308"), D("380")]


@pytest.mark.parametrize(
    ("parent", "inline"), [("grant", "disbursements"), ("grant", "subawards"), ("subaward", "payments")]
)
def test_an_inline_save_may_move_money_between_two_saved_rows(finance_client, parent, inline):
    # Row by row against the stored rows, the raised one would pass the cap (600 + 600 > 1,000);
    # as the set it is, it fits: the rows' forms leave the cap to the set's check.
    grant = GrantFactory(reference="g-swap", amount=D("1000.00"), role="prime")
    if parent == "grant":
        factory = DisbursementFactory if inline == "disbursements" else SubawardFactory
        holder, rows = grant, [factory(grant=grant, amount=D(a)) for a in ("600", "400")]
    else:
        holder = SubawardFactory(grant=grant, amount=D("1000.00"))
        rows = [SubawardPaymentFactory(subaward=holder, amount=D(a)) for a in ("600", "400")]
    url = admin_url(type(holder), "change", holder.pk)
    data = form_data(finance_client.get(url))
    for row, amount in zip(rows, ("400.00", "600.00"), strict=True):
        data[f"{_inline_row(data, inline, row)}-amount"] = amount

    assert admin_errors(finance_client.post(url, data), inline) == {}

    assert [type(row).objects.get(pk=row.pk).amount for row in rows] == [D("400"), D("600")]


def test_an_inline_set_past_the_grant_is_refused_as_a_set(finance_client):
    grant = GrantFactory(reference="g-set", amount=D("1000.00"))
    first, second = (DisbursementFactory(grant=grant, amount=D("400.00")) for _ in range(2))
    url = admin_url(Grant, "change", grant.pk)
    data = form_data(finance_client.get(url))
    for row in (first, second):
        data[f"{_inline_row(data, 'disbursements', row)}-amount"] = "590.00"

    assert admin_errors(finance_client.post(url, data), "disbursements") == {
        "__all__": [
            "The disbursements of grant g-set would sum to 1,180.00 USD, past its amount 1,000.00 USD by 180.00 USD."
        ]
    }
    assert sorted(grant.disbursements.values_list("amount", flat=True)) == [D("400"), D("400")]


def test_the_jobs_records_are_deleted_in_the_admin_through_the_services(super_client, monkeypatch):
    snapshot = RunwaySnapshotFactory()
    alert = RunwayAlert.objects.create(scenario=snapshot.scenario, snapshot=snapshot, reason="moved")
    deleted = []

    def spy(instance: models.Model) -> None:
        deleted.append((type(instance), instance.pk))
        instance.delete()

    monkeypatch.setattr(core_services, "model_delete", spy)  # a model with no delete rule
    monkeypatch.setattr(alert_services, "model_delete", spy)  # runway_alert_delete

    delete_through("admin delete", super_client, alert)
    delete_through("admin delete", super_client, snapshot)

    assert deleted == [(RunwayAlert, alert.pk), (RunwaySnapshot, snapshot.pk)]
    assert not RunwayAlert.objects.exists() and not RunwaySnapshot.objects.exists()
