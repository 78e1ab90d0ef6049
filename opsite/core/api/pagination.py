"""Limit/offset pagination with a ceiling, refusing unordered querysets."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.pagination import LimitOffsetPagination


class OpsitePagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def paginate_queryset(self, queryset, request, view=None):
        # Offsets over an unordered queryset can repeat or skip rows between pages.
        if hasattr(queryset, "ordered") and not queryset.ordered:
            raise ImproperlyConfigured(f"{view.__class__.__name__} paginates an unordered queryset")
        return super().paginate_queryset(queryset, request, view)
