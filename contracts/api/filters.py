"""FilterSets of the contracts CRUD API: one per model.

Relations filter by natural key (``?community=<slug>``, ``?contract=<reference>``); dates by
range (``?<field>_after=`` / ``?<field>_before=``, both inclusive); choices by value. A malformed
value (a bad date, an unknown choice) is a 400 naming the parameter.
"""

from __future__ import annotations

from django_filters import rest_framework as filters

from opsite.core.api.filters import on_date

from ..choices import ContractStatus
from ..models import ContractPayment, ServiceContract, UsageFeeSchedule, UsageFeeTier


class ServiceContractFilter(filters.FilterSet):
    community = filters.CharFilter(field_name="community__slug", help_text="The community's slug.")
    signed_on = on_date("signed_on")
    start_on = on_date("start_on")
    end_on = on_date("end_on")
    schedule_incomplete = filters.BooleanFilter(
        field_name="schedule_incomplete", help_text="Its payments sum to less than its total value."
    )
    usage_fee_schedule = filters.CharFilter(
        field_name="usage_fee_schedule__slug", help_text="The usage fee schedule's slug."
    )

    class Meta:
        model = ServiceContract
        fields = ("category", "status", "currency")


class ContractPaymentFilter(filters.FilterSet):
    contract = filters.CharFilter(field_name="contract__reference", help_text="The contract's reference.")
    community = filters.CharFilter(field_name="contract__community__slug", help_text="The community's slug.")
    status = filters.ChoiceFilter(
        field_name="contract__status",
        choices=ContractStatus.choices,
        help_text="The contract's status.",
    )
    due_on = on_date("due_on")
    paid_on = on_date("paid_on")
    paid = filters.BooleanFilter(
        field_name="paid_on", lookup_expr="isnull", exclude=True, help_text="Paid (true) or open."
    )

    class Meta:
        model = ContractPayment
        fields = ()


class UsageFeeScheduleFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = UsageFeeSchedule
        fields = ("currency",)


class UsageFeeTierFilter(filters.FilterSet):
    schedule = filters.CharFilter(field_name="schedule__slug", help_text="The schedule's slug.")

    class Meta:
        model = UsageFeeTier
        fields = ()
