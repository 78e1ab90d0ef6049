"""Reads of the funding app: ordered querysets whose cost does not grow with their rows.

Computed columns (what a grant passed on, what a subaward paid out) are correlated subqueries
rather than ``Sum`` over joins: summing two reverse relations through joins multiplies rows and
inflates both totals.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from opsite.core.money import ZERO

from .choices import AWARDED_STATUSES, GrantRole
from .models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    FunderReport,
    Grant,
    GrantBudgetLine,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    StaffAllocation,
    Subaward,
    SubawardPayment,
)

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _sum_of(model: type[models.Model], parent: str, field: str = "amount", **filters) -> Coalesce:
    """``SUM(field)`` of ``model`` rows pointing at the outer row through ``parent``, 0 when none."""
    total = (
        model.objects.filter(**{parent: OuterRef("pk")}, **filters)
        .order_by()
        .values(parent)
        .annotate(total=models.Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def funder_list() -> models.QuerySet[Funder]:
    """Funders by name, with how many grants each gave (and how many of those were awarded)."""
    return Funder.objects.annotate(
        grant_count=Count("grants"),
        awarded_count=Count("grants", filter=Q(grants__status__in=AWARDED_STATUSES)),
    ).order_by("name", "pk")


def grant_list() -> models.QuerySet[Grant]:
    """Grants, newest first, with their funder and what hangs off each.

    ``subawarded`` is passed on to partners, ``net_amount`` what stays with us (the amount minus
    its subawards for a prime grant), ``scheduled`` the disbursements expected in all, and
    ``received`` those already received.
    """
    return (
        Grant.objects.select_related("funder")
        .annotate(
            subawarded=_sum_of(Subaward, "grant"),
            scheduled=_sum_of(Disbursement, "grant"),
            received=_sum_of(Disbursement, "grant", received_on__isnull=False),
        )
        .annotate(
            net_amount=models.Case(
                models.When(role=GrantRole.PRIME, then=F("amount") - F("subawarded")),
                default=F("amount"),
                output_field=_MONEY,
            )
        )
        .order_by("-start_on", "reference")
    )


def subaward_list() -> models.QuerySet[Subaward]:
    """Subawards by grant, with their payments scheduled and paid."""
    return (
        Subaward.objects.select_related("grant", "grant__funder")
        .annotate(
            scheduled=_sum_of(SubawardPayment, "subaward"),
            paid=_sum_of(SubawardPayment, "subaward", paid_on__isnull=False),
        )
        .order_by("grant__reference", "reference")
    )


def disbursement_list() -> models.QuerySet[Disbursement]:
    return Disbursement.objects.select_related("grant", "grant__funder").order_by(
        "grant__reference", "expected_on", "pk"
    )


def subaward_payment_list() -> models.QuerySet[SubawardPayment]:
    return SubawardPayment.objects.select_related("subaward", "subaward__grant").order_by(
        "subaward__reference", "due_on", "pk"
    )


def cash_position_list() -> models.QuerySet[CashPosition]:
    """Cash positions, latest first. **Sensitive**: callers check the role."""
    return CashPosition.objects.order_by("-as_of")


def cash_position_latest() -> CashPosition | None:
    """The position every runway starts from."""
    return cash_position_list().first()


def expense_list() -> models.QuerySet[Expense]:
    return Expense.objects.select_related("grant").order_by("category", "name", "start_on", "pk")


def grant_budget_line_list() -> models.QuerySet[GrantBudgetLine]:
    return GrantBudgetLine.objects.select_related("grant").order_by("grant__reference", "category")


def staff_allocation_list() -> models.QuerySet[StaffAllocation]:
    """Allocations, by person then start (sensitive: they reveal pay)."""
    return StaffAllocation.objects.select_related("staff", "grant").order_by("staff__name", "start_on", "pk")


def funder_report_list() -> models.QuerySet[FunderReport]:
    """Reports owed to funders, the soonest due first."""
    return FunderReport.objects.select_related("grant", "grant__funder", "owner").order_by(
        "due_on", "grant__reference", "pk"
    )


def exchange_rate_list() -> models.QuerySet[ExchangeRate]:
    return ExchangeRate.objects.order_by("currency", "-effective_on")


def _latest_snapshot(field: str) -> Subquery:
    latest = RunwaySnapshot.objects.filter(scenario=OuterRef("pk")).order_by("-computed_at", "-pk")
    return Subquery(latest.values(field)[:1])


def scenario_list() -> models.QuerySet[Scenario]:
    """Scenarios, default first, with their adjustment count and their latest runway."""
    return Scenario.objects.annotate(
        adjustment_count=Count("adjustments"),
        latest_months=_latest_snapshot("months"),
        latest_cash_out_on=_latest_snapshot("cash_out_on"),
        latest_computed_at=_latest_snapshot("computed_at"),
    ).order_by("-is_default", "name", "pk")


def scenario_get_default() -> Scenario | None:
    return Scenario.objects.filter(is_default=True).first()


def scenario_adjustment_list() -> models.QuerySet[ScenarioAdjustment]:
    return ScenarioAdjustment.objects.select_related("scenario", "grant").order_by(
        "scenario__slug", "start_on", "pk"
    )


def runway_snapshot_list() -> models.QuerySet[RunwaySnapshot]:
    """Snapshots by scenario, newest first, without their (large) ``result`` document."""
    return (
        RunwaySnapshot.objects.select_related("scenario")
        .defer("result")
        .order_by("scenario__slug", "-computed_at", "-pk")
    )


def runway_snapshot_latest(*, scenario: Scenario) -> RunwaySnapshot | None:
    """The newest snapshot of ``scenario``, ``result`` included."""
    return RunwaySnapshot.objects.filter(scenario=scenario).order_by("-computed_at", "-pk").first()
