"""Viewsets of the contracts CRUD API, mounted at ``/api/v1/contracts/``.

Thin: the rows come from ``contracts.selectors`` (so a list costs the same few queries whatever
its length), writes go through the ``ModelWrites`` of ``contracts.services`` (the same rules and
messages as the admin and the importers; deletes too), and ``RolePermission`` applies
docs/roles.md: Operations and Finance keep contracts and their payments, Leadership reads them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from opsite.core.api.viewsets import SLUG, ReadBackServiceModelViewSet

from .. import selectors, services
from . import filters, serializers


class CanScheduleContracts(BasePermission):
    """Creating a schedule adds payments to a contract: whoever may add contract payments."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.has_perms(["contracts.view_servicecontract", "contracts.add_contractpayment"])
        )


class ServiceContractViewSet(ReadBackServiceModelViewSet):
    """Service contracts with communities. Operations and Finance edit; Leadership reads."""

    queryset = selectors.contract_list()
    serializer_class = serializers.ServiceContractSerializer
    filterset_class = filters.ServiceContractFilter
    lookup_field = "reference"
    lookup_value_regex = SLUG
    ordering_fields = [
        "reference",
        "category",
        "status",
        "probability",
        "signed_on",
        "start_on",
        "end_on",
        "total_value",
        "usage_fee_schedule__slug",
        "payments_total",
        "paid_total",
        "created_at",
        "updated_at",
    ]
    ordering = ["-start_on", "reference"]

    @extend_schema(
        request=serializers.ScheduleSerializer,
        responses={201: serializers.ContractPaymentSerializer(many=True)},
        summary="Create the contract's payment schedule from a billing plan",
    )
    @action(detail=True, methods=["post"], permission_classes=[CanScheduleContracts])
    def schedule(self, request: Request, reference: str | None = None, format: str | None = None) -> Response:
        """One payment per period of the plan, summing exactly to the total value (the rounding
        cent on the last); refused when the contract already has payments."""
        # ``format`` comes from the router's suffix route (schedule.json).
        contract = self.get_object()
        plan = serializers.ScheduleSerializer(data=request.data)
        plan.is_valid(raise_exception=True)
        payments = services.contract_schedule_create(contract=contract, **plan.validated_data)
        return Response(
            serializers.ContractPaymentSerializer(
                payments, many=True, context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )


class ContractPaymentViewSet(ReadBackServiceModelViewSet):
    """Payments due under contracts; never summing past a contract's total value."""

    queryset = selectors.contract_payment_list()
    serializer_class = serializers.ContractPaymentSerializer
    filterset_class = filters.ContractPaymentFilter
    ordering_fields = ["id", "due_on", "paid_on", "amount", "created_at", "updated_at"]
    ordering = ["contract__reference", "due_on", "pk"]


class UsageFeeScheduleViewSet(ReadBackServiceModelViewSet):
    """Usage fee schedules with their tiers. Operations and Finance edit; Leadership reads."""

    queryset = selectors.usage_fee_schedule_list()
    serializer_class = serializers.UsageFeeScheduleSerializer
    filterset_class = filters.UsageFeeScheduleFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = ["slug", "name", "created_at", "updated_at"]
    ordering = ["slug"]


class UsageFeeTierViewSet(ReadBackServiceModelViewSet):
    """The tiers of usage fee schedules: a bound once per schedule, at most one open tier."""

    queryset = selectors.usage_fee_tier_list()
    serializer_class = serializers.UsageFeeTierSerializer
    filterset_class = filters.UsageFeeTierFilter
    ordering_fields = ["id", "up_to", "unit_price", "created_at", "updated_at"]
    # No default ordering here: the selector's puts the open tier last on every database.
