"""The plausible range of business dates and instants, checked once for every door.

A date far outside the organization's life (``9999-12-31``, ``0001-01-31``) is a typo or an
attack, and calendar arithmetic on it overflows (``date.max + 1 day``) or runs for ever (a month
by month walk from year 1). :class:`PlausibleDateValidator` sits on every ``DateField`` and
``DateTimeField`` the apps own, so the admin's forms, the API's serializers (DRF copies model
validators) and ``full_clean()`` in the services all refuse such a value with the same message;
bulk paths that bypass the model (importers, batch endpoints) call :func:`check_plausible`.

The range is a setting, ``OPSITE_PLAUSIBLE_DATES`` (default 2000-01-01 to 2100-12-31), read
when a value is checked, so tests and deployments can move it without a migration.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

DEFAULT_RANGE = ("2000-01-01", "2100-12-31")


def plausible_range() -> tuple[date, date]:
    first, last = getattr(settings, "OPSITE_PLAUSIBLE_DATES", DEFAULT_RANGE)
    return date.fromisoformat(str(first)), date.fromisoformat(str(last))


def is_plausible(value: date | datetime | None) -> bool:
    """Whether ``value`` (a date, or an instant's UTC day) lies in the plausible range; None is."""
    if value is None:
        return True
    day = value.date() if isinstance(value, datetime) else value
    first, last = plausible_range()
    return first <= day <= last


def implausible_message(value: date | datetime) -> str:
    first, last = plausible_range()
    shown = value.isoformat()
    return (
        f"{shown} is outside the dates opsite accepts, {first.isoformat()} to {last.isoformat()}; "
        "check the year."
    )


def check_plausible(value: date | datetime | None, *, field: str) -> None:
    """Raise a ValidationError on ``field`` when ``value`` is outside the plausible range."""
    if not is_plausible(value):
        raise ValidationError({field: implausible_message(value)}, code="implausible_date")


@deconstructible
class PlausibleDateValidator:
    """A field validator: the value is a date (or an instant) within the plausible range."""

    code = "implausible_date"

    def __call__(self, value: date | datetime | None) -> None:
        if not isinstance(value, date) or is_plausible(value):
            return
        raise ValidationError(implausible_message(value), code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlausibleDateValidator)

    def __hash__(self) -> int:
        return hash(type(self))
