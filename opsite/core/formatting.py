"""Figures as people read them, the same on every page: the admin's lists and read-only fields and
the leadership dashboard.

* Money with its currency and thousands separators: ``1,500,000.00 USD``. The ISO code after the
  figure keeps the decimal points of a right-aligned column in line whatever the currency.
* Months with two decimals: ``18.80``.
* Probabilities and rates as percentages: ``75%`` (stored 0 to 100), ``27.5%`` (stored 0.275).
* Whole numbers grouped by thousands: ``12,345``.

Files (CSV and the other exports) keep plain numbers: a spreadsheet reads them, not a person.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .money import quantize, reporting_currency

# What the admin shows for no value (its ``empty_value_display``).
EMPTY = "-"

Number = Decimal | int | float | str


def _decimal(value: Number) -> Decimal:
    # A float goes through its shortest repr, so 0.1 reads as 0.1 and not as its binary expansion.
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def format_money(amount: Number | None, currency: str | None = None, *, whole: bool = False) -> str:
    """``1,500,000.00 USD``; ``-250.00 EUR``; ``18,000 USD`` with ``whole`` (rounded half up).

    ``currency`` defaults to the reporting currency (``OPSITE_CURRENCY``).
    """
    if amount is None:
        return EMPTY
    value = _decimal(amount)
    value = value.quantize(Decimal(1), rounding=ROUND_HALF_UP) if whole else quantize(value)
    figure = f"{value:,.0f}" if whole else f"{value:,.2f}"
    if figure in ("-0", "-0.00"):
        figure = figure[1:]
    return f"{figure} {currency or reporting_currency()}"


def format_months(months: Number | None) -> str:
    """``18.80``: a number of months, two decimals (rounded half up)."""
    if months is None:
        return EMPTY
    return f"{quantize(_decimal(months)):,.2f}"


def format_percent(value: Number | None, *, fraction: bool = False) -> str:
    """``75%`` for a percentage stored 0 to 100; with ``fraction``, ``27.5%`` for 0.275.

    At most two decimals, and no trailing zeros: ``12.5%``, ``100%``.
    """
    if value is None:
        return EMPTY
    percent = _decimal(value) * 100 if fraction else _decimal(value)
    percent = percent.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{percent:,.2f}".rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text}%"


def format_count(value: Number | None) -> str:
    """``12,345``: a whole number grouped by thousands."""
    if value is None:
        return EMPTY
    return f"{_decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP):,.0f}"
