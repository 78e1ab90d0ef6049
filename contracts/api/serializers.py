"""Serializers of the contracts CRUD API: they parse and render; the services decide.

A contract is named by its ``reference``, its community by its ``slug``. Money is a decimal
string; an amount with more decimal places than its column holds is refused, never rounded.
"""

from __future__ import annotations

from rest_framework import serializers

from communities.models import Community
from opsite.core.api.serializers import OpsiteModelSerializer, OpsiteSerializer

from ..choices import BillingPlan
from ..models import ContractPayment, ServiceContract, UsageFeeSchedule, UsageFeeTier

TIMESTAMPS = ("created_at", "updated_at")


class ServiceContractSerializer(OpsiteModelSerializer):
    community = serializers.SlugRelatedField(slug_field="slug", queryset=Community.objects.all())
    usage_fee_schedule = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=UsageFeeSchedule.objects.all(),
        required=False,
        allow_null=True,
        help_text="The usage fee schedule's slug; null: not priced by usage.",
    )
    payments_total = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text="The sum of its payments, due or paid."
    )
    paid_total = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text="The sum of its paid payments."
    )
    schedule_incomplete = serializers.BooleanField(
        read_only=True, help_text="Its payments sum to less than its total value."
    )

    class Meta:
        model = ServiceContract
        fields = (
            "reference",
            "community",
            "category",
            "status",
            "probability",
            "signed_on",
            "start_on",
            "end_on",
            "total_value",
            "currency",
            "usage_fee_schedule",
            "payments_total",
            "paid_total",
            "schedule_incomplete",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class ContractPaymentSerializer(OpsiteModelSerializer):
    contract = serializers.SlugRelatedField(slug_field="reference", queryset=ServiceContract.objects.all())
    community = serializers.SlugRelatedField(
        source="contract.community", slug_field="slug", read_only=True, help_text="The contract's community."
    )

    class Meta:
        model = ContractPayment
        fields = ("id", "contract", "community", "due_on", "amount", "paid_on", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class UsageFeeTierSerializer(OpsiteModelSerializer):
    schedule = serializers.SlugRelatedField(slug_field="slug", queryset=UsageFeeSchedule.objects.all())

    class Meta:
        model = UsageFeeTier
        fields = ("id", "schedule", "up_to", "unit_price", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class NestedTierSerializer(OpsiteModelSerializer):
    class Meta:
        model = UsageFeeTier
        fields = ("id", "up_to", "unit_price")
        read_only_fields = fields


class UsageFeeScheduleSerializer(OpsiteModelSerializer):
    tiers = NestedTierSerializer(
        many=True, read_only=True, help_text="Its tiers, lowest bound first; written at /usage-fee-tiers/."
    )

    class Meta:
        model = UsageFeeSchedule
        fields = ("slug", "name", "currency", "tiers", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class ScheduleSerializer(OpsiteSerializer):
    """A request for a contract's payment schedule under a billing plan."""

    plan = serializers.ChoiceField(choices=BillingPlan.choices)
    first_due_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The first payment's due date; the contract's start by default.",
    )
