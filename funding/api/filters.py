"""FilterSets of the funding CRUD API: one per model.

Relations filter by natural key (``?funder=<slug>``, ``?grant=<reference>``,
``?scenario=<slug>``); dates by range (``?<field>_after=`` / ``?<field>_before=``, both inclusive);
choices by value. A malformed value (a bad date, an unknown choice) is a 400 naming the parameter.
No filter touches a figure its resource's readers may not see: the grant filters say nothing of
subawards or disbursements, which Operations, a reader of grants, may not read.
"""

from __future__ import annotations

from django_filters import rest_framework as filters

from opsite.core.api.filters import on_date, on_instant

from ..models import (
    CashPosition,
    Disbursement,
    ExchangeRate,
    Expense,
    Funder,
    FunderReport,
    Grant,
    GrantBudgetLine,
    RunwayAlert,
    RunwaySnapshot,
    Scenario,
    ScenarioAdjustment,
    StaffAllocation,
    Subaward,
    SubawardPayment,
)


class FunderFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Funder
        fields = ("kind",)


class GrantFilter(filters.FilterSet):
    funder = filters.CharFilter(field_name="funder__slug", help_text="The funder's slug.")
    title = filters.CharFilter(lookup_expr="icontains")
    awarded_on = on_date("awarded_on")
    start_on = on_date("start_on")
    end_on = on_date("end_on")

    class Meta:
        model = Grant
        fields = ("category", "role", "status", "currency", "restricted")


class SubawardFilter(filters.FilterSet):
    grant = filters.CharFilter(field_name="grant__reference", help_text="The grant's reference.")
    funder = filters.CharFilter(field_name="grant__funder__slug", help_text="The grant's funder's slug.")
    recipient = filters.CharFilter(lookup_expr="icontains")
    start_on = on_date("start_on")
    end_on = on_date("end_on")

    class Meta:
        model = Subaward
        fields = ()


class DisbursementFilter(filters.FilterSet):
    grant = filters.CharFilter(field_name="grant__reference", help_text="The grant's reference.")
    funder = filters.CharFilter(field_name="grant__funder__slug", help_text="The grant's funder's slug.")
    expected_on = on_date("expected_on")
    received_on = on_date("received_on")
    received = filters.BooleanFilter(
        field_name="received_on", lookup_expr="isnull", exclude=True, help_text="Received (true) or open."
    )

    class Meta:
        model = Disbursement
        fields = ()


class SubawardPaymentFilter(filters.FilterSet):
    subaward = filters.CharFilter(field_name="subaward__reference", help_text="The subaward's reference.")
    grant = filters.CharFilter(field_name="subaward__grant__reference", help_text="The grant's reference.")
    due_on = on_date("due_on")
    paid_on = on_date("paid_on")
    paid = filters.BooleanFilter(
        field_name="paid_on", lookup_expr="isnull", exclude=True, help_text="Paid (true) or open."
    )

    class Meta:
        model = SubawardPayment
        fields = ()


class CashPositionFilter(filters.FilterSet):
    as_of = on_date("as_of")

    class Meta:
        model = CashPosition
        fields = ()


class ExpenseFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    grant = filters.CharFilter(field_name="grant__reference", help_text="The grant it is charged to.")
    start_on = on_date("start_on")
    end_on = on_date("end_on")

    class Meta:
        model = Expense
        fields = ("category", "recurrence", "currency")


class GrantBudgetLineFilter(filters.FilterSet):
    grant = filters.CharFilter(field_name="grant__reference", help_text="The grant's reference.")

    class Meta:
        model = GrantBudgetLine
        fields = ("category",)


class StaffAllocationFilter(filters.FilterSet):
    staff = filters.CharFilter(field_name="staff__slug", help_text="The staff member's slug.")
    grant = filters.CharFilter(field_name="grant__reference", help_text="The grant's reference.")
    start_on = on_date("start_on")
    end_on = on_date("end_on")

    class Meta:
        model = StaffAllocation
        fields = ()


class FunderReportFilter(filters.FilterSet):
    grant = filters.CharFilter(field_name="grant__reference", help_text="The grant's reference.")
    owner = filters.CharFilter(field_name="owner__username", help_text="The owner's username.")
    due_on = on_date("due_on")
    submitted = filters.BooleanFilter(
        field_name="submitted_on", lookup_expr="isnull", exclude=True, help_text="Submitted (true) or open."
    )

    class Meta:
        model = FunderReport
        fields = ("kind",)


class ExchangeRateFilter(filters.FilterSet):
    effective_on = on_date("effective_on")

    class Meta:
        model = ExchangeRate
        fields = ("currency",)


class ScenarioFilter(filters.FilterSet):
    class Meta:
        model = Scenario
        fields = ("pipeline", "is_default")


class ScenarioAdjustmentFilter(filters.FilterSet):
    scenario = filters.CharFilter(field_name="scenario__slug", help_text="The scenario's slug.")
    grant = filters.CharFilter(field_name="grant__reference", help_text="The delayed grant's reference.")
    start_on = on_date("start_on")
    end_on = on_date("end_on")

    class Meta:
        model = ScenarioAdjustment
        fields = ("kind", "recurrence")


class RunwaySnapshotFilter(filters.FilterSet):
    scenario = filters.CharFilter(field_name="scenario__slug", help_text="The scenario's slug.")
    as_of = on_date("as_of")
    computed_at = on_instant("computed_at")

    class Meta:
        model = RunwaySnapshot
        fields = ()


class RunwayAlertFilter(filters.FilterSet):
    scenario = filters.CharFilter(field_name="scenario__slug", help_text="The scenario's slug.")
    created_at = on_instant("created_at")

    class Meta:
        model = RunwayAlert
        fields = ("reason",)
