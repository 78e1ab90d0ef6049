"""Reads of service contracts and their payments, for the admin and the API."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import (
    BooleanField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from opsite.core.money import ZERO

from .models import ContractPayment, ServiceContract, UsageFeeSchedule, UsageFeeTier

MONEY = DecimalField(max_digits=14, decimal_places=2)
HALF_CENT = Decimal("0.005")


def _sum_of_payments(payments: QuerySet[ContractPayment]) -> Coalesce:
    # A correlated subquery, not a join: the sum stays right whatever joins the admin adds for
    # search and filters.
    total = payments.order_by().values("contract").annotate(total=Sum("amount")).values("total")[:1]
    return Coalesce(Subquery(total, output_field=MONEY), Value(ZERO), output_field=MONEY)


def with_payment_totals(queryset: QuerySet[ServiceContract]) -> QuerySet[ServiceContract]:
    """Annotate ``payments_total``, ``paid_total`` and ``schedule_incomplete``.

    ``schedule_incomplete``: the contract's payments sum to less than its ``total_value``. The
    totals are exact on PostgreSQL; on SQLite, pass them through ``opsite.core.money.quantize``
    before showing them.
    """
    payments = ContractPayment.objects.filter(contract=OuterRef("pk"))
    return queryset.annotate(
        payments_total=_sum_of_payments(payments),
        paid_total=_sum_of_payments(payments.filter(paid_on__isnull=False)),
    ).annotate(
        # Short by at least half a cent: SQLite sums decimals as floats, so a schedule summing
        # exactly to the value may come back a hair below it.
        schedule_incomplete=ExpressionWrapper(
            Q(payments_total__lt=F("total_value") - Value(HALF_CENT)), output_field=BooleanField()
        )
    )


def usage_fee_schedule_list() -> QuerySet[UsageFeeSchedule]:
    """Schedules with their tiers (one more query for all of them), by slug."""
    return UsageFeeSchedule.objects.prefetch_related("tiers").order_by("slug")


def usage_fee_tier_list() -> QuerySet[UsageFeeTier]:
    return UsageFeeTier.objects.select_related("schedule").order_by(
        "schedule__slug", F("up_to").asc(nulls_last=True), "pk"
    )


def contract_list() -> QuerySet[ServiceContract]:
    """Every contract, latest start first, with its community and payment totals."""
    return with_payment_totals(
        ServiceContract.objects.select_related("community", "usage_fee_schedule")
    ).order_by("-start_on", "reference")


def contracts_with_incomplete_schedule() -> QuerySet[ServiceContract]:
    """Contracts whose payments sum to less than their total value."""
    return contract_list().filter(schedule_incomplete=True)


def contract_payment_list() -> QuerySet[ContractPayment]:
    """Every payment, by contract and due date, with its contract and community."""
    return ContractPayment.objects.select_related("contract__community").order_by(
        "contract__reference", "due_on", "pk"
    )
