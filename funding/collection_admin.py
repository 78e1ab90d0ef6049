"""The grants changelist's collection flags (docs/definitions.md "Collection flags"): a "flags"
column and a "collection flag" filter.

The flags of every grant are worked out once per request, as of the latest cash position's date,
with the selector's own functions (``grant_records`` then ``flags_of``): two queries per page
whatever its rows, none per row. The page's grants carry theirs as an annotation (their flag codes,
matched by reference), which the column reads. Only those who may see the collection flags (the
disbursements and the cash position: Finance and Leadership) get the column and the filter;
Operations, who may view grants, does not.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Case, CharField, QuerySet, Value, When
from django.http import HttpRequest

from .collection import FlagCode, collection_as_of, flags_of, grant_records

FLAG_PERMISSIONS = ("funding.view_disbursement", "funding.view_cashposition")
_CACHE = "_opsite_grant_flags"


def may_see_flags(request: HttpRequest) -> bool:
    return request.user.has_perms(FLAG_PERMISSIONS)


def grant_flags(request: HttpRequest) -> dict[str, list[str]]:
    """Each flagged grant's flag codes by reference, once per request (two queries)."""
    cached = getattr(request, _CACHE, None)
    if cached is None:
        as_of = collection_as_of()
        cached = {}
        if as_of is not None:
            for record in grant_records(as_of):
                codes = [flag.flag for flag in flags_of(record, as_of)]
                if codes:
                    cached[record.key] = codes
        setattr(request, _CACHE, cached)
    return cached


def with_flag_codes(queryset: QuerySet, flags: dict[str, list[str]]) -> QuerySet:
    """Annotate ``flag_codes``, the grant's flag codes joined by commas ("" when none)."""
    whens = [When(reference=key, then=Value(",".join(codes))) for key, codes in flags.items()]
    if not whens:
        return queryset.annotate(flag_codes=Value("", output_field=CharField()))
    return queryset.annotate(flag_codes=Case(*whens, default=Value(""), output_field=CharField()))


def flags_text(codes: str) -> str:
    """``Overdue; Schedule incomplete``, or an empty string."""
    return "; ".join(str(FlagCode(code).label) for code in codes.split(",") if code)


class CollectionFlagFilter(admin.SimpleListFilter):
    title = "collection flag"
    parameter_name = "collection_flag"

    def lookups(self, request, model_admin):
        return [("any", "Any flag"), *FlagCode.choices]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        flags = grant_flags(request)
        wanted = [key for key, codes in flags.items() if self.value() == "any" or self.value() in codes]
        return queryset.filter(reference__in=wanted)
