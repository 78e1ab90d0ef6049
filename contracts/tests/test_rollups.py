"""New service contracts per period, by category: count and value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.choices import ContractCategory, ContractStatus
from contracts.rollups import contracts_first_day, new_contracts_series, signed_contract_rows
from contracts.tests.factories import ServiceContractFactory
from funding.currency import MissingExchangeRate, RateTable

pytestmark = pytest.mark.django_db


def same_currency(amount, currency, on):
    assert currency == "USD"
    return amount


def test_only_signed_contracts_count_in_the_period_of_their_signing_date():
    ServiceContractFactory(signed_on=date(2024, 1, 10), total_value=Decimal("1000.00"))
    ServiceContractFactory(signed_on=date(2024, 4, 1), total_value=Decimal("500.50"))
    ServiceContractFactory(status=ContractStatus.PROPOSED, signed_on=None)
    ServiceContractFactory(status=ContractStatus.DECLINED, signed_on=None)
    ServiceContractFactory(status=ContractStatus.TERMINATED, signed_on=date(2024, 2, 1))

    q1, q2 = new_contracts_series(
        interval="quarter", start=date(2024, 1, 1), as_of=date(2024, 6, 30), convert=same_currency
    )

    assert (q1.count, q1.value) == (1, Decimal("1000.00"))
    assert (q2.count, q2.value) == (1, Decimal("500.50"))


def test_contracts_break_down_by_every_category_zero_included():
    ServiceContractFactory(signed_on=date(2024, 5, 1), category=ContractCategory.DEVELOPMENT)
    ServiceContractFactory(signed_on=date(2024, 5, 2), category=ContractCategory.DEVELOPMENT)
    ServiceContractFactory(signed_on=date(2024, 5, 3), category=ContractCategory.SUPPORT)

    (may,) = new_contracts_series(
        interval="month", start=date(2024, 5, 1), as_of=date(2024, 5, 31), convert=same_currency
    )

    assert {category: figures.count for category, figures in may.by_category.items()} == {
        "hub_service": 0,
        "development": 2,
        "partnership": 0,
        "support": 1,
        "cloud": 0,
        "other": 0,
    }
    assert may.by_category[ContractCategory.DEVELOPMENT].value == Decimal("24000.00")


def test_a_contract_in_euros_converts_at_the_rate_in_effect_on_its_signing_date():
    ServiceContractFactory(signed_on=date(2024, 3, 15), currency="EUR", total_value=Decimal("1000.00"))
    rates = RateTable(
        [("EUR", date(2024, 1, 1), Decimal("1.10")), ("EUR", date(2024, 3, 16), Decimal("1.20"))],
        currency="USD",
    )

    (year,) = new_contracts_series(
        interval="year", start=date(2024, 1, 1), as_of=date(2024, 12, 31), convert=rates.convert
    )

    assert year.value == Decimal("1100.00")


def test_a_missing_rate_fails_naming_the_currency_and_the_date():
    ServiceContractFactory(signed_on=date(2024, 3, 15), currency="EUR")

    with pytest.raises(MissingExchangeRate, match=r"EUR .*2024-03-15"):
        new_contracts_series(
            interval="year",
            start=date(2024, 1, 1),
            as_of=date(2024, 12, 31),
            convert=RateTable([], currency="USD").convert,
        )


def test_the_current_period_counts_up_to_the_as_of_day():
    ServiceContractFactory(signed_on=date(2024, 5, 1))
    ServiceContractFactory(signed_on=date(2024, 5, 20))

    (may,) = new_contracts_series(
        interval="month", start=date(2024, 5, 1), as_of=date(2024, 5, 10), convert=same_currency
    )

    assert may.count == 1


def test_signed_contracts_are_read_in_one_query_for_3_or_30(django_assert_num_queries):
    ServiceContractFactory.create_batch(3, signed_on=date(2024, 2, 2))
    with django_assert_num_queries(1):
        small = signed_contract_rows(start=date(2024, 1, 1), end=date(2024, 12, 31))
    ServiceContractFactory.create_batch(27, signed_on=date(2024, 2, 3))
    with django_assert_num_queries(1):
        large = signed_contract_rows(start=date(2024, 1, 1), end=date(2024, 12, 31))

    assert (len(small), len(large)) == (3, 30)


def test_the_contract_series_starts_at_the_first_signing_date():
    ServiceContractFactory(signed_on=date(2023, 7, 4))
    ServiceContractFactory(status=ContractStatus.TERMINATED, signed_on=date(2022, 1, 1))

    assert contracts_first_day() == date(2023, 7, 4)
