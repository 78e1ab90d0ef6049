"""The contracts changelist's collection flags: the "flags" column and the "collection flag"
filter, their cost (a fixed number of queries a page, none a row), and who sees them. The rules are
the kernel's (opsite.core.collection); the date is the latest cash position's, which funding
registers when it starts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funding.tests.factories import CashPositionFactory
from opsite.core.collection import FlagCode

from .factories import ContractPaymentFactory, ServiceContractFactory

pytestmark = pytest.mark.django_db

D = Decimal
A = dt.date(2024, 8, 31)
URL = reverse("admin:contracts_servicecontract_changelist")


def overdue_contract(reference: str):
    """Started in April (not stale), fully scheduled, one payment due three months before A and
    not paid: overdue only."""
    contract = ServiceContractFactory(
        reference=reference, total_value=D("12000"), start_on=dt.date(2024, 4, 1), end_on=dt.date(2025, 3, 31)
    )
    ContractPaymentFactory(contract=contract, amount=D("12000"), due_on=dt.date(2024, 6, 1))
    return contract


def short_contract(reference: str):
    """Paid what it scheduled, but scheduled half its value: schedule incomplete only."""
    contract = ServiceContractFactory(
        reference=reference,
        total_value=D("10000"),
        start_on=dt.date(2024, 1, 1),
        end_on=dt.date(2025, 12, 31),
    )
    ContractPaymentFactory(
        contract=contract, amount=D("5000"), due_on=dt.date(2024, 2, 1), paid_on=dt.date(2024, 2, 1)
    )
    return contract


def paid_contract(reference: str):
    """Fully scheduled and paid."""
    contract = ServiceContractFactory(
        reference=reference, total_value=D("8000"), start_on=dt.date(2024, 1, 1), end_on=dt.date(2025, 12, 31)
    )
    ContractPaymentFactory(
        contract=contract, amount=D("8000"), due_on=dt.date(2024, 2, 1), paid_on=dt.date(2024, 2, 1)
    )
    return contract


@pytest.fixture
def contracts():
    CashPositionFactory(as_of=A)
    return overdue_contract("late-pay"), short_contract("half-scheduled"), paid_contract("paid-up")


def rows(response) -> dict[str, str]:
    """The page's contracts by reference, each with its "flags" cell."""
    changelist = response.context["cl"]
    return {
        contract.reference: changelist.model_admin.flags_column(contract)
        for contract in changelist.result_list
    }


@pytest.mark.parametrize("client_name", ["finance_client", "leadership_client"])
def test_the_flags_column_names_each_contracts_flags(request, client_name, contracts):
    response = request.getfixturevalue(client_name).get(URL)
    list_display = response.context["cl"].list_display
    # The flags take the probability's place, so the list still fits a laptop's screen.
    assert "flags_column" in list_display
    assert "probability_figure" not in list_display
    cells = rows(response)
    assert cells["late-pay"] == str(FlagCode.OVERDUE.label)
    assert cells["half-scheduled"] == str(FlagCode.SCHEDULE_INCOMPLETE.label)
    assert cells["paid-up"] == ""


@pytest.mark.parametrize(
    "value, expected",
    [
        (FlagCode.OVERDUE.value, {"late-pay"}),
        (FlagCode.SCHEDULE_INCOMPLETE.value, {"half-scheduled"}),
        ("any", {"late-pay", "half-scheduled"}),
        (FlagCode.STALE.value, set()),
    ],
)
def test_the_filter_keeps_the_contracts_raising_the_flag(finance_client, contracts, value, expected):
    response = finance_client.get(URL, {"collection_flag": value})
    assert response.status_code == 200
    assert set(rows(response)) == expected


def test_without_a_cash_position_nothing_is_flagged(finance_client):
    overdue_contract("late-pay")
    response = finance_client.get(URL, {"collection_flag": "any"})
    assert response.status_code == 200
    assert rows(response) == {}
    assert rows(finance_client.get(URL)) == {"late-pay": ""}


def test_the_flags_cost_the_same_queries_with_more_contracts(finance_client, contracts):
    def queries() -> int:
        finance_client.get(URL)  # warm per-process caches
        with CaptureQueriesContext(connection) as captured:
            assert finance_client.get(URL).status_code == 200
        return len(captured)

    before = queries()
    for index in range(5):
        overdue_contract(f"late-{index}")
        short_contract(f"short-{index}")
        paid_contract(f"paid-{index}")
    assert queries() == before


def test_the_contracts_page_keeps_its_probability_and_no_flags(finance_client, contracts):
    """The annotation is the changelist's only: the contract's own page is unchanged."""
    contract = contracts[0]
    response = finance_client.get(reverse("admin:contracts_servicecontract_change", args=[contract.pk]))
    assert response.status_code == 200
    assert "flag_codes" not in response.context["adminform"].form.instance.__dict__


def test_operations_sees_neither_the_column_nor_the_filter(operations_client, contracts):
    response = operations_client.get(URL)
    assert response.status_code == 200
    assert "flags_column" not in response.context["cl"].list_display
    assert "probability_figure" in response.context["cl"].list_display
    content = response.content.decode()
    assert "collection_flag" not in content
    assert str(FlagCode.OVERDUE.label) not in content
    # Asking for the filter anyway narrows nothing and reveals nothing.
    filtered = operations_client.get(URL, {"collection_flag": "any"})
    assert str(FlagCode.OVERDUE.label) not in filtered.content.decode()
