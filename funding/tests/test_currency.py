"""Converting into the reporting currency: one amount (``convert``) or many (``RateTable``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from funding.currency import MissingExchangeRate, RateTable, convert
from funding.models import ExchangeRate

from .factories import ExchangeRateFactory

pytestmark = pytest.mark.django_db

D = Decimal


def test_convert_is_the_identity_for_the_reporting_currency(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert convert(D("123.45"), "USD", dt.date(2024, 1, 1)) == D("123.45")


def test_convert_uses_the_latest_rate_in_effect_on_the_date():
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 7, 1), rate=D("1.05"))
    ExchangeRateFactory(currency="GBP", effective_on=dt.date(2024, 6, 1), rate=D("1.30"))
    assert convert(D("100.00"), "EUR", dt.date(2024, 6, 30)) == D("110.00")
    assert convert(D("100.00"), "EUR", dt.date(2024, 7, 1)) == D("105.00")
    assert convert(D("100.00"), "EUR", dt.date(2030, 1, 1)) == D("105.00")


def test_convert_rounds_half_up_to_the_cent():
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("1.08125"))
    assert convert(D("1.00"), "EUR", dt.date(2024, 1, 1)) == D("1.08")
    assert convert(D("2.00"), "EUR", dt.date(2024, 1, 1)) == D("2.16")  # 2.1625 -> 2.16
    assert convert(D("10.00"), "EUR", dt.date(2024, 1, 1)) == D("10.81")  # 10.8125 -> 10.81


def test_convert_without_a_rate_in_effect_names_currency_and_date():
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 7, 1), rate=D("1.05"))
    with pytest.raises(MissingExchangeRate) as excinfo:
        convert(D("100.00"), "EUR", dt.date(2024, 6, 30))
    assert excinfo.value.messages == [
        "No exchange rate from EUR to USD is in effect on 2024-06-30: add an exchange rate for EUR "
        "effective on or before that date."
    ]
    assert (excinfo.value.currency, excinfo.value.on) == ("EUR", dt.date(2024, 6, 30))
    assert isinstance(excinfo.value, ValidationError)


def test_rate_table_loads_every_rate_in_one_query(django_assert_num_queries):
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("1.10"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 7, 1), rate=D("1.05"))
    ExchangeRateFactory(currency="GBP", effective_on=dt.date(2024, 1, 1), rate=D("1.25"))
    with django_assert_num_queries(1):
        table = RateTable.load()
        converted = [
            table.convert(D("100.00"), "EUR", dt.date(2024, 1, 1) + dt.timedelta(days=d)) for d in range(365)
        ]
        assert table.convert(D("100.00"), "GBP", dt.date(2024, 3, 1)) == D("125.00")
    assert converted[0] == D("110.00") and converted[-1] == D("105.00")
    assert converted.count(D("110.00")) == 182  # January 1 to June 30, 2024 (a leap year)
    assert len(table) == 3


def test_rate_table_agrees_with_convert():
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1), rate=D("1.0812"))
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 3, 1), rate=D("1.0923"))
    table = RateTable.load()
    for day in (dt.date(2024, 1, 1), dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2025, 1, 1)):
        assert table.convert(D("1234.56"), "EUR", day) == convert(D("1234.56"), "EUR", day)


def test_rate_table_refuses_a_date_before_the_first_rate():
    table = RateTable([("EUR", dt.date(2024, 1, 1), D("1.1"))], currency="USD")
    with pytest.raises(MissingExchangeRate) as excinfo:
        table.rate("EUR", dt.date(2023, 12, 31))
    assert "EUR" in excinfo.value.messages[0] and "2023-12-31" in excinfo.value.messages[0]


def test_rate_table_refuses_an_unknown_currency():
    table = RateTable([], currency="USD")
    with pytest.raises(MissingExchangeRate):
        table.convert(D("1.00"), "JPY", dt.date(2024, 1, 1))
    assert table.rate("USD", dt.date(2024, 1, 1)) == D(1)


def test_rate_table_can_load_only_some_currencies():
    ExchangeRateFactory(currency="EUR", effective_on=dt.date(2024, 1, 1))
    ExchangeRateFactory(currency="GBP", effective_on=dt.date(2024, 1, 1))
    table = RateTable.load(currencies=["GBP"])
    assert len(table) == 1
    assert ExchangeRate.objects.count() == 2
