"""Converting amounts into the reporting currency (setting ``OPSITE_CURRENCY``).

The rate in effect on a date is the ``ExchangeRate`` of that currency with the latest
``effective_on`` on or before it. A missing rate is an error that names the currency and the
date: a silent 1.0 would make a euro grant count as dollars and nobody would notice.

Two ways in:

* :func:`convert` for one amount (one query, none for the reporting currency);
* :class:`RateTable` for many: every rate is loaded in one query, then each conversion is a
  binary search in memory. The runway loader converts hundreds of flows this way.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError

from opsite.core.money import quantize, reporting_currency

from .models import ExchangeRate


class MissingExchangeRate(ValidationError):
    """No rate of ``currency`` is in effect on ``on``; carries both for callers that recover."""

    def __init__(self, currency: str, on: date):
        self.currency = currency
        self.on = on
        super().__init__(
            f"No exchange rate from {currency} to {reporting_currency()} is in effect on "
            f"{on:%Y-%m-%d}: add an exchange rate for {currency} effective on or before that date.",
            code="missing_exchange_rate",
        )


def convert(amount: Decimal, currency: str, on: date) -> Decimal:
    """``amount`` of ``currency`` in the reporting currency, at the rate in effect ``on``.

    A converted amount is rounded half up to the cent (money has two places); an amount already
    in the reporting currency comes back unchanged, without a query and without a rate row.
    """
    if currency == reporting_currency():
        return Decimal(amount)
    rate = (
        ExchangeRate.objects.filter(currency=currency, effective_on__lte=on)
        .order_by("-effective_on")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise MissingExchangeRate(currency, on)
    return quantize(Decimal(amount) * rate)


class RateTable:
    """Every exchange rate in memory, for converting many amounts with one query.

    Build it with :meth:`load` (one query), or from ``(currency, effective_on, rate)`` triples
    in tests. It is a snapshot: rates written after loading are not seen.
    """

    def __init__(self, rates: Iterable[tuple[str, date, Decimal]], *, currency: str | None = None):
        self.currency = currency or reporting_currency()
        by_currency: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        for code, effective_on, rate in rates:
            by_currency[code].append((effective_on, Decimal(rate)))
        self._dates: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for code, entries in by_currency.items():
            entries.sort(key=lambda entry: entry[0])
            self._dates[code] = [effective_on for effective_on, _ in entries]
            self._rates[code] = [rate for _, rate in entries]

    @classmethod
    def load(cls, *, currencies: Iterable[str] | None = None) -> RateTable:
        """All rates (or only those of ``currencies``) in one query."""
        rows = ExchangeRate.objects.order_by("currency", "effective_on")
        if currencies is not None:
            rows = rows.filter(currency__in=list(currencies))
        return cls(rows.values_list("currency", "effective_on", "rate"))

    def __len__(self) -> int:
        return sum(len(dates) for dates in self._dates.values())

    def digest(self) -> str:
        """A hash of the reporting currency and every rate: tables that convert alike, alike."""
        rates = [
            [code, [day.isoformat() for day in self._dates[code]], [str(rate) for rate in self._rates[code]]]
            for code in sorted(self._dates)
        ]
        return hashlib.sha256(json.dumps([self.currency, rates]).encode()).hexdigest()

    def rate(self, currency: str, on: date) -> Decimal:
        """Units of the reporting currency per unit of ``currency`` on ``on``, unrounded."""
        if currency == self.currency:
            return Decimal(1)
        dates = self._dates.get(currency)
        index = bisect_right(dates, on) if dates else 0
        if index == 0:
            raise MissingExchangeRate(currency, on)
        return self._rates[currency][index - 1]

    def convert(self, amount: Decimal, currency: str, on: date) -> Decimal:
        """As :func:`convert`, from memory: rounded half up to the cent unless already reported."""
        if currency == self.currency:
            return Decimal(amount)
        return quantize(Decimal(amount) * self.rate(currency, on))
