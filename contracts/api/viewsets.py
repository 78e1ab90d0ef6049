"""Viewsets of the contracts CRUD API, mounted at ``/api/v1/contracts/``.

Thin: the rows come from ``contracts.selectors`` (so a list costs the same few queries whatever
its length), writes go through ``contracts.services`` (the same rules and messages as the admin
and the importers), and ``RolePermission`` applies DESIGN.md "Roles": Operations and Finance keep
contracts and their payments, Leadership reads them.
"""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from opsite.api.viewsets import ServiceModelViewSet

from .. import selectors, services
from . import filters, serializers


class ContractsViewSet(ServiceModelViewSet):
    # The shared base: filter backends, and answers rendered from the selector's row. A service
    # returns the bare model instance; the response is rendered from the row read again through
    # the viewset's queryset, so a create or an update answers with the same computed columns
    # (payment totals) as a retrieve. (A comment, not a docstring: the OpenAPI schema would show
    # a docstring as the description of every endpoint that has none of its own.)

    filter_backends = [DjangoFilterBackend, filters.StableOrderingFilter]

    def perform_create(self, serializer) -> None:
        super().perform_create(serializer)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer) -> None:
        super().perform_update(serializer)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)


class CanScheduleContracts(BasePermission):
    """Creating a schedule adds payments to a contract: whoever may add contract payments."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.has_perms(["contracts.view_servicecontract", "contracts.add_contractpayment"])
        )


class ServiceContractViewSet(ContractsViewSet):
    """Service contracts with communities. Operations and Finance edit; Leadership reads."""

    queryset = selectors.contract_list()
    serializer_class = serializers.ServiceContractSerializer
    filterset_class = filters.ServiceContractFilter
    lookup_field = "reference"
    ordering_fields = [
        "reference",
        "category",
        "status",
        "probability",
        "signed_on",
        "start_on",
        "end_on",
        "total_value",
        "payments_total",
        "paid_total",
        "created_at",
        "updated_at",
    ]
    ordering = ["-start_on", "reference"]
    create_service = staticmethod(services.contract_create)
    update_service = staticmethod(
        lambda instance, **data: services.contract_update(contract=instance, data=data)
    )

    @extend_schema(
        request=serializers.ScheduleSerializer,
        responses={201: serializers.ContractPaymentSerializer(many=True)},
        summary="Create the contract's payment schedule from a billing plan",
    )
    @action(detail=True, methods=["post"], permission_classes=[CanScheduleContracts])
    def schedule(self, request: Request, reference: str | None = None) -> Response:
        """One payment per period of the plan, summing exactly to the total value (the rounding
        cent on the last); refused when the contract already has payments."""
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


class ContractPaymentViewSet(ContractsViewSet):
    """Payments due under contracts; never summing past a contract's total value."""

    queryset = selectors.contract_payment_list()
    serializer_class = serializers.ContractPaymentSerializer
    filterset_class = filters.ContractPaymentFilter
    ordering_fields = ["id", "due_on", "paid_on", "amount", "created_at", "updated_at"]
    ordering = ["contract__reference", "due_on", "pk"]
    create_service = staticmethod(services.contract_payment_create)
    update_service = staticmethod(
        lambda instance, **data: services.contract_payment_update(contract_payment=instance, data=data)
    )
