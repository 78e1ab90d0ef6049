"""The funding admin: every page as a superuser, the services' messages on the right field,
changelists whose query count does not grow with their rows, and the roles of docs/roles.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funding.models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    Grant,
    GrantBudgetLine,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    SubawardPayment,
)
from opsite.core.testing import form_data
from opsite.core.testing import inline_management as management

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

D = Decimal


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:funding_{model}_{view}", args=args)


def _prime_grant_with_children() -> Grant:
    grant = GrantFactory(prime=True)
    subaward = SubawardFactory(grant=grant)
    SubawardPaymentFactory(subaward=subaward)
    DisbursementFactory(grant=grant, received_on=dt.date(2024, 2, 1))
    return grant


def _scenario_with_children() -> Scenario:
    scenario = ScenarioFactory()
    ScenarioAdjustmentFactory(scenario=scenario)
    ScenarioAdjustmentFactory(scenario=scenario, delay=True)
    RunwaySnapshotFactory(scenario=scenario)
    return scenario


@dataclass(frozen=True)
class Spec:
    model: str
    make: Callable[[], object]  # one row, with the relations its changelist shows
    search: Callable[[object], str]
    add: Callable[[], dict] | None  # a valid add POST, or None when the admin has no add
    created: Callable[[], bool] | None = None


SPECS = [
    Spec(
        "funder",
        lambda: GrantFactory().funder,
        lambda o: o.name,
        lambda: {"slug": "sloan", "name": "Sloan", "kind": "foundation"},
        lambda: Funder.objects.filter(slug="sloan").exists(),
    ),
    Spec(
        "grant",
        _prime_grant_with_children,
        lambda o: o.funder.name,
        lambda: {
            "reference": "nsf-new",
            "funder": FunderFactory().pk,
            "title": "New grant",
            "category": "direct_grant",
            "role": "prime",
            "status": "awarded",
            "probability": "100",
            "awarded_on": "2024-01-05",
            "amount": "100000.00",
            "currency": "USD",
            "start_on": "2024-01-01",
            "end_on": "2024-12-31",
            **management("subawards", total=1),
            "subawards-0-reference": "nsf-new-a",
            "subawards-0-recipient": "Partner College",
            "subawards-0-amount": "30000.00",
            "subawards-0-start_on": "2024-01-01",
            "subawards-0-end_on": "2024-12-31",
            **management("disbursements", total=1),
            "disbursements-0-expected_on": "2024-02-01",
            "disbursements-0-amount": "50000.00",
            **management("budget_lines", total=1),
            "budget_lines-0-category": "personnel",
            "budget_lines-0-amount": "60000.00",
            **management("reports"),
        },
        lambda: (
            Grant.objects.filter(reference="nsf-new", subawards__amount=D("30000.00")).exists()
            and Disbursement.objects.filter(grant__reference="nsf-new").count() == 1
            and GrantBudgetLine.objects.filter(grant__reference="nsf-new", amount=D("60000.00")).exists()
        ),
    ),
    Spec(
        "subaward",
        lambda: SubawardPaymentFactory().subaward,
        lambda o: o.recipient,
        lambda: {
            "reference": "sub-new",
            "grant": GrantFactory(prime=True).pk,
            "recipient": "Partner",
            "amount": "1000.00",
            "start_on": "2024-01-01",
            "end_on": "2024-06-30",
            **management("payments", total=1),
            "payments-0-due_on": "2024-03-01",
            "payments-0-amount": "500.00",
        },
        lambda: SubawardPayment.objects.filter(subaward__reference="sub-new").exists(),
    ),
    Spec(
        "disbursement",
        DisbursementFactory,
        lambda o: o.grant.reference,
        lambda: {"grant": GrantFactory().pk, "expected_on": "2024-03-01", "amount": "1234.56"},
        lambda: Disbursement.objects.filter(amount=D("1234.56")).exists(),
    ),
    Spec(
        "subawardpayment",
        SubawardPaymentFactory,
        lambda o: o.subaward.recipient,
        lambda: {"subaward": SubawardFactory().pk, "due_on": "2024-03-01", "amount": "765.43"},
        lambda: SubawardPayment.objects.filter(amount=D("765.43")).exists(),
    ),
    Spec(
        "cashposition",
        CashPositionFactory,
        lambda o: o.note,
        lambda: {"as_of": "2024-10-31", "balance": "1850000.00", "currency": "USD", "note": "Books"},
        lambda: CashPosition.objects.filter(as_of=dt.date(2024, 10, 31)).exists(),
    ),
    Spec(
        "expense",
        ExpenseFactory,
        lambda o: o.name,
        lambda: {
            "name": "Storage",
            "category": "cloud",
            "amount": "99.99",
            "currency": "USD",
            "recurrence": "monthly",
            "start_on": "2024-01-01",
        },
        lambda: Expense.objects.filter(name="Storage").exists(),
    ),
    Spec(
        "exchangerate",
        ExchangeRateFactory,
        lambda o: o.currency,
        lambda: {"currency": "CHF", "effective_on": "2024-01-01", "rate": "1.12345678"},
        lambda: ExchangeRate.objects.filter(currency="CHF", rate=D("1.12345678")).exists(),
    ),
    Spec(
        "scenario",
        _scenario_with_children,
        lambda o: o.name,
        lambda: {
            "slug": "growth",
            "name": "Growth",
            "pipeline": "weighted",
            "reserve": "100000.00",
            "horizon_months": "36",
            **management("adjustments", total=1),
            "adjustments-0-kind": "hire",
            "adjustments-0-label": "Engineer",
            "adjustments-0-amount": "120000.00",
            "adjustments-0-benefits_rate": "0.25",
            "adjustments-0-recurrence": "annual_salary",
            "adjustments-0-start_on": "2025-01-01",
        },
        lambda: ScenarioAdjustment.objects.filter(scenario__slug="growth", kind="hire").exists(),
    ),
    Spec(
        "scenarioadjustment",
        lambda: ScenarioAdjustmentFactory(delay=True),
        lambda o: o.label,
        lambda: {
            "scenario": ScenarioFactory().pk,
            "kind": "outflow",
            "label": "Conference",
            "amount": "5000.00",
            "benefits_rate": "0",
            "recurrence": "once",
            "start_on": "2025-03-01",
        },
        lambda: ScenarioAdjustment.objects.filter(label="Conference").exists(),
    ),
    Spec("runwaysnapshot", RunwaySnapshotFactory, lambda o: o.scenario.slug, None),
]
IDS = [spec.model for spec in SPECS]


# --- every admin, as a superuser ----------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_changelist_and_search_show_the_row(super_client, spec):
    row = spec.make()
    response = super_client.get(url(spec.model, "changelist"))
    assert response.status_code == 200
    assert row.pk in {obj.pk for obj in response.context["cl"].result_list}

    response = super_client.get(url(spec.model, "changelist"), {"q": spec.search(row)})
    assert response.status_code == 200
    assert row.pk in {obj.pk for obj in response.context["cl"].result_list}

    response = super_client.get(url(spec.model, "changelist"), {"q": "no-such-thing-anywhere"})
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_change_form_opens(super_client, spec):
    row = spec.make()
    response = super_client.get(url(spec.model, "change", row.pk))
    assert response.status_code == 200
    assert response.context["original"].pk == row.pk


@pytest.mark.parametrize("spec", [s for s in SPECS if s.add], ids=[s.model for s in SPECS if s.add])
def test_add_form_opens_and_creates_a_row(super_client, spec):
    assert super_client.get(url(spec.model, "add")).status_code == 200
    response = super_client.post(url(spec.model, "add"), spec.add())
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert spec.created()


@pytest.mark.parametrize("spec", [s for s in SPECS if s.add], ids=[s.model for s in SPECS if s.add])
def test_change_form_posted_back_saves(super_client, spec):
    row = spec.make()
    data = form_data(super_client.get(url(spec.model, "change", row.pk)))
    response = super_client.post(url(spec.model, "change", row.pk), data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    before = row.updated_at
    row.refresh_from_db()
    # The admin writes a row only when its form changed something (opsite.core.admin).
    assert row.updated_at >= before


def test_grant_change_through_the_admin_updates_the_grant_and_its_history(super_client):
    grant = _prime_grant_with_children()
    data = form_data(super_client.get(url("grant", "change", grant.pk)))
    data["title"] = "Renamed through the admin"
    assert super_client.post(url("grant", "change", grant.pk), data).status_code == 302
    grant.refresh_from_db()
    assert grant.title == "Renamed through the admin"
    assert grant.history.first().title == "Renamed through the admin"
    assert super_client.get(url("grant", "history", grant.pk)).status_code == 200


def test_runway_snapshot_admin_is_read_only(super_client):
    snapshot = RunwaySnapshotFactory()
    assert super_client.get(url("runwaysnapshot", "add")).status_code == 403
    response = super_client.get(url("runwaysnapshot", "change", snapshot.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert super_client.post(url("runwaysnapshot", "change", snapshot.pk), {"months": "1"}).status_code == 403
    assert super_client.get(url("runwaysnapshot", "import")).status_code == 403
    response = super_client.get(url("runwaysnapshot", "changelist"))
    for column in ("scenario", "as_of", "computed_at", "months_figure", "cash_out_on"):
        assert column in response.context["cl"].list_display


# --- changelist cost does not grow with rows ----------------------------------------------------


def changelist_queries(client, model: str) -> int:
    client.get(url(model, "changelist"))  # warm per-process caches (content types, site)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_changelist_queries_do_not_grow_with_rows(super_client, spec):
    # The grant changelist, for example, runs 12 queries whatever its rows: the session, the
    # user, the funders for the funder filter, the COUNT for the paginator, the page of grants
    # (funder joined, subawarded/received/net as subqueries), the date hierarchy's MIN/MAX and
    # its distinct days, the distinct currencies for the currency filter, and the values in use
    # of the status, role, category and restricted filters. Nothing per row. The grant changelist
    # adds up to two a page for its collection flags (the cash position's date, then every
    # grant's payment sums in one query): opsite/core/collection_admin.py.
    for _ in range(3):
        spec.make()
    with_three = changelist_queries(super_client, spec.model)
    for _ in range(12):
        spec.make()
    assert changelist_queries(super_client, spec.model) == with_three
    assert with_three <= (14 if spec.model == "grant" else 12)


# --- service messages land on the right field ---------------------------------------------------


def errors(response) -> dict:
    assert response.status_code == 200, "the form was expected to be refused"
    return response.context["adminform"].form.errors


def test_disbursement_past_the_grant_is_refused_on_amount(super_client):
    grant = GrantFactory(reference="g-cap", amount=D("1000.00"))
    DisbursementFactory(grant=grant, amount=D("900.00"))
    response = super_client.post(
        url("disbursement", "add"), {"grant": grant.pk, "expected_on": "2024-05-01", "amount": "100.01"}
    )
    assert errors(response)["amount"] == [
        "The disbursements of grant g-cap would sum to 1,000.01 USD, past its amount 1,000.00 USD by 0.01 USD."
    ]
    assert Disbursement.objects.count() == 1


def test_subaward_under_a_sole_grant_is_refused_on_grant(super_client):
    grant = GrantFactory(reference="g-sole")
    data = {
        "reference": "s",
        "grant": grant.pk,
        "recipient": "P",
        "amount": "1.00",
        "start_on": "2024-01-01",
        "end_on": "2024-01-31",
        **management("payments"),
    }
    assert errors(super_client.post(url("subaward", "add"), data))["grant"] == [
        "Subawards go only under a prime grant; grant g-sole has role 'sole'."
    ]


def test_grant_inline_rows_together_past_the_amount_are_refused(super_client):
    data = {
        **SPECS[1].add(),
        **management("disbursements", total=2),
        "disbursements-0-expected_on": "2024-02-01",
        "disbursements-0-amount": "60000.00",
        "disbursements-1-expected_on": "2024-08-01",
        "disbursements-1-amount": "60000.00",
    }
    response = super_client.post(url("grant", "add"), data)
    assert response.status_code == 200
    formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "disbursements"
    )
    assert formset.non_form_errors() == [
        "The disbursements of grant nsf-new would sum to 120,000.00 USD, past its amount 100,000.00 USD by 20,000.00 USD."
    ]
    assert not Grant.objects.exists()


def test_subaward_row_in_a_new_sole_grant_is_refused_at_the_top_of_its_row(super_client):
    data = {**SPECS[1].add(), "role": "sole"}
    response = super_client.post(url("grant", "add"), data)
    assert response.status_code == 200
    formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "subawards"
    )
    assert formset.forms[0].non_field_errors() == [
        "Subawards go only under a prime grant; grant nsf-new has role 'sole'."
    ]
    assert not Grant.objects.exists()


def test_lowering_a_grant_below_its_subawards_is_refused_on_amount(super_client):
    grant = _prime_grant_with_children()
    data = form_data(super_client.get(url("grant", "change", grant.pk)))
    data["amount"] = "100.00"
    assert (
        "below the 20,000.00 USD of subawards"
        in errors(super_client.post(url("grant", "change", grant.pk), data))["amount"][0]
    )


def test_subaward_inline_is_offered_only_on_prime_grants(super_client):
    sole = GrantFactory()
    prefixes = {
        i.formset.prefix
        for i in super_client.get(url("grant", "change", sole.pk)).context["inline_admin_formsets"]
    }
    assert prefixes == {"disbursements", "budget_lines", "reports"}
    prime = GrantFactory(prime=True)
    prefixes = {
        i.formset.prefix
        for i in super_client.get(url("grant", "change", prime.pk)).context["inline_admin_formsets"]
    }
    assert prefixes == {"subawards", "disbursements", "budget_lines", "reports"}


def test_exchange_rate_for_the_reporting_currency_is_refused_on_currency(super_client):
    response = super_client.post(
        url("exchangerate", "add"), {"currency": "USD", "effective_on": "2024-01-01", "rate": "1"}
    )
    assert errors(response)["currency"] == ["USD is the reporting currency: its rate is always 1."]


def test_expense_dates_out_of_order_are_refused_on_end_date(super_client):
    data = {**SPECS[6].add(), "end_on": "2023-12-31"}
    assert errors(super_client.post(url("expense", "add"), data))["end_on"] == [
        "The end date 2023-12-31 is before the start date 2024-01-01."
    ]


def test_money_with_three_places_is_refused_in_the_admin(super_client):
    grant = GrantFactory()
    response = super_client.post(
        url("disbursement", "add"), {"grant": grant.pk, "expected_on": "2024-05-01", "amount": "1.005"}
    )
    assert "amount" in errors(response)
    assert not Disbursement.objects.exists()


def test_ticking_default_on_another_scenario_switches_the_default(super_client):
    base = ScenarioFactory(slug="base", is_default=True)
    lean = ScenarioFactory(slug="lean")
    data = form_data(super_client.get(url("scenario", "change", lean.pk)))
    data["is_default"] = "on"
    assert super_client.post(url("scenario", "change", lean.pk), data).status_code == 302
    assert list(Scenario.objects.filter(is_default=True)) == [lean]
    base.refresh_from_db()
    assert not base.is_default


def test_unticking_the_default_scenario_is_refused_on_is_default(super_client):
    base = ScenarioFactory(slug="base", is_default=True)
    data = form_data(super_client.get(url("scenario", "change", base.pk)))
    del data["is_default"]
    assert errors(super_client.post(url("scenario", "change", base.pk), data))["is_default"] == [
        "Scenario base is the default; make another scenario the default instead, and this one stops being it."
    ]


def test_make_default_action_switches_the_default(super_client):
    ScenarioFactory(slug="base", is_default=True)
    lean = ScenarioFactory(slug="lean")
    response = super_client.post(
        url("scenario", "changelist"), {"action": "make_default", "_selected_action": [lean.pk]}
    )
    assert response.status_code == 302
    assert Scenario.objects.get(is_default=True) == lean


def test_deleting_the_default_scenario_in_the_admin_promotes_another(super_client):
    base = ScenarioFactory(slug="base", is_default=True)
    ScenarioFactory(slug="lean")
    assert super_client.post(url("scenario", "delete", base.pk), {"post": "yes"}).status_code == 302
    assert Scenario.objects.get().slug == "lean" and Scenario.objects.get().is_default


def test_grant_columns_are_annotated_sums(super_client):
    grant = GrantFactory(prime=True, amount=D("100000.00"))
    SubawardFactory(grant=grant, amount=D("30000.00"))
    SubawardFactory(grant=grant, amount=D("20000.00"))
    DisbursementFactory(grant=grant, amount=D("10000.00"), received_on=dt.date(2024, 1, 2))
    DisbursementFactory(grant=grant, amount=D("15000.00"))
    row = super_client.get(url("grant", "changelist")).context["cl"].result_list[0]
    assert (row.subawarded, row.net_amount, row.scheduled, row.received) == (
        D("50000.00"),
        D("50000.00"),
        D("25000.00"),
        D("10000.00"),
    )


# --- roles --------------------------------------------------------------------------------------

OPERATIONS_FORBIDDEN = [
    "runwaysnapshot",
    "subaward",
    "disbursement",
    "subawardpayment",
    "expense",
    "scenario",
    "exchangerate",
]


def test_operations_never_reaches_cash_positions(operations_client):
    position = CashPositionFactory()
    for path in (
        url("cashposition", "changelist"),
        url("cashposition", "add"),
        url("cashposition", "change", position.pk),
        url("cashposition", "history", position.pk),
        url("cashposition", "export"),
        url("cashposition", "import"),
    ):
        assert operations_client.get(path).status_code == 403, path
    assert operations_client.post(url("cashposition", "export"), {"format": "0"}).status_code == 403


@pytest.mark.parametrize("model", OPERATIONS_FORBIDDEN)
def test_operations_gets_403_on_finance_models(operations_client, model):
    assert operations_client.get(url(model, "changelist")).status_code == 403
    assert operations_client.get(url(model, "export")).status_code == 403


def test_operations_may_view_but_not_edit_grants_and_funders(operations_client):
    grant = _prime_grant_with_children()
    for model, row in (("grant", grant), ("funder", grant.funder)):
        assert operations_client.get(url(model, "changelist")).status_code == 200
        response = operations_client.get(url(model, "change", row.pk))
        assert response.status_code == 200 and not response.context["has_change_permission"]
        assert operations_client.get(url(model, "add")).status_code == 403
        assert (
            operations_client.post(url(model, "change", row.pk), {"title": "x", "name": "x"}).status_code
            == 403
        )
        assert operations_client.get(url(model, "import")).status_code == 403
        assert operations_client.get(url(model, "export")).status_code == 200
    assert Grant.objects.get().title == grant.title


def test_operations_sees_no_subaward_or_disbursement_figures_on_grants(operations_client):
    grant = _prime_grant_with_children()
    response = operations_client.get(url("grant", "changelist"))
    assert set(response.context["cl"].list_display).isdisjoint(
        {"subawarded_column", "net_column", "received_column"}
    )
    response = operations_client.get(url("grant", "change", grant.pk))
    assert response.context["inline_admin_formsets"] == []


def test_operations_admin_index_lists_no_sensitive_model(operations_client):
    content = operations_client.get(reverse("admin:index")).content.decode()
    assert "Cash positions" not in content and "Runway snapshots" not in content


@pytest.mark.parametrize("spec", [s for s in SPECS if s.add], ids=[s.model for s in SPECS if s.add])
def test_finance_may_edit_every_funding_model(finance_client, spec):
    row = spec.make()
    assert finance_client.get(url(spec.model, "changelist")).status_code == 200
    assert finance_client.get(url(spec.model, "add")).status_code == 200
    response = finance_client.get(url(spec.model, "change", row.pk))
    assert response.context["has_change_permission"]
    assert finance_client.post(url(spec.model, "change", row.pk), form_data(response)).status_code == 302
    assert finance_client.get(url(spec.model, "import")).status_code == 200


def test_finance_may_view_and_delete_but_not_edit_runway_snapshots(finance_client):
    snapshot = RunwaySnapshotFactory()
    assert finance_client.get(url("runwaysnapshot", "changelist")).status_code == 200
    assert finance_client.get(url("runwaysnapshot", "export")).status_code == 200
    assert finance_client.get(url("runwaysnapshot", "add")).status_code == 403
    assert (
        finance_client.post(url("runwaysnapshot", "delete", snapshot.pk), {"post": "yes"}).status_code == 302
    )
    assert not RunwaySnapshot.objects.exists()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_leadership_may_view_every_funding_model(leadership_client, spec):
    row = spec.make()
    assert leadership_client.get(url(spec.model, "changelist")).status_code == 200
    assert leadership_client.get(url(spec.model, "change", row.pk)).status_code == 200
    assert leadership_client.get(url(spec.model, "export")).status_code == 200


def test_leadership_may_edit_scenarios_and_adjustments_but_not_grants(leadership_client):
    assert leadership_client.get(url("grant", "add")).status_code == 403
    assert leadership_client.get(url("cashposition", "add")).status_code == 403
    assert leadership_client.post(url("scenario", "add"), SPECS[8].add()).status_code == 302
    assert leadership_client.post(url("scenarioadjustment", "add"), SPECS[9].add()).status_code == 302
    assert Scenario.objects.filter(slug="growth").exists()
    assert ScenarioAdjustment.objects.filter(label="Conference").exists()
    grant = GrantFactory()
    response = leadership_client.get(url("grant", "change", grant.pk))
    assert not response.context["has_change_permission"]
