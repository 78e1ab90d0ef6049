"""Viewsets of the funding CRUD API, mounted at ``/api/v1/funding/``.

Thin: the rows come from ``funding.selectors`` (so a list costs the same few queries whatever
its length), writes go through each model's ``ModelWrites`` in ``funding.services`` (the same
rules and messages as the admin and the importers; a deleted default scenario hands over to
another), and ``RolePermission`` applies docs/roles.md: Operations reads funders and grants
only, Finance keeps everything, Leadership reads everything and edits scenarios. Runway
snapshots and alerts are records of what was computed: read-only here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from opsite.core.api.filters import StableOrderingFilter
from opsite.core.api.permissions import RolePermission
from opsite.core.api.viewsets import DATE, ID, SLUG, ReadBackServiceModelViewSet

from .. import selectors, services
from ..models import RunwayAlert
from . import filters, serializers


class FunderViewSet(ReadBackServiceModelViewSet):
    """Funders: who gives us money. Finance edits; Operations and Leadership read."""

    queryset = selectors.funder_list()
    serializer_class = serializers.FunderSerializer
    filterset_class = filters.FunderFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = ["slug", "name", "kind", "created_at", "updated_at"]
    ordering = ["name", "pk"]


class GrantViewSet(ReadBackServiceModelViewSet):
    """Grants, from prospect to closed. Finance edits; Operations and Leadership read.

    Subaward and disbursement totals are shown only to who may read subawards and disbursements.
    """

    queryset = selectors.grant_list()
    serializer_class = serializers.GrantSerializer
    filterset_class = filters.GrantFilter
    lookup_field = "reference"
    lookup_value_regex = SLUG
    # No subawarded/net_amount/scheduled/received: ordering by them would reveal them to
    # Operations, who reads grants but not their subawards or disbursements.
    ordering_fields = [
        "reference",
        "title",
        "category",
        "role",
        "status",
        "probability",
        "amount",
        "awarded_on",
        "start_on",
        "end_on",
        "created_at",
        "updated_at",
    ]
    ordering = ["-start_on", "reference"]


class SubawardViewSet(ReadBackServiceModelViewSet):
    """Subawards: parts of a prime grant passed on to partners. Finance edits; Leadership reads."""

    queryset = selectors.subaward_list()
    serializer_class = serializers.SubawardSerializer
    filterset_class = filters.SubawardFilter
    lookup_field = "reference"
    lookup_value_regex = SLUG
    ordering_fields = [
        "reference",
        "recipient",
        "amount",
        "start_on",
        "end_on",
        "scheduled",
        "paid",
        "created_at",
    ]
    ordering = ["grant__reference", "reference"]


class DisbursementViewSet(ReadBackServiceModelViewSet):
    """Disbursements: money in from a grant. Finance edits; Leadership reads."""

    queryset = selectors.disbursement_list()
    serializer_class = serializers.DisbursementSerializer
    filterset_class = filters.DisbursementFilter
    ordering_fields = ["id", "expected_on", "received_on", "amount", "created_at"]
    ordering = ["grant__reference", "expected_on", "pk"]


class SubawardPaymentViewSet(ReadBackServiceModelViewSet):
    """Subaward payments: money out to a subrecipient. Finance edits; Leadership reads."""

    queryset = selectors.subaward_payment_list()
    serializer_class = serializers.SubawardPaymentSerializer
    filterset_class = filters.SubawardPaymentFilter
    ordering_fields = ["id", "due_on", "paid_on", "amount", "created_at"]
    ordering = ["subaward__reference", "due_on", "pk"]


class CashPositionViewSet(ReadBackServiceModelViewSet):
    """Cash positions: the bank balance on a date. Sensitive: Finance edits, Leadership reads."""

    queryset = selectors.cash_position_list()
    serializer_class = serializers.CashPositionSerializer
    filterset_class = filters.CashPositionFilter
    lookup_field = "as_of"
    lookup_value_regex = DATE
    ordering_fields = ["as_of", "balance", "created_at"]
    ordering = ["-as_of"]


class ExpenseViewSet(ReadBackServiceModelViewSet):
    """Expenses other than payroll, once or monthly. Finance edits; Leadership reads."""

    queryset = selectors.expense_list()
    serializer_class = serializers.ExpenseSerializer
    filterset_class = filters.ExpenseFilter
    ordering_fields = ["id", "name", "category", "amount", "recurrence", "start_on", "end_on", "created_at"]
    ordering = ["category", "name", "start_on", "pk"]


class GrantBudgetLineViewSet(ReadBackServiceModelViewSet):
    """A grant's budget by category. Finance edits; Leadership reads."""

    queryset = selectors.grant_budget_line_list()
    serializer_class = serializers.GrantBudgetLineSerializer
    filterset_class = filters.GrantBudgetLineFilter
    ordering_fields = ["id", "category", "amount", "created_at"]
    ordering = ["grant__reference", "category"]


class StaffAllocationViewSet(ReadBackServiceModelViewSet):
    """Shares of a person's time charged to a grant. Sensitive (they reveal pay): Finance edits,
    Leadership reads."""

    queryset = selectors.staff_allocation_list()
    serializer_class = serializers.StaffAllocationSerializer
    filterset_class = filters.StaffAllocationFilter
    ordering_fields = ["id", "share", "start_on", "end_on", "created_at"]
    ordering = ["staff__name", "start_on", "pk"]


class FunderReportViewSet(ReadBackServiceModelViewSet):
    """Reports owed to funders, with their deadlines and owners. Finance edits; Leadership reads."""

    queryset = selectors.funder_report_list()
    serializer_class = serializers.FunderReportSerializer
    filterset_class = filters.FunderReportFilter
    ordering_fields = ["id", "due_on", "period_start", "submitted_on", "created_at"]
    ordering = ["due_on", "grant__reference", "pk"]


class ExchangeRateViewSet(ReadBackServiceModelViewSet):
    """Exchange rates into the reporting currency. Finance edits; Leadership reads."""

    queryset = selectors.exchange_rate_list()
    serializer_class = serializers.ExchangeRateSerializer
    filterset_class = filters.ExchangeRateFilter
    ordering_fields = ["id", "currency", "effective_on", "rate", "created_at"]
    ordering = ["currency", "-effective_on"]


class CanChangeScenarios(BasePermission):
    """Choosing the default scenario is an edit of scenarios (Finance, Leadership)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.has_perms(["funding.view_scenario", "funding.change_scenario"])
        )


class ScenarioViewSet(ReadBackServiceModelViewSet):
    """Runway scenarios. Finance and Leadership edit; the latest runway shows to who may see it."""

    queryset = selectors.scenario_list()
    serializer_class = serializers.ScenarioSerializer
    filterset_class = filters.ScenarioFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    # The latest runway columns stay off the list: they are shown only to who may see the runway.
    ordering_fields = ["slug", "name", "pipeline", "reserve", "horizon_months", "is_default", "created_at"]
    ordering = ["-is_default", "name", "pk"]

    @extend_schema(
        request=None, responses=serializers.ScenarioSerializer, summary="Make this the default scenario"
    )
    @action(detail=True, methods=["post"], url_path="make-default", permission_classes=[CanChangeScenarios])
    def make_default(self, request: Request, slug: str | None = None, format: str | None = None) -> Response:
        """Make this scenario the default one; the previous default stops being it."""
        # ``format`` comes from the router's suffix route (make-default.json).
        scenario = services.scenario_set_default(scenario=self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=scenario.pk)).data)


class ScenarioAdjustmentViewSet(ReadBackServiceModelViewSet):
    """A scenario's what-ifs: hires, inflows, outflows, delays. Finance and Leadership edit."""

    queryset = selectors.scenario_adjustment_list()
    serializer_class = serializers.ScenarioAdjustmentSerializer
    filterset_class = filters.ScenarioAdjustmentFilter
    ordering_fields = ["id", "kind", "label", "amount", "start_on", "end_on", "created_at"]
    ordering = ["scenario__slug", "start_on", "pk"]


class RunwaySnapshotViewSet(viewsets.ReadOnlyModelViewSet):
    """Every computed runway (Finance, Leadership): listed without, retrieved with, its ``result``."""

    permission_classes = [RolePermission]
    queryset = selectors.runway_snapshot_list()
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    lookup_value_regex = ID
    filterset_class = filters.RunwaySnapshotFilter
    ordering_fields = ["id", "as_of", "computed_at", "months", "cash_out_on"]
    ordering = ["scenario__slug", "-computed_at", "-pk"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        # The list leaves the projection document out; one snapshot carries it.
        return queryset.defer(None) if self.action == "retrieve" else queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.RunwaySnapshotDetailSerializer
        return serializers.RunwaySnapshotSerializer


class RunwayAlertViewSet(viewsets.ReadOnlyModelViewSet):
    """The runway alerts sent to Leadership: sensitive (they carry the runway), read-only."""

    permission_classes = [RolePermission]
    queryset = RunwayAlert.objects.select_related("scenario").order_by("-created_at", "-id")
    serializer_class = serializers.RunwayAlertSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    lookup_value_regex = ID
    filterset_class = filters.RunwayAlertFilter
    ordering_fields = ["id", "created_at", "sent_at", "months", "reason"]
    ordering = ["-created_at", "-id"]
