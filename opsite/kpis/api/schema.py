"""The shapes of the public KPI API's answers, which its views render from stored JSON rather
than through serializers (for the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from opsite.core.periods import INTERVALS
from opsite.kpis.rollups import METRICS


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string", "format": "decimal"}]},
)
class Figure(serializers.Field):
    """A count (an integer) or an amount of money (a decimal string such as ``"1250000.00"``)."""

    def to_representation(self, value: Any) -> Any:
        return value


def Money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True, **kwargs)


class KpiCommunitiesSerializer(serializers.Serializer):
    active = serializers.IntegerField(help_text="Communities with an active hub on the as-of day.")
    historically_marginalized = serializers.IntegerField()
    countries = serializers.IntegerField(help_text="Distinct countries of the active communities.")


class KpiHubsSerializer(serializers.Serializer):
    active = serializers.IntegerField()


class KpiUsersSerializer(serializers.Serializer):
    monthly_active = serializers.IntegerField()
    weekly_active = serializers.IntegerField()
    daily_active = serializers.IntegerField()


class KpiContributionsSerializer(serializers.Serializer):
    merged_pull_requests = serializers.IntegerField()
    repositories = serializers.IntegerField()
    since = serializers.DateField(help_text="The counts run from this day to the as-of day.")


class KpiStaffSerializer(serializers.Serializer):
    headcount = serializers.IntegerField()
    fte = Money(help_text="Full-time equivalents, a decimal string.")


class KpisSerializer(serializers.Serializer):
    """The KPI block (docs/api.md "Public KPI API")."""

    as_of = serializers.DateField()
    communities = KpiCommunitiesSerializer()
    hubs = KpiHubsSerializer()
    users = KpiUsersSerializer()
    contributions = KpiContributionsSerializer()
    staff = KpiStaffSerializer()


class SeriesPointSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="2024-03, 2024-Q1 or 2024.")
    start = serializers.DateField()
    end = serializers.DateField()
    value = Figure()
    groups = serializers.DictField(
        child=Figure(),
        help_text="The value broken down: active communities by historically_marginalized / other, "
        "pull requests by upstream community, headcount by team.",
    )
    repositories = serializers.IntegerField(
        required=False, help_text="merged-pull-requests: distinct repositories in the period."
    )
    fte = Money(required=False, help_text="headcount: full-time equivalents.")
    net = Money(required=False, help_text="funding: the amount net of subawards passed on.")
    net_groups = serializers.DictField(child=Money(), required=False, help_text="funding: net by category.")
    total_value = Money(required=False, help_text="contracts: the total value signed in the period.")
    total_value_groups = serializers.DictField(
        child=Money(), required=False, help_text="contracts: the total value by category."
    )


class SeriesSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=list(METRICS))
    interval = serializers.ChoiceField(choices=list(INTERVALS))
    points = SeriesPointSerializer(many=True)


class BadgeSerializer(serializers.Serializer):
    """The shields.io endpoint-badge schema."""

    # camelCase: the names of the shields.io schema.
    schemaVersion = serializers.IntegerField(help_text="Always 1.")
    label = serializers.CharField()
    message = serializers.CharField()
    color = serializers.CharField()
    cacheSeconds = serializers.IntegerField()


class PublicErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


PUBLIC_ERRORS = {
    304: OpenApiResponse(description="Not modified: the If-None-Match header names the current ETag."),
    400: OpenApiResponse(PublicErrorSerializer, description="A malformed or unknown parameter."),
    429: OpenApiResponse(PublicErrorSerializer, description="Too many requests; see Retry-After."),
}
# Only before the first recompute (or the first after an upgrade) has stored the KPI blocks.
NOT_STORED = OpenApiResponse(
    PublicErrorSerializer,
    description="The figures are not stored yet (no recompute has stored them); see Retry-After.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier answer: 304 with no body while the figures are unchanged.",
)


DATA_FILES_PATH = "/api/v1/public/data/"
# The keys of a series point that only the funding and contract metrics have.
FUNDING_POINT_KEYS = ("net", "net_groups", "total_value", "total_value_groups")


def _without_funding(node: Any, funding: set[str], public_names: set[str]) -> None:
    if isinstance(node, dict):
        enum = node.get("enum")
        # A metric enum (it names the public metrics): the unpublished ones are left out.
        if isinstance(enum, list) and public_names <= set(enum):
            node["enum"] = [value for value in enum if value not in funding]
            # drf-spectacular lists an enum's values in its description too ("* `funding` - ...").
            if isinstance(node.get("description"), str):
                node["description"] = "\n".join(
                    line
                    for line in node["description"].split("\n")
                    if not any(line.startswith(f"* `{name}`") for name in funding)
                )
        properties = node.get("properties")
        if isinstance(properties, dict) and {"period", "value", "groups"} <= properties.keys():
            for key in FUNDING_POINT_KEYS:
                properties.pop(key, None)
        for value in node.values():
            _without_funding(value, funding, public_names)
    elif isinstance(node, list):
        for value in node:
            _without_funding(value, funding, public_names)


def only_what_this_site_publishes(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A schema postprocessing hook: what this site does not publish is not documented at all.

    While ``OPSITE_PUBLIC_FUNDING`` is off, the metrics ``funding`` and ``contracts`` and their
    keys; while ``OPSITE_PUBLIC_HUB_DATA`` is off, the data files.
    """
    if not settings.OPSITE_PUBLIC_HUB_DATA:
        for path in [path for path in result.get("paths", {}) if path.startswith(DATA_FILES_PATH)]:
            del result["paths"][path]
    if not settings.OPSITE_PUBLIC_FUNDING:
        funding = {name for name, metric in METRICS.items() if metric.funding}
        _without_funding(result, funding, set(METRICS) - funding)
    return result
