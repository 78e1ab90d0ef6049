"""Reads of upstream communities, repositories and pull requests, for the admin and the API."""

from __future__ import annotations

from django.db.models import Count, F, IntegerField, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from .models import PullRequest, Repository, UpstreamCommunity


def _per(queryset: QuerySet, group: str, aggregate) -> Subquery:
    """One aggregate of ``queryset`` per outer row, as a correlated subquery.

    Subqueries rather than joins: each figure stays right when the admin adds joins of its own
    for search and filters, and no GROUP BY spans the outer query.
    """
    return Subquery(queryset.order_by().values(group).annotate(value=aggregate).values("value")[:1])


def _count(queryset: QuerySet, group: str) -> Coalesce:
    return Coalesce(_per(queryset, group, Count("pk")), Value(0), output_field=IntegerField())


def with_upstream_community_figures(queryset: QuerySet[UpstreamCommunity]) -> QuerySet[UpstreamCommunity]:
    """Annotate ``repository_count`` and ``merged_pull_request_count``."""
    of_community = "repository__upstream_community"
    return queryset.annotate(
        repository_count=_count(
            Repository.objects.filter(upstream_community=OuterRef("pk")), "upstream_community"
        ),
        merged_pull_request_count=_count(
            PullRequest.objects.filter(**{of_community: OuterRef("pk")}, merged_at__isnull=False),
            of_community,
        ),
    )


def upstream_community_list() -> QuerySet[UpstreamCommunity]:
    """Every upstream community, by name, with its repository and merged pull request counts."""
    return with_upstream_community_figures(UpstreamCommunity.objects.all()).order_by("name", "slug")


def with_repository_figures(queryset: QuerySet[Repository]) -> QuerySet[Repository]:
    """Annotate ``pull_request_count``, ``merged_pull_request_count`` and ``last_merged_at``."""
    pull_requests = PullRequest.objects.filter(repository=OuterRef("pk"))
    merged = pull_requests.filter(merged_at__isnull=False)
    return queryset.annotate(
        pull_request_count=_count(pull_requests, "repository"),
        merged_pull_request_count=_count(merged, "repository"),
        last_merged_at=_per(merged, "repository", Max("merged_at")),
    )


def repository_list() -> QuerySet[Repository]:
    """Every repository, by name, with its community and pull request figures."""
    return with_repository_figures(Repository.objects.select_related("upstream_community")).order_by(
        "full_name", "pk"
    )


def pull_request_list() -> QuerySet[PullRequest]:
    """Pull requests, latest merge first (open ones last on every database)."""
    return PullRequest.objects.select_related("repository__upstream_community", "author").order_by(
        F("merged_at").desc(nulls_last=True), "repository__full_name", "number"
    )
