"""Viewsets of the contributions CRUD API, mounted at ``/api/v1/contributions/``.

Thin: the rows come from ``contributions.selectors`` (so a list costs the same few queries
whatever its length), creates, updates and deletes go through the model's ``ModelWrites`` in
``contributions.services`` (the same rules and messages as the admin and the GitHub importer), and
``RolePermission`` applies docs/roles.md: Operations and Finance keep upstream communities,
repositories and pull requests, Leadership reads them. The importer's run log is read-only.
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from opsite.core.api.filters import StableOrderingFilter
from opsite.core.api.parsers import BatchJSONParser
from opsite.core.api.permissions import CanUpsert, RolePermission
from opsite.core.api.viewsets import (
    BATCH_MAX_ROWS,
    ID,
    SLUG,
    ReadBackServiceModelViewSet,
    batch_rows,
)

from .. import selectors, services
from ..models import SyncRun
from . import filters, serializers


class ContributionsViewSet(ReadBackServiceModelViewSet):
    """The shared base: filter backends, and answers rendered from the selector's row.

    A service returns the bare model instance; the response is rendered from the row read again
    through the viewset's queryset, so a create or an update answers with the same computed
    columns (counts) as a retrieve.
    """


class UpstreamCommunityViewSet(ContributionsViewSet):
    queryset = selectors.upstream_community_list()
    serializer_class = serializers.UpstreamCommunitySerializer
    filterset_class = filters.UpstreamCommunityFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = [
        "slug",
        "name",
        "is_key",
        "repository_count",
        "merged_pull_request_count",
        "created_at",
        "updated_at",
    ]
    ordering = ["name", "slug"]


# The path parameter holds a slash, which OpenAPI path parameters cannot promise (clients and
# fuzzers encode or refuse it), so the schema describes it in words rather than by a pattern.
FULL_NAME_IN_PATH = extend_schema(
    parameters=[
        OpenApiParameter(
            "full_name",
            str,
            OpenApiParameter.PATH,
            description="The repository as org/name, in any letter case; the slash as is or as %2F.",
        )
    ]
)


@extend_schema_view(
    retrieve=FULL_NAME_IN_PATH,
    update=FULL_NAME_IN_PATH,
    partial_update=FULL_NAME_IN_PATH,
    destroy=FULL_NAME_IN_PATH,
)
class RepositoryViewSet(ContributionsViewSet):
    """Repositories at ``/repositories/<org>/<name>/``; the name matches in any letter case."""

    queryset = selectors.repository_list()
    serializer_class = serializers.RepositorySerializer
    filterset_class = filters.RepositoryFilter
    lookup_field = "full_name__iexact"
    lookup_url_kwarg = "full_name"
    # org/name: one slash, and dots are common in repository names (jupyter/jupyter.github.io).
    lookup_value_regex = r"[^/\x00-\x1f]+/[^/\x00-\x1f]+"
    ordering_fields = [
        "full_name",
        "pull_request_count",
        "merged_pull_request_count",
        "last_merged_at",
        "created_at",
        "updated_at",
    ]
    ordering = ["full_name"]


class PullRequestViewSet(ContributionsViewSet):
    queryset = selectors.pull_request_list()
    serializer_class = serializers.PullRequestSerializer
    filterset_class = filters.PullRequestFilter
    ordering_fields = [
        "id",
        "repository__full_name",
        "number",
        "author_login",
        "created_at",
        "merged_at",
        "recorded_at",
        "updated_at",
    ]
    # No ``ordering`` attribute: without ?ordering= the selector's own order holds (latest merge
    # first, open pull requests last on every database).

    @extend_schema(
        summary="Create or update many pull requests at once, all or nothing",
        description=(
            f"A JSON list of at most {BATCH_MAX_ROWS} rows, each a pull request identified by "
            "(repository, number): new ones are created, changed ones updated, the rest left "
            "alone; unknown repositories are created under the upstream community of their org. "
            "One bad row (a field the row does not have included) and nothing is written: the "
            "answer is a 400 whose keys are the fields at fault and whose messages name each bad "
            "row by its index in the list (from 0). A body over OPSITE_BATCH_JSON_MAX_BYTES "
            "(16 MiB by default) is refused with a 413."
        ),
        request=serializers.PullRequestBatchRowSerializer(many=True),
        responses={
            200: serializers.PullRequestBatchResultSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='Nothing written: {field: ["row <index>: <reason>", ...]}.',
                examples=[
                    OpenApiExample(
                        "A bad row",
                        value={"created_at": ["row 3: '2024-13-01' is not an ISO 8601 date and time."]},
                    )
                ],
            ),
        },
    )
    @action(detail=False, methods=["post"], permission_classes=[CanUpsert], parser_classes=[BatchJSONParser])
    def batch(self, request: Request, format: str | None = None) -> Response:
        # ``format`` comes from the router's suffix route (batch.json).
        rows = batch_rows(request.data, row_serializer=serializers.PullRequestBatchRowSerializer)
        result = services.pull_requests_upsert(rows=rows)
        return Response(
            serializers.PullRequestBatchResultSerializer(
                {
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "repositories_created": result.repositories_created,
                    "unknown_logins": result.unknown_logins,
                }
            ).data
        )


class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    """The GitHub importer's runs, newest first: written by the importer only."""

    permission_classes = [RolePermission]
    queryset = SyncRun.objects.order_by("-started_at", "-id")
    serializer_class = serializers.SyncRunSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = filters.SyncRunFilter
    lookup_value_regex = ID
    ordering_fields = ["id", "started_at", "finished_at", "status", "fetched"]
