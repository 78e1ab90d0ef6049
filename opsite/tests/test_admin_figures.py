"""Figures as people read them in the admin (opsite/core/formatting.py, opsite/core/admin.py): money
with its currency and thousands separators, months with two decimals, percentages, grouped counts,
in the lists and in the read-only change forms, with the columns still sortable.
"""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from communities.tests.factories import ActiveUserCountFactory
from contracts.tests.factories import ContractPaymentFactory, ServiceContractFactory
from funding.models import Grant
from funding.tests.factories import (
    CashPositionFactory,
    GrantFactory,
    RunwaySnapshotFactory,
    ScenarioFactory,
    SubawardFactory,
)
from opsite.core.formatting import format_count, format_money, format_months, format_percent
from opsite.core.money import quantize
from opsite.core.roles import LEADERSHIP
from staff.tests.factories import CompensationFactory

# --- the formatting helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: format_money(D("1500000"), "USD"), "1,500,000.00 USD"),
        (lambda: format_money(D("-250.5"), "EUR"), "-250.50 EUR"),
        (lambda: format_money(D("0.005"), "USD"), "0.01 USD"),  # half up, as money.quantize
        (lambda: format_money(D("-0.001"), "USD"), "0.00 USD"),  # no "-0.00"
        (lambda: format_money(D("17999.5"), "GBP", whole=True), "18,000 GBP"),
        (lambda: format_money(None, "USD"), "-"),
        (lambda: format_months(D("18.8000000000000")), "18.80"),
        (lambda: format_months(D("1234.565")), "1,234.57"),
        (lambda: format_percent(75), "75%"),
        (lambda: format_percent(D("0.275"), fraction=True), "27.5%"),
        (lambda: format_percent(D("0.25"), fraction=True), "25%"),
        (lambda: format_percent(0), "0%"),
        (lambda: format_count(1234567), "1,234,567"),
        (lambda: format_count(None), "-"),
    ],
)
def test_the_helpers_write_figures_as_people_read_them(call, expected):
    assert call() == expected


def test_money_defaults_to_the_reporting_currency(settings):
    settings.OPSITE_CURRENCY = "CHF"
    assert format_money(D("12.3")) == "12.30 CHF"


@given(st.decimals(min_value=D("-999999999999.99"), max_value=D("999999999999.99"), places=2))
def test_a_formatted_amount_reads_back_as_the_amount(amount):
    text = format_money(amount, "USD")
    figure, currency = text.split(" ")
    assert currency == "USD"
    assert D(figure.replace(",", "")) == quantize(amount)
    whole = figure.lstrip("-").split(".")[0]
    assert all(len(group) == 3 for group in whole.split(",")[1:])


# --- lists ----------------------------------------------------------------------------------------


def row_of(html: str, text: str) -> str:
    """The results table's row (``<tr>...</tr>``) that holds ``text``."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html.split('id="result_list"')[1], flags=re.S)
    matching = [row for row in rows if text in row]
    assert len(matching) == 1, f"{text!r} in {len(matching)} rows"
    return matching[0]


def test_a_grant_row_shows_its_amount_and_net_formatted_alike(finance_client):
    grant = GrantFactory(reference="nsf-big", role="prime", amount=D("1500000.00"), currency="USD")
    SubawardFactory(grant=grant, amount=D("300000.00"))
    html = finance_client.get("/admin/funding/grant/").content.decode()
    row = row_of(html, "nsf-big")
    assert "1,500,000.00 USD" in row and "1,200,000.00 USD" in row
    assert "1500000" not in row and "1200000" not in row


def test_a_grant_row_shows_its_probability_as_a_percentage(operations_client):
    # Operations' list has the probability column; Finance's has the collection flags instead.
    GrantFactory(reference="nsf-big", amount=D("1500000.00"), currency="USD")
    row = row_of(operations_client.get("/admin/funding/grant/").content.decode(), "nsf-big")
    assert '<span class="figure">100%</span>' in row


def test_a_grant_in_another_currency_shows_that_currency(finance_client):
    GrantFactory(reference="eu-grant", amount=D("500000.00"), currency="EUR")
    row = row_of(finance_client.get("/admin/funding/grant/").content.decode(), "eu-grant")
    assert "500,000.00 EUR" in row and "USD" not in row


def test_operations_sees_the_grant_amount_formatted_and_no_subaward_figure(operations_client):
    grant = GrantFactory(reference="nsf-big", role="prime", amount=D("1500000.00"))
    SubawardFactory(grant=grant, amount=D("300000.00"))
    html = operations_client.get("/admin/funding/grant/").content.decode()
    row = row_of(html, "nsf-big")
    assert "1,500,000.00 USD" in row and "1,200,000.00" not in row
    assert "column-net_column" not in html and "column-received_column" not in html


def test_a_contract_row_shows_its_value_payments_and_probability(operations_client, super_client):
    contract = ServiceContractFactory(
        reference="uni-2025", status="proposed", probability=80, total_value=D("19900.00"), currency="EUR"
    )
    ContractPaymentFactory(contract=contract, amount=D("9950.00"))
    row = row_of(operations_client.get("/admin/contracts/servicecontract/").content.decode(), "uni-2025")
    assert "19,900.00 EUR" in row and "9,950.00 EUR" in row and ">80%<" in row
    # Who may see the collection flags gets them in the probability's place (it is on the page).
    row = row_of(super_client.get("/admin/contracts/servicecontract/").content.decode(), "uni-2025")
    assert "19,900.00 EUR" in row and "field-flags_column" in row and ">80%<" not in row
    payments = super_client.get("/admin/contracts/contractpayment/").content.decode()
    assert "9,950.00 EUR" in row_of(payments, "uni-2025")


def test_a_scenario_shows_its_runway_in_months_with_two_decimals(super_client):
    scenario = ScenarioFactory(name="Stretch")
    RunwaySnapshotFactory(scenario=scenario, months=D("18.80"))
    row = row_of(super_client.get("/admin/funding/scenario/").content.decode(), "Stretch")
    assert ">18.80<" in row and "18.800" not in row


def test_cash_and_pay_are_formatted_for_finance(finance_client):
    CashPositionFactory(balance=D("1850000.00"), currency="USD")
    pay = CompensationFactory(annual_salary=D("123456.00"), benefits_rate=D("0.25"), currency="USD")
    assert "1,850,000.00 USD" in finance_client.get("/admin/funding/cashposition/").content.decode()
    row = row_of(finance_client.get("/admin/staff/compensation/").content.decode(), pay.staff.name)
    assert "123,456.00 USD" in row and ">25%<" in row and "154,320.00 USD" in row
    member = row_of(finance_client.get("/admin/staff/staffmember/").content.decode(), pay.staff.name)
    assert "123,456.00 USD" in member


def test_active_users_are_grouped_by_thousands(operations_client):
    ActiveUserCountFactory(active_users=12345)
    html = operations_client.get("/admin/communities/activeusercount/").content.decode()
    assert ">12,345<" in html


def test_a_money_column_sorts_by_the_amount(finance_client):
    for reference, amount in (("small", "900.00"), ("large", "1000000.00"), ("middle", "50000.00")):
        GrantFactory(reference=reference, amount=D(amount))
    model_admin = admin.site._registry[Grant]
    column = 1 + list(model_admin.list_display).index("amount_figure")  # 0 is the checkbox
    response = finance_client.get("/admin/funding/grant/", {"o": str(column)})
    assert [grant.reference for grant in response.context["cl"].result_list] == ["small", "middle", "large"]


FIGURE_COLUMNS = [
    (model._meta.label, name)
    for model, model_admin in admin.site._registry.items()
    for name in model_admin.list_display
    if isinstance(name, str) and getattr(getattr(model_admin, name, None), "figure_of", None)
]


def test_the_lists_show_their_figures_through_the_helpers():
    labels = {label for label, _name in FIGURE_COLUMNS}
    assert {
        "funding.Grant",
        "contracts.ServiceContract",
        "funding.CashPosition",
        "staff.Compensation",
    } <= labels


@pytest.mark.parametrize(("label", "name"), FIGURE_COLUMNS)
def test_every_figure_column_stays_sortable(label, name):
    model_admin = next(a for m, a in admin.site._registry.items() if m._meta.label == label)
    assert getattr(getattr(model_admin, name), "admin_order_field", None), f"{label}.{name}"


# --- read-only change forms ------------------------------------------------------------------


@pytest.fixture
def leadership_only_viewer(db, django_user_model) -> Client:
    """Leadership views every record read-only (docs/roles.md)."""
    user = django_user_model.objects.create_user(username="viewer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=LEADERSHIP))
    client = Client()
    client.force_login(user)
    return client


def readonly_values(response) -> str:
    return " | ".join(re.findall(r'<div class="readonly">(.*?)</div>', response.content.decode(), flags=re.S))


def test_a_read_only_grant_shows_money_and_probability_formatted(leadership_only_viewer):
    grant = GrantFactory(amount=D("1500000.00"), probability=30, status="submitted", awarded_on=None)
    response = leadership_only_viewer.get(f"/admin/funding/grant/{grant.pk}/change/")
    assert response.status_code == 200 and not response.context["has_change_permission"]
    values = readonly_values(response)
    assert "1,500,000.00 USD" in values and "30%" in values
    assert "1500000" not in response.content.decode()


def test_a_read_only_contract_shows_its_payments_formatted(leadership_only_viewer):
    contract = ServiceContractFactory(total_value=D("24000.00"))
    ContractPaymentFactory(contract=contract, amount=D("12000.00"))
    response = leadership_only_viewer.get(f"/admin/contracts/servicecontract/{contract.pk}/change/")
    html = response.content.decode()
    assert "24,000.00 USD" in readonly_values(response)
    assert "12,000.00 USD" in html and "12000.00" not in html


def test_a_read_only_pay_record_shows_salary_and_benefits_formatted(leadership_only_viewer):
    pay = CompensationFactory(annual_salary=D("98765.00"), benefits_rate=D("0.2"))
    response = leadership_only_viewer.get(f"/admin/staff/compensation/{pay.pk}/change/")
    values = readonly_values(response)
    assert "98,765.00" in values and "20%" in values and "98765.00" not in response.content.decode()


def test_a_runway_snapshot_shows_its_months_with_two_decimals(super_client):
    snapshot = RunwaySnapshotFactory(months=D("11.4"))
    response = super_client.get(f"/admin/funding/runwaysnapshot/{snapshot.pk}/change/")
    assert "11.40" in readonly_values(response)


def test_an_editable_form_keeps_its_inputs(finance_client):
    grant = GrantFactory(amount=D("1500000.00"))
    html = finance_client.get(f"/admin/funding/grant/{grant.pk}/change/").content.decode()
    assert 'name="amount" value="1500000.00"' in html
