"""The cloud cost columns of the community and hub lists, for those who read the cost figures.

The figures are the stored cost rollups' (docs/definitions.md "Cloud costs"): a hub's cost and a
community's cost and margin, summed over the last 12 complete months, the very months the
dashboard's "communities with a negative margin" list sums. The rollups belong to a consumer
(``opsite.kpis.costs``) and the lists to an app (``communities.admin``), and no app imports a
consumer: the consumer registers its reader here when it starts (:func:`set_cost_source`), as the
cash position's date is registered for the collection flags (``opsite.core.collection``).

The admin mixin reads them once per request (one query, whatever the list's length) and gives the
page's rows theirs as annotations, so the columns sort like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import admin
from django.db.models import Case, DecimalField, QuerySet, Value, When
from django.http import HttpRequest

from .admin import figure, on_changelist
from .formatting import format_money

# Who reads the cost figures: those who see them on the dashboard and may view the costs
# themselves (Finance and Leadership; Operations views the costs, not the dashboard).
COST_PERMISSIONS = ("communities.view_cloudcost", "funding.view_runwaysnapshot")
_CACHE = "_opsite_cost_figures"
_COLUMNS = "_opsite_cost_columns"
_AMOUNT = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class CostColumns:
    """Costs summed over ``months`` (periods such as ``"2026-01"``, oldest first), in ``currency``,
    by slug: each hub's cost, each community's cost and margin (recognized contract value less
    cost). A hub or community with nothing in those months is absent."""

    currency: str
    months: Sequence[str] = ()
    hub_cost: Mapping[str, Decimal] = field(default_factory=dict)
    community_cost: Mapping[str, Decimal] = field(default_factory=dict)
    community_margin: Mapping[str, Decimal] = field(default_factory=dict)


_cost_source: Callable[[], CostColumns] | None = None


def set_cost_source(source: Callable[[], CostColumns]) -> None:
    """Where the figures come from: the consumer storing the cost rollups calls this when it starts."""
    global _cost_source
    _cost_source = source


def cost_columns() -> CostColumns | None:
    """The figures from the registered source (one query), or None when there is none."""
    return _cost_source() if _cost_source is not None else None


def with_amounts(queryset: QuerySet, key: str, name: str, amounts: Mapping[str, Decimal]) -> QuerySet:
    """Annotate ``name``: the row's amount, matched by ``key`` (None when absent)."""
    whens = [
        When(**{key: value}, then=Value(amount, output_field=_AMOUNT)) for value, amount in amounts.items()
    ]
    if not whens:
        return queryset.annotate(**{name: Value(None, output_field=_AMOUNT)})
    return queryset.annotate(**{name: Case(*whens, default=Value(None), output_field=_AMOUNT)})


class CostColumnsMixin:
    """For the community and hub lists: cost columns for those holding :data:`COST_PERMISSIONS`.

    ``cost_columns_shown`` maps each column's annotation to the figures it reads (an attribute of
    :class:`CostColumns`) and its title; the admin's ``get_queryset`` passes its queryset through
    ``with_costs``. The columns come last, on the changelist only, in the place of
    ``cost_columns_replace``; their titles say the months are the last 12 complete ones (the
    dashboard names them).
    """

    cost_columns_shown: Mapping[str, tuple[str, str]] = {}
    # The columns they take the place of, so that the list still fits a laptop's screen (each is
    # also a filter or on the record's page).
    cost_columns_replace: Sequence[str] = ()

    def may_see_costs(self, request: HttpRequest) -> bool:
        return request.user.has_perms(COST_PERMISSIONS)

    def cost_figures(self, request: HttpRequest) -> CostColumns | None:
        """The figures, read once per request."""
        if not hasattr(request, _CACHE):
            setattr(request, _CACHE, cost_columns())
        return getattr(request, _CACHE)

    def with_costs(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The admin's queryset, each row with its cost annotations on the changelist."""
        if not on_changelist(self, request) or not self.may_see_costs(request):
            return queryset
        figures = self.cost_figures(request)
        for name, (source, _title) in self.cost_columns_shown.items():
            queryset = with_amounts(queryset, "slug", name, getattr(figures, source) if figures else {})
        return queryset

    def get_list_display(self, request):
        names = list(super().get_list_display(request))
        if not on_changelist(self, request) or not self.may_see_costs(request):
            return names
        kept = [name for name in names if name not in self.cost_columns_replace]
        return [*kept, *self._cost_column_list()]

    def _cost_column_list(self) -> list[Callable]:
        # Built once per admin: the changelist finds a column it may sort by by identity, in the
        # list display asked for again (``get_sortable_by``).
        columns = self.__dict__.get(_COLUMNS)
        if columns is None:
            columns = [cost_column(name, title) for name, (_source, title) in self.cost_columns_shown.items()]
            self.__dict__[_COLUMNS] = columns
        return columns


def cost_column(name: str, title: str) -> Callable:
    """The column showing the annotation ``name`` as whole money in the reporting currency,
    sortable by it; "-" for a row with nothing in the months."""

    def column(obj) -> str:
        amount = getattr(obj, name, None)
        return "-" if amount is None else figure(format_money(amount, None, whole=True))

    column.__name__ = f"{name}_column"
    return admin.display(description=title, ordering=name)(column)
