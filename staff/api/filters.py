"""FilterSets of the staff CRUD API: one per model.

Relations filter by natural key (``?staff=<slug>``); dates by range (``?<field>_after=`` /
``?<field>_before=``, both inclusive); choices and flags by value. A malformed value (a bad date,
an unknown choice) is a 400 naming the parameter.

Pay is sensitive (docs/roles.md "What is sensitive"): the staff-member filters say nothing of compensation, so
no one who may read the roster but not pay can probe pay through them; pay filters exist only
on the compensation resource, which such a reader cannot reach.
"""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from opsite.core.api.filters import DayFilter, on_date

from ..models import Compensation, StaffMember
from ..selectors import employed_on_q


class StaffMemberFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    github = filters.CharFilter(lookup_expr="iexact", help_text="The GitHub login (any case).")
    start_on = on_date("start_on")
    end_on = on_date("end_on")
    employed_on = DayFilter(
        method="filter_employed_on", help_text="Employed on this day: started, and not yet ended."
    )

    class Meta:
        model = StaffMember
        fields = ("team", "employment", "country", "distinguished_contributor")

    def filter_employed_on(
        self, queryset: QuerySet[StaffMember], name: str, value: date
    ) -> QuerySet[StaffMember]:
        return queryset.filter(employed_on_q(value))


class CompensationFilter(filters.FilterSet):
    staff = filters.CharFilter(field_name="staff__slug", help_text="The staff member's slug.")
    effective_on = on_date("effective_on")

    class Meta:
        model = Compensation
        fields = ("currency",)
