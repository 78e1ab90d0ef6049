"""Viewsets of the communities CRUD API, mounted at ``/api/v1/communities/``.

Thin: the rows come from ``communities.selectors`` (so a list costs the same few queries
whatever its length), writes go through the models' ``ModelWrites`` in ``communities.services``
(the same rules, messages and derived fields as the admin and the importers), and
``RolePermission`` applies docs/roles.md: Operations and Finance keep networks, communities, hubs
and usage, Leadership reads them. The usage importer's settings (Prometheus sources) and its
cluster figures have their own permissions, and so have the cloud costs and their sources
(Finance keeps them; Operations and Leadership read them).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from opsite.core.api.filters import StableOrderingFilter
from opsite.core.api.parsers import BatchJSONParser
from opsite.core.api.permissions import CanUpsert, RolePermission
from opsite.core.api.viewsets import BATCH_MAX_ROWS, ID, SLUG, ReadBackServiceModelViewSet, batch_rows

from .. import selectors, services
from ..models import ClusterUsage, CostSource, PrometheusSource
from . import filters, serializers


class CommunitiesViewSet(ReadBackServiceModelViewSet):
    """The shared base: filter backends, and answers rendered from the selector's row.

    A service returns the bare model instance; the response is rendered from the row read again
    through the viewset's queryset, so a create or an update answers with the same computed
    columns (counts, latest usage) as a retrieve.
    """


class NetworkViewSet(CommunitiesViewSet):
    queryset = selectors.network_list()
    serializer_class = serializers.NetworkSerializer
    filterset_class = filters.NetworkFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = ["slug", "name", "community_count", "created_at", "updated_at"]
    ordering = ["name", "slug"]


class CommunityViewSet(CommunitiesViewSet):
    serializer_class = serializers.CommunitySerializer
    filterset_class = filters.CommunityFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = [
        "slug",
        "name",
        "kind",
        "country",
        "region",
        "joined_on",
        "left_on",
        "historically_marginalized",
        "hub_count",
        "live_hub_count",
        "created_at",
        "updated_at",
    ]
    ordering = ["name", "slug"]

    def get_queryset(self) -> QuerySet:
        # Per request: the live-hub count is as of today, which a class attribute would freeze.
        return selectors.community_list()


class HubViewSet(CommunitiesViewSet):
    serializer_class = serializers.HubSerializer
    filterset_class = filters.HubFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = [
        "slug",
        "name",
        "community__slug",
        "cluster",
        "provider",
        "kind",
        "launched_on",
        "retired_on",
        "latest_30d_users",
        "created_at",
        "updated_at",
    ]
    ordering = ["slug"]

    def get_queryset(self) -> QuerySet:
        # Per request: the latest usage is as of today, which a class attribute would freeze.
        return selectors.hub_list()


class ActiveUserCountViewSet(CommunitiesViewSet):
    queryset = selectors.active_user_count_list()
    serializer_class = serializers.ActiveUserCountSerializer
    filterset_class = filters.ActiveUserCountFilter
    ordering_fields = ["id", "hub__slug", "date", "period", "active_users", "created_at", "updated_at"]
    ordering = ["hub__slug", "-date", "period"]

    @extend_schema(
        summary="Record many active-user samples at once, all or nothing",
        description=(
            f"A JSON list of at most {BATCH_MAX_ROWS} rows, each a sample identified by (hub, date, "
            "period): new ones are created, changed ones updated, the rest left alone. One bad "
            "row (a field the row does not have included) and nothing is written: the answer is a "
            "400 whose keys are the fields at fault and whose messages name each bad row by its "
            "index in the list (from 0). A body over OPSITE_BATCH_JSON_MAX_BYTES (16 MiB by "
            "default) is refused with a 413."
        ),
        request=serializers.ActiveUserCountBatchRowSerializer(many=True),
        responses={
            200: serializers.BatchResultSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='Nothing written: {field: ["row <index>: <reason>", ...]}.',
                examples=[
                    OpenApiExample("A bad row", value={"hub": ["row 2: no hub with slug 'nope'."]}),
                ],
            ),
        },
    )
    @action(detail=False, methods=["post"], permission_classes=[CanUpsert], parser_classes=[BatchJSONParser])
    def batch(self, request: Request, format: str | None = None) -> Response:
        # ``format`` comes from the router's suffix route (batch.json).
        # The service asks for the rollup recompute when it wrote anything.
        rows = batch_rows(request.data, row_serializer=serializers.ActiveUserCountBatchRowSerializer)
        result = services.active_user_counts_upsert(rows=rows)
        return Response(
            serializers.BatchResultSerializer(
                {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
            ).data
        )


class PrometheusSourceViewSet(CommunitiesViewSet):
    """Where the usage importer reads each cluster's metrics; secrets stay in the environment."""

    queryset = PrometheusSource.objects.order_by("cluster")
    serializer_class = serializers.PrometheusSourceSerializer
    filterset_class = filters.PrometheusSourceFilter
    lookup_field = "cluster"
    # Free text: anything but a slash, a dot (the format suffix) or a control character.
    lookup_value_regex = r"[^/.\x00-\x1f]+"
    ordering_fields = ["cluster", "enabled", "created_at", "updated_at"]
    ordering = ["cluster"]


class ClusterUsageViewSet(viewsets.ReadOnlyModelViewSet):
    """Unique users per cluster, as the usage importer recorded them."""

    permission_classes = [RolePermission]
    queryset = ClusterUsage.objects.order_by("cluster", "-date")
    serializer_class = serializers.ClusterUsageSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = filters.ClusterUsageFilter
    lookup_value_regex = ID
    ordering_fields = ["id", "cluster", "date", "unique_users"]
    ordering = ["cluster", "-date"]


class CostSourceViewSet(CommunitiesViewSet):
    """Where the cloud cost importer reads each cluster's costs; secrets stay in the environment."""

    queryset = CostSource.objects.order_by("cluster")
    serializer_class = serializers.CostSourceSerializer
    filterset_class = filters.CostSourceFilter
    lookup_field = "cluster"
    # Free text: anything but a slash, a dot (the format suffix) or a control character.
    lookup_value_regex = r"[^/.\x00-\x1f]+"
    ordering_fields = ["cluster", "enabled", "created_at", "updated_at"]
    ordering = ["cluster"]


class CloudCostViewSet(CommunitiesViewSet):
    """A cluster's daily cost per component, a hub's or no hub's; Finance keeps them."""

    queryset = selectors.cloud_cost_list()
    serializer_class = serializers.CloudCostSerializer
    filterset_class = filters.CloudCostFilter
    lookup_value_regex = ID
    ordering_fields = [
        "id",
        "date",
        "cluster",
        "hub__slug",
        "component",
        "amount",
        "created_at",
        "updated_at",
    ]
    ordering = ["-date", "cluster", "component", "id"]
