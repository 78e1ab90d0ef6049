"""The demo's calendar: where its published history ends, and where a load for a given day ends.

The history the public reports describe runs from 2021 to ``HISTORY_END``; a load continues it to
the last month-end before the day it is loaded for (:func:`demo_end`), never stopping before it.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta

from opsite.core.money import CENT

FIRST_MONTH = date(2021, 1, 1)
# The end of the published history: the figures the public reports give for 2023 and 2024 are
# computed from rows dated on or before it, and a load for any later day leaves them as they are.
HISTORY_END = date(2024, 12, 31)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_ends(start: date, end: date) -> list[date]:
    """The last day of every month from ``start``'s month to ``end``'s, both included."""
    found, cursor = [], month_end(start)
    while cursor <= end:
        found.append(cursor)
        cursor = month_end(cursor + timedelta(days=1))
    return found


def months_later(day: date, months: int) -> date:
    """``day`` moved by calendar months, clipped to the month's end (as the runway counts them)."""
    return day + relativedelta(months=months)


def demo_end(today: date) -> date:
    """The last month-end before ``today`` (its books are closed), never before ``HISTORY_END``."""
    return max(today.replace(day=1) - timedelta(days=1), HISTORY_END)


def first_weekday(year: int, month: int) -> date:
    """The first Monday-to-Friday day of a month: when people start and are paid."""
    day = date(year, month, 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def split(total: Decimal, count: int) -> list[Decimal]:
    """``count`` parts of ``total``, the rounding cents on the last one (as the services do)."""
    part = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]
