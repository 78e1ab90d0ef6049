"""Funding brought in per period, by category, gross and net (docs/definitions.md "Funding brought in")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.tests.factories import ServiceContractFactory
from funding.choices import GrantCategory, GrantStatus
from funding.currency import MissingExchangeRate, RateTable
from funding.rollups import FUNDING_CATEGORIES, funding_first_day, funding_flows, funding_series
from funding.tests.factories import ExchangeRateFactory, GrantFactory, SubawardFactory

pytestmark = pytest.mark.django_db

USD_ONLY = RateTable([], currency="USD")


def year_2024(rates=USD_ONLY):
    (year,) = funding_series(interval="year", start=date(2024, 1, 1), as_of=date(2024, 12, 31), rates=rates)
    return year


def test_awarded_and_closed_grants_count_by_their_award_date_and_the_pipeline_does_not():
    GrantFactory(awarded_on=date(2024, 2, 1), amount=Decimal("1000.00"))
    GrantFactory(status=GrantStatus.CLOSED, awarded_on=date(2024, 3, 1), amount=Decimal("2000.00"))
    GrantFactory(awarded_on=date(2023, 12, 31), amount=Decimal("4000.00"))
    GrantFactory(prospect=True)
    GrantFactory(status=GrantStatus.SUBMITTED, awarded_on=None)
    GrantFactory(status=GrantStatus.DECLINED, awarded_on=None)

    assert year_2024().gross == Decimal("3000.00")


def test_a_prime_grant_counts_gross_in_full_and_net_of_its_subawards():
    prime = GrantFactory(prime=True, awarded_on=date(2024, 5, 1), amount=Decimal("100000.00"))
    SubawardFactory(grant=prime, amount=Decimal("20000.00"))
    SubawardFactory(grant=prime, amount=Decimal("15000.50"))
    GrantFactory(awarded_on=date(2024, 5, 2), amount=Decimal("1000.00"))

    year = year_2024()

    assert (year.gross, year.net) == (Decimal("101000.00"), Decimal("65999.50"))
    assert year.net_by_category[GrantCategory.DIRECT_GRANT] == Decimal("65999.50")


def test_signed_service_contracts_count_under_the_service_contract_category():
    ServiceContractFactory(signed_on=date(2024, 1, 15), total_value=Decimal("12000.00"))
    GrantFactory(awarded_on=date(2024, 1, 20), category=GrantCategory.DONATION, amount=Decimal("50.00"))

    year = year_2024()

    assert year.gross_by_category["service_contract"] == Decimal("12000.00")
    assert year.net_by_category["service_contract"] == Decimal("12000.00")
    assert year.gross_by_category[GrantCategory.DONATION] == Decimal("50.00")
    assert list(year.gross_by_category) == list(FUNDING_CATEGORIES)


def test_quarters_split_funding_by_award_date():
    GrantFactory(awarded_on=date(2024, 3, 31), amount=Decimal("10.00"))
    GrantFactory(awarded_on=date(2024, 4, 1), amount=Decimal("20.00"))

    series = funding_series(
        interval="quarter", start=date(2024, 1, 1), as_of=date(2024, 5, 1), rates=USD_ONLY
    )

    assert [(row.period.label, row.gross) for row in series] == [
        ("2024-Q1", Decimal("10.00")),
        ("2024-Q2", Decimal("20.00")),
    ]


def test_a_grant_in_euros_converts_at_the_rate_in_effect_on_its_award_date():
    ExchangeRateFactory(currency="EUR", effective_on=date(2024, 1, 1), rate=Decimal("1.10000000"))
    ExchangeRateFactory(currency="EUR", effective_on=date(2024, 6, 2), rate=Decimal("1.20000000"))
    prime = GrantFactory(prime=True, currency="EUR", awarded_on=date(2024, 6, 1), amount=Decimal("1000.00"))
    SubawardFactory(grant=prime, amount=Decimal("100.00"))

    year = year_2024(rates=RateTable.load())

    assert (year.gross, year.net) == (Decimal("1100.00"), Decimal("990.00"))


def test_a_missing_rate_fails_naming_the_currency_and_the_date():
    GrantFactory(currency="EUR", awarded_on=date(2024, 6, 1))
    ExchangeRateFactory(currency="EUR", effective_on=date(2024, 6, 2))

    with pytest.raises(MissingExchangeRate, match=r"EUR .*2024-06-01"):
        year_2024(rates=RateTable.load())


def test_funding_flows_take_three_queries_for_3_or_30_grants(django_assert_num_queries):
    def add(count):
        for _ in range(count):
            SubawardFactory(grant=GrantFactory(prime=True, awarded_on=date(2024, 2, 2)))
            ServiceContractFactory(signed_on=date(2024, 2, 2))

    add(3)
    # Grants, their subawards, signed contracts.
    with django_assert_num_queries(3):
        small = funding_flows(start=date(2024, 1, 1), end=date(2024, 12, 31), rates=USD_ONLY)
    add(27)
    with django_assert_num_queries(3):
        large = funding_flows(start=date(2024, 1, 1), end=date(2024, 12, 31), rates=USD_ONLY)

    assert (len(small), len(large)) == (6, 60)


def test_the_funding_series_start_at_the_first_award_or_signing_date():
    GrantFactory(awarded_on=date(2022, 9, 1))
    ServiceContractFactory(signed_on=date(2022, 3, 1))
    GrantFactory(prospect=True, start_on=date(2020, 1, 1))

    assert funding_first_day() == date(2022, 3, 1)
