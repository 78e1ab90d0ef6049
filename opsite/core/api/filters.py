"""Filter backends and filters shared by every CRUD API.

Dates and instants in query parameters obey the same plausible range as stored ones (see
:mod:`opsite.core.dates`): a value outside it is a 400 naming the parameter, never a query the
database refuses. Instants are turned to UTC before they reach the query: PostgreSQL refuses a
UTC offset beyond 15:59 that ISO 8601 (and so the parser) lets through.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from rest_framework.filters import OrderingFilter

from opsite.core.dates import implausible_message, is_plausible


class StableOrderingFilter(OrderingFilter):
    """DRF's ``?ordering=`` on the view's allow-list, with the primary key as the last tie-breaker.

    Limit/offset pages over an ordering with ties may repeat or skip rows from one page to the
    next; a unique last key makes every ordering total. An unknown field is ignored (the default
    ordering applies), never an error.
    """

    def get_ordering(self, request, queryset, view) -> list[str] | None:
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            ordering = [*ordering, "pk"]
        return ordering


def _plausible(value: date | datetime | None) -> None:
    if value is not None and not is_plausible(value):
        raise ValidationError(implausible_message(value), code="implausible_date")


class PlausibleDateField(forms.DateField):
    def to_python(self, value) -> date | None:
        day = super().to_python(value)
        _plausible(day)
        return day


class PlausibleInstantField(filter_fields.IsoDateTimeField):
    """An ISO 8601 instant within the plausible range, in UTC."""

    def to_python(self, value) -> datetime | None:
        instant = super().to_python(value)
        if instant is None:
            return None
        # Checked on the instant as written, before any arithmetic on it can overflow.
        _plausible(instant.replace(tzinfo=None))
        return instant.astimezone(UTC)


class PlausibleDateRangeField(filter_fields.DateRangeField):
    def __init__(self, *args, **kwargs):
        filter_fields.RangeField.__init__(self, (PlausibleDateField(), PlausibleDateField()), *args, **kwargs)


class PlausibleInstantRangeField(filter_fields.RangeField):
    widget = filter_fields.DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((PlausibleInstantField(), PlausibleInstantField()), *args, **kwargs)


class DateRangeFilter(filters.DateFromToRangeFilter):
    field_class = PlausibleDateRangeField


class InstantRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    field_class = PlausibleInstantRangeField


class DayFilter(filters.DateFilter):
    field_class = PlausibleDateField


def on_date(field: str) -> DateRangeFilter:
    """``?<field>_after=`` / ``?<field>_before=`` as dates, both days included."""
    return DateRangeFilter(field_name=field, help_text=f"{field} from _after to _before, inclusive.")


def on_day(field: str) -> DateRangeFilter:
    """An instant ``field`` filtered by dates: whole days (UTC) included."""
    return DateRangeFilter(
        field_name=field, help_text=f"{field} from the day _after to the day _before, inclusive."
    )


def on_instant(field: str) -> InstantRangeFilter:
    """``?<field>_after=`` / ``?<field>_before=`` as ISO 8601 instants, both included."""
    return InstantRangeFilter(
        field_name=field, help_text=f"{field} from _after to _before (ISO 8601), inclusive."
    )
