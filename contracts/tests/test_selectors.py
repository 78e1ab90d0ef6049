"""The reads behind the contracts admin and API: payment totals computed in the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.selectors import contract_list, contract_payment_list, contracts_with_incomplete_schedule
from opsite.core.money import quantize

from .factories import ContractPaymentFactory, ServiceContractFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_contracts_carry_their_payment_totals_and_schedule_state(django_assert_num_queries):
    ServiceContractFactory(reference="empty", total_value=D("500.00"))
    short = ServiceContractFactory(reference="short", total_value=D("1000.00"))
    ContractPaymentFactory(contract=short, amount=D("250.00"), paid_on=dt.date(2024, 2, 1))
    ContractPaymentFactory(contract=short, amount=D("250.00"))
    full = ServiceContractFactory(reference="full", total_value=D("1000.07"))
    # Six payments whose floating-point sum is 1000.0699999999999: SQLite sums decimals as floats.
    for amount in ["166.67"] * 5 + ["166.72"]:
        ContractPaymentFactory(contract=full, amount=D(amount))
    ServiceContractFactory(reference="free", total_value=D("0.00"))

    with django_assert_num_queries(1):  # one SELECT: sums in subqueries, community joined
        rows = {
            c.reference: (c.payments_total, c.paid_total, c.schedule_incomplete, c.community.slug)
            for c in contract_list()
        }

    assert rows["empty"][:3] == (D("0.00"), D("0.00"), True)
    assert rows["short"][:3] == (D("500.00"), D("250.00"), True)
    assert quantize(rows["full"][0]) == D("1000.07")
    assert rows["full"][2] is False
    assert rows["free"][2] is False
    assert {c.reference for c in contracts_with_incomplete_schedule()} == {"empty", "short"}


def test_contracts_are_listed_latest_start_first():
    ServiceContractFactory(reference="b", start_on=dt.date(2023, 1, 1), end_on=dt.date(2023, 12, 31))
    ServiceContractFactory(reference="a", start_on=dt.date(2024, 1, 1))
    ServiceContractFactory(reference="c", start_on=dt.date(2024, 1, 1))
    assert [c.reference for c in contract_list()] == ["a", "c", "b"]


def test_payments_are_listed_by_contract_and_due_date_with_one_query(django_assert_num_queries):
    late = ContractPaymentFactory(contract__reference="x", due_on=dt.date(2024, 6, 1))
    early = ContractPaymentFactory(contract=late.contract, due_on=dt.date(2024, 1, 1))
    other = ContractPaymentFactory(contract__reference="a")
    with django_assert_num_queries(1):  # one SELECT joining contract and community
        listed = [(p.pk, p.contract.community.slug) for p in contract_payment_list()]
    assert [pk for pk, _ in listed] == [other.pk, early.pk, late.pk]
