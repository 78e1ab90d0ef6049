"""Calendar periods shared by the rollups, the public API and the dashboard.

Months, calendar quarters (``2024-Q1``) and calendar years, computed from dates in Python: never
from a database ``__quarter``/``__month`` lookup, whose answer depends on the connection's time
zone. A period is closed at both ends (``start <= day <= end``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Interval = Literal["month", "quarter", "year"]
MONTH: Interval = "month"
QUARTER: Interval = "quarter"
YEAR: Interval = "year"
INTERVALS: tuple[Interval, ...] = (MONTH, QUARTER, YEAR)

_LABEL_PATTERNS = {
    MONTH: re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$"),
    QUARTER: re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$"),
    YEAR: re.compile(r"^(?P<year>\d{4})$"),
}


def check_interval(interval: str) -> Interval:
    """Return ``interval`` if it is one of ``month``, ``quarter``, ``year``; else ValueError."""
    if interval not in INTERVALS:
        raise ValueError(f"Unknown interval {interval!r}: use one of {', '.join(INTERVALS)}.")
    return interval  # type: ignore[return-value]


def quarter_of(day: date) -> int:
    """The calendar quarter (1 to 4) a date falls in."""
    return (day.month - 1) // 3 + 1


def month_end(day: date) -> date:
    """The last day of the month of ``day``."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period_start(day: date, interval: str) -> date:
    """The first day of the month, quarter or year containing ``day``."""
    check_interval(interval)
    if interval == MONTH:
        return day.replace(day=1)
    if interval == QUARTER:
        return date(day.year, 3 * (quarter_of(day) - 1) + 1, 1)
    return date(day.year, 1, 1)


def period_end(day: date, interval: str) -> date:
    """The last day of the month, quarter or year containing ``day``."""
    check_interval(interval)
    if interval == MONTH:
        return month_end(day)
    if interval == QUARTER:
        return month_end(date(day.year, 3 * quarter_of(day), 1))
    return date(day.year, 12, 31)


def period_label(day: date, interval: str) -> str:
    """``2024-03`` for a month, ``2024-Q1`` for a quarter, ``2024`` for a year."""
    check_interval(interval)
    if interval == MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    if interval == QUARTER:
        return f"{day.year:04d}-Q{quarter_of(day)}"
    return f"{day.year:04d}"


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month, quarter or year, from ``start`` to ``end`` inclusive."""

    start: date
    end: date
    interval: Interval

    @property
    def label(self) -> str:
        return period_label(self.start, self.interval)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def next(self) -> Period:
        return period_of(self.end + timedelta(days=1), self.interval)

    def reading_day(self, as_of: date) -> date:
        """The day a stock figure (users, hubs, headcount) is read for this period.

        Its last day, or ``as_of`` for the current period: "the value on the period's last day,
        or on the as-of day for the current one".
        """
        return min(self.end, as_of)

    def as_dict(self) -> dict[str, str]:
        return {"period": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}


def period_of(day: date, interval: str) -> Period:
    """The period of the given interval that contains ``day``."""
    return Period(period_start(day, interval), period_end(day, interval), check_interval(interval))


def periods_between(start: date, end: date, interval: str) -> list[Period]:
    """Every period of ``interval`` that overlaps ``start``..``end``, oldest first."""
    check_interval(interval)
    if end < start:
        return []
    periods = [period_of(start, interval)]
    while periods[-1].end < end:
        periods.append(periods[-1].next())
    return periods


def parse_period(label: str) -> Period:
    """The period a label names: ``2024-03``, ``2024-Q1`` or ``2024``; ValueError otherwise."""
    for interval, pattern in _LABEL_PATTERNS.items():
        match = pattern.match(label)
        if match is None:
            continue
        year = int(match["year"])
        if interval == MONTH:
            month = int(match["month"])
            if not 1 <= month <= 12:
                break
            return period_of(date(year, month, 1), MONTH)
        if interval == QUARTER:
            return period_of(date(year, 3 * int(match["quarter"]), 1), QUARTER)
        return period_of(date(year, 1, 1), YEAR)
    raise ValueError(f"Not a period label: {label!r} (expected 2024-03, 2024-Q1 or 2024).")


def reading_days(start: date, as_of: date) -> list[date]:
    """Every day a stock figure must be read on to chart it from ``start`` to ``as_of``.

    The month ends from ``start``'s month to the month before ``as_of``'s, plus ``as_of``.
    Quarter and year ends are month ends, so this one list serves all three intervals.
    """
    days = [period.reading_day(as_of) for period in periods_between(start, as_of, MONTH)]
    return sorted(set(days))
