"""Signed contracts' value recognized evenly over their days (contracts.recognition): hand-computed
cases, the conversion at the signing date, and one query whatever the number of contracts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from communities.tests.factories import CommunityFactory
from contracts.choices import ContractStatus
from contracts.recognition import ContractTerm, recognized_by_month, recognized_revenue
from contracts.tests.factories import ServiceContractFactory
from funding.currency import RateTable
from opsite.core.periods import MONTH, periods_between

D = Decimal
JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
MONTHS = periods_between(JAN, date(2024, 3, 31), MONTH)
USD_ONLY = RateTable([], currency="USD")


def term(
    start_on, end_on, total, *, community=1, currency="USD", signed_on=date(2023, 12, 1)
) -> ContractTerm:
    return ContractTerm(community, signed_on, start_on, end_on, D(total), currency)


def test_a_contract_over_parts_of_two_months_is_recognized_by_its_days_in_each():
    # 22 January to 20 February: 30 days, 10 in January and 20 in February.
    contract = term(date(2024, 1, 22), date(2024, 2, 20), "3000.00")

    assert recognized_by_month([contract], MONTHS, convert=USD_ONLY.convert) == {
        1: {JAN: D("1000.00"), FEB: D("2000.00")}
    }


def test_until_stops_the_count_on_that_day():
    contract = term(date(2024, 1, 22), date(2024, 2, 20), "3000.00")

    recognized = recognized_by_month([contract], MONTHS, convert=USD_ONLY.convert, until=date(2024, 2, 10))

    assert recognized == {1: {JAN: D("1000.00"), FEB: D("1000.00")}}


def test_contracts_of_a_community_add_up_and_round_once_per_month():
    # 100.00 over 3 days of January, twice: 66.666.. + 66.666.. is 133.33, not 66.67 + 66.67.
    contracts = [term(date(2024, 1, 30), date(2024, 2, 1), "100.00") for _ in range(2)]
    contracts.append(term(JAN, date(2024, 12, 31), "366.00", community=2))

    recognized = recognized_by_month(contracts, MONTHS, convert=USD_ONLY.convert)

    assert recognized == {
        1: {JAN: D("133.33"), FEB: D("66.67")},
        2: {JAN: D("31.00"), FEB: D("29.00"), MAR: D("31.00")},
    }


def test_a_contract_in_another_currency_converts_at_its_signing_date_as_other_contract_figures():
    rates = RateTable(
        [("EUR", date(2023, 12, 1), D("1.10")), ("EUR", date(2024, 1, 31), D("2.00"))], currency="USD"
    )
    contract = term(JAN, date(2024, 1, 31), "310.00", currency="EUR", signed_on=date(2023, 12, 15))

    assert recognized_by_month([contract], MONTHS, convert=rates.convert) == {1: {JAN: D("341.00")}}


@pytest.mark.django_db
def test_only_signed_contracts_overlapping_the_months_count(django_assert_num_queries):
    community = CommunityFactory()
    ServiceContractFactory(
        community=community, start_on=JAN, end_on=date(2024, 1, 31), total_value=D("31.00")
    )
    ServiceContractFactory(
        community=community,
        status=ContractStatus.PROPOSED,
        signed_on=None,
        start_on=JAN,
        end_on=date(2024, 1, 31),
        total_value=D("999.00"),
    )
    ServiceContractFactory(
        community=community, start_on=date(2023, 1, 1), end_on=date(2023, 12, 31), total_value=D("999.00")
    )

    with django_assert_num_queries(1):
        recognized = recognized_revenue(MONTHS, convert=USD_ONLY.convert)

    assert recognized == {community.pk: {JAN: D("31.00")}}


@pytest.mark.django_db
def test_recognizing_takes_one_query_for_2_or_10_communities(django_assert_num_queries):
    def contracts(count: int) -> None:
        for _ in range(count):
            ServiceContractFactory(community=CommunityFactory(), start_on=JAN, end_on=date(2024, 12, 31))

    contracts(2)
    with django_assert_num_queries(1):
        few = recognized_revenue(MONTHS, convert=USD_ONLY.convert)
    contracts(8)
    with django_assert_num_queries(1):
        many = recognized_revenue(MONTHS, convert=USD_ONLY.convert)

    assert (len(few), len(many)) == (2, 10)
    # 12,000.00 over 366 days (2024 is a leap year): 31 of them in January, 29 in February.
    assert all(
        by_month == {JAN: D("1016.39"), FEB: D("950.82"), MAR: D("1016.39")} for by_month in many.values()
    )


def test_no_months_recognize_nothing():
    assert recognized_revenue([], convert=USD_ONLY.convert) == {}
