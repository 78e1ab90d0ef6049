"""Filter backends shared by every CRUD API."""

from __future__ import annotations

from rest_framework.filters import OrderingFilter


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
