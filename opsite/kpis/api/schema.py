"""The shapes of the public KPI API's answers, which its views render from stored JSON rather
than through serializers (for the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

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
        "pull requests by upstream community, headcount by team, funding and contracts by category.",
    )
    repositories = serializers.IntegerField(
        required=False, help_text="merged-pull-requests: distinct repositories in the period."
    )
    fte = Money(required=False, help_text="headcount: full-time equivalents.")
    net = Money(required=False, help_text="funding: the amount net of subawards passed on.")
    net_groups = serializers.DictField(child=Money(), required=False)
    total_value = Money(required=False, help_text="contracts: the total value signed in the period.")
    total_value_groups = serializers.DictField(child=Money(), required=False)


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
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier answer: 304 with no body while the figures are unchanged.",
)
