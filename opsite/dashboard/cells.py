"""A chart's table cell, as the page shows it and as its CSV download writes it.

The page formats each cell by what its column holds (money with thousands separators and two
decimals, counts grouped, months with two decimals, shares as percentages, dates as ``31 Dec
2024``), through the site's formatting helpers. The CSV keeps plain numbers and ISO dates, which a
spreadsheet reads, and neutralizes text so no spreadsheet runs it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from opsite.core.formatting import format_count, format_months, format_percent
from opsite.core.resources import neutralize_formula

from .summary import format_day

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOTHING = "–"

# What a column holds: how its cells are shown on the page.
TEXT, DAY, MONEY, COUNT, MONTHS, PERCENT, DECIMAL = (
    "text",
    "day",
    "money",
    "count",
    "months",
    "percent",
    "decimal",
)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str) and NUMBER.match(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return None
    return None


def display_cell(value: Any, kind: str = TEXT) -> str:
    """A table cell as people read it; an en dash for nothing, and text as it is."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == DAY and isinstance(value, date | str) and ISO_DAY.match(str(value)):
        return format_day(value)
    number = _decimal(value)
    if number is None:
        return str(value)
    if kind == MONEY:
        return f"{number:,.2f}"
    if kind == MONTHS:
        return format_months(number)
    if kind == PERCENT:
        return format_percent(number)
    if kind == COUNT:
        return format_count(number)
    if kind == DECIMAL:
        return f"{number:,}"
    # A label that looks like a number (a year, "2024") stays as it is.
    return str(value)


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers as plain numbers, text neutralized so no spreadsheet runs it."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if NUMBER.match(text) else neutralize_formula(text)
