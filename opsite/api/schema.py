"""The OpenAPI side of the API: the schema at ``/api/schema/``, the browsable docs at ``/api/docs/``,
and the shapes of the public KPI API's answers, which its views render from stored JSON rather
than through serializers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import get_urlconf
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from opsite.periods import INTERVALS
from opsite.rollups import METRICS

# Generated schemas by (API version, language, URL conf). A handful at most: past this many
# (odd ?version= or ?lang= values) a schema is generated and served without being kept.
_SCHEMAS: dict[tuple[Any, ...], dict[str, Any]] = {}
_MAX_KEPT = 8


@receiver(setting_changed)
def _forget_schemas(**kwargs: Any) -> None:
    # A test that changes the settings (the URL conf, the installed apps) must see them applied.
    _SCHEMAS.clear()


class ApiSchemaView(SpectacularAPIView):
    """The schema, generated once per process.

    It is the same for every caller (``SERVE_PUBLIC``) and changes only with a deployment, while
    generating it walks every view and serializer: a second or two of CPU that anyone may ask for,
    since the schema is public.
    """

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language(), get_urlconf() or settings.ROOT_URLCONF)
        schema = _SCHEMAS.get(key)
        if schema is None:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            schema = generator.get_schema(request=request, public=self.serve_public)
            if len(_SCHEMAS) < _MAX_KEPT:
                _SCHEMAS[key] = schema
        filename = self._get_filename(request, version)
        return Response(data=schema, headers={"Content-Disposition": f'inline; filename="{filename}"'})


class ApiDocsView(SpectacularSwaggerView):
    """drf-spectacular's Swagger UI page, with its assets served by this site (the sidecar)."""

    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        # The page renders every answer through an HTML template, and DRF's OPTIONS metadata has
        # none (a 500): answer with the allowed methods only.
        return HttpResponse(headers={"Allow": ", ".join(self.allowed_methods)})


# --- the public API's answers (opsite.api.public renders stored JSON; these describe it) -----------


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
    """The KPI block (DESIGN.md "Public KPI API")."""

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
