"""A changelist's collection flags (docs/definitions.md "Collection flags"): a "flags" column and a
"collection flag" filter, for the contracts and the grants alike.

The flags of every record of the model are worked out once per request, as of the latest cash
position's date, with the kernel's rules (:func:`opsite.core.collection.flags_of`) over the app's
own reading of its records (``flag_records``): two queries per page whatever its rows, none per
row. The page's records carry theirs as an annotation (their flag codes, matched by key), which the
column reads. Only those holding ``flag_permissions`` (what the flags reveal: the rows collected
and the cash position's date; Finance and Leadership) get the column and the filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.contrib import admin
from django.db.models import Case, CharField, QuerySet, Value, When
from django.http import HttpRequest

from .admin import on_changelist
from .collection import CollectionRecord, FlagCode, collection_as_of, flag_codes_by_key

_CACHE = "_opsite_collection_flags"


def with_flag_codes(queryset: QuerySet, key: str, flags: dict[str, list[str]]) -> QuerySet:
    """Annotate ``flag_codes``, the record's flag codes joined by commas ("" when none)."""
    whens = [When(**{key: value}, then=Value(",".join(codes))) for value, codes in flags.items()]
    if not whens:
        return queryset.annotate(flag_codes=Value("", output_field=CharField()))
    return queryset.annotate(flag_codes=Case(*whens, default=Value(""), output_field=CharField()))


def flags_text(codes: str) -> str:
    """``Overdue; Schedule incomplete``, or an empty string."""
    return "; ".join(str(FlagCode(code).label) for code in codes.split(",") if code)


class CollectionFlagFilter(admin.SimpleListFilter):
    title = "collection flag"
    parameter_name = "collection_flag"

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [("any", "Any flag"), *FlagCode.choices]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        flags = self.model_admin.flag_codes(request)
        wanted = [key for key, codes in flags.items() if self.value() == "any" or self.value() in codes]
        return queryset.filter(**{f"{self.model_admin.flag_key}__in": wanted})


class CollectionFlagsMixin:
    """For a ModelAdmin of records that are owed money: the flags column and filter.

    ``flag_records(as_of)`` reads the model's records (the app's own query); the admin's
    ``get_queryset`` passes its queryset through ``with_flags``; ``flag_key`` is the field their
    ``key`` is; ``flag_permissions`` what a user needs to see them; the column takes
    the place of ``flags_replace`` in the list, so that it still fits a laptop's screen.
    """

    flag_key = "reference"
    flag_permissions: Sequence[str] = ()
    flags_replace = "probability_figure"

    def flag_records(self, as_of: date) -> list[CollectionRecord]:
        raise NotImplementedError

    def may_see_flags(self, request: HttpRequest) -> bool:
        return request.user.has_perms(self.flag_permissions)

    def flag_codes(self, request: HttpRequest) -> dict[str, list[str]]:
        """Each flagged record's flag codes by key, once per request (two queries)."""
        cached = getattr(request, _CACHE, None)
        if cached is None:
            as_of = collection_as_of()
            cached = {} if as_of is None else flag_codes_by_key(self.flag_records(as_of), as_of)
            setattr(request, _CACHE, cached)
        return cached

    def with_flags(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The admin's queryset, each record with its ``flag_codes`` on the changelist (the
        admin's ``get_queryset`` calls this last)."""
        if not on_changelist(self, request) or not self.may_see_flags(request):
            return queryset
        return with_flag_codes(queryset, self.flag_key, self.flag_codes(request))

    def get_list_display(self, request):
        names = list(super().get_list_display(request))
        if not self.may_see_flags(request):
            return names
        return [*(name for name in names if name != self.flags_replace), "flags_column"]

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        return (*filters, CollectionFlagFilter) if self.may_see_flags(request) else filters

    @admin.display(description="flags")
    def flags_column(self, obj) -> str:
        return flags_text(getattr(obj, "flag_codes", ""))
