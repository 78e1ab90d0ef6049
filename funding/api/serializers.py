"""Serializers of the funding CRUD API: they parse and render; the services decide.

Relations are read and written by natural key (a funder's ``slug``, a grant's or a subaward's
``reference``, a scenario's ``slug``). Money is a decimal string; an amount with more decimal
places than its column holds is refused, never rounded (DRF's ``DecimalField`` does both).

Computed columns that summarize another, more restricted resource (what a grant passed on as
subawards, a scenario's latest runway) are shown only to a user who may read that resource: a
field is left out of the response, the OPTIONS metadata and the ordering allow-list otherwise.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from opsite.core.api.serializers import OpsiteModelSerializer
from opsite.core.money import currency_validator
from staff.models import StaffMember

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

TIMESTAMPS = ("created_at", "updated_at")


def Money(**kwargs: Any) -> serializers.DecimalField:
    """A read-only money figure computed by a selector, rendered with two places."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


class PermissionGatedFieldsMixin:
    """Leave out the fields in ``gated_fields`` ({field: permission}) the user may not see.

    With no request in the context (a serializer used outside a view) the fields are left out too:
    a figure is shown only to someone known to be allowed.
    """

    gated_fields: dict[str, str] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for name, permission in self.gated_fields.items():
            # has_perm answers from the user's permission cache, filled once per request.
            if user is None or not user.has_perm(permission):
                fields.pop(name, None)
        return fields


class FunderSerializer(OpsiteModelSerializer):
    grant_count = serializers.IntegerField(read_only=True, help_text="Grants from this funder.")
    awarded_count = serializers.IntegerField(read_only=True, help_text="Of those, awarded or closed.")

    class Meta:
        model = Funder
        fields = ("slug", "name", "kind", "grant_count", "awarded_count", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class GrantSerializer(PermissionGatedFieldsMixin, OpsiteModelSerializer):
    funder = serializers.SlugRelatedField(slug_field="slug", queryset=Funder.objects.all())
    subawarded = Money(help_text="The sum of its subawards, passed on to partners.")
    net_amount = Money(help_text="What stays with us: the amount minus its subawards for a prime grant.")
    scheduled = Money(help_text="The sum of its disbursements, expected or received.")
    received = Money(help_text="The sum of its received disbursements.")

    gated_fields = {
        "subawarded": "funding.view_subaward",
        "net_amount": "funding.view_subaward",
        "scheduled": "funding.view_disbursement",
        "received": "funding.view_disbursement",
    }

    class Meta:
        model = Grant
        fields = (
            "reference",
            "funder",
            "title",
            "category",
            "role",
            "status",
            "probability",
            "amount",
            "currency",
            "awarded_on",
            "start_on",
            "end_on",
            "restricted",
            "purpose",
            "subawarded",
            "net_amount",
            "scheduled",
            "received",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class SubawardSerializer(OpsiteModelSerializer):
    grant = serializers.SlugRelatedField(slug_field="reference", queryset=Grant.objects.all())
    scheduled = Money(help_text="The sum of its payments, due or paid.")
    paid = Money(help_text="The sum of its paid payments.")

    class Meta:
        model = Subaward
        fields = (
            "reference",
            "grant",
            "recipient",
            "amount",
            "start_on",
            "end_on",
            "scheduled",
            "paid",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class DisbursementSerializer(OpsiteModelSerializer):
    grant = serializers.SlugRelatedField(slug_field="reference", queryset=Grant.objects.all())

    class Meta:
        model = Disbursement
        fields = ("id", "grant", "expected_on", "amount", "received_on", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class SubawardPaymentSerializer(OpsiteModelSerializer):
    subaward = serializers.SlugRelatedField(slug_field="reference", queryset=Subaward.objects.all())
    grant = serializers.SlugRelatedField(
        source="subaward.grant", slug_field="reference", read_only=True, help_text="The subaward's grant."
    )

    class Meta:
        model = SubawardPayment
        fields = ("id", "subaward", "grant", "due_on", "amount", "paid_on", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class CashPositionSerializer(OpsiteModelSerializer):
    class Meta:
        model = CashPosition
        fields = ("as_of", "balance", "currency", "note", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class ExpenseSerializer(OpsiteModelSerializer):
    grant = serializers.SlugRelatedField(
        slug_field="reference",
        queryset=Grant.objects.all(),
        required=False,
        allow_null=True,
        help_text="The grant it is charged to (its reference), or null.",
    )

    class Meta:
        model = Expense
        fields = (
            "id",
            "name",
            "category",
            "amount",
            "currency",
            "recurrence",
            "start_on",
            "end_on",
            "grant",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class GrantBudgetLineSerializer(OpsiteModelSerializer):
    grant = serializers.SlugRelatedField(slug_field="reference", queryset=Grant.objects.all())

    class Meta:
        model = GrantBudgetLine
        fields = ("id", "grant", "category", "amount", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class StaffAllocationSerializer(OpsiteModelSerializer):
    staff = serializers.SlugRelatedField(slug_field="slug", queryset=StaffMember.objects.all())
    grant = serializers.SlugRelatedField(slug_field="reference", queryset=Grant.objects.all())

    class Meta:
        model = StaffAllocation
        fields = ("id", "staff", "grant", "share", "start_on", "end_on", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class FunderReportSerializer(OpsiteModelSerializer):
    grant = serializers.SlugRelatedField(slug_field="reference", queryset=Grant.objects.all())
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        allow_null=True,
        required=False,
        help_text="The username of who writes it and gets the reminders.",
    )

    class Meta:
        model = FunderReport
        fields = (
            "id",
            "grant",
            "kind",
            "period_start",
            "period_end",
            "due_on",
            "owner",
            "submitted_on",
            "reminded_35_at",
            "reminded_7_at",
            *TIMESTAMPS,
        )
        read_only_fields = ("reminded_35_at", "reminded_7_at", *TIMESTAMPS)


class ExchangeRateSerializer(OpsiteModelSerializer):
    # Declared: the model's default is "no currency", and a rate always names the one it converts.
    currency = serializers.CharField(
        max_length=3, validators=[currency_validator], help_text="The ISO 4217 code it converts from."
    )

    class Meta:
        model = ExchangeRate
        fields = ("id", "currency", "effective_on", "rate", *TIMESTAMPS)
        read_only_fields = TIMESTAMPS


class ScenarioSerializer(PermissionGatedFieldsMixin, OpsiteModelSerializer):
    # Declared, so DRF adds no "only one default" validator of its own: asking for a new default
    # is how a scenario takes over from the current one (the service unticks the other).
    is_default = serializers.BooleanField(
        required=False,
        help_text="True makes this the default scenario (the previous default stops being it). "
        "The default cannot be unticked: make another scenario the default instead.",
    )
    adjustment_count = serializers.IntegerField(read_only=True)
    latest_months = serializers.DecimalField(
        max_digits=7, decimal_places=2, read_only=True, help_text="Months of runway of the latest snapshot."
    )
    latest_cash_out_on = serializers.DateField(read_only=True)
    latest_computed_at = serializers.DateTimeField(read_only=True)

    gated_fields = {
        "latest_months": "funding.view_runwaysnapshot",
        "latest_cash_out_on": "funding.view_runwaysnapshot",
        "latest_computed_at": "funding.view_runwaysnapshot",
    }

    class Meta:
        model = Scenario
        fields = (
            "slug",
            "name",
            "pipeline",
            "reserve",
            "horizon_months",
            "is_default",
            "adjustment_count",
            "latest_months",
            "latest_cash_out_on",
            "latest_computed_at",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS


class ScenarioAdjustmentSerializer(OpsiteModelSerializer):
    scenario = serializers.SlugRelatedField(slug_field="slug", queryset=Scenario.objects.all())
    grant = serializers.SlugRelatedField(
        slug_field="reference",
        queryset=Grant.objects.all(),
        allow_null=True,
        required=False,
        help_text="For a delay: the grant whose open disbursements move.",
    )

    class Meta:
        model = ScenarioAdjustment
        fields = (
            "id",
            "scenario",
            "kind",
            "label",
            "amount",
            "benefits_rate",
            "recurrence",
            "start_on",
            "end_on",
            "grant",
            "months",
            *TIMESTAMPS,
        )
        read_only_fields = TIMESTAMPS
        # Left out, the service picks the recurrence that fits the kind (annual salary for a hire).
        extra_kwargs = {"recurrence": {"required": False}}


class RunwaySnapshotSerializer(OpsiteModelSerializer):
    """A computed runway, as listed: without its (large) ``result`` document."""

    scenario = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = RunwaySnapshot
        fields = ("id", "scenario", "as_of", "computed_at", "months", "cash_out_on", *TIMESTAMPS)
        read_only_fields = fields


class RunwaySnapshotDetailSerializer(RunwaySnapshotSerializer):
    """One computed runway with the whole projection it stored."""

    class Meta(RunwaySnapshotSerializer.Meta):
        fields = (*RunwaySnapshotSerializer.Meta.fields, "result")
        read_only_fields = fields


class RunwayAlertSerializer(OpsiteModelSerializer):
    scenario = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = RunwayAlert
        fields = ("id", "scenario", "snapshot", "months", "reason", "recipients", "sent_at", *TIMESTAMPS)
        read_only_fields = fields
