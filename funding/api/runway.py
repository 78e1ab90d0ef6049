"""The runway API (docs/api.md "Runway API"): Finance, Leadership and superusers only.

``GET runway/?scenario=<slug>`` answers the scenario's latest stored snapshot; it never computes
one on the spot (a projection is a write, and a GET must stay cheap and safe). With no snapshot yet
it answers 404 saying how to ask for one: ``POST runway/recompute/``, which enqueues the recompute of
every scenario and answers 202 with the task id, or status ``pending`` when the broker cannot be
reached (the enqueue is bounded in time, and the recompute stays recorded as owed).

Who may not see the runway gets 401/403 with DRF's generic message: no figure, no scenario name.

A snapshot is served as it was stored. One computed before a key was added (an indicator's
``target`` and ``needed``, the two revenue indicators, a period's ``committed_in``/``weighted_in``,
the ``usage_fees`` and ``fiscal_sponsor_fee`` sources, ``monte_carlo``, ``unrestricted``) gets that
key as null: the shape is the same for every snapshot, and nothing is made up for the past.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opsite.core.recompute import RUNWAY, enqueue_recompute

from ..runway.engine import HEALTH_INDICATORS, IN_SOURCES, OUT_SOURCES, REVENUE_INDICATORS
from ..runway.montecarlo import CHANCE_HORIZONS
from ..runway.snapshots import runway_latest, runway_scenario

RUNWAY_PERMISSION = "funding.view_runwaysnapshot"


class CanSeeRunway(BasePermission):
    """The runway is sensitive: only roles that may view runway snapshots (docs/roles.md)."""

    message = "You do not have permission to see the runway."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(RUNWAY_PERMISSION))


# --- response shapes ------------------------------------------------------------------------------
# Output only: they render a snapshot's stored JSON in the order docs/api.md shows (PostgreSQL's jsonb
# does not keep key order) and describe it in the OpenAPI schema.


def Money(**kwargs: Any) -> serializers.DecimalField:
    """A money figure: a decimal string with two places, e.g. "1850000.00"."""
    return serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True, **kwargs)


class RunwayIndicatorSerializer(serializers.Serializer):
    value = Money(allow_null=True, help_text="Two decimals; null when it has no finite value.")
    status = serializers.ChoiceField(choices=["red", "yellow", "green", "over"])
    target = Money(
        allow_null=True,
        help_text="The boundary of the next better band; null when green or over, and in snapshots "
        "computed before targets were kept.",
    )
    needed = Money(
        allow_null=True,
        help_text="What reaches the target: the extra committed revenue a month (committed runway, "
        "cost and pipeline coverage), the extra cash (cash reserve), or the amount still to collect "
        "(invoice collection); null when there is no target or no amount reaches it, and for "
        "customer concentration.",
    )


class RunwayIndicatorsSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        # The indicators added later are null in snapshots computed before them.
        return {
            **{name: RunwayIndicatorSerializer() for name in HEALTH_INDICATORS},
            **{name: RunwayIndicatorSerializer(allow_null=True) for name in REVENUE_INDICATORS},
        }


# The sources every snapshot has; those added later are null in snapshots computed before them.
FIRST_IN_SOURCES = ("contracts", "grants", "adjustments")
FIRST_OUT_SOURCES = ("payroll", "expenses", "subawards", "adjustments")


class RunwayInBySourceSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {source: Money(allow_null=source not in FIRST_IN_SOURCES) for source in IN_SOURCES}


class RunwayOutBySourceSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {source: Money(allow_null=source not in FIRST_OUT_SOURCES) for source in OUT_SOURCES}


class RunwayPeriodSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        # Built here rather than as class attributes because "in" is a Python keyword.
        return {
            "start": serializers.DateField(),
            "end": serializers.DateField(),
            "opening": Money(),
            "in": Money(),
            "out": Money(),
            "closing": Money(),
            "in_by_source": RunwayInBySourceSerializer(),
            "out_by_source": RunwayOutBySourceSerializer(),
            "committed_in": Money(
                allow_null=True,
                help_text="The committed inflow of the period (signed contracts, awarded grants; no "
                "pipeline, no adjustments); null in snapshots computed before it was kept.",
            ),
            "weighted_in": Money(
                allow_null=True,
                help_text="The inflow under weighted pipeline, adjustments included; null in "
                "snapshots computed before it was kept.",
            ),
        }


class MonteCarloRunwaySerializer(serializers.Serializer):
    p10 = Money(allow_null=True, help_text="Null: that share of draws lasts beyond the horizon.")
    p50 = Money(allow_null=True)
    p90 = Money(allow_null=True)


class ChanceOutWithinSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        # Keys are month counts ("6", "12", ...), not identifiers.
        return {
            str(months): serializers.DecimalField(
                max_digits=4,
                decimal_places=3,
                coerce_to_string=True,
                help_text=f"The share of draws whose cash falls below the reserve within {months} months.",
            )
            for months in CHANCE_HORIZONS
        }


class FanPeriodSerializer(serializers.Serializer):
    end = serializers.DateField()
    p10 = Money()
    p50 = Money()
    p90 = Money()
    mean = Money()
    committed = Money(help_text="The closing balance with no pipeline item.")
    weighted = Money(help_text="The closing balance with each pipeline item at its probability.")
    full = Money(help_text="The closing balance with every pipeline item.")


class MonteCarloSerializer(serializers.Serializer):
    """The pipeline drawn item by item (docs/definitions.md "Probabilistic pipeline")."""

    draws = serializers.IntegerField()
    seed = serializers.IntegerField()
    items = serializers.IntegerField(help_text="How many pipeline items were drawn.")
    runway = MonteCarloRunwaySerializer()
    chance_out_within = ChanceOutWithinSerializer()
    periods = FanPeriodSerializer(many=True)


class RestrictedGrantSerializer(serializers.Serializer):
    grant = serializers.SlugField(help_text="The grant's reference.")
    net_assets = Money(help_text="Received minus spent up to the as-of day, floored at 0.")


class UnrestrictedRunwaySerializer(serializers.Serializer):
    """The runway of unrestricted money (docs/definitions.md "Restricted money and funder reports"):
    from the opening balance minus the restricted net assets, each restricted grant's charges paid
    from its own money while that lasts."""

    months = Money(allow_null=True, help_text="Months of runway; null when cash lasts beyond the horizon.")
    cash_out_on = serializers.DateField(allow_null=True)
    restricted_net_assets = Money(help_text="The restricted grants' net assets at the as-of day, summed.")
    grants = RestrictedGrantSerializer(many=True, help_text="Each restricted grant with money, by reference.")


class RunwaySerializer(serializers.Serializer):
    """A scenario's runway as of its cash position (docs/definitions.md "Runway")."""

    scenario = serializers.SlugField()
    as_of = serializers.DateField(help_text="The date of the cash position the projection starts from.")
    opening_balance = Money()
    months = Money(allow_null=True, help_text="Months of runway; null when cash lasts beyond the horizon.")
    cash_out_on = serializers.DateField(allow_null=True)
    horizon_months = serializers.IntegerField()
    forward_burn = Money()
    indicators = RunwayIndicatorsSerializer()
    periods = RunwayPeriodSerializer(many=True)
    monte_carlo = MonteCarloSerializer(
        allow_null=True, help_text="Null in snapshots computed before it was kept."
    )
    unrestricted = UnrestrictedRunwaySerializer(
        allow_null=True, help_text="Null in snapshots computed before it was kept."
    )


class RunwayErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class RunwayRecomputeSerializer(serializers.Serializer):
    task_id = serializers.CharField(allow_null=True, help_text="Null when the broker could not be reached.")
    status = serializers.ChoiceField(
        choices=["queued", "pending"],
        help_text="queued: the task was handed to a worker; pending: the broker is unreachable, and "
        "the recompute is retried later.",
    )


# --- views ----------------------------------------------------------------------------------------


class RunwayView(APIView):
    permission_classes = [CanSeeRunway]

    @extend_schema(
        operation_id="funding_runway_retrieve",
        tags=["runway"],
        summary="The latest runway of a scenario",
        parameters=[
            OpenApiParameter(
                "scenario",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="A scenario's slug; the default scenario when left out.",
            )
        ],
        responses={
            200: RunwaySerializer,
            401: RunwayErrorSerializer,
            403: RunwayErrorSerializer,
            404: RunwayErrorSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        slug = request.query_params.get("scenario") or None
        scenario = runway_scenario(scenario_slug=slug)
        if scenario is None:
            detail = (
                f"no scenario {slug!r}" if slug else "no default scenario; name one with ?scenario=<slug>"
            )
            return Response({"detail": detail}, status=status.HTTP_404_NOT_FOUND)
        snapshot = runway_latest(scenario_slug=scenario.slug)
        if snapshot is None:
            recompute = reverse("funding-api:runway-recompute")
            return Response(
                {"detail": f"no runway computed yet for {scenario.slug}; POST {recompute}"},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(RunwaySerializer(snapshot.result).data)


class RunwayRecomputeView(APIView):
    permission_classes = [CanSeeRunway]

    @extend_schema(
        operation_id="funding_runway_recompute",
        tags=["runway"],
        summary="Recompute the runway of every scenario (through Celery)",
        request=None,
        responses={202: RunwayRecomputeSerializer, 401: RunwayErrorSerializer, 403: RunwayErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        outcome = enqueue_recompute(RUNWAY)
        return Response(
            RunwayRecomputeSerializer({"task_id": outcome.task_id, "status": outcome.status}).data,
            status=status.HTTP_202_ACCEPTED,
        )
