"""FilterSets of the contributions CRUD API: one per model.

Relations filter by natural key (``?upstream_community=<slug>``, ``?repository=<org/name>``,
``?author=<staff slug>``); instants by range (``?merged_at_after=2024-01-01&merged_at_before=...``,
whole days, both inclusive); choices and flags by value. A malformed value (a bad date, an
unknown choice) is a 400 naming the parameter.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from opsite.core.api.filters import on_day

from ..models import PullRequest, Repository, SyncRun, UpstreamCommunity


class UpstreamCommunityFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = UpstreamCommunity
        fields = ("is_key",)


class RepositoryFilter(filters.FilterSet):
    upstream_community = filters.CharFilter(
        field_name="upstream_community__slug", help_text="The upstream community's slug."
    )
    org = filters.CharFilter(method="filter_org", help_text="The GitHub organization (any case).")
    unassigned = filters.BooleanFilter(
        field_name="upstream_community", lookup_expr="isnull", help_text="Has no upstream community."
    )

    class Meta:
        model = Repository
        fields = ()

    def filter_org(self, queryset: QuerySet[Repository], name: str, value: str) -> QuerySet[Repository]:
        return queryset.filter(full_name__istartswith=f"{value}/")


class PullRequestFilter(filters.FilterSet):
    repository = filters.CharFilter(
        field_name="repository__full_name", lookup_expr="iexact", help_text="The repository, org/name."
    )
    upstream_community = filters.CharFilter(
        field_name="repository__upstream_community__slug", help_text="The upstream community's slug."
    )
    author = filters.CharFilter(field_name="author__slug", help_text="The staff member's slug.")
    author_login = filters.CharFilter(lookup_expr="iexact", help_text="The GitHub login (any case).")
    merged = filters.BooleanFilter(
        field_name="merged_at", lookup_expr="isnull", exclude=True, help_text="Merged (true) or not."
    )
    by_staff = filters.BooleanFilter(
        field_name="author", lookup_expr="isnull", exclude=True, help_text="Authored by a staff member."
    )
    created_at = on_day("created_at")
    merged_at = on_day("merged_at")

    class Meta:
        model = PullRequest
        fields = ("is_bot",)


class SyncRunFilter(filters.FilterSet):
    started_at = on_day("started_at")

    class Meta:
        model = SyncRun
        fields = ("source", "status")
